//! Status-page queries: components, incidents and maintenance, their updates and component
//! changes, each component's status history, reports from the forum, followers.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConn;
use super::schema::{
    status_component_history as history, status_components as components,
    status_incident_components as affected, status_incident_followers as followers,
    status_incident_topics as reports, status_incidents as incidents, status_subscribers,
    status_update_components as changes, status_updates as updates, topics,
};
use crate::error::AppError;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = components)]
pub struct ComponentRow {
    pub id: i64,
    pub name: String,
    pub description: String,
    pub group_id: Option<i64>,
    pub is_group: bool,
    pub position: i32,
    pub only_show_if_degraded: bool,
    pub start_date: Option<NaiveDate>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = incidents)]
pub struct IncidentRow {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub status: String,
    pub impact: String,
    pub impact_override: Option<String>,
    pub scheduled_for: Option<NaiveDateTime>,
    pub scheduled_until: Option<NaiveDateTime>,
    pub started_at: NaiveDateTime,
    pub monitoring_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub created_by: Option<i64>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = updates)]
pub struct UpdateRow {
    pub id: i64,
    pub incident_id: i64,
    pub status: String,
    pub raw: String,
    pub cooked: String,
    pub author_id: Option<i64>,
    pub token_id: Option<i64>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = changes)]
pub struct ChangeRow {
    pub update_id: i64,
    pub component_id: i64,
    pub old_status: String,
    pub new_status: String,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]
#[diesel(table_name = history)]
pub struct HistoryRow {
    pub id: i64,
    pub component_id: i64,
    pub status: String,
    pub incident_id: Option<i64>,
    pub started_at: NaiveDateTime,
}

/// A component's fields as saved from the admin form.
pub struct ComponentFields<'a> {
    pub name: &'a str,
    pub description: &'a str,
    pub group_id: Option<i64>,
    pub is_group: bool,
    pub position: i32,
    pub only_show_if_degraded: bool,
    pub start_date: Option<NaiveDate>,
}

// ---- components --------------------------------------------------------------------------

pub fn components(conn: &mut DbConn) -> Result<Vec<ComponentRow>, AppError> {
    Ok(components::table
        .order((components::position.asc(), components::id.asc()))
        .select(ComponentRow::as_select())
        .load(conn)?)
}

pub fn component(conn: &mut DbConn, id: i64) -> Result<Option<ComponentRow>, AppError> {
    Ok(components::table
        .find(id)
        .select(ComponentRow::as_select())
        .first(conn)
        .optional()?)
}

pub fn insert_component(
    conn: &mut DbConn,
    f: &ComponentFields,
    at: NaiveDateTime,
) -> Result<i64, AppError> {
    Ok(diesel::insert_into(components::table)
        .values((
            components::name.eq(f.name),
            components::description.eq(f.description),
            components::group_id.eq(f.group_id),
            components::is_group.eq(f.is_group),
            components::position.eq(f.position),
            components::only_show_if_degraded.eq(f.only_show_if_degraded),
            components::start_date.eq(f.start_date),
            components::status.eq("operational"),
            components::created_at.eq(at),
            components::updated_at.eq(at),
        ))
        .returning(components::id)
        .get_result(conn)?)
}

pub fn update_component(
    conn: &mut DbConn,
    id: i64,
    f: &ComponentFields,
    at: NaiveDateTime,
) -> Result<usize, AppError> {
    Ok(diesel::update(components::table.find(id))
        .set((
            components::name.eq(f.name),
            components::description.eq(f.description),
            components::group_id.eq(f.group_id),
            components::position.eq(f.position),
            components::only_show_if_degraded.eq(f.only_show_if_degraded),
            components::start_date.eq(f.start_date),
            components::updated_at.eq(at),
        ))
        .execute(conn)?)
}

