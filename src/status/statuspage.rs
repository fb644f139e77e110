//! The public read API of Atlassian Statuspage v2 (`/api/v2/*.json`), field for field: the
//! same top-level keys, object fields in the order real pages send them, `null` where
//! Townhall has no value, Statuspage's enum values, and timestamps in ISO 8601 with
//! milliseconds and offset. Monitors, exporters, widgets and client libraries written for
//! Statuspage read it unchanged. Ids are strings, as there.

use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;

use super::Kind;
use super::board::{Board, Incident};
use crate::db::status::ComponentRow;
use crate::settings::SiteSettings;

/// Statuspage pages have an id; a Townhall site has one status page.
pub const PAGE_ID: &str = "townhall";

/// `2026-12-03T09:15:00.123Z`
pub fn timestamp(t: NaiveDateTime) -> String {
    t.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Serialize)]
struct Page {
    id: &'static str,
    name: String,
    url: String,
    time_zone: &'static str,
    updated_at: String,
}

#[derive(Serialize)]
struct Status {
    indicator: &'static str,
    description: &'static str,
}

#[derive(Serialize)]
struct Component {
    id: String,
    name: String,
    status: &'static str,
    created_at: String,
    updated_at: String,
    position: i32,
    description: Option<String>,
    showcase: bool,
    start_date: Option<String>,
    group_id: Option<String>,
    page_id: &'static str,
    group: bool,
    only_show_if_degraded: bool,
    /// Groups only: their components' ids.
    #[serde(skip_serializing_if = "Option::is_none")]
    components: Option<Vec<String>>,
}

#[derive(Serialize)]
struct AffectedComponent {
    code: String,
    name: String,
    old_status: String,
    new_status: String,
}

#[derive(Serialize)]
struct IncidentUpdate {
    id: String,
    status: String,
    body: String,
    incident_id: String,
    created_at: String,
    updated_at: String,
    display_at: String,
    affected_components: Option<Vec<AffectedComponent>>,
    deliver_notifications: bool,
    custom_tweet: Option<String>,
    tweet_id: Option<String>,
}

#[derive(Serialize)]
struct IncidentJson {
    id: String,
    name: String,
    status: String,
    created_at: String,
    updated_at: String,
    monitoring_at: Option<String>,
    resolved_at: Option<String>,
    impact: String,
    shortlink: String,
    started_at: String,
    page_id: &'static str,
    incident_updates: Vec<IncidentUpdate>,
    components: Vec<Component>,
    reminder_intervals: Option<String>,
    /// Scheduled maintenance only.
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_for: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scheduled_until: Option<Option<String>>,
}

fn page(board: &Board, s: &SiteSettings) -> Page {
    Page {
        id: PAGE_ID,
        name: s.site_name.clone(),
        url: format!("{}/status", s.public_url),
        time_zone: "Etc/UTC",
        updated_at: timestamp(board.updated_at()),
    }
}

fn status(board: &Board) -> Status {
    Status {
        indicator: board.indicator.as_str(),
        description: board.indicator.description(),
    }
}

fn component(board: &Board, c: &ComponentRow) -> Component {
    Component {
        id: c.id.to_string(),
        name: c.name.clone(),
        status: board.status_of(c).as_str(),
        created_at: timestamp(c.created_at),
        updated_at: timestamp(c.updated_at),
        position: c.position,
        description: (!c.description.is_empty()).then(|| c.description.clone()),
        showcase: true,
        start_date: c.start_date.map(|d| d.format("%Y-%m-%d").to_string()),
        group_id: c.group_id.map(|g| g.to_string()),
        page_id: PAGE_ID,
        group: c.is_group,
        only_show_if_degraded: c.only_show_if_degraded,
        components: c
            .is_group
            .then(|| board.children(c.id).map(|x| x.id.to_string()).collect()),
    }
}

fn components(board: &Board) -> Vec<Component> {
    board
        .components
        .iter()
        .map(|c| component(board, c))
        .collect()
}

fn incident(board: &Board, i: &Incident, s: &SiteSettings) -> IncidentJson {
    let name_of = |id: i64| {
        board
            .component(id)
            .map(|c| c.name.clone())
            .unwrap_or_default()
    };
    let maintenance = i.kind() == Kind::Maintenance;
    IncidentJson {
        id: i.row.id.to_string(),
        name: i.row.name.clone(),
        status: i.row.status.clone(),
        created_at: timestamp(i.row.created_at),
        updated_at: timestamp(i.row.updated_at),
        monitoring_at: i.row.monitoring_at.map(timestamp),
        resolved_at: i.row.resolved_at.map(timestamp),
        impact: i.row.impact.clone(),
        shortlink: format!("{}/status/incidents/{}", s.public_url, i.row.id),
        started_at: timestamp(i.row.started_at),
        page_id: PAGE_ID,
        incident_updates: i
            .updates
            .iter()
            .map(|u| IncidentUpdate {
                id: u.row.id.to_string(),
                status: u.row.status.clone(),
                body: u.row.raw.clone(),
                incident_id: i.row.id.to_string(),
                created_at: timestamp(u.row.created_at),
                updated_at: timestamp(u.row.created_at),
                display_at: timestamp(u.row.created_at),
                affected_components: (!u.changes.is_empty()).then(|| {
                    u.changes
                        .iter()
                        .map(|c| AffectedComponent {
                            code: c.component_id.to_string(),
                            name: name_of(c.component_id),
                            old_status: c.old_status.clone(),
                            new_status: c.new_status.clone(),
                        })
                        .collect()
                }),
                deliver_notifications: true,
                custom_tweet: None,
                tweet_id: None,
            })
            .collect(),
        components: i
            .components
            .iter()
            .filter_map(|id| board.component(*id))
            .map(|c| component(board, c))
            .collect(),
        reminder_intervals: None,
        scheduled_for: maintenance.then(|| i.row.scheduled_for.map(timestamp)),
        scheduled_until: maintenance.then(|| i.row.scheduled_until.map(timestamp)),
    }
}

