//! The command line: `serve`, `migrate`, `import`, `demo`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::Config;
use crate::db::Db;
use crate::startup::Application;

#[derive(Debug, Parser)]
#[command(
    name = "halftone",
    version,
    about = "Halftone: a self-hosted webcomic publishing platform",
    long_about = "Halftone serves a webcomic: readers browse pages, archives and feeds; \
                  the author imports and publishes pages.\n\n\
                  Settings come from halftone.toml (see --config) and HALFTONE_* environment \
                  variables, e.g. HALFTONE_DATABASE_URL, HALFTONE_BIND, HALFTONE_DATA_DIR. \
                  With no settings at all, Halftone keeps a SQLite database and media under \
                  ./data and listens on http://127.0.0.1:8080."
)]
pub struct Cli {
    /// Configuration file (optional; missing is fine).
    #[arg(
        long,
        global = true,
        env = "HALFTONE_CONFIG",
        default_value = "halftone.toml"
    )]
    pub config: PathBuf,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server (the default when no command is given).
    ///
    /// Applies pending database migrations first, unless
    /// `database.migrate_on_start = false`.
    Serve {
        /// Fill an empty site with the generated demo comic before serving.
        #[arg(long)]
        demo: bool,
    },
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Import a folder of comic page images as pages and chapters.
    ///
    /// Files are ordered the way cartoonists name them: by date
    /// (`2010-05-03-title.png`), by number (`0001.png`, `12a.png`), and by
    /// folder for chapters (`ch01/003.jpg`; `vol1/ch01/003.jpg` adds
    /// volumes). Several images of one page share a name with a `_1`, `_2`…
    /// suffix (`0012_1.png`, `0012_2.png`) and are shown as one long page.
    /// A `<name>.toml` next to an image may set title, alt, hover, transcript,
    /// notes, tags, characters and content_warning; `chapter.toml` in a folder
    /// may set the chapter's title and description. Broken files are reported
    /// and skipped; pages are written in one transaction at the end.
    Import {
        /// The folder to import.
        dir: PathBuf,
        /// Series to import into (slug); created if missing. Default: the primary series.
        #[arg(long)]
        series: Option<String>,
        /// Import pages as drafts instead of publishing them.
        #[arg(long)]
        draft: bool,
        /// Show exactly what the import would do (every image is checked),
        /// writing nothing — not even a new database.
        #[arg(long)]
        dry_run: bool,
        /// Pages whose file name and sidecar give no date: `auto` uses the
        /// files' modification times unless they all look like one copy's;
        /// `file-time` always uses them; `none` shows no date.
        #[arg(long, value_enum, default_value_t = crate::import::Undated::Auto)]
        undated: crate::import::Undated,
    },
    /// Manage admin accounts from the shell.
    User {
        #[command(subcommand)]
        action: UserCommand,
    },
    /// Fill an empty site with a generated demo comic (images drawn by code).
    Demo {
        /// Add the demo even if the site already has content.
        #[arg(long)]
        force: bool,
        /// Grow the demo archive to this many pages (reusing its drawings),
        /// e.g. 2000 to try the site under a realistic archive.
        #[arg(long)]
        pages: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account (the first one is what /admin's set-up page makes).
    Add {
        /// The account's e-mail address (its login).
        email: String,
        /// The name shown in the admin.
        #[arg(long)]
        name: Option<String>,
        /// `owner` (everything) or `editor` (content only).
        #[arg(long, default_value = "owner")]
        role: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(&cli.config)?;
    crate::telemetry::init(config.log_format);
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => {
            if demo {
                let db = Db::connect(&config).await?;
                db.migrate().await?;
                crate::demo::fill_if_empty(&config, &db).await?;
                db.close().await;
            }
            let app = Application::build(config).await?;
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            db.close().await;
        }
        Command::Import {
            dir,
            series,
            draft,
            dry_run,
            undated,
        } => {
            let db = if dry_run {
                Db::connect_existing(&config).await?
            } else {
                let db = Db::connect(&config).await?;
                db.migrate().await?;
                Some(db)
            };
            let options = crate::import::Options {
                series,
                publish: !draft,
                dry_run,
                progress: true,
                undated,
            };
            let report = crate::import::run(&config, db.as_ref(), &dir, &options).await?;
            println!("{report}");
            if let Some(db) = db {
                db.close().await;
            }
            if report.imported == 0 && !report.failures.is_empty() {
                anyhow::bail!("nothing was imported");
            }
        }
        Command::User {
            action:
                UserCommand::Add {
                    email,
                    name,
                    role,
                    password_stdin,
                },
        } => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            add_user(&db, &email, name, &role, password_stdin).await?;
            db.close().await;
        }
        Command::Demo { force, pages } => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            if force {
                crate::demo::fill(&config, &db).await?;
            } else {
                crate::demo::fill_if_empty(&config, &db).await?;
            }
            if let Some(pages) = pages {
                crate::demo::grow(&config, &db, pages).await?;
            }
            db.close().await;
        }
    }
    Ok(())
}

async fn add_user(
    db: &Db,
    email: &str,
    name: Option<String>,
    role: &str,
    from_stdin: bool,
) -> anyhow::Result<()> {
    use crate::auth::{password, users, EmailAddress, Role};
    let email = EmailAddress::parse(email).map_err(anyhow::Error::msg)?;
    let role =
        Role::parse(role).ok_or_else(|| anyhow::anyhow!("--role must be owner or editor"))?;
    let secret = if from_stdin {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password, again: ")?;
        if first != again {
            anyhow::bail!("the two passwords differ");
        }
        first
    };
    password::validate(&secret).map_err(anyhow::Error::msg)?;
    let hash = password::hash(secret.into()).await?;
    let name = name.unwrap_or_else(|| {
        email
            .as_str()
            .split('@')
            .next()
            .unwrap_or("author")
            .to_owned()
    });
    match users::insert(db, &email, &name, role, &hash).await {
        Ok(_) => {
            println!("Created {} account {}.", role.as_str(), email.as_str());
            Ok(())
        }
        Err(users::CreateUserError::Taken) => {
            anyhow::bail!("an account with this e-mail address exists already")
        }
        Err(users::CreateUserError::Db(e)) => Err(e.into()),
    }
}
