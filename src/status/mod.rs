//! The status page: components and their current status, incidents with timed updates,
//! scheduled maintenance that starts and ends by itself, and the forum topics customers
//! opened about an outage. Staff write from the web UI, scripts through the JSON API with a
//! token (`crate::accounts::api_tokens`); both go through the functions here. Every write is
//! one transaction ending with its event; what pages show comes from a per-node
//! [`snapshot::Snapshot`] refreshed from those events.
//!
//! The vocabulary (component statuses, incident statuses, impacts) is Statuspage's, so that
//! the read API (`statuspage.rs`) and the tools built for it work unchanged.

pub mod board;
pub mod snapshot;
pub mod statuspage;
pub mod uptime;

use chrono::{NaiveDate, NaiveDateTime};

use crate::accounts::User;
use crate::accounts::api_tokens::ApiClient;
use crate::db::status::{self as q, ComponentFields, IncidentRow};
use crate::db::{self, Db, DbConn};
use crate::error::AppError;
use crate::events::{self, Event};
use crate::forms::FieldErrors;
use crate::scheduler::{self, Job};

pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_BODY_CHARS: usize = 25_000;
pub const MAX_DESCRIPTION_CHARS: usize = 500;
pub const MAX_COMPONENTS: usize = 200;

/// A component's current state, worst last (see [`ComponentStatus::severity`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    Operational,
    UnderMaintenance,
    DegradedPerformance,
    PartialOutage,
    MajorOutage,
}

impl ComponentStatus {
    pub const ALL: [ComponentStatus; 5] = [
        ComponentStatus::Operational,
        ComponentStatus::DegradedPerformance,
        ComponentStatus::PartialOutage,
        ComponentStatus::MajorOutage,
        ComponentStatus::UnderMaintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
            ComponentStatus::UnderMaintenance => "under_maintenance",
        }
    }

    pub fn parse(s: &str) -> Option<ComponentStatus> {
        ComponentStatus::ALL.into_iter().find(|x| x.as_str() == s)
    }

    /// Stored values are checked by the database; an unknown one reads as operational.
    pub fn of(s: &str) -> ComponentStatus {
        ComponentStatus::parse(s).unwrap_or(ComponentStatus::Operational)
    }

    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
            ComponentStatus::UnderMaintenance => "Under maintenance",
        }
    }

    /// For "worst of": maintenance is planned, so it ranks below every unplanned problem.
    pub fn severity(self) -> u8 {
        match self {
            ComponentStatus::Operational => 0,
            ComponentStatus::UnderMaintenance => 1,
            ComponentStatus::DegradedPerformance => 2,
            ComponentStatus::PartialOutage => 3,
            ComponentStatus::MajorOutage => 4,
        }
    }

    pub fn worst(a: ComponentStatus, b: ComponentStatus) -> ComponentStatus {
        if b.severity() > a.severity() { b } else { a }
    }

    fn choices() -> String {
        ComponentStatus::ALL.map(ComponentStatus::as_str).join(", ")
    }
}

