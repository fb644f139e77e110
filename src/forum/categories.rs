//! Categories, managed by admins.

use crate::accounts::{Role, User};
use crate::db::forum::{self as q, CategoryFields, CategoryRow};
use crate::db::{Db, DbConn};
use crate::error::AppError;
use crate::events::{self, Event};
use crate::forms::FieldErrors;

#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct CategoryInput {
    pub name: String,
    pub slug: String,
    pub description: String,
    pub color: String,
    pub position: String,
    /// "on" when the checkbox is ticked.
    pub staff_only: Option<String>,
    /// "ideas" for a category of ideas that members vote on; anything else is a discussion.
    pub kind: String,
}

impl From<&CategoryRow> for CategoryInput {
    fn from(c: &CategoryRow) -> Self {
        CategoryInput {
            name: c.name.clone(),
            slug: c.slug.clone(),
            description: c.description.clone(),
            color: c.color.clone(),
            position: c.position.to_string(),
            staff_only: c.staff_only.then(|| "on".into()),
            kind: c.kind.clone(),
        }
    }
}

/// A category input that passed the checks.
pub struct Checked {
    name: String,
    slug: String,
    description: String,
    color: String,
    position: i32,
    staff_only: bool,
    kind: &'static str,
}

fn check(input: &CategoryInput) -> Result<Checked, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 50 {
        errors.add("name", "A name of 1 to 50 characters.");
    }
    let slug = if input.slug.trim().is_empty() {
        slug::slugify(&name)
    } else {
        input.slug.trim().to_lowercase()
    };
    if slug.is_empty()
        || slug.len() > 50
        || !slug
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        errors.add(
            "slug",
            "Lowercase letters, digits and '-' (at most 50), as in billing-accounts.",
        );
    }
    let description = input.description.trim().to_string();
    if description.chars().count() > 300 {
        errors.add("description", "At most 300 characters.");
    }
    let color = input.color.trim().to_lowercase();
    let color = if color.is_empty() {
        "#1f5fd1".to_string()
    } else {
        color
    };
    if !(color.len() == 7
        && color.starts_with('#')
        && color[1..].chars().all(|c| c.is_ascii_hexdigit()))
    {
        errors.add("color", "A colour like #1f5fd1.");
    }
    let position = match input.position.trim() {
        "" => 0,
        p => p.parse::<i32>().unwrap_or_else(|_| {
            errors.add("position", "A whole number; lower comes first.");
            0
        }),
    };
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(Checked {
        name,
        slug,
        description,
        color,
        position,
        staff_only: input.staff_only.is_some(),
        kind: if input.kind.trim() == "ideas" {
            "ideas"
        } else {
            "discussion"
        },
    })
}

/// Creates (`id` = None) or updates a category; admins only.
pub fn save(
    db: &Db,
    actor: &User,
    id: Option<i64>,
    input: &CategoryInput,
) -> Result<Result<i64, FieldErrors>, AppError> {
    if actor.role != Role::Admin {
        return Err(AppError::Forbidden(
            "Only administrators manage categories.".into(),
        ));
    }
    let c = match check(input) {
        Ok(c) => c,
        Err(errors) => return Ok(Err(errors)),
    };
    db.write_sync(|conn| save_in(conn, Some(actor.id), id, &c))
}

/// Checks a category as typed (the demo loader and fixtures use this with `save_in`).
pub fn checked(input: &CategoryInput) -> Result<Checked, FieldErrors> {
    check(input)
}

/// Creates (`id` = None) or updates a checked category inside the caller's transaction.
pub fn save_in(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    id: Option<i64>,
    c: &Checked,
) -> Result<Result<i64, FieldErrors>, AppError> {
    if q::category_slug_taken(conn, &c.slug, id.unwrap_or(-1))? {
        let mut errors = FieldErrors::default();
        errors.add("slug", "Another category already uses this slug.");
        return Ok(Err(errors));
    }
    let fields = CategoryFields {
        slug: &c.slug,
        name: &c.name,
        description: &c.description,
        color: &c.color,
        position: c.position,
        staff_only: c.staff_only,
        kind: c.kind,
    };
    let recorded = events::CategoryPayload {
        slug: c.slug.clone(),
        name: c.name.clone(),
        staff_only: c.staff_only,
    };
    let (id, event) = match id {
        Some(id) => {
            if q::update_category(conn, id, &fields)? == 0 {
                return Err(AppError::NotFound);
            }
            (id, Event::CategoryUpdated(recorded))
        }
        None => (
            q::insert_category(conn, &fields)?,
            Event::CategoryCreated(recorded),
        ),
    };
    events::append(conn, &event, Some(id), actor_id)?;
    if c.kind == "ideas" {
        // Topics already here become open ideas with no votes.
        crate::db::ideas::adopt_category(conn, id)?;
    }
    Ok(Ok(id))
}

// ---- reading -----------------------------------------------------------------------------

/// Every category in display order.
pub fn all(db: &Db) -> Result<Vec<CategoryRow>, AppError> {
    db.read_sync(q::categories)
}

pub fn by_id(db: &Db, id: i64) -> Result<Option<CategoryRow>, AppError> {
    db.read_sync(|c| q::category(c, id))
}

pub fn by_slug(db: &Db, slug: &str) -> Result<Option<CategoryRow>, AppError> {
    db.read_sync(|c| q::category_by_slug(c, slug))
}
