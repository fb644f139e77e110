//! The `townhall` command: serve (the default), migrate, admin, seed-demo.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

use crate::accounts::{self, Registration, Role};
use crate::config::Config;
use crate::db::Db;
use crate::settings::{self, Snapshot};
use crate::web::{self, AppState};

#[derive(Parser)]
#[command(
    name = "townhall",
    version,
    about = "A community forum and knowledge base for customer support"
)]
struct Cli {
    /// Configuration file (optional; TOWNHALL_* environment variables override it).
    #[arg(long, global = true, default_value = "townhall.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web server (the default).
    Serve {
        /// Load the demo community from content/demo when the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Load the demo community from content/demo into an empty database.
    SeedDemo,
    /// Fill an empty database with a large generated community for benchmarks (BENCHMARKS.md).
    SeedBench {
        #[arg(long, default_value_t = 20_000)]
        users: u32,
        #[arg(long, default_value_t = 100_000)]
        topics: u32,
        /// All posts, first posts included.
        #[arg(long, default_value_t = 1_000_000)]
        posts: u64,
        /// Knowledge-base articles, made from solved topics.
        #[arg(long, default_value_t = 0)]
        kb: u32,
        /// Status-page incidents over the last year (and 20 components).
        #[arg(long, default_value_t = 0)]
        incidents: u32,
        /// Ideas with votes and statuses (the first with up to 10,000 voters).
        #[arg(long, default_value_t = 0)]
        ideas: u32,
        /// Published changelog posts linking ideas and solved topics.
        #[arg(long, default_value_t = 0)]
        changelog: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Knowledge-base articles as markdown files with front matter (keep them in git).
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
    /// Re-render every post's HTML from its markdown (after a renderer change).
    Recook,
    /// Rebuild the search index from the database and swap it in (a running server switches over).
    Reindex,
}

#[derive(Subcommand)]
enum KbCommand {
    /// Create or update articles from DIR/*.md (and sections from DIR/sections.toml).
    /// Unchanged files write nothing; if any file is refused, nothing is written.
    Import { dir: PathBuf },
    /// Write every article to DIR/<slug>.md and the sections to DIR/sections.toml.
    Export { dir: PathBuf },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account; the password is read from standard input (one line).
    CreateUser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
    },
    /// Create an API token for a script and print it (once: only its hash is kept).
    CreateToken {
        #[arg(long)]
        name: String,
        /// What it may do (repeat for several): status.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum RoleArg {
    Member,
    Staff,
    Admin,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Member => Role::Member,
            RoleArg::Staff => Role::Staff,
            RoleArg::Admin => Role::Admin,
        }
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let config = match Config::load(&cli.config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(
        cli.command.unwrap_or(Command::Serve { demo: false }),
        config,
    ) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("TOWNHALL_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

fn open_db(config: &Config) -> anyhow::Result<Db> {
    let db = Db::connect(&config.database_url)?;
    let applied = db.migrate()?;
    if !applied.is_empty() {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    Ok(db)
}

fn run(command: Command, config: Config) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => {
            let started = std::time::Instant::now();
            let db = open_db(&config)?;
            let assets = web::assets::Assets::load();
            if demo {
                match crate::demo::seed_if_empty(&db, &assets.themes())? {
                    true => tracing::info!("loaded the demo community"),
                    false => tracing::info!("database not empty: demo content not loaded"),
                }
            }
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                anyhow::anyhow!(
                    "cannot create data directory {}: {e}",
                    config.data_dir.display()
                )
            })?;
            let snapshot = Snapshot::new(settings::load(&db)?);
            let pages = std::sync::Arc::new(web::page_cache::PageCache::default());
            let status = crate::status::snapshot::Snapshot::load(&db)?;
            status.spawn_refresh(db.clone())?;
            let whats_new = crate::changelog::whats_new::WhatsNew::load(&db)?;
            let idea_rankings = crate::ideas::rankings::Rankings::default();
            // This node's subscribers of the event log, in order (src/followers.rs).
            crate::followers::spawn(
                db.clone(),
                vec![
                    Box::new(settings::SnapshotSubscriber {
                        db: db.clone(),
                        snapshot: snapshot.clone(),
                    }),
                    Box::new(crate::status::snapshot::SnapshotSubscriber {
                        db: db.clone(),
                        snapshot: status.clone(),
                    }),
                    Box::new(crate::changelog::whats_new::WhatsNewSubscriber {
                        db: db.clone(),
                        whats_new: whats_new.clone(),
                    }),
                    Box::new(crate::ideas::rankings::RankingsSubscriber {
                        rankings: idea_rankings.clone(),
                    }),
                    Box::new(pages.clone()),
                ],
            )?;
            let search = crate::search::SearchIndex::open(&config.data_dir)?;
            crate::search::spawn_indexer(db.clone(), search.clone())?;
            crate::search::related::spawn(db.clone(), search.clone())?;
            crate::scheduler::spawn(db.clone())?;
            let views = std::sync::Arc::new(web::views::Views::default());
            web::views::spawn(db.clone(), views.clone())?;
            let state = AppState {
                db,
                settings: snapshot,
                config,
                assets,
                limits: web::RateLimits::default(),
                search,
                deflection: Default::default(),
                pages,
                views,
                status,
                whats_new,
                idea_rankings,
            };
            tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "ready");
            actix_web::rt::System::new().block_on(web::serve(state))?;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Migrate => {
            let db = Db::connect(&config.database_url)?;
            let applied = db.migrate()?;
            println!("applied {} migration(s)", applied.len());
            Ok(())
        }
        Command::Admin {
            command:
                AdminCommand::CreateUser {
                    username,
                    email,
                    role,
                },
        } => {
            let db = open_db(&config)?;
            let mut password = String::new();
            std::io::stdin().lock().read_line(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']).to_string();
            let input = Registration {
                username,
                email,
                password,
            };
            match accounts::register(&db, &input, role.into(), false)? {
                Ok(user) => {
                    println!(
                        "created {} ({}) with id {}",
                        user.username,
                        user.role.as_str(),
                        user.id
                    );
                    Ok(())
                }
                Err(errors) => {
                    let lines: Vec<String> =
                        errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
                    anyhow::bail!("{}", lines.join("; "))
                }
            }
        }
        Command::Admin {
            command: AdminCommand::CreateToken { name, scopes },
        } => {
            let db = open_db(&config)?;
            match accounts::api_tokens::create(&db, &name, &scopes, None)? {
                Ok((id, token)) => {
                    eprintln!(
                        "created token {id} “{}”; it is shown only this once:",
                        name.trim()
                    );
                    println!("{token}");
                    Ok(())
                }
                Err(errors) => {
                    let lines: Vec<String> =
                        errors.iter().map(|(f, m)| format!("{f}: {m}")).collect();
                    anyhow::bail!("{}", lines.join("; "))
                }
            }
        }
        Command::Reindex => {
            let db = open_db(&config)?;
            let started = std::time::Instant::now();
            let (topics, name) = crate::search::reindex(&db, &config.data_dir)?;
            println!(
                "indexed {topics} topic(s) into {} in {:.1}s",
                config.data_dir.join("search").join(name).display(),
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Kb {
            command: KbCommand::Import { dir },
        } => {
            let db = open_db(&config)?;
            match crate::kb::files::import_dir(&db, &dir) {
                Ok(r) => {
                    println!(
                        "articles: {} created, {} updated, {} unchanged; sections: {} created, {} updated",
                        r.created, r.updated, r.unchanged, r.sections_created, r.sections_updated
                    );
                    Ok(())
                }
                Err(crate::error::AppError::BadRequest(problems)) => {
                    anyhow::bail!("nothing was imported:\n{problems}")
                }
                Err(e) => Err(e.into()),
            }
        }
        Command::Kb {
            command: KbCommand::Export { dir },
        } => {
            let db = open_db(&config)?;
            let n = crate::kb::files::export_dir(&db, &dir)?;
            println!(
                "wrote {n} article(s) and sections.toml to {}",
                dir.display()
            );
            Ok(())
        }
        Command::Recook => {
            let db = open_db(&config)?;
            let count = crate::forum::recook(&db)?;
            println!("re-rendered {count} post(s)");
            Ok(())
        }
        Command::SeedBench {
            users,
            topics,
            posts,
            kb,
            incidents,
            ideas,
            changelog,
            seed,
        } => {
            let db = open_db(&config)?;
            let options = crate::benchseed::Options {
                users,
                topics,
                posts,
                kb,
                incidents,
                ideas,
                changelog,
                seed,
                quiet: false,
            };
            crate::benchseed::run(&db, &options)?;
            Ok(())
        }
        Command::SeedDemo => {
            let db = open_db(&config)?;
            if crate::demo::seed_if_empty(&db, &web::assets::Assets::load().themes())? {
                println!("loaded the demo community");
                Ok(())
            } else {
                anyhow::bail!(
                    "the database already has content; seed-demo only fills an empty database"
                )
            }
        }
    }
}
