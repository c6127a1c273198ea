//! Restore: check the whole archive, load it into a fresh database (the
//! schema it was made with, then the newer migrations), put its media in
//! place, and only then swap the fresh database in. Whatever fails before
//! the swap leaves the site as it was.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use sqlx::{Connection, Executor};

use super::archive::{self, Manifest};
use super::{dump, Kind, Progress, Tables};
use crate::config::{Backend, Config};
use crate::db::Db;

pub struct Options {
    /// Replace a site that has content (after a safety backup).
    pub force: bool,
    /// The configuration file, kept in the safety backup.
    pub config_file: Option<PathBuf>,
}

#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// Rows per table in the site after the swap.
    pub tables: BTreeMap<String, u64>,
    pub media_written: usize,
    pub media_present: usize,
    pub safety_backup: Option<PathBuf>,
    pub secs: f64,
}

/// Opens (creating) a database that only a restore or a verification uses.
pub async fn open_scratch(url: &str, max_connections: u32) -> anyhow::Result<Db> {
    let mut config = Config {
        database_url: Some(SecretString::from(url.to_owned())),
        ..Config::default()
    };
    if let Some(path) = sqlite_path(url) {
        config.data_dir = path
            .parent()
            .map(Path::to_owned)
            .unwrap_or_else(|| PathBuf::from("."));
    }
    config.database.max_connections = Some(max_connections);
    Db::connect(&config).await
}

/// The file of a `sqlite:` URL.
pub fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    Some(PathBuf::from(path))
}

/// Loads a checked archive's rows into `db`: migrations up to the archive's
/// schema, every table emptied (migrations seed some rows) and filled,
/// foreign keys checked, then the newer migrations.
pub async fn load(
    db: &Db,
    manifest: &Manifest,
    tables: &Tables,
    progress: &Progress,
) -> anyhow::Result<()> {
    let backend = db.backend();
    refuse_newer(backend, manifest)?;
    db.migrate_to(manifest.schema_version).await?;
    let mut conn = db.pool().acquire().await?.detach();
    let result = async {
        conn.execute(match backend {
            Backend::Sqlite => "PRAGMA foreign_keys = OFF",
            Backend::MySql => "SET FOREIGN_KEY_CHECKS = 0",
        })
        .await?;
        progress.start_phase("loading", manifest.tables.values().sum());
        let mut tx = conn.begin().await?;
        for (table, data) in tables {
            if dump::columns(&mut tx, table).await?.is_empty() {
                anyhow::bail!(
                    "the archive has a table {table} that schema {} does not have",
                    manifest.schema_version
                );
            }
            sqlx::query(&format!("DELETE FROM {}", dump::quoted(table)))
                .execute(&mut *tx)
                .await?;
            dump::load_table(&mut tx, table, data, |n| progress.add(n)).await?;
        }
        tx.commit().await?;
        if backend == Backend::Sqlite {
            let broken: Vec<(String, i64, String)> =
                sqlx::query_as("SELECT \"table\", rowid, parent FROM pragma_foreign_key_check")
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_default();
            if let Some((table, row, parent)) = broken.first() {
                anyhow::bail!(
                    "the archive's rows do not hold together: {table} row {row} refers to a \
                     missing {parent} ({} such rows)",
                    broken.len()
                );
            }
        }
        anyhow::Ok(())
    }
    .await;
    let _ = conn.close().await;
    result?;
    db.migrate().await?;
    Ok(())
}

fn refuse_newer(backend: Backend, manifest: &Manifest) -> anyhow::Result<()> {
    if Db::knows_schema(backend, manifest.schema_version) {
        return Ok(());
    }
    anyhow::bail!(
        "the archive was made by a newer Halftone ({}, schema {}); this is Halftone {} (schema \
         up to {}): upgrade Halftone first, then restore",
        manifest.halftone_version,
        manifest.schema_version,
        env!("CARGO_PKG_VERSION"),
        Db::latest_schema(backend)
    )
}

/// Rows that make a site worth keeping: a restore never replaces them
/// without `--force`.
async fn content(db: &Db) -> anyhow::Result<Option<String>> {
    let mut conn = db.pool().acquire().await?;
    let known = dump::tables(&mut conn).await?;
    let mut found = Vec::new();
    for (table, what) in [
        ("pages", "pages"),
        ("users", "accounts"),
        ("media", "images"),
    ] {
        if !known.iter().any(|t| t == table) {
            continue;
        }
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(&mut *conn)
            .await?;
        if n > 0 {
            found.push(format!("{n} {what}"));
        }
    }
    Ok((!found.is_empty()).then(|| found.join(", ")))
}

