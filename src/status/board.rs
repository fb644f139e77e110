//! What the status page shows, read in one go: components, open and upcoming incidents and
//! maintenance, the most recent of each, the uptime bars and the overall indicator. Built by
//! the per-node snapshot (`snapshot.rs`), and for one incident or one month of history.

use std::collections::HashMap;

use chrono::{NaiveDateTime, TimeDelta};

use super::uptime::{self, Bars, Touch};
use super::{ComponentStatus, Impact, IncidentStatus, Kind};
use crate::db::status::{self as q, ChangeRow, ComponentRow, IncidentRow, UpdateRow};
use crate::db::{Db, DbConn};
use crate::error::AppError;

/// How many incidents (and maintenances) `incidents.json` lists, as Statuspage does.
pub const RECENT: i64 = 50;

#[derive(Debug, Clone)]
pub struct Update {
    pub row: UpdateRow,
    pub changes: Vec<ChangeRow>,
}

#[derive(Debug, Clone)]
pub struct Incident {
    pub row: IncidentRow,
    /// Newest first.
    pub updates: Vec<Update>,
    pub components: Vec<i64>,
    /// Forum topics that reported it (not deleted).
    pub reports: usize,
}

impl Incident {
    pub fn kind(&self) -> Kind {
        Kind::of(&self.row)
    }

    pub fn status(&self) -> IncidentStatus {
        IncidentStatus::of(&self.row.status)
    }

    pub fn impact(&self) -> Impact {
        Impact::of(&self.row.impact)
    }

    /// Shown in the banner on every page: unresolved incidents and maintenance under way.
    pub fn is_active(&self) -> bool {
        super::is_active(&self.row)
    }
}

#[derive(Debug, Clone)]
pub struct Board {
    pub built_at: NaiveDateTime,
    /// In page order (position, then id); groups included.
    pub components: Vec<ComponentRow>,
    /// Unresolved incidents and maintenance under way, newest first.
    pub active: Vec<Incident>,
    /// Maintenance not started yet, soonest first.
    pub upcoming: Vec<Incident>,
    pub recent_incidents: Vec<Incident>,
    pub recent_maintenance: Vec<Incident>,
    /// Per component (not groups).
    pub uptime: HashMap<i64, Bars>,
    /// The page's overall state (`status.indicator`): the worst of the components' and the
    /// active incidents' impacts, maintenance below any outage.
    pub indicator: Impact,
}

impl Board {
    /// The empty board of a site without a status page yet.
    pub fn empty(now: NaiveDateTime) -> Board {
        Board {
            built_at: now,
            components: Vec::new(),
            active: Vec::new(),
            upcoming: Vec::new(),
            recent_incidents: Vec::new(),
            recent_maintenance: Vec::new(),
            uptime: HashMap::new(),
            indicator: Impact::None,
        }
    }

    pub fn component(&self, id: i64) -> Option<&ComponentRow> {
        self.components.iter().find(|c| c.id == id)
    }

    /// A group's status: the worst of its components'.
    pub fn status_of(&self, c: &ComponentRow) -> ComponentStatus {
        if !c.is_group {
            return ComponentStatus::of(&c.status);
        }
        self.children(c.id)
            .map(|x| ComponentStatus::of(&x.status))
            .fold(ComponentStatus::Operational, ComponentStatus::worst)
    }

    pub fn children(&self, group: i64) -> impl Iterator<Item = &ComponentRow> {
        self.components
            .iter()
            .filter(move |c| c.group_id == Some(group))
    }

    /// Top-level rows: groups and components outside any group, in page order.
    pub fn top_level(&self) -> impl Iterator<Item = &ComponentRow> {
        self.components.iter().filter(|c| c.group_id.is_none())
    }

    /// Whether the public page lists it ("only show if degraded" hides it while operational).
    pub fn shown(&self, c: &ComponentRow) -> bool {
        !c.only_show_if_degraded || self.status_of(c) != ComponentStatus::Operational
    }