/// An unplanned incident or a scheduled maintenance (one table, as in Statuspage).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Incident,
    Maintenance,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Incident => "incident",
            Kind::Maintenance => "maintenance",
        }
    }

    pub fn of(row: &IncidentRow) -> Kind {
        if row.kind == "maintenance" {
            Kind::Maintenance
        } else {
            Kind::Incident
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncidentStatus {
    Investigating,
    Identified,
    Monitoring,
    Resolved,
    Postmortem,
    Scheduled,
    InProgress,
    Verifying,
    Completed,
}

impl IncidentStatus {
    pub const INCIDENT: [IncidentStatus; 5] = [
        IncidentStatus::Investigating,
        IncidentStatus::Identified,
        IncidentStatus::Monitoring,
        IncidentStatus::Resolved,
        IncidentStatus::Postmortem,
    ];
    pub const MAINTENANCE: [IncidentStatus; 4] = [
        IncidentStatus::Scheduled,
        IncidentStatus::InProgress,
        IncidentStatus::Verifying,
        IncidentStatus::Completed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "investigating",
            IncidentStatus::Identified => "identified",
            IncidentStatus::Monitoring => "monitoring",
            IncidentStatus::Resolved => "resolved",
            IncidentStatus::Postmortem => "postmortem",
            IncidentStatus::Scheduled => "scheduled",
            IncidentStatus::InProgress => "in_progress",
            IncidentStatus::Verifying => "verifying",
            IncidentStatus::Completed => "completed",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "Investigating",
            IncidentStatus::Identified => "Identified",
            IncidentStatus::Monitoring => "Monitoring",
            IncidentStatus::Resolved => "Resolved",
            IncidentStatus::Postmortem => "Postmortem",
            IncidentStatus::Scheduled => "Scheduled",
            IncidentStatus::InProgress => "In progress",
            IncidentStatus::Verifying => "Verifying",
            IncidentStatus::Completed => "Completed",
        }
    }

    pub fn parse(s: &str) -> Option<IncidentStatus> {
        IncidentStatus::INCIDENT
            .into_iter()
            .chain(IncidentStatus::MAINTENANCE)
            .find(|x| x.as_str() == s)
    }

    pub fn of(s: &str) -> IncidentStatus {
        IncidentStatus::parse(s).unwrap_or(IncidentStatus::Investigating)
    }

    pub fn for_kind(kind: Kind) -> &'static [IncidentStatus] {
        match kind {
            Kind::Incident => &IncidentStatus::INCIDENT,
            Kind::Maintenance => &IncidentStatus::MAINTENANCE,
        }
    }

    /// Over: resolved, written up, or completed.
    pub fn is_closed(self) -> bool {
        matches!(
            self,
            IncidentStatus::Resolved | IncidentStatus::Postmortem | IncidentStatus::Completed
        )
    }

    /// Maintenance that is happening now.
    pub fn is_underway(self) -> bool {
        matches!(self, IncidentStatus::InProgress | IncidentStatus::Verifying)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    None,
    Maintenance,
    Minor,
    Major,
    Critical,
}

impl Impact {
    pub const ALL: [Impact; 5] = [
        Impact::None,
        Impact::Minor,
        Impact::Major,
        Impact::Critical,
        Impact::Maintenance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "none",
            Impact::Minor => "minor",
            Impact::Major => "major",
            Impact::Critical => "critical",
            Impact::Maintenance => "maintenance",
        }
    }

    pub fn parse(s: &str) -> Option<Impact> {
        Impact::ALL.into_iter().find(|x| x.as_str() == s)
    }

    pub fn of(s: &str) -> Impact {
        Impact::parse(s).unwrap_or(Impact::None)
    }

    /// Statuspage's wording for the page's overall state (`status.indicator` takes the same
    /// five values as an impact), which widgets and monitors show as it is.
    pub fn description(self) -> &'static str {
        match self {
            Impact::None => "All Systems Operational",
            Impact::Minor => "Minor Service Outage",
            Impact::Major => "Partial System Outage",
            Impact::Critical => "Major System Outage",
            Impact::Maintenance => "Service Under Maintenance",
        }
    }

    /// What an incident's impact is when staff did not set one: from the worst status it
    /// gave a component (Statuspage's rule). The page's indicator follows the same rule.
    pub fn from_component(status: ComponentStatus) -> Impact {
        match status {
            ComponentStatus::Operational => Impact::None,
            ComponentStatus::UnderMaintenance => Impact::Maintenance,
            ComponentStatus::DegradedPerformance => Impact::Minor,
            ComponentStatus::PartialOutage => Impact::Major,
            ComponentStatus::MajorOutage => Impact::Critical,
        }
    }
}

/// Who is writing: a staff member in the web UI, a script with a token, or the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct By {
    /// The user the write is recorded for (the token's creator for a token).
    pub user_id: Option<i64>,
    pub token_id: Option<i64>,
}

impl By {
    /// Staff write incidents; members are refused with one message.
    pub fn staff(user: &User) -> Result<By, AppError> {
        if !user.role.is_staff() {
            return Err(AppError::Forbidden(
                "Only staff can open, update and resolve incidents.".into(),
            ));
        }
        Ok(By {
            user_id: Some(user.id),
            token_id: None,
        })
    }

    pub fn token(client: &ApiClient) -> By {
        By {
            user_id: client.acting_user,
            token_id: Some(client.token_id),
        }
    }

    pub const SCHEDULER: By = By {
        user_id: None,
        token_id: None,
    };
}

// ---- components --------------------------------------------------------------------------

/// The admin form for a component (or a group of components).
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ComponentInput {
    pub name: String,
    pub description: String,
    /// The group's id, or empty for none.
    pub group: String,
    pub is_group: Option<String>,
    pub position: String,
    pub only_show_if_degraded: Option<String>,
    /// YYYY-MM-DD, or empty: days before it show as "no data" in the uptime bars.
    pub start_date: String,
}

impl ComponentInput {
    pub fn from_row(c: &q::ComponentRow) -> ComponentInput {
        ComponentInput {
            name: c.name.clone(),
            description: c.description.clone(),
            group: c.group_id.map(|g| g.to_string()).unwrap_or_default(),
            is_group: c.is_group.then(|| "on".into()),
            position: c.position.to_string(),
            only_show_if_degraded: c.only_show_if_degraded.then(|| "on".into()),
            start_date: c
                .start_date
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        }
    }
}

fn require_admin(user: &User) -> Result<(), AppError> {
    if user.role == crate::accounts::Role::Admin {
        Ok(())
    } else {
        Err(AppError::Forbidden(
            "Only administrators can change the status page's components.".into(),
        ))
    }
}

/// Creates (`id` None) or edits a component; returns its id or the form's problems.
pub fn save_component(
    db: &Db,
    admin: &User,
    id: Option<i64>,
    input: &ComponentInput,
) -> Result<Result<i64, FieldErrors>, AppError> {
    require_admin(admin)?;
    db.write_sync(|conn| save_component_in(conn, Some(admin.id), id, input))
}

