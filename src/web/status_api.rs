//! The status write API for scripts: open, update and resolve incidents, set component
//! status, with `Authorization: Bearer TOKEN` (a token with the `status` scope). Request
//! bodies are shaped like Statuspage's management API (`{"incident": {...}}`,
//! `{"component": {"status": ...}}`), so a script written for it needs only a new base URL
//! and token. Answers are the v2 objects; errors are `{"error": {"status", "message"}}`
//! like every JSON path (see `web::error_pages`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, patch, post, web};
use chrono::NaiveDateTime;
use serde::Deserialize;

use super::blocking;
use super::ctx::Ctx;
use crate::accounts::api_tokens::{self, Scope};
use crate::error::AppError;
use crate::forms::FieldErrors;
use crate::status::board::Board;
use crate::status::{self, By, OpenIncident, UpdateIncident, statuspage};

/// Largest JSON body accepted: an incident update is text of at most 25,000 characters.
pub const MAX_JSON_BYTES: usize = 128 * 1024;

/// A component id as Statuspage scripts send it: a string, or a number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Id {
    Number(i64),
    Text(String),
}

impl Id {
    fn parse(&self) -> Result<i64, AppError> {
        match self {
            Id::Number(n) => Ok(*n),
            Id::Text(s) => s.trim().parse().map_err(|_| {
                AppError::Unprocessable(format!(
                    "Component id “{s}” is not one of this page's ids (numbers)."
                ))
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
struct IncidentBody {
    name: Option<String>,
    status: Option<String>,
    impact_override: Option<String>,
    body: Option<String>,
    #[serde(default)]
    component_ids: Vec<Id>,
    #[serde(default)]
    components: BTreeMap<String, String>,
    scheduled_for: Option<String>,
    scheduled_until: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IncidentEnvelope {
    incident: IncidentBody,
}

#[derive(Debug, Deserialize)]
struct ComponentBody {
    status: String,
}

#[derive(Debug, Deserialize)]
struct ComponentEnvelope {
    component: ComponentBody,
}

/// Checks the token before anything else: 401 without a valid one, 403 for a member's
/// session or a token without the scope.
async fn client(ctx: &Ctx, req: &HttpRequest) -> Result<By, AppError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if header.is_none()
        && let Some(user) = &ctx.user
        && !user.role.is_staff()
    {
        return Err(AppError::Forbidden(
            "Members cannot change the status page.".into(),
        ));
    }
    let db = ctx.state.db.clone();
    let client =
        blocking(move || api_tokens::authenticate(&db, header.as_deref(), Scope::Status)).await?;
    Ok(By::token(&client))
}

fn read_json<T: serde::de::DeserializeOwned>(body: &web::Bytes) -> Result<T, AppError> {
    if body.len() > MAX_JSON_BYTES {
        return Err(AppError::PayloadTooLarge {
            limit_kib: MAX_JSON_BYTES / 1024,
        });
    }
    serde_json::from_slice(body).map_err(|e| {
        AppError::BadRequest(format!("The request body is not what this API takes: {e}."))
    })
}

fn problems(errors: FieldErrors) -> AppError {
    let lines: Vec<String> = errors
        .iter()
        .map(|(field, message)| format!("{field}: {message}"))
        .collect();
    AppError::Unprocessable(lines.join(" "))
}

/// `2026-12-05T02:00:00Z`, `…+01:00`, or without an offset (UTC).
fn time(field: &str, s: &Option<String>) -> Result<Option<NaiveDateTime>, AppError> {
    let Some(s) = s.as_deref().map(str::trim).filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(Some(t.naive_utc()));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
            return Ok(Some(t));
        }
    }
    Err(AppError::Unprocessable(format!(
        "{field}: “{s}” is not a time: use ISO 8601, like 2026-12-05T02:00:00Z."
    )))
}

/// Affected component ids, and the status each named one is set to.
type Components = (Vec<i64>, Vec<(i64, String)>);

fn components(body: &IncidentBody) -> Result<Components, AppError> {
    let ids = body
        .component_ids
        .iter()
        .map(Id::parse)
        .collect::<Result<Vec<_>, _>>()?;
    let mut set = Vec::new();
    for (id, s) in &body.components {
        set.push((Id::Text(id.clone()).parse()?, s.clone()));
    }
    Ok((ids, set))
}

/// The id in a path, or 404 naming what was not found.
fn id_of(path: &str, what: &str) -> Result<i64, AppError> {
    path.parse()
        .map_err(|_| AppError::Missing(format!("{what} {path} does not exist.")))
}

async fn answer(ctx: &Ctx, code: StatusCode, incident_id: i64) -> Result<HttpResponse, AppError> {
    super::refresh_status(&ctx.state).await?;
    let board = ctx.state.status.get();
    let body = match board.find(incident_id) {
        Some(i) => statuspage::incident_json(&board, i, &ctx.settings),
        None => {
            let db = ctx.state.db.clone();
            let page = blocking(move || status::board::incident_page(&db, incident_id))
                .await?
                .ok_or(AppError::NotFound)?;
            statuspage::incident_json(&board, &page.incident, &ctx.settings)
        }
    };
    Ok(HttpResponse::build(code)
        .content_type("application/json")
        .body(body))
}

#[post("/api/status/incidents")]
pub async fn open(ctx: Ctx, req: HttpRequest, body: web::Bytes) -> Result<HttpResponse, AppError> {
    let by = client(&ctx, &req).await?;
    let envelope: IncidentEnvelope = read_json(&body)?;
    let b = envelope.incident;
    let (component_ids, set) = components(&b)?;
    let input = OpenIncident {
        name: b
            .name
            .clone()
            .ok_or_else(|| AppError::Unprocessable("name: an incident needs a name.".into()))?,
        status: b.status.clone().unwrap_or_default(),
        impact_override: b.impact_override.clone().unwrap_or_default(),
        body: b.body.clone().unwrap_or_default(),
        component_ids,
        components: set,
        scheduled_for: time("scheduled_for", &b.scheduled_for)?,
        scheduled_until: time("scheduled_until", &b.scheduled_until)?,
    };
    let db = ctx.state.db.clone();
    let written = blocking(move || status::open(&db, by, &input))
        .await?
        .map_err(problems)?;
    answer(&ctx, StatusCode::CREATED, written.incident_id).await
}

#[patch("/api/status/incidents/{id}")]
pub async fn update(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let by = client(&ctx, &req).await?;
    let id = id_of(&path, "Incident")?;
    let envelope: IncidentEnvelope = read_json(&body)?;
    let b = envelope.incident;
    if b.scheduled_for.is_some() || b.scheduled_until.is_some() {
        return Err(AppError::Unprocessable(
            "scheduled_for, scheduled_until: a maintenance window is set when it is scheduled; schedule a new one to change it.".into(),
        ));
    }
    let (component_ids, set) = components(&b)?;
    let input = UpdateIncident {
        name: b.name.clone(),
        status: b.status.clone().unwrap_or_default(),
        impact_override: b.impact_override.clone(),
        body: b.body.clone().unwrap_or_default(),
        component_ids,
        components: set,
    };
    let db = ctx.state.db.clone();
    blocking(move || status::update(&db, by, id, &input))
        .await?
        .map_err(problems)?;
    answer(&ctx, StatusCode::OK, id).await
}

#[patch("/api/status/components/{id}")]
pub async fn component(
    ctx: Ctx,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let by = client(&ctx, &req).await?;
    let id = id_of(&path, "Component")?;
    let envelope: ComponentEnvelope = read_json(&body)?;
    let db = ctx.state.db.clone();
    let status = envelope.component.status;
    blocking(move || status::set_component_status(&db, by, id, &status)).await?;
    super::refresh_status(&ctx.state).await?;
    let board: std::sync::Arc<Board> = ctx.state.status.get();
    let row = board.component(id).ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(statuspage::component_json(&board, row)))
}