fn to_json<T: Serialize>(value: &T) -> String {
    // Plain structs of strings, numbers and options: serialising cannot fail.
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into())
}

/// The endpoints, by their path under `/api/v2/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Summary,
    Status,
    Components,
    Incidents,
    Unresolved,
    Maintenances,
    Upcoming,
    Active,
}

impl Endpoint {
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Some(match path {
            "summary.json" => Endpoint::Summary,
            "status.json" => Endpoint::Status,
            "components.json" => Endpoint::Components,
            "incidents.json" => Endpoint::Incidents,
            "incidents/unresolved.json" => Endpoint::Unresolved,
            "scheduled-maintenances.json" => Endpoint::Maintenances,
            "scheduled-maintenances/upcoming.json" => Endpoint::Upcoming,
            "scheduled-maintenances/active.json" => Endpoint::Active,
            _ => return None,
        })
    }
}

/// The body of one endpoint.
pub fn render(endpoint: Endpoint, board: &Board, s: &SiteSettings) -> String {
    let page = page(board, s);
    let list = |items: &mut dyn Iterator<Item = &Incident>| -> Vec<IncidentJson> {
        items.map(|i| incident(board, i, s)).collect()
    };
    let unresolved_incidents = || {
        board
            .active
            .iter()
            .filter(|i| i.kind() == Kind::Incident)
            .collect::<Vec<_>>()
    };
    let open_maintenance = || {
        let mut v: Vec<&Incident> = board
            .active
            .iter()
            .filter(|i| i.kind() == Kind::Maintenance)
            .collect();
        v.extend(board.upcoming.iter());
        v
    };
    match endpoint {
        Endpoint::Summary => {
            #[derive(Serialize)]
            struct Summary {
                page: Page,
                components: Vec<Component>,
                incidents: Vec<IncidentJson>,
                scheduled_maintenances: Vec<IncidentJson>,
                status: Status,
            }
            to_json(&Summary {
                components: components(board),
                incidents: list(&mut unresolved_incidents().into_iter()),
                scheduled_maintenances: list(&mut open_maintenance().into_iter()),
                status: status(board),
                page,
            })
        }
        Endpoint::Status => {
            #[derive(Serialize)]
            struct Body {
                page: Page,
                status: Status,
            }
            to_json(&Body {
                status: status(board),
                page,
            })
        }
        Endpoint::Components => {
            #[derive(Serialize)]
            struct Body {
                page: Page,
                components: Vec<Component>,
            }
            to_json(&Body {
                components: components(board),
                page,
            })
        }
        Endpoint::Incidents | Endpoint::Unresolved => {
            #[derive(Serialize)]
            struct Body {
                page: Page,
                incidents: Vec<IncidentJson>,
            }
            let incidents = if endpoint == Endpoint::Incidents {
                list(&mut board.recent_incidents.iter())
            } else {
                list(&mut unresolved_incidents().into_iter())
            };
            to_json(&Body { page, incidents })
        }
        Endpoint::Maintenances | Endpoint::Upcoming | Endpoint::Active => {
            #[derive(Serialize)]
            struct Body {
                page: Page,
                scheduled_maintenances: Vec<IncidentJson>,
            }
            let items = match endpoint {
                Endpoint::Maintenances => list(&mut board.recent_maintenance.iter()),
                Endpoint::Upcoming => list(&mut board.upcoming.iter()),
                _ => list(
                    &mut board
                        .active
                        .iter()
                        .filter(|i| i.kind() == Kind::Maintenance && i.status().is_underway()),
                ),
            };
            to_json(&Body {
                page,
                scheduled_maintenances: items,
            })
        }
    }
}

/// The JSON of one incident for the management API's answers (the v2 shape).
pub fn incident_json(board: &Board, i: &Incident, s: &SiteSettings) -> String {
    to_json(&incident(board, i, s))
}

/// The JSON of one component for the management API's answers.
pub fn component_json(board: &Board, c: &ComponentRow) -> String {
    to_json(&component(board, c))
}