/// Sets a component's status and records it in its history.
pub fn set_component_status(
    conn: &mut DbConn,
    id: i64,
    status: &str,
    incident_id: Option<i64>,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    // A change recorded for the past (the demo's history) never moves `updated_at` back.
    let updated: Option<NaiveDateTime> = components::table
        .find(id)
        .select(components::updated_at)
        .first(conn)
        .optional()?;
    let updated_at = updated.map_or(at, |u| u.max(at));
    diesel::update(components::table.find(id))
        .set((
            components::status.eq(status),
            components::updated_at.eq(updated_at),
        ))
        .execute(conn)?;
    diesel::insert_into(history::table)
        .values((
            history::component_id.eq(id),
            history::status.eq(status),
            history::incident_id.eq(incident_id),
            history::started_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every component's status changes since `since`, plus the last one before it (the status
/// each had when the window opened), oldest first.
pub fn history_since(conn: &mut DbConn, since: NaiveDateTime) -> Result<Vec<HistoryRow>, AppError> {
    let mut rows: Vec<HistoryRow> = history::table
        .filter(history::started_at.ge(since))
        .order((history::started_at.asc(), history::id.asc()))
        .select(HistoryRow::as_select())
        .load(conn)?;
    // Few components: one small query each for where they stood at the start.
    let ids: Vec<i64> = components::table.select(components::id).load(conn)?;
    let mut before = Vec::new();
    for id in ids {
        if let Some(row) = history::table
            .filter(history::component_id.eq(id))
            .filter(history::started_at.lt(since))
            .order((history::started_at.desc(), history::id.desc()))
            .select(HistoryRow::as_select())
            .first(conn)
            .optional()?
        {
            before.push(row);
        }
    }
    before.append(&mut rows);
    Ok(before)
}

// ---- incidents ---------------------------------------------------------------------------

pub struct NewIncident<'a> {
    pub kind: &'a str,
    pub name: &'a str,
    pub status: &'a str,
    pub impact: &'a str,
    pub impact_override: Option<&'a str>,
    pub scheduled_for: Option<NaiveDateTime>,
    pub scheduled_until: Option<NaiveDateTime>,
    pub started_at: NaiveDateTime,
    pub created_by: Option<i64>,
}

pub fn insert_incident(
    conn: &mut DbConn,
    i: &NewIncident,
    at: NaiveDateTime,
) -> Result<i64, AppError> {
    Ok(diesel::insert_into(incidents::table)
        .values((
            incidents::kind.eq(i.kind),
            incidents::name.eq(i.name),
            incidents::status.eq(i.status),
            incidents::impact.eq(i.impact),
            incidents::impact_override.eq(i.impact_override),
            incidents::scheduled_for.eq(i.scheduled_for),
            incidents::scheduled_until.eq(i.scheduled_until),
            incidents::started_at.eq(i.started_at),
            incidents::created_by.eq(i.created_by),
            incidents::created_at.eq(at),
            incidents::updated_at.eq(at),
        ))
        .returning(incidents::id)
        .get_result(conn)?)
}

pub fn incident(conn: &mut DbConn, id: i64) -> Result<Option<IncidentRow>, AppError> {
    Ok(incidents::table
        .find(id)
        .select(IncidentRow::as_select())
        .first(conn)
        .optional()?)
}

/// The incident row locked for an update (PostgreSQL; SQLite writers are serial).
pub fn incident_for_update(conn: &mut DbConn, id: i64) -> Result<Option<IncidentRow>, AppError> {
    match conn {
        DbConn::Postgres(pg) => Ok(incidents::table
            .find(id)
            .select(IncidentRow::as_select())
            .for_update()
            .first(pg)
            .optional()?),
        DbConn::Sqlite(_) => incident(conn, id),
    }
}

/// What an update sets on the incident itself.
pub struct IncidentChange<'a> {
    pub name: &'a str,
    pub status: &'a str,
    pub impact: &'a str,
    pub impact_override: Option<&'a str>,
    pub monitoring_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub started_at: NaiveDateTime,
}

pub fn update_incident(
    conn: &mut DbConn,
    id: i64,
    c: &IncidentChange,
    at: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::update(incidents::table.find(id))
        .set((
            incidents::name.eq(c.name),
            incidents::status.eq(c.status),
            incidents::impact.eq(c.impact),
            incidents::impact_override.eq(c.impact_override),
            incidents::monitoring_at.eq(c.monitoring_at),
            incidents::resolved_at.eq(c.resolved_at),
            incidents::started_at.eq(c.started_at),
            incidents::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// Up to `limit` incidents (and maintenances) with ids above `after`, by id (for indexing).
pub fn incidents_after(
    conn: &mut DbConn,
    after: i64,
    limit: i64,
) -> Result<Vec<IncidentRow>, AppError> {
    Ok(incidents::table
        .filter(incidents::id.gt(after))
        .order(incidents::id.asc())
        .limit(limit)
        .select(IncidentRow::as_select())
        .load(conn)?)
}

/// Incidents and maintenance not resolved or completed yet, newest first.
pub fn unresolved(conn: &mut DbConn) -> Result<Vec<IncidentRow>, AppError> {
    Ok(incidents::table
        .filter(incidents::resolved_at.is_null())
        .order((incidents::started_at.desc(), incidents::id.desc()))
        .select(IncidentRow::as_select())
        .load(conn)?)
}

/// The most recent incidents (or maintenances) of one kind, newest first.
pub fn recent(conn: &mut DbConn, kind: &str, limit: i64) -> Result<Vec<IncidentRow>, AppError> {
    Ok(incidents::table
        .filter(incidents::kind.eq(kind))
        .order((incidents::started_at.desc(), incidents::id.desc()))
        .limit(limit)
        .select(IncidentRow::as_select())
        .load(conn)?)
}

/// Incidents and maintenance that started in `[from, to)`, newest first.
pub fn started_between(
    conn: &mut DbConn,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<IncidentRow>, AppError> {
    Ok(incidents::table
        .filter(incidents::started_at.ge(from))
        .filter(incidents::started_at.lt(to))
        .order((incidents::started_at.desc(), incidents::id.desc()))
        .select(IncidentRow::as_select())
        .load(conn)?)
}

/// Incidents whose time overlaps `[from, now]` (for the uptime bars' "incidents that day").
pub fn overlapping(conn: &mut DbConn, from: NaiveDateTime) -> Result<Vec<IncidentRow>, AppError> {
    Ok(incidents::table
        .filter(incidents::kind.eq("incident"))
        .filter(
            incidents::resolved_at
                .is_null()
                .or(incidents::resolved_at.ge(from)),
        )
        .order((incidents::started_at.asc(), incidents::id.asc()))
        .select(IncidentRow::as_select())
        .load(conn)?)
}

/// When the first and the last incident started (history's month range).
pub fn started_range(
    conn: &mut DbConn,
) -> Result<Option<(NaiveDateTime, NaiveDateTime)>, AppError> {
    let first: Option<NaiveDateTime> = incidents::table
        .select(diesel::dsl::min(incidents::started_at))
        .first(conn)?;
    let last: Option<NaiveDateTime> = incidents::table
        .select(diesel::dsl::max(incidents::started_at))
        .first(conn)?;
    Ok(first.zip(last))
}

pub fn set_affected(
    conn: &mut DbConn,
    incident_id: i64,
    component_ids: &[i64],
) -> Result<(), AppError> {
    for id in component_ids {
        let exists: i64 = affected::table
            .filter(affected::incident_id.eq(incident_id))
            .filter(affected::component_id.eq(id))
            .count()
            .get_result(conn)?;
        if exists == 0 {
            diesel::insert_into(affected::table)
                .values((
                    affected::incident_id.eq(incident_id),
                    affected::component_id.eq(id),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// (incident id, component id) for the given incidents.
pub fn affected_of(conn: &mut DbConn, incident_ids: &[i64]) -> Result<Vec<(i64, i64)>, AppError> {
    Ok(affected::table
        .filter(affected::incident_id.eq_any(incident_ids))
        .order((affected::incident_id.asc(), affected::component_id.asc()))
        .select((affected::incident_id, affected::component_id))
        .load(conn)?)
}

/// One update as written (who: a staff member, a token's creator, or nobody for the
/// scheduler; `token_id` when a script wrote it).
pub struct NewUpdate<'a> {
    pub incident_id: i64,
    pub status: &'a str,
    pub raw: &'a str,
    pub cooked: &'a str,
    pub author_id: Option<i64>,
    pub token_id: Option<i64>,
}

pub fn insert_update(conn: &mut DbConn, u: &NewUpdate, at: NaiveDateTime) -> Result<i64, AppError> {
    Ok(diesel::insert_into(updates::table)
        .values((
            updates::incident_id.eq(u.incident_id),
            updates::status.eq(u.status),
            updates::raw.eq(u.raw),
            updates::cooked.eq(u.cooked),
            updates::author_id.eq(u.author_id),
            updates::token_id.eq(u.token_id),
            updates::created_at.eq(at),
        ))
        .returning(updates::id)
        .get_result(conn)?)
}

pub fn insert_change(
    conn: &mut DbConn,
    update_id: i64,
    component_id: i64,
    old_status: &str,
    new_status: &str,
) -> Result<(), AppError> {
    diesel::insert_into(changes::table)
        .values((
            changes::update_id.eq(update_id),
            changes::component_id.eq(component_id),
            changes::old_status.eq(old_status),
            changes::new_status.eq(new_status),
        ))
        .execute(conn)?;
    Ok(())
}

/// Updates of the given incidents, newest first.
pub fn updates_of(conn: &mut DbConn, incident_ids: &[i64]) -> Result<Vec<UpdateRow>, AppError> {
    Ok(updates::table
        .filter(updates::incident_id.eq_any(incident_ids))
        .order((updates::created_at.desc(), updates::id.desc()))
        .select(UpdateRow::as_select())
        .load(conn)?)
}

pub fn changes_of(conn: &mut DbConn, update_ids: &[i64]) -> Result<Vec<ChangeRow>, AppError> {
    Ok(changes::table
        .filter(changes::update_id.eq_any(update_ids))
        .order((changes::update_id.asc(), changes::component_id.asc()))
        .select(ChangeRow::as_select())
        .load(conn)?)
}

/// The status each given incident last set for `component_id` (for restoring components
/// while other incidents still affect them).
pub fn last_set_by(
    conn: &mut DbConn,
    incident_id: i64,
    component_id: i64,
) -> Result<Option<String>, AppError> {
    Ok(changes::table
        .inner_join(updates::table.on(updates::id.eq(changes::update_id)))
        .filter(updates::incident_id.eq(incident_id))
        .filter(changes::component_id.eq(component_id))
        .order(updates::id.desc())
        .select(changes::new_status)
        .first(conn)
        .optional()?)
}

// ---- reports from the forum, followers ---------------------------------------------------

/// Links a topic to an incident; false when it was linked already.
pub fn link_topic(
    conn: &mut DbConn,
    incident_id: i64,
    topic_id: i64,
    by: Option<i64>,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let exists: i64 = reports::table
        .filter(reports::incident_id.eq(incident_id))
        .filter(reports::topic_id.eq(topic_id))
        .count()
        .get_result(conn)?;
    if exists > 0 {
        return Ok(false);
    }
    diesel::insert_into(reports::table)
        .values((
            reports::incident_id.eq(incident_id),
            reports::topic_id.eq(topic_id),
            reports::linked_by.eq(by),
            reports::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(true)
}

/// (incident id, topic id, topic author) of the topics linked to the given incidents.
pub fn reports_of(
    conn: &mut DbConn,
    incident_ids: &[i64],
) -> Result<Vec<(i64, i64, i64)>, AppError> {
    Ok(reports::table
        .inner_join(topics::table.on(topics::id.eq(reports::topic_id)))
        .filter(reports::incident_id.eq_any(incident_ids))
        .filter(topics::deleted_at.is_null())
        .order((reports::incident_id.asc(), reports::created_at.asc()))
        .select((reports::incident_id, reports::topic_id, topics::user_id))
        .load(conn)?)
}

/// (topic id, who linked it) for one incident, oldest link first.
pub fn report_links(
    conn: &mut DbConn,
    incident_id: i64,
) -> Result<Vec<(i64, Option<i64>)>, AppError> {
    Ok(reports::table
        .filter(reports::incident_id.eq(incident_id))
        .order(reports::created_at.asc())
        .select((reports::topic_id, reports::linked_by))
        .load(conn)?)
}

/// Incidents a topic was linked to.
pub fn incidents_of_topic(conn: &mut DbConn, topic_id: i64) -> Result<Vec<IncidentRow>, AppError> {
    Ok(incidents::table
        .inner_join(reports::table.on(reports::incident_id.eq(incidents::id)))
        .filter(reports::topic_id.eq(topic_id))
        .order(incidents::started_at.desc())
        .select(IncidentRow::as_select())
        .load(conn)?)
}

/// Follows an incident; false when already following.
pub fn follow(
    conn: &mut DbConn,
    incident_id: i64,
    user_id: i64,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let inserted = super::insert_or_ignore!(
        conn,
        followers::table,
        (
            followers::incident_id.eq(incident_id),
            followers::user_id.eq(user_id),
            followers::created_at.eq(at),
        )
    );
    Ok(inserted > 0)
}

pub fn followers_of(conn: &mut DbConn, incident_id: i64) -> Result<Vec<i64>, AppError> {
    Ok(followers::table
        .filter(followers::incident_id.eq(incident_id))
        .select(followers::user_id)
        .load(conn)?)
}

pub fn follows(conn: &mut DbConn, incident_id: i64, user_id: i64) -> Result<bool, AppError> {
    let n: i64 = followers::table
        .filter(followers::incident_id.eq(incident_id))
        .filter(followers::user_id.eq(user_id))
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

/// Subscribes (true) or unsubscribes a member from every status notice; whether it changed.
pub fn set_subscribed(
    conn: &mut DbConn,
    user_id: i64,
    on: bool,
    at: NaiveDateTime,
) -> Result<bool, AppError> {
    let n = if on {
        super::insert_or_ignore!(
            conn,
            status_subscribers::table,
            (
                status_subscribers::user_id.eq(user_id),
                status_subscribers::created_at.eq(at),
            )
        )
    } else {
        diesel::delete(status_subscribers::table.find(user_id)).execute(conn)?
    };
    Ok(n > 0)
}

pub fn is_subscribed(conn: &mut DbConn, user_id: i64) -> Result<bool, AppError> {
    let n: i64 = status_subscribers::table
        .find(user_id)
        .count()
        .get_result(conn)?;
    Ok(n > 0)
}

pub fn subscribers(conn: &mut DbConn) -> Result<Vec<i64>, AppError> {
    Ok(status_subscribers::table
        .select(status_subscribers::user_id)
        .load(conn)?)
}