/// Restores `archive` into the site `config` names.
pub async fn restore(
    config: &Config,
    archive_path: &Path,
    options: &Options,
    progress: &Arc<Progress>,
) -> anyhow::Result<Restored> {
    let started = Instant::now();
    let backend = config.backend()?;
    let _site_lock = crate::startup::SiteLock::exclusive(&config.data_dir)?;
    let (manifest, tables) = {
        let path = archive_path.to_owned();
        let progress = progress.clone();
        tokio::task::spawn_blocking(move || super::read_checked(&path, &progress))
            .await?
            .with_context(|| format!("{} cannot be restored", archive_path.display()))?
    };
    refuse_newer(backend, &manifest)?;

    // The site as it is: newer than this build, or holding content?
    let mut safety_backup = None;
    if let Some(db) = Db::connect_existing(config).await? {
        let current = {
            let mut conn = db.pool().acquire().await?;
            dump::schema_version(&mut conn).await?
        };
        if !Db::knows_schema(backend, current) {
            db.close().await;
            anyhow::bail!(
                "the site's database has schema {current}, newer than this Halftone {} knows: \
                 restore with the Halftone that runs the site",
                env!("CARGO_PKG_VERSION")
            );
        }
        if let Some(what) = content(&db).await? {
            if !options.force {
                db.close().await;
                anyhow::bail!(
                    "the site is not empty ({what}): restore into an empty site, or pass --force \
                     to replace it (a safety backup of it is made first)"
                );
            }
            let done = super::run(
                &db,
                config,
                options.config_file.as_deref(),
                &config.backup_dir(),
                Kind::BeforeRestore,
                progress,
            )
            .await
            .context("the safety backup of the current site failed; nothing was restored")?;
            safety_backup = Some(done.path);
        }
        db.close().await;
    }

    // A fresh database beside the site's.
    let scratch_url = scratch_url(config)?;
    drop_database(&scratch_url).await?;
    let scratch = open_scratch(&scratch_url, 4).await?;
    let loaded = async {
        load(&scratch, &manifest, &tables, progress).await?;
        let mut conn = scratch.pool().acquire().await?;
        dump::counts(&mut conn).await
    }
    .await;
    if backend == Backend::Sqlite {
        let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(scratch.pool())
            .await;
    }
    scratch.close().await;
    let counts = match loaded {
        Ok(c) => c,
        Err(e) => {
            let _ = drop_database(&scratch_url).await;
            return Err(e.context("the archive could not be loaded; the site is unchanged"));
        }
    };
    if manifest.schema_version == Db::latest_schema(backend) {
        for (table, expected) in &manifest.tables {
            let got = counts.get(table).copied().unwrap_or(0);
            if got != *expected {
                let _ = drop_database(&scratch_url).await;
                anyhow::bail!("{table}: {got} rows restored, the archive has {expected}");
            }
        }
    }

    // Media first: files the new rows name must be there when they go live.
    let (media_written, media_present) = restore_media(config, archive_path, &manifest, progress)
        .await
        .context("the media could not be restored; the site's database is unchanged")?;

    swap(config, &scratch_url).await?;

    // The site's database now: every table as loaded.
    let db = Db::connect(config).await?;
    let final_counts = {
        let mut conn = db.pool().acquire().await?;
        dump::counts(&mut conn).await?
    };
    db.close().await;
    if final_counts != counts {
        anyhow::bail!("after the swap the site's tables differ from the restored ones");
    }
    tracing::info!(
        archive = %archive_path.display(),
        pages = final_counts.get("pages").copied().unwrap_or(0),
        media = manifest.media_files(),
        "restore complete"
    );
    Ok(Restored {
        manifest,
        tables: final_counts,
        media_written,
        media_present,
        safety_backup,
        secs: started.elapsed().as_secs_f64(),
    })
}

async fn restore_media(
    config: &Config,
    archive_path: &Path,
    manifest: &Manifest,
    progress: &Arc<Progress>,
) -> anyhow::Result<(usize, usize)> {
    let store = crate::media::store::MediaStore::open(config)?;
    let runtime = tokio::runtime::Handle::current();
    let path = archive_path.to_owned();
    let progress = progress.clone();
    let expected = manifest.media_files();
    tokio::task::spawn_blocking(move || {
        progress.start_phase("media", archive::size(&path));
        let mut written = 0;
        let mut present = 0;
        archive::read(
            &path,
            |name| name.starts_with("media/"),
            |name, bytes| {
                let rel = name.trim_start_matches("media/");
                if rel.split('/').any(|part| part == ".." || part.is_empty()) {
                    anyhow::bail!(
                        "the archive names a media file outside the media folder: {name}"
                    );
                }
                // A file already there is kept only if it is byte for byte
                // the archive's (a damaged copy is replaced).
                if store
                    .get_blocking(&runtime, rel)
                    .ok()
                    .flatten()
                    .is_some_and(|old| {
                        old.len() == bytes.len() && Sha256::digest(&old) == Sha256::digest(&bytes)
                    })
                {
                    present += 1;
                    return Ok(());
                }
                store.replace_blocking(&runtime, rel, &bytes)?;
                written += 1;
                Ok(())
            },
            |n| progress.add(n),
        )?;
        anyhow::ensure!(
            written + present == expected,
            "media files missing from the archive"
        );
        Ok((written, present))
    })
    .await?
}

