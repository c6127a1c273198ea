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
        /// Show what would be imported without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
    /// Fill an empty site with a generated demo comic (images drawn by code).
    Demo {
        /// Add the demo even if the site already has content.
        #[arg(long)]
        force: bool,
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
        } => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            let options = crate::import::Options {
                series,
                publish: !draft,
                dry_run,
                progress: true,
            };
            let report = crate::import::run(&config, &db, &dir, &options).await?;
            println!("{report}");
            db.close().await;
            if report.imported == 0 && !report.failures.is_empty() {
                anyhow::bail!("nothing was imported");
            }
        }
        Command::Demo { force } => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            if force {
                crate::demo::fill(&config, &db).await?;
            } else {
                crate::demo::fill_if_empty(&config, &db).await?;
            }
            db.close().await;
        }
    }
    Ok(())
}