/// [`save_component`] inside the caller's transaction (the demo loader; the role is the
/// caller's to check).
pub fn save_component_in(
    conn: &mut DbConn,
    actor: Option<i64>,
    id: Option<i64>,
    input: &ComponentInput,
) -> Result<Result<i64, FieldErrors>, AppError> {
    let existing = match id {
        Some(id) => Some(q::component(conn, id)?.ok_or(AppError::NotFound)?),
        None => None,
    };
    let mut errors = FieldErrors::default();
    let name = input.name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        errors.add("name", "Name the component, like “API” or “Web app”.");
    } else if name.chars().count() > 100 {
        errors.add("name", "At most 100 characters.");
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        errors.add(
            "description",
            format!("At most {MAX_DESCRIPTION_CHARS} characters."),
        );
    }
    // A group stays a group (its children point at it); a new one may be created as one.
    let is_group = existing
        .as_ref()
        .map_or(input.is_group.is_some(), |c| c.is_group);
    let group_id = match input.group.trim() {
        "" => None,
        g => match g.parse::<i64>() {
            Ok(g) => match q::component(conn, g)? {
                Some(c) if c.is_group && !is_group && Some(g) != id => Some(g),
                _ => {
                    errors.add("group", "Choose one of the groups, or none.");
                    None
                }
            },
            Err(_) => {
                errors.add("group", "Choose one of the groups, or none.");
                None
            }
        },
    };
    let position = match input.position.trim() {
        "" => existing.as_ref().map_or(0, |c| c.position),
        p => p.parse::<i32>().unwrap_or_else(|_| {
            errors.add("position", "A whole number (lower comes first).");
            0
        }),
    };
    let start_date = match input.start_date.trim() {
        "" => None,
        d => match NaiveDate::parse_from_str(d, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.add("start_date", "A date like 2026-01-31, or empty.");
                None
            }
        },
    };
    if existing.is_none() && q::components(conn)?.len() >= MAX_COMPONENTS {
        errors.add(
            "name",
            format!("A status page holds at most {MAX_COMPONENTS} components."),
        );
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let fields = ComponentFields {
        name: &name,
        description: &description,
        group_id,
        is_group,
        position,
        only_show_if_degraded: input.only_show_if_degraded.is_some(),
        start_date,
    };
    let now = db::now();
    let id = match id {
        Some(id) => {
            q::update_component(conn, id, &fields, now)?;
            id
        }
        None => {
            let id = q::insert_component(conn, &fields, now)?;
            // The uptime history starts with the component.
            q::set_component_status(conn, id, ComponentStatus::Operational.as_str(), None, now)?;
            id
        }
    };
    let event = Event::StatusComponentSaved {
        name,
        created: existing.is_none(),
    };
    events::append(conn, &event, Some(id), actor)?;
    Ok(Ok(id))
}

/// Sets one component's status outside any incident (`PATCH /api/status/components/{id}`).
pub fn set_component_status(
    db: &Db,
    by: By,
    id: i64,
    status: &str,
) -> Result<q::ComponentRow, AppError> {
    let status = ComponentStatus::parse(status).ok_or_else(|| {
        AppError::Unprocessable(format!(
            "Unknown component status “{status}”: use one of {}.",
            ComponentStatus::choices()
        ))
    })?;
    db.write_sync(|conn| {
        let component = q::component(conn, id)?.ok_or_else(|| no_component(id))?;
        if component.is_group {
            return Err(AppError::Unprocessable(format!(
                "Component {id} is a group: its status follows its components'."
            )));
        }
        let old = ComponentStatus::of(&component.status);
        if old != status {
            let now = db::now();
            q::set_component_status(conn, id, status.as_str(), None, now)?;
            let event = Event::StatusComponentChanged {
                old_status: old.as_str().into(),
                new_status: status.as_str().into(),
                token_id: by.token_id,
            };
            events::append(conn, &event, Some(id), by.user_id)?;
        }
        q::component(conn, id)?.ok_or_else(|| no_component(id))
    })
}

fn no_component(id: i64) -> AppError {
    AppError::Missing(format!("Component {id} does not exist."))
}

// ---- incidents ---------------------------------------------------------------------------

/// A new incident or maintenance, from the staff form or the JSON API (Statuspage's fields).
#[derive(Debug, Clone, Default)]
pub struct OpenIncident {
    pub name: String,
    /// Empty: investigating (incident) or scheduled (maintenance).
    pub status: String,
    /// Empty: follows the components.
    pub impact_override: String,
    pub body: String,
    /// Affected without a status change.
    pub component_ids: Vec<i64>,
    /// Affected, each set to a status.
    pub components: Vec<(i64, String)>,
    /// Set: a scheduled maintenance.
    pub scheduled_for: Option<NaiveDateTime>,
    pub scheduled_until: Option<NaiveDateTime>,
}

/// A new update to an open incident.
#[derive(Debug, Clone, Default)]
pub struct UpdateIncident {
    pub name: Option<String>,
    /// Empty: unchanged.
    pub status: String,
    pub impact_override: Option<String>,
    pub body: String,
    pub component_ids: Vec<i64>,
    pub components: Vec<(i64, String)>,
}

/// What a write did, for its caller's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    pub incident_id: i64,
    pub update_id: i64,
}

