//! Theme files embedded in the binary, served under content-hashed URLs so that
//! browsers and proxies may cache them for a year.

use std::borrow::Cow;
use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use rust_embed::RustEmbed;

use super::AppState;
use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "themes/"]
struct ThemeFiles;

pub struct Assets {
    /// "default/style.css" -> "/assets/default/style.0123456789ab.css"
    url_of: HashMap<String, String>,
    /// the reverse, without the "/assets/" prefix
    file_of: HashMap<String, String>,
    themes: Vec<String>,
}

impl Assets {
    pub fn load() -> Assets {
        let mut url_of = HashMap::new();
        let mut file_of = HashMap::new();
        let mut themes = Vec::new();
        for path in ThemeFiles::iter() {
            let Some(file) = ThemeFiles::get(&path) else {
                continue;
            };
            let hash = hex::encode(&file.metadata.sha256_hash()[..6]);
            let hashed = match path.rsplit_once('.') {
                Some((stem, ext)) if !stem.ends_with('/') => format!("{stem}.{hash}.{ext}"),
                _ => format!("{path}.{hash}"),
            };
            if let Some(theme) = path.strip_suffix("/style.css") {
                themes.push(theme.to_string());
            }
            url_of.insert(path.to_string(), format!("/assets/{hashed}"));
            file_of.insert(hashed, path.to_string());
        }
        themes.sort();
        Assets {
            url_of,
            file_of,
            themes,
        }
    }

    /// The cache-busting URL of a theme file, falling back to the default theme's copy.
    pub fn url(&self, theme: &str, file: &str) -> Option<&str> {
        self.url_of
            .get(&format!("{theme}/{file}"))
            .or_else(|| self.url_of.get(&format!("default/{file}")))
            .map(String::as_str)
    }

    /// Themes are the folders of `themes/` that have a `style.css`.
    pub fn themes(&self) -> Vec<&str> {
        self.themes.iter().map(String::as_str).collect()
    }
}

#[get("/assets/{path:.*}")]
pub async fn serve(
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let file = state
        .assets
        .file_of
        .get(path.as_str())
        .and_then(|name| ThemeFiles::get(name))
        .ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, file.metadata.mimetype()))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(match file.data {
            // Release builds embed the bytes: serve them without copying.
            Cow::Borrowed(bytes) => web::Bytes::from_static(bytes),
            Cow::Owned(bytes) => web::Bytes::from(bytes),
        }))
}
