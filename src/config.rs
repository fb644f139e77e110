//! Start-up configuration: an optional `townhall.toml`, overridden by `TOWNHALL_*`
//! environment variables. Site settings an admin changes at runtime live in the database.

use std::net::SocketAddr;
use std::path::PathBuf;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::db::Backend;
use crate::forum::Limits;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Config {
    /// `sqlite://PATH` (default) or `postgres://USER@HOST/DB`.
    pub database_url: String,
    /// Address to listen on.
    pub bind: String,
    /// Directory for derived data: the search index, uploaded files.
    pub data_dir: PathBuf,
    /// Trust `X-Forwarded-For`/`Forwarded` for the client address (only behind your own proxy).
    pub trust_proxy: bool,
    /// HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// Shortest and longest topic titles, in characters.
    pub min_title_chars: usize,
    pub max_title_chars: usize,
    /// Shortest post in characters, longest in bytes.
    pub min_post_chars: usize,
    pub max_post_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database_url: "sqlite://data/townhall.db".into(),
            bind: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("data"),
            trust_proxy: false,
            workers: 0,
            min_title_chars: Limits::default().min_title_chars,
            max_title_chars: Limits::default().max_title_chars,
            min_post_chars: Limits::default().min_post_chars,
            max_post_bytes: Limits::default().max_post_bytes,
        }
    }
}

/// A configuration problem, phrased as the one line printed before exiting.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Config {
    /// Loads `file` (when it exists), then the environment, then checks every value.
    pub fn load(file: &std::path::Path) -> Result<Config, ConfigError> {
        let config: Config = Figment::from(Serialized::defaults(Config::default()))
            .merge(Toml::file(file))
            .merge(Env::prefixed("TOWNHALL_"))
            .extract()
            .map_err(|e| {
                let key = e
                    .path
                    .first()
                    .map(|k| format!("TOWNHALL_{}", k.to_uppercase()))
                    .unwrap_or_else(|| file.display().to_string());
                ConfigError(format!("configuration error in {key}: {}", e.kind))
            })?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        Backend::from_url(&self.database_url).map_err(|why| {
            ConfigError(format!(
                "configuration error in TOWNHALL_DATABASE_URL: {why}"
            ))
        })?;
        self.bind_addr()?;
        let limit = |key: &str, value: usize, lo: usize, hi: usize| {
            if (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(ConfigError(format!(
                    "configuration error in TOWNHALL_{}: {value} is outside {lo}..={hi}",
                    key.to_uppercase()
                )))
            }
        };
        limit("min_title_chars", self.min_title_chars, 1, 100)?;
        limit(
            "max_title_chars",
            self.max_title_chars,
            self.min_title_chars,
            500,
        )?;
        limit("min_post_chars", self.min_post_chars, 1, 1000)?;
        // The request body limit leaves room for a 64 KiB post, percent-encoded.
        limit("max_post_bytes", self.max_post_bytes, 1024, 64 * 1024)?;
        if self.data_dir.as_os_str().is_empty() {
            return Err(ConfigError(
                "configuration error in TOWNHALL_DATA_DIR: must not be empty".into(),
            ));
        }
        Ok(())
    }

    pub fn bind_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.bind.parse().map_err(|_| {
            ConfigError(format!(
                "configuration error in TOWNHALL_BIND: {:?} is not an address like 127.0.0.1:8080",
                self.bind
            ))
        })
    }
}

impl Config {
    pub fn limits(&self) -> Limits {
        Limits {
            min_title_chars: self.min_title_chars,
            max_title_chars: self.max_title_chars,
            min_post_chars: self.min_post_chars,
            max_post_bytes: self.max_post_bytes,
        }
    }
}