struct CheckedChanges {
    affected: Vec<i64>,
    set: Vec<(i64, ComponentStatus)>,
}

fn check_components(
    conn: &mut DbConn,
    component_ids: &[i64],
    components: &[(i64, String)],
    errors: &mut FieldErrors,
) -> Result<CheckedChanges, AppError> {
    let all = q::components(conn)?;
    let mut affected: Vec<i64> = Vec::new();
    let mut set: Vec<(i64, ComponentStatus)> = Vec::new();
    let check_id = |id: i64, errors: &mut FieldErrors| match all.iter().find(|c| c.id == id) {
        None => {
            errors.add("components", format!("Component {id} does not exist."));
            false
        }
        Some(c) if c.is_group => {
            errors.add(
                "components",
                format!("Component {id} is a group: name the components in it instead."),
            );
            false
        }
        Some(_) => true,
    };
    for &id in component_ids {
        if check_id(id, errors) && !affected.contains(&id) {
            affected.push(id);
        }
    }
    for (id, status) in components {
        if !check_id(*id, errors) {
            continue;
        }
        match ComponentStatus::parse(status) {
            Some(s) => {
                if !affected.contains(id) {
                    affected.push(*id);
                }
                set.retain(|(x, _)| x != id);
                set.push((*id, s));
            }
            None => errors.add(
                "components",
                format!(
                    "Unknown status “{status}” for component {id}: use one of {}.",
                    ComponentStatus::choices()
                ),
            ),
        }
    }
    Ok(CheckedChanges { affected, set })
}

fn check_name(name: &str, errors: &mut FieldErrors) -> String {
    let name = name.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        errors.add(
            "name",
            "Give the incident a name, like “Delayed email delivery”.",
        );
    } else if name.chars().count() > MAX_NAME_CHARS {
        errors.add("name", format!("At most {MAX_NAME_CHARS} characters."));
    }
    name
}

fn check_body(body: &str, errors: &mut FieldErrors) -> String {
    let body = body.replace("\r\n", "\n").trim().to_string();
    if body.chars().count() > MAX_BODY_CHARS {
        errors.add("body", format!("At most {MAX_BODY_CHARS} characters."));
    }
    body
}

fn check_impact(s: &str, errors: &mut FieldErrors) -> Option<Impact> {
    match s.trim() {
        "" => None,
        s => Impact::parse(s).or_else(|| {
            errors.add(
                "impact_override",
                format!(
                    "Unknown impact “{s}”: use one of {}.",
                    Impact::ALL.map(Impact::as_str).join(", ")
                ),
            );
            None
        }),
    }
}