/// The database a restore fills before it becomes the site's.
fn scratch_url(config: &Config) -> anyhow::Result<String> {
    let url = config.database_url();
    match config.backend()? {
        Backend::Sqlite => {
            let path = sqlite_path(&url).context("database_url is not a SQLite URL")?;
            Ok(format!("sqlite://{}.restoring?mode=rwc", path.display()))
        }
        Backend::MySql => {
            let mut parsed = url::Url::parse(&url).context("database_url is not a valid URL")?;
            let name = mysql_database(&parsed)?;
            parsed.set_path(&format!("/{name}_restore"));
            Ok(parsed.to_string())
        }
    }
}

fn mysql_database(url: &url::Url) -> anyhow::Result<String> {
    let name = url.path().trim_start_matches('/').to_owned();
    anyhow::ensure!(
        !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'),
        "database_url must name its database (letters, digits and _), e.g. mysql://…/halftone"
    );
    Ok(name)
}

async fn drop_database(url: &str) -> anyhow::Result<()> {
    if let Some(path) = sqlite_path(url) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if file.exists() {
                std::fs::remove_file(&file)
                    .with_context(|| format!("cannot remove {}", file.display()))?;
            }
        }
        return Ok(());
    }
    use sqlx::migrate::MigrateDatabase;
    sqlx::any::install_default_drivers();
    if sqlx::Any::database_exists(url).await.unwrap_or(false) {
        sqlx::Any::drop_database(url).await?;
    }
    Ok(())
}

/// Makes the restored database the site's, in one step each engine makes
/// atomic: a rename over the SQLite file; one `RENAME TABLE` of every
/// table on MariaDB.
async fn swap(config: &Config, scratch_url: &str) -> anyhow::Result<()> {
    let url = config.database_url();
    match config.backend()? {
        Backend::Sqlite => {
            let target = sqlite_path(&url).context("database_url is not a SQLite URL")?;
            let scratch = sqlite_path(scratch_url).context("scratch URL")?;
            if target.exists() {
                // Nothing of the old file may linger in a WAL that SQLite
                // would replay onto the new one.
                let old = open_scratch(&url, 1).await?;
                sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .execute(old.pool())
                    .await?;
                old.close().await;
                for suffix in ["-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
                }
            }
            std::fs::rename(&scratch, &target).with_context(|| {
                format!("cannot move the restored database to {}", target.display())
            })?;
            archive::sync_dir(target.parent().unwrap_or(Path::new(".")));
            Ok(())
        }
        Backend::MySql => {
            let site = mysql_database(&url::Url::parse(&url)?)?;
            let fresh = mysql_database(&url::Url::parse(scratch_url)?)?;
            let old = format!("{site}_replaced");
            let db = open_scratch(scratch_url, 1).await?;
            let result = async {
                let mut conn = db.pool().acquire().await?;
                conn.execute(format!("DROP DATABASE IF EXISTS `{old}`").as_str())
                    .await?;
                conn.execute(format!("CREATE DATABASE `{old}`").as_str())
                    .await?;
                conn.execute(format!("CREATE DATABASE IF NOT EXISTS `{site}`").as_str())
                    .await?;
                let list = |schema: String| {
                    sqlx::query_scalar::<_, String>(
                        "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                         WHERE table_schema = ? AND table_type = 'BASE TABLE'",
                    )
                    .bind(schema)
                };
                let current = list(site.clone()).fetch_all(&mut *conn).await?;
                let restored = list(fresh.clone()).fetch_all(&mut *conn).await?;
                let mut renames = Vec::new();
                for t in &current {
                    dump::check_identifier(t)?;
                    renames.push(format!("`{site}`.`{t}` TO `{old}`.`{t}`"));
                }
                for t in &restored {
                    dump::check_identifier(t)?;
                    renames.push(format!("`{fresh}`.`{t}` TO `{site}`.`{t}`"));
                }
                conn.execute(format!("RENAME TABLE {}", renames.join(", ")).as_str())
                    .await
                    .context("cannot swap the restored tables in")?;
                conn.execute(format!("DROP DATABASE `{old}`").as_str())
                    .await?;
                anyhow::Ok(())
            }
            .await;
            db.close().await;
            result?;
            drop_database(scratch_url).await?;
            Ok(())
        }
    }
}