    /// The last time anything on the page changed.
    pub fn updated_at(&self) -> NaiveDateTime {
        self.components
            .iter()
            .map(|c| c.updated_at)
            .chain(
                self.recent_incidents
                    .iter()
                    .chain(&self.recent_maintenance)
                    .map(|i| i.row.updated_at),
            )
            .max()
            .unwrap_or(self.built_at)
    }

    pub fn find(&self, id: i64) -> Option<&Incident> {
        self.active
            .iter()
            .chain(&self.upcoming)
            .chain(&self.recent_incidents)
            .chain(&self.recent_maintenance)
            .find(|i| i.row.id == id)
    }
}

/// Reads the whole board at `now`.
pub fn load(conn: &mut DbConn, now: NaiveDateTime) -> Result<Board, AppError> {
    let components = page_order(q::components(conn)?);
    let unresolved = q::unresolved(conn)?;
    let mut rows: Vec<IncidentRow> = unresolved.clone();
    let recent_i = q::recent(conn, Kind::Incident.as_str(), RECENT)?;
    let recent_m = q::recent(conn, Kind::Maintenance.as_str(), RECENT)?;
    for r in recent_i.iter().chain(&recent_m) {
        if !rows.iter().any(|x| x.id == r.id) {
            rows.push(r.clone());
        }
    }
    let hydrated = hydrate(conn, rows)?;
    let pick = |ids: &[IncidentRow]| -> Vec<Incident> {
        ids.iter()
            .filter_map(|r| hydrated.iter().find(|h| h.row.id == r.id).cloned())
            .collect()
    };
    let open = pick(&unresolved);
    let mut upcoming: Vec<Incident> = open
        .iter()
        .filter(|i| i.kind() == Kind::Maintenance && i.status() == IncidentStatus::Scheduled)
        .cloned()
        .collect();
    upcoming.sort_by_key(|i| (i.row.scheduled_for, i.row.id));
    let active: Vec<Incident> = open.into_iter().filter(Incident::is_active).collect();

    // Uptime: the status history of the last 90 days and the incidents that touched it.
    let window = (now.date() - TimeDelta::days(uptime::DAYS))
        .and_hms_opt(0, 0, 0)
        .unwrap_or(now);
    let mut history: HashMap<i64, Vec<(NaiveDateTime, ComponentStatus)>> = HashMap::new();
    for h in q::history_since(conn, window)? {
        history
            .entry(h.component_id)
            .or_default()
            .push((h.started_at, ComponentStatus::of(&h.status)));
    }
    for list in history.values_mut() {
        list.sort_by_key(|(t, _)| *t);
    }
    let touching = q::overlapping(conn, window)?;
    let touching_ids: Vec<i64> = touching.iter().map(|i| i.id).collect();
    let mut touched_by: HashMap<i64, Vec<&IncidentRow>> = HashMap::new();
    for (incident, component) in q::affected_of(conn, &touching_ids)? {
        if let Some(row) = touching.iter().find(|i| i.id == incident) {
            touched_by.entry(component).or_default().push(row);
        }
    }
    let mut bars = HashMap::new();
    for c in components.iter().filter(|c| !c.is_group) {
        let start = c
            .start_date
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(c.created_at, |d| d.min(c.created_at));
        let touches: Vec<Touch> = touched_by
            .get(&c.id)
            .map(|rows| {
                rows.iter()
                    .map(|r| Touch {
                        id: r.id,
                        name: &r.name,
                        from: r.started_at,
                        until: r.resolved_at,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let h = history.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        bars.insert(c.id, uptime::bars(start, h, &touches, now));
    }

    let worst_component = components
        .iter()
        .filter(|c| !c.is_group)
        .map(|c| ComponentStatus::of(&c.status))
        .fold(ComponentStatus::Operational, ComponentStatus::worst);
    let indicator = active
        .iter()
        .map(|i| match i.kind() {
            Kind::Maintenance => Impact::Maintenance,
            Kind::Incident => i.impact(),
        })
        .fold(Impact::from_component(worst_component), Ord::max);
    Ok(Board {
        built_at: now,
        components,
        active,
        upcoming,
        recent_incidents: pick(&recent_i),
        recent_maintenance: pick(&recent_m),
        uptime: bars,
        indicator,
    })
}

/// Each top-level component or group followed by the components in it (positions count
/// within a group, as in Statuspage).
fn page_order(rows: Vec<ComponentRow>) -> Vec<ComponentRow> {
    let mut out = Vec::with_capacity(rows.len());
    for top in rows.iter().filter(|c| c.group_id.is_none()) {
        out.push(top.clone());
        out.extend(rows.iter().filter(|c| c.group_id == Some(top.id)).cloned());
    }
    // A component whose group is gone (never, by the rules) is still listed.
    for c in &rows {
        if !out.iter().any(|x| x.id == c.id) {
            out.push(c.clone());
        }
    }
    out
}

/// Adds updates, their component changes, affected components and report counts.
pub fn hydrate(conn: &mut DbConn, rows: Vec<IncidentRow>) -> Result<Vec<Incident>, AppError> {
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let updates = q::updates_of(conn, &ids)?;
    let update_ids: Vec<i64> = updates.iter().map(|u| u.id).collect();
    let mut changes: HashMap<i64, Vec<ChangeRow>> = HashMap::new();
    for c in q::changes_of(conn, &update_ids)? {
        changes.entry(c.update_id).or_default().push(c);
    }
    let mut by_incident: HashMap<i64, Vec<Update>> = HashMap::new();
    for u in updates {
        let changes = changes.remove(&u.id).unwrap_or_default();
        by_incident
            .entry(u.incident_id)
            .or_default()
            .push(Update { row: u, changes });
    }
    let mut affected: HashMap<i64, Vec<i64>> = HashMap::new();
    for (incident, component) in q::affected_of(conn, &ids)? {
        affected.entry(incident).or_default().push(component);
    }
    let mut reports: HashMap<i64, usize> = HashMap::new();
    for (incident, _, _) in q::reports_of(conn, &ids)? {
        *reports.entry(incident).or_default() += 1;
    }
    Ok(rows
        .into_iter()
        .map(|row| Incident {
            updates: by_incident.remove(&row.id).unwrap_or_default(),
            components: affected.remove(&row.id).unwrap_or_default(),
            reports: reports.get(&row.id).copied().unwrap_or(0),
            row,
        })
        .collect())
}

/// One incident with everything it shows, and the public topics that reported it.
pub struct IncidentPage {
    pub incident: Incident,
    pub components: Vec<ComponentRow>,
    /// (topic id, title, slug) of the listed, public topics that reported it.
    pub topics: Vec<(i64, String, String)>,
}

pub fn incident_page(db: &Db, id: i64) -> Result<Option<IncidentPage>, AppError> {
    db.read_sync(|conn| {
        let Some(row) = q::incident(conn, id)? else {
            return Ok(None);
        };
        let incident = hydrate(conn, vec![row])?.remove(0);
        let components = q::components(conn)?;
        let topic_ids: Vec<i64> = q::reports_of(conn, &[id])?
            .into_iter()
            .map(|(_, t, _)| t)
            .collect();
        let topics = crate::forum::public_topic_titles(conn, &topic_ids)?;
        Ok(Some(IncidentPage {
            incident,
            components,
            topics,
        }))
    })
}

/// When the first and the last incident started.
pub type Range = Option<(NaiveDateTime, NaiveDateTime)>;

/// Incidents and maintenance that started in one month, newest first, with their updates;
/// and the range of months that have any.
pub fn month(
    db: &Db,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<(Vec<Incident>, Range), AppError> {
    db.read_sync(|conn| {
        let rows = q::started_between(conn, from, to)?;
        Ok((hydrate(conn, rows)?, q::started_range(conn)?))
    })
}