fn check_status(s: &str, kind: Kind, errors: &mut FieldErrors) -> Option<IncidentStatus> {
    let allowed = IncidentStatus::for_kind(kind);
    match IncidentStatus::parse(s.trim()) {
        Some(st) if allowed.contains(&st) => Some(st),
        _ => {
            errors.add(
                "status",
                format!(
                    "Unknown status “{}” for {}: use one of {}.",
                    s.trim(),
                    match kind {
                        Kind::Incident => "an incident",
                        Kind::Maintenance => "a maintenance",
                    },
                    allowed
                        .iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            None
        }
    }
}

fn cook(raw: &str) -> String {
    crate::markdown::cook(raw, &|_| false).html
}

/// Opens an incident (or schedules a maintenance) with its first update.
pub fn open(
    db: &Db,
    by: By,
    input: &OpenIncident,
) -> Result<Result<Written, FieldErrors>, AppError> {
    let cooked = cook(input.body.trim());
    db.write_sync(|conn| open_in(conn, by, input, &cooked, db::now()))
}

/// [`open`] inside the caller's transaction, at `now`, with the body already cooked.
pub fn open_in(
    conn: &mut DbConn,
    by: By,
    input: &OpenIncident,
    cooked: &str,
    now: NaiveDateTime,
) -> Result<Result<Written, FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let name = check_name(&input.name, &mut errors);
    let body = check_body(&input.body, &mut errors);
    let kind = if input.scheduled_for.is_some() || input.scheduled_until.is_some() {
        Kind::Maintenance
    } else {
        Kind::Incident
    };
    let status = match input.status.trim() {
        "" => Some(match kind {
            Kind::Incident => IncidentStatus::Investigating,
            Kind::Maintenance => IncidentStatus::Scheduled,
        }),
        s => check_status(s, kind, &mut errors),
    };
    if status == Some(IncidentStatus::Postmortem) {
        errors.add(
            "status",
            "A postmortem follows a resolved incident: open it, resolve it, then write the postmortem.",
        );
    }
    let impact_override = check_impact(&input.impact_override, &mut errors);
    if kind == Kind::Maintenance {
        match (input.scheduled_for, input.scheduled_until) {
            (Some(from), Some(until)) if until > from => {}
            (Some(_), Some(_)) => errors.add(
                "scheduled_until",
                "The maintenance window must end after it starts.",
            ),
            _ => errors.add(
                "scheduled_until",
                "A maintenance needs both a start (scheduled_for) and an end (scheduled_until).",
            ),
        }
    }
    let changes = check_components(conn, &input.component_ids, &input.components, &mut errors)?;
    let (Some(status), true) = (status, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let closed = status.is_closed();
    let applies_now = kind == Kind::Incident || status.is_underway();
    let impact = impact_of(kind, impact_override, &changes.set);
    let incident_id = q::insert_incident(
        conn,
        &q::NewIncident {
            kind: kind.as_str(),
            name: &name,
            status: status.as_str(),
            impact: impact.as_str(),
            impact_override: impact_override.map(Impact::as_str),
            scheduled_for: input.scheduled_for,
            scheduled_until: input.scheduled_until,
            started_at: now,
            created_by: by.user_id,
        },
        now,
    )?;
    if closed || status == IncidentStatus::Monitoring {
        let row = q::incident(conn, incident_id)?.ok_or(AppError::NotFound)?;
        q::update_incident(
            conn,
            incident_id,
            &q::IncidentChange {
                name: &row.name,
                status: &row.status,
                impact: &row.impact,
                impact_override: row.impact_override.as_deref(),
                monitoring_at: (status == IncidentStatus::Monitoring).then_some(now),
                resolved_at: closed.then_some(now),
                started_at: row.started_at,
            },
            now,
        )?;
    }
    q::set_affected(conn, incident_id, &changes.affected)?;
    let update_id = record_update(conn, by, incident_id, status, &body, cooked, now)?;
    if applies_now && !closed {
        let set = if kind == Kind::Maintenance && changes.set.is_empty() {
            maintenance_set(&changes.affected)
        } else {
            changes.set.clone()
        };
        apply_changes(conn, incident_id, update_id, &set, now)?;
    }
    if kind == Kind::Maintenance
        && !closed
        && let (Some(from), Some(until)) = (input.scheduled_for, input.scheduled_until)
    {
        if status == IncidentStatus::Scheduled {
            scheduler::schedule(conn, Job::MaintenanceStart, &incident_id.to_string(), from)?;
        }
        scheduler::schedule(conn, Job::MaintenanceEnd, &incident_id.to_string(), until)?;
    }
    let event = Event::IncidentOpened {
        kind: kind.as_str().into(),
        status: status.as_str().into(),
        impact: impact.as_str().into(),
        update_id,
        token_id: by.token_id,
    };
    events::append(conn, &event, Some(incident_id), by.user_id)?;
    Ok(Ok(Written {
        incident_id,
        update_id,
    }))
}

/// Writes one update of the timeline, by `by`.
fn record_update(
    conn: &mut DbConn,
    by: By,
    incident_id: i64,
    status: IncidentStatus,
    body: &str,
    cooked: &str,
    now: NaiveDateTime,
) -> Result<i64, AppError> {
    q::insert_update(
        conn,
        &q::NewUpdate {
            incident_id,
            status: status.as_str(),
            raw: body,
            cooked,
            author_id: by.user_id,
            token_id: by.token_id,
        },
        now,
    )
}

/// Under way now: an unresolved incident, or maintenance in progress or verifying (what the
/// banner on every page names, and what still holds a component's status).
pub fn is_active(row: &IncidentRow) -> bool {
    let status = IncidentStatus::of(&row.status);
    match Kind::of(row) {
        Kind::Incident => !status.is_closed(),
        Kind::Maintenance => status.is_underway(),
    }
}

fn maintenance_set(affected: &[i64]) -> Vec<(i64, ComponentStatus)> {
    affected
        .iter()
        .map(|id| (*id, ComponentStatus::UnderMaintenance))
        .collect()
}

fn impact_of(kind: Kind, over: Option<Impact>, set: &[(i64, ComponentStatus)]) -> Impact {
    if let Some(i) = over {
        return i;
    }
    if kind == Kind::Maintenance {
        return Impact::Maintenance;
    }
    let worst = set
        .iter()
        .map(|(_, s)| *s)
        .fold(ComponentStatus::Operational, ComponentStatus::worst);
    Impact::from_component(worst)
}

/// Sets each component (recording old → new on the update, and in its history).
fn apply_changes(
    conn: &mut DbConn,
    incident_id: i64,
    update_id: i64,
    set: &[(i64, ComponentStatus)],
    now: NaiveDateTime,
) -> Result<(), AppError> {
    for (id, new) in set {
        let Some(component) = q::component(conn, *id)? else {
            continue;
        };
        let old = ComponentStatus::of(&component.status);
        q::insert_change(conn, update_id, *id, old.as_str(), new.as_str())?;
        if old != *new {
            q::set_component_status(conn, *id, new.as_str(), Some(incident_id), now)?;
        }
    }
    Ok(())
}

/// Adds an update to an open incident (a resolved one refuses everything but its postmortem).
pub fn update(
    db: &Db,
    by: By,
    incident_id: i64,
    input: &UpdateIncident,
) -> Result<Result<Written, FieldErrors>, AppError> {
    let cooked = cook(input.body.trim());
    db.write_sync(|conn| update_in(conn, by, incident_id, input, &cooked, db::now()))
}

pub fn update_in(
    conn: &mut DbConn,
    by: By,
    incident_id: i64,
    input: &UpdateIncident,
    cooked: &str,
    now: NaiveDateTime,
) -> Result<Result<Written, FieldErrors>, AppError> {
    let row = q::incident_for_update(conn, incident_id)?
        .ok_or_else(|| AppError::Missing(format!("Incident {incident_id} does not exist.")))?;
    let kind = Kind::of(&row);
    let current = IncidentStatus::of(&row.status);
    let mut errors = FieldErrors::default();
    let status = match input.status.trim() {
        "" => Some(current),
        s => check_status(s, kind, &mut errors),
    };
    let body = check_body(&input.body, &mut errors);
    if current.is_closed() {
        let postmortem =
            status == Some(IncidentStatus::Postmortem) && current == IncidentStatus::Resolved;
        if !postmortem {
            return Err(AppError::Conflict(format!(
                "“{}” is {}: it takes no more updates{}. If the problem is back, open a new incident.",
                row.name,
                current.label().to_lowercase(),
                if current == IncidentStatus::Resolved {
                    " except its postmortem (status “postmortem”)"
                } else {
                    ""
                }
            )));
        }
        if body.is_empty() {
            errors.add(
                "body",
                "Write the postmortem: what happened, why, and what changes.",
            );
        }
        if !input.components.is_empty() || !input.component_ids.is_empty() {
            errors.add(
                "components",
                "A postmortem changes no components: the incident is resolved.",
            );
        }
    } else if status == Some(IncidentStatus::Postmortem) {
        errors.add(
            "status",
            "Resolve the incident before writing its postmortem.",
        );
    }
    let name = match &input.name {
        Some(n) => check_name(n, &mut errors),
        None => row.name.clone(),
    };
    let impact_override = match &input.impact_override {
        Some(s) => check_impact(s, &mut errors),
        None => row.impact_override.as_deref().and_then(Impact::parse),
    };
    let changes = check_components(conn, &input.component_ids, &input.components, &mut errors)?;
    if body.is_empty()
        && status == Some(current)
        && changes.set.is_empty()
        && input.name.is_none()
        && input.impact_override.is_none()
        && errors.is_empty()
    {
        errors.add(
            "body",
            "Say what changed: write an update, or change the status or a component.",
        );
    }
    let (Some(status), true) = (status, errors.is_empty()) else {
        return Ok(Err(errors));
    };
    q::set_affected(conn, incident_id, &changes.affected)?;
    let update_id = record_update(conn, by, incident_id, status, &body, cooked, now)?;
    let closing = status.is_closed() && !current.is_closed();
    let mut set = changes.set.clone();
    if kind == Kind::Maintenance && status.is_underway() && !current.is_underway() && set.is_empty()
    {
        let affected = affected_ids(conn, incident_id)?;
        set = maintenance_set(&affected);
    }
    if closing {
        // Resolving restores every affected component not set explicitly in this update.
        for id in affected_ids(conn, incident_id)? {
            if !set.iter().any(|(x, _)| *x == id) {
                set.push((id, restored_status(conn, incident_id, id)?));
            }
        }
    }
    if status != IncidentStatus::Postmortem {
        apply_changes(conn, incident_id, update_id, &set, now)?;
    }
    let impact = if status == IncidentStatus::Postmortem || closing {
        Impact::of(&row.impact)
    } else {
        match (impact_override, changes.set.is_empty()) {
            (Some(i), _) => i,
            (None, true) => Impact::of(&row.impact),
            (None, false) => Impact::of(&row.impact).max(impact_of(kind, None, &changes.set)),
        }
    };
    let started_at = if kind == Kind::Maintenance && status.is_underway() && !current.is_underway()
    {
        now
    } else {
        row.started_at
    };
    q::update_incident(
        conn,
        incident_id,
        &q::IncidentChange {
            name: &name,
            status: status.as_str(),
            impact: impact.as_str(),
            impact_override: impact_override.map(Impact::as_str),
            monitoring_at: row
                .monitoring_at
                .or((status == IncidentStatus::Monitoring).then_some(now)),
            resolved_at: row.resolved_at.or(closing.then_some(now)),
            started_at,
        },
        now,
    )?;
    if closing && kind == Kind::Maintenance {
        scheduler::cancel(conn, Job::MaintenanceStart, &incident_id.to_string())?;
        scheduler::cancel(conn, Job::MaintenanceEnd, &incident_id.to_string())?;
    }
    let event = Event::IncidentUpdated {
        kind: kind.as_str().into(),
        status: status.as_str().into(),
        update_id,
        resolved: closing,
        token_id: by.token_id,
    };
    events::append(conn, &event, Some(incident_id), by.user_id)?;
    if closing && kind == Kind::Incident {
        reply_in_reports(conn, incident_id, &name, &body, by, now)?;
    }
    Ok(Ok(Written {
        incident_id,
        update_id,
    }))
}

/// Resolving an incident answers every forum topic that reported it, as the staff member
/// who linked the topic (so the reply comes from a person the customer has seen).
fn reply_in_reports(
    conn: &mut DbConn,
    incident_id: i64,
    name: &str,
    body: &str,
    by: By,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let path = crate::subject::Subject::Incident(incident_id).path(crate::subject::Named::slug(""));
    let mut text = format!("The incident behind this report is resolved: **[{name}]({path})**.");
    if !body.is_empty() && body.chars().count() <= 4000 {
        text.push_str("\n\n");
        for line in body.lines() {
            text.push_str("> ");
            text.push_str(line);
            text.push('\n');
        }
    }
    text.push_str("\nIf you still see the problem, reply here and we will look again.");
    let cooked = crate::forum::cook_text(conn, &text)?;
    for (topic_id, linked_by) in q::report_links(conn, incident_id)? {
        let Some(author) = linked_by.or(by.user_id) else {
            continue;
        };
        let actor = crate::accounts::Actor {
            id: author,
            role: crate::accounts::Role::Staff,
        };
        // Staff may reply in locked topics; a deleted topic is skipped.
        match crate::forum::reply_because_in(
            conn,
            actor,
            topic_id,
            &cooked,
            now,
            crate::forum::Because::Incident(incident_id),
        ) {
            Ok(_) | Err(AppError::NotFound) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn affected_ids(conn: &mut DbConn, incident_id: i64) -> Result<Vec<i64>, AppError> {
    Ok(q::affected_of(conn, &[incident_id])?
        .into_iter()
        .map(|(_, c)| c)
        .collect())
}

/// What a component returns to when an incident ends: the worst status another open
/// incident still gives it, or operational.
fn restored_status(
    conn: &mut DbConn,
    ending: i64,
    component_id: i64,
) -> Result<ComponentStatus, AppError> {
    let others: Vec<i64> = q::unresolved(conn)?
        .into_iter()
        .filter(|i| i.id != ending)
        .filter(is_active)
        .map(|i| i.id)
        .collect();
    let mut worst = ComponentStatus::Operational;
    for (incident, component) in q::affected_of(conn, &others)? {
        if component == component_id
            && let Some(s) = q::last_set_by(conn, incident, component)?
        {
            worst = ComponentStatus::worst(worst, ComponentStatus::of(&s));
        }
    }
    Ok(worst)
}

/// The scheduler's start of a maintenance window (a no-op when staff already moved it on).
pub fn start_maintenance_in(conn: &mut DbConn, incident_id: i64) -> Result<(), AppError> {
    let Some(row) = q::incident_for_update(conn, incident_id)? else {
        return Ok(());
    };
    if IncidentStatus::of(&row.status) != IncidentStatus::Scheduled {
        return Ok(());
    }
    let input = UpdateIncident {
        status: IncidentStatus::InProgress.as_str().into(),
        body: "Scheduled maintenance is now in progress.".into(),
        ..Default::default()
    };
    let cooked = cook(&input.body);
    match update_in(conn, By::SCHEDULER, incident_id, &input, &cooked, db::now())? {
        Ok(_) => Ok(()),
        Err(e) => Err(AppError::Internal(format!(
            "maintenance start refused: {e:?}"
        ))),
    }
}

/// The scheduler's end of a maintenance window.
pub fn end_maintenance_in(conn: &mut DbConn, incident_id: i64) -> Result<(), AppError> {
    let Some(row) = q::incident_for_update(conn, incident_id)? else {
        return Ok(());
    };
    if IncidentStatus::of(&row.status).is_closed() {
        return Ok(());
    }
    let input = UpdateIncident {
        status: IncidentStatus::Completed.as_str().into(),
        body: "The scheduled maintenance has been completed.".into(),
        ..Default::default()
    };
    let cooked = cook(&input.body);
    match update_in(conn, By::SCHEDULER, incident_id, &input, &cooked, db::now())? {
        Ok(_) => Ok(()),
        Err(e) => Err(AppError::Internal(format!(
            "maintenance end refused: {e:?}"
        ))),
    }
}

// ---- reports from the forum, followers, subscribers -------------------------------------

/// Links a forum topic that reports the outage (staff). Accepts an id, `#id` or a topic URL.
pub fn link_topic(db: &Db, user: &User, incident_id: i64, topic: &str) -> Result<(), AppError> {
    By::staff(user)?;
    let topic_id = crate::forum::parse_topic_ref(topic).ok_or_else(|| {
        AppError::BadRequest("Give the topic as its number, #number or its address.".into())
    })?;
    db.write_sync(|conn| link_topic_in(conn, user.id, incident_id, topic_id, db::now()))
}

/// [`link_topic`] inside the caller's transaction (`staff_id`: who linked it; checked by the
/// caller). Linking twice is a no-op.
pub fn link_topic_in(
    conn: &mut DbConn,
    staff_id: i64,
    incident_id: i64,
    topic_id: i64,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    let incident = q::incident(conn, incident_id)?.ok_or(AppError::NotFound)?;
    let topic = crate::db::forum::topic(conn, topic_id)?
        .filter(|t| t.deleted_at.is_none())
        .ok_or_else(|| AppError::BadRequest(format!("Topic {topic_id} does not exist.")))?;
    if q::link_topic(conn, incident.id, topic.id, Some(staff_id), at)? {
        let event = Event::IncidentTopicLinked { topic_id: topic.id };
        events::append(conn, &event, Some(incident.id), Some(staff_id))?;
    }
    Ok(())
}

/// Turns a written-up incident into a knowledge-base draft in one step (staff): the
/// postmortem, then the timeline, linking back to the incident. Returns the draft's slug
/// (its editor is where staff finish it). The draft and its event are one transaction.
pub fn postmortem_to_article(db: &Db, user: &User, incident_id: i64) -> Result<String, AppError> {
    By::staff(user)?;
    db.write_sync(|conn| {
        let row = q::incident(conn, incident_id)?.ok_or(AppError::NotFound)?;
        let incident = board::hydrate(conn, vec![row])?.remove(0);
        let Some(postmortem) = incident
            .updates
            .iter()
            .find(|u| u.row.status == IncidentStatus::Postmortem.as_str())
        else {
            return Err(AppError::Conflict(
                "Write the postmortem first (an update with status “postmortem”).".into(),
            ));
        };
        let section = crate::db::kb::sections(conn)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                AppError::Conflict(
                    "Create a knowledge-base section first (/staff/kb/sections).".into(),
                )
            })?;
        let path =
            crate::subject::Subject::Incident(incident_id).path(crate::subject::Named::slug(""));
        let mut raw = format!("{}\n\n## Timeline (UTC)\n\n", postmortem.row.raw.trim());
        for u in incident
            .updates
            .iter()
            .rev()
            .filter(|u| u.row.id != postmortem.row.id)
        {
            let text = crate::markdown::plain_text(&u.row.raw).replace('\n', " ");
            raw.push_str(&format!(
                "- {} **{}**: {}\n",
                u.row.created_at.format("%Y-%m-%d %H:%M"),
                IncidentStatus::of(&u.row.status).label(),
                text.trim()
            ));
        }
        raw.push_str(&format!(
            "\nThe incident as it happened: [{}]({path}).\n",
            incident.row.name
        ));
        let input = crate::kb::ArticleInput {
            title: format!("What happened: {}", incident.row.name),
            section: section.slug.clone(),
            summary: format!(
                "The postmortem of “{}” on {}: what happened, why, and what we changed.",
                incident.row.name,
                incident.row.started_at.format("%B %-d, %Y")
            ),
            raw,
            status: crate::kb::Status::Draft.as_str().into(),
            note: format!("From the postmortem of incident {incident_id}"),
            ..Default::default()
        };
        let checked = crate::kb::check(&input, &crate::forum::Limits::default()).map_err(|e| {
            AppError::Unprocessable(
                e.iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            )
        })?;
        let actor = crate::accounts::Actor::from(user);
        let saved =
            crate::kb::save_in(conn, Some(actor), None, &checked, db::now())?.map_err(|e| {
                AppError::Unprocessable(
                    e.iter()
                        .map(|(f, m)| format!("{f}: {m}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                )
            })?;
        Ok(saved.article.slug)
    })
}

/// A member follows one incident (instead of reporting it again); idempotent.
pub fn follow(db: &Db, user: &User, incident_id: i64) -> Result<(), AppError> {
    db.write_sync(|conn| {
        q::incident(conn, incident_id)?.ok_or(AppError::NotFound)?;
        if q::follow(conn, incident_id, user.id, db::now())? {
            events::append(
                conn,
                &Event::IncidentFollowed {},
                Some(incident_id),
                Some(user.id),
            )?;
        }
        Ok(())
    })
}

pub fn follows(db: &Db, user: &User, incident_id: i64) -> Result<bool, AppError> {
    db.read_sync(|c| q::follows(c, incident_id, user.id))
}

/// Subscribes a member to every incident and maintenance (or not); idempotent.
pub fn subscribe(db: &Db, user: &User, on: bool) -> Result<(), AppError> {
    db.write_sync(|conn| {
        if q::set_subscribed(conn, user.id, on, db::now())? {
            let event = Event::StatusSubscriptionChanged { subscribed: on };
            events::append(conn, &event, Some(user.id), Some(user.id))?;
        }
        Ok(())
    })
}

pub fn is_subscribed(db: &Db, user: &User) -> Result<bool, AppError> {
    db.read_sync(|c| q::is_subscribed(c, user.id))
}

/// (id, last change) of the most recent incidents and maintenances, for the sitemap.
pub fn sitemap_entries(db: &Db, limit: i64) -> Result<Vec<(i64, NaiveDateTime)>, AppError> {
    db.read_sync(|conn| {
        let mut rows = q::recent(conn, Kind::Incident.as_str(), limit)?;
        rows.extend(q::recent(conn, Kind::Maintenance.as_str(), limit)?);
        Ok(rows.into_iter().map(|r| (r.id, r.updated_at)).collect())
    })
}

pub fn component_rows(db: &Db) -> Result<Vec<q::ComponentRow>, AppError> {
    db.read_sync(q::components)
}

pub fn component_row(db: &Db, id: i64) -> Result<Option<q::ComponentRow>, AppError> {
    db.read_sync(|c| q::component(c, id))
}
