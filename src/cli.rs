//! The command line: `serve`, `migrate`, `import`, `backup`, `restore`, `export`,
//! `media sync`, `user`, `demo`.

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
        /// The folder to import; with --from, the other system's export
        /// file, database URL (`mysql://…`) or site folder.
        #[arg(value_name = "SOURCE")]
        dir: PathBuf,
        /// Move in from another system: `wordpress` (a WXR export from Tools
        /// → Export: Comic Easel, Webcomic, Toocheke), `comiccontrol` and
        /// `grawlix` (their MySQL database, read only), `comic-git` and
        /// `rarebit` (their site folders). Old links keep working: every
        /// address the old site answered redirects to the new page.
        /// `disqus`: a Disqus export's comments, into the pages they were
        /// made on (import the comic first).
        #[arg(long, value_enum, default_value_t = crate::import::foreign::System::Folder)]
        from: crate::import::foreign::System,
        /// WordPress: the `wp-content/uploads` folder (images not found are
        /// reported by name). ComicControl, Grawlix: the site's folder.
        #[arg(long, value_name = "DIR")]
        uploads: Option<PathBuf>,
        /// ComicControl, Grawlix: the database's table prefix (found when
        /// there is only one installation).
        #[arg(long)]
        prefix: Option<String>,
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
    /// Back up the whole site into one archive, or check an archive.
    ///
    /// The archive (`halftone-YYYYMMDD-HHMMSS.tar`, a plain tar) holds a
    /// consistent snapshot of the database, taken while the site keeps
    /// serving and accepting edits, every media file, the configuration
    /// file, and a manifest with each file's SHA-256 and the rows per table.
    /// It is written under a temporary name, flushed to disk, renamed, then
    /// verified; older archives are pruned (backup.keep_daily, keep_weekly,
    /// keep_monthly) only after the new one verified.
    Backup {
        /// Folder for the archive. Default: `backup.dir`, else data/backups.
        #[arg(long, value_name = "DIR")]
        to: Option<PathBuf>,
        /// Check ARCHIVE instead: every checksum, every table's rows, and
        /// that its database loads.
        #[arg(long, value_name = "ARCHIVE", conflicts_with = "to")]
        verify: Option<PathBuf>,
    },
    /// Restore a site from a backup archive (stop the site first).
    ///
    /// Restores into an empty site; a site with pages, accounts or images is
    /// replaced only with --force, after a safety backup of it. The archive
    /// is checked first and loaded into a fresh database, which replaces the
    /// site's only when complete. Restoring a SQLite site's archive with a
    /// mysql:// database_url (or the reverse) moves the site between engines.
    Restore {
        /// The archive made by `halftone backup`.
        archive: PathBuf,
        /// Replace a site that has content (a safety backup is made first).
        #[arg(long)]
        force: bool,
    },
    /// Write the comic as folders of images and .toml sidecars, the format
    /// `halftone import` reads: a copy without lock-in.
    ///
    /// One folder per series (chapters as sub-folders with chapter.toml,
    /// every page's texts in a .toml beside its images) and one for its
    /// drafts; README.txt gives the import commands.
    Export {
        /// A new (or empty) folder.
        dir: PathBuf,
    },
    /// Media files: copy them to a shared bucket (for a cluster) and back.
    Media {
        #[command(subcommand)]
        action: MediaCommand,
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
pub enum MediaCommand {
    /// Copy every media file into another store, verified by checksum.
    ///
    /// Resumable (files already there with the same checksum are skipped)
    /// and safe to run while the site serves: nothing is deleted. Then set
    /// `[media.store]` to the bucket on every node. Endpoint and keys come
    /// from `[media.store]` (or the AWS_* environment variables).
    Sync {
        /// `s3://bucket[/prefix]`, or a folder.
        #[arg(long, value_name = "STORE")]
        to: String,
        /// Where the files are now: default, the site's store (`[media.store]`).
        #[arg(long, value_name = "STORE")]
        from: Option<String>,
        /// Uploads at once.
        #[arg(long, default_value_t = 8)]
        parallel: usize,
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
    let mut config = Config::load(&cli.config)?;
    // A batch command beside a serving site waits for the site's brief
    // writes (heartbeats, leases) rather than failing on a busy database.
    if !matches!(cli.command, None | Some(Command::Serve { .. })) {
        config.database.sqlite_busy_timeout_ms = config.database.sqlite_busy_timeout_ms.max(60_000);
    }
    crate::telemetry::init(config.log_format, &config.log);
    match cli.command.unwrap_or(Command::Serve { demo: false }) {
        Command::Serve { demo } => {
            if demo {
                let db = Db::connect(&config).await?;
                db.migrate().await?;
                crate::demo::fill_if_empty(&config, &db).await?;
                db.close().await;
            }
            let app = Application::build(config).await?;
            app.run_until_signal().await?;
        }
        Command::Migrate => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            db.close().await;
        }
        Command::Import {
            dir,
            from: crate::import::foreign::System::Disqus,
            dry_run,
            ..
        } => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            let report = crate::comments::disqus::import(&db, &dir, dry_run).await;
            db.close().await;
            print!("{}", report?);
        }
        Command::Import {
            dir,
            from,
            uploads,
            prefix,
            series,
            draft,
            dry_run,
            undated,
        } if from != crate::import::foreign::System::Folder => {
            let _ = (series, draft, undated);
            let comic =
                crate::import::foreign::read(from, &dir, uploads.as_deref(), prefix.as_deref())
                    .await?;
            let db = if dry_run {
                Db::connect_existing(&config).await?
            } else {
                let db = Db::connect(&config).await?;
                db.migrate().await?;
                Some(db)
            };
            let options = crate::import::foreign::apply::ApplyOptions {
                dry_run,
                progress: true,
            };
            let report =
                crate::import::foreign::apply::apply(&config, db.as_ref(), comic, &options).await;
            if let Some(db) = db {
                db.close().await;
            }
            let report = report?;
            print!("{report}");
            if !dry_run && report.imported == 0 && !report.failures.is_empty() {
                anyhow::bail!("nothing was imported");
            }
        }
        Command::Import {
            dir,
            series,
            draft,
            dry_run,
            undated,
            ..
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
        Command::Backup { to, verify } => {
            let progress = std::sync::Arc::new(crate::backup::Progress::default());
            if let Some(archive) = verify {
                let manifest = {
                    let _bar = progress.draw();
                    crate::backup::verify(&archive, &progress).await
                }
                .map_err(|e| e.context(format!("{} does not verify", archive.display())))?;
                println!(
                    "{} is a complete backup of “{}” made {} by Halftone {} ({}): {} rows in {} \
                     tables, {} media files; every checksum matches and its database loads.",
                    archive.display(),
                    manifest.site_title,
                    crate::time::local_time(manifest.created_at, "UTC"),
                    manifest.halftone_version,
                    manifest.engine,
                    manifest.tables.values().sum::<u64>(),
                    manifest.tables.len(),
                    manifest.media_files(),
                );
                return Ok(());
            }
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            let dir = to.unwrap_or_else(|| config.backup_dir());
            let done = {
                let _bar = progress.draw();
                crate::backup::run(
                    &db,
                    &config,
                    config.file.as_deref(),
                    &dir,
                    crate::backup::Kind::Command,
                    &progress,
                )
                .await
            };
            db.close().await;
            let done = done?;
            println!(
                "Backed up to {} ({}, {} pages, {} media files) in {:.1} s; verified in {:.1} s.",
                done.path.display(),
                crate::backup::human_bytes(done.bytes),
                done.manifest.tables.get("pages").copied().unwrap_or(0),
                done.manifest.media_files(),
                done.write_secs,
                done.verify_secs,
            );
        }
        Command::Restore { archive, force } => {
            let progress = std::sync::Arc::new(crate::backup::Progress::default());
            let options = crate::backup::restore::Options {
                force,
                config_file: config.file.clone(),
            };
            let restored = {
                let _bar = progress.draw();
                crate::backup::restore::restore(&config, &archive, &options, &progress).await
            }?;
            if let Some(safety) = &restored.safety_backup {
                println!("The site as it was is saved in {}.", safety.display());
            }
            println!(
                "Restored “{}” from {} in {:.1} s: {} rows in {} tables and {} media files \
                 ({} written, {} already present), each checked against the archive.",
                restored.manifest.site_title,
                archive.display(),
                restored.secs,
                restored.tables.values().sum::<u64>(),
                restored.tables.len(),
                restored.media_written + restored.media_present,
                restored.media_written,
                restored.media_present,
            );
            if restored.manifest.files.contains_key("config/halftone.toml") {
                println!(
                    "The archive also holds the site's halftone.toml (extract it with \
                     `tar -xf {} config/halftone.toml` if this machine needs it).",
                    archive.display()
                );
            }
        }
        Command::Export { dir } => {
            let db = Db::connect_existing(&config).await?.ok_or_else(|| {
                anyhow::anyhow!("this site has no database yet: nothing to export")
            })?;
            db.migrate().await?;
            let progress = std::sync::Arc::new(crate::backup::Progress::default());
            let done = {
                let _bar = progress.draw();
                crate::backup::export::export(&db, &config, &dir, &progress).await
            };
            db.close().await;
            let done = done?;
            println!(
                "Exported {} pages, {} drafts, {} chapters of {} series ({} images) to {}; see {}.",
                done.pages,
                done.drafts,
                done.chapters,
                done.series,
                done.images,
                dir.display(),
                dir.join("README.txt").display()
            );
            if !done.missing_images.is_empty() {
                anyhow::bail!(
                    "{} images had no file in the media folder: {}",
                    done.missing_images.len(),
                    done.missing_images.join(", ")
                );
            }
        }
        Command::Media {
            action: MediaCommand::Sync { to, from, parallel },
        } => media_sync(&config, &to, from.as_deref(), parallel).await?,
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

/// The progress of `media sync`: a bar on the terminal, a row in `jobs`
/// (the System page) when the database is reachable.
struct SyncProgress {
    bar: indicatif::ProgressBar,
    job: Option<std::sync::Arc<crate::cluster::jobs::Job>>,
}

impl crate::media::sync::Progress for SyncProgress {
    fn start(&self, files: usize, bytes: u64) {
        self.bar.set_length(bytes);
        self.bar.set_message(format!("{files} files"));
        if let Some(job) = &self.job {
            job.set_total(bytes);
        }
    }

    fn add(&self, bytes: u64) {
        self.bar.inc(bytes);
        if let Some(job) = &self.job {
            job.add(bytes);
        }
    }
}

async fn media_sync(
    config: &Config,
    to: &str,
    from: Option<&str>,
    parallel: usize,
) -> anyhow::Result<()> {
    use crate::media::store::MediaStore;
    let source = match from {
        Some(from) => MediaStore::from_url(config, from)?,
        None => MediaStore::open(config)?,
    };
    let target = MediaStore::from_url(config, to)?;
    anyhow::ensure!(
        source.describe() != target.describe(),
        "the source and the target are the same store ({})",
        target.describe()
    );
    let db = Db::connect_existing(config).await.ok().flatten();
    let detail = format!("{} → {}", source.describe(), target.describe());
    let job = match &db {
        Some(db) => {
            let node = crate::cluster::NodeId::command("media sync");
            // The total is set when the sync has listed the source.
            Some(std::sync::Arc::new(
                crate::cluster::jobs::Job::start(db, "media-sync", &node.id, 0, &detail).await,
            ))
        }
        None => None,
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left) {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let progress = SyncProgress {
        bar: bar.clone(),
        job: job.clone(),
    };
    let ticker = job.clone().map(|job| {
        let detail = detail.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                job.tick(&detail).await;
            }
        })
    });
    tracing::info!(from = %source.describe(), to = %target.describe(), "media sync started");
    let report = crate::media::sync::sync(&source, &target, parallel, &progress).await;
    if let Some(ticker) = ticker {
        ticker.abort();
    }
    bar.finish_and_clear();
    let ok = report.as_ref().is_ok_and(|r| r.failed.is_empty());
    if let Some(job) = &job {
        let summary = match &report {
            Ok(r) => format!(
                "{detail}: {} files, {} copied, {} already there, {} failed",
                r.files,
                r.copied,
                r.already,
                r.failed.len()
            ),
            Err(e) => format!("{detail}: {e:#}"),
        };
        job.finish(ok, &summary).await;
    }
    if let Some(db) = db {
        db.close().await;
    }
    let report = report?;
    println!(
        "{} media files in {}: {} copied ({}), {} already there with the same checksum{}.",
        report.files,
        target.describe(),
        report.copied,
        crate::backup::human_bytes(report.bytes_copied),
        report.already,
        if report.failed.is_empty() {
            String::new()
        } else {
            format!(", {} failed", report.failed.len())
        }
    );
    if !report.failed.is_empty() {
        anyhow::bail!(
            "{} files did not copy (run the command again to retry them):\n{}",
            report.failed.len(),
            report.failed.join("\n")
        );
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
