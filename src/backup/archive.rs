//! The archive: one tar file holding the database dump, the media files,
//! the configuration file and, last, `manifest.json` with every file's
//! SHA-256 and the rows per table.
//!
//! Plain tar, uncompressed: images are compressed already, any `tar` lists
//! and extracts it, and a reader checks it in one pass. The manifest comes
//! last so an archive cut short has none and can never pass as complete.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read};
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

pub const MANIFEST: &str = "manifest.json";
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileEntry {
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout of the archive itself.
    pub format: u32,
    pub halftone_version: String,
    /// The newest database migration of the site backed up.
    pub schema_version: i64,
    /// `sqlite` or `mysql`: where it came from (it restores into either).
    pub engine: String,
    pub created_at: i64,
    pub site_title: String,
    /// Rows per table in the snapshot.
    pub tables: BTreeMap<String, u64>,
    /// Every file of the archive but the manifest.
    pub files: BTreeMap<String, FileEntry>,
}

impl Manifest {
    pub fn media_files(&self) -> usize {
        self.files
            .keys()
            .filter(|k| k.starts_with("media/"))
            .count()
    }

    pub fn bytes(&self) -> u64 {
        self.files.values().map(|f| f.bytes).sum()
    }
}

/// Writes an archive under a temporary name; [`Writer::finish`] adds the
/// manifest, fsyncs, and renames it to its real name.
pub struct Writer {
    tar: Option<tar::Builder<BufWriter<File>>>,
    partial: PathBuf,
    target: PathBuf,
    files: BTreeMap<String, FileEntry>,
    done: bool,
}

impl Writer {
    pub fn create(target: &Path) -> anyhow::Result<Self> {
        let dir = target.parent().unwrap_or(Path::new("."));
        let name = target
            .file_name()
            .context("the archive needs a file name")?
            .to_string_lossy();
        let partial = dir.join(format!(".{name}.partial"));
        let file =
            File::create(&partial).with_context(|| format!("cannot write to {}", dir.display()))?;
        let mut tar = tar::Builder::new(BufWriter::with_capacity(1 << 20, file));
        tar.mode(tar::HeaderMode::Deterministic);
        Ok(Self {
            tar: Some(tar),
            partial,
            target: target.to_owned(),
            files: BTreeMap::new(),
            done: false,
        })
    }

    fn builder(&mut self) -> anyhow::Result<&mut tar::Builder<BufWriter<File>>> {
        self.tar.as_mut().context("the archive is finished already")
    }

    pub fn add(&mut self, path: &str, bytes: &[u8]) -> anyhow::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        self.builder()?
            .append_data(&mut header, path, bytes)
            .with_context(|| format!("cannot write {path} into the archive"))?;
        self.files.insert(
            path.to_owned(),
            FileEntry {
                sha256: hex::encode(Sha256::digest(bytes)),
                bytes: bytes.len() as u64,
            },
        );
        Ok(())
    }

    /// Adds the manifest, makes the archive durable, and gives it its name.
    pub fn finish(mut self, mut manifest: Manifest) -> anyhow::Result<Manifest> {
        manifest.files = std::mem::take(&mut self.files);
        let json = serde_json::to_vec_pretty(&manifest)?;
        let mut header = tar::Header::new_gnu();
        header.set_size(json.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_entry_type(tar::EntryType::Regular);
        let mut tar = self.tar.take().context("the archive is finished already")?;
        tar.append_data(&mut header, MANIFEST, json.as_slice())?;
        let buffered = tar.into_inner()?;
        let file = buffered.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
            .context("cannot flush the archive to disk")?;
        drop(file);
        std::fs::rename(&self.partial, &self.target)?;
        sync_dir(self.target.parent().unwrap_or(Path::new(".")));
        self.done = true;
        Ok(manifest)
    }
}

impl Drop for Writer {
    /// A backup that failed (disk full, database gone) leaves nothing behind.
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.partial);
        }
    }
}

pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// What reading an archive found.
pub struct Checked {
    pub manifest: Manifest,
}

/// Reads every entry, checks it against the manifest, and hands the ones
/// `want` asks for to `take` (path, bytes). Fails on the first problem:
/// a missing manifest (cut short), a checksum that differs, a file missing
/// or one the manifest does not list.
pub fn read(
    path: &Path,
    want: impl Fn(&str) -> bool,
    mut take: impl FnMut(&str, Vec<u8>) -> anyhow::Result<()>,
    mut progress: impl FnMut(u64),
) -> anyhow::Result<Checked> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut archive = tar::Archive::new(BufReader::with_capacity(1 << 20, file));
    let mut seen: BTreeMap<String, FileEntry> = BTreeMap::new();
    let mut manifest: Option<Manifest> = None;
    let entries = archive
        .entries()
        .context("this is not a Halftone backup (not a tar archive)")?;
    for entry in entries {
        let mut entry = entry.context("the archive is damaged or cut short")?;
        let name = entry.path()?.to_string_lossy().into_owned();
        // The header's size is only a hint: a damaged one must not make us
        // reserve gigabytes up front.
        let mut bytes = Vec::with_capacity(entry.size().min(64 << 20) as usize);
        entry
            .read_to_end(&mut bytes)
            .with_context(|| format!("the archive is cut short inside {name}"))?;
        progress(bytes.len() as u64);
        if name == MANIFEST {
            let m: Manifest =
                serde_json::from_slice(&bytes).context("the archive's manifest is damaged")?;
            manifest = Some(m);
            continue;
        }
        if manifest.is_some() {
            anyhow::bail!("the archive has {name} after its manifest");
        }
        seen.insert(
            name.clone(),
            FileEntry {
                sha256: hex::encode(Sha256::digest(&bytes)),
                bytes: bytes.len() as u64,
            },
        );
        if want(&name) {
            take(&name, bytes)?;
        }
    }
    let manifest = manifest
        .context("the archive has no manifest: it is cut short, or a backup that did not finish")?;
    if manifest.format > FORMAT {
        anyhow::bail!(
            "the archive was made by a newer Halftone ({}; format {}): upgrade Halftone first",
            manifest.halftone_version,
            manifest.format
        );
    }
    for (name, expected) in &manifest.files {
        match seen.get(name) {
            None => anyhow::bail!("the archive lacks {name}, which its manifest lists"),
            Some(found) if found.sha256 != expected.sha256 || found.bytes != expected.bytes => {
                anyhow::bail!("{name} in the archive is damaged (its checksum differs)")
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = seen.keys().find(|k| !manifest.files.contains_key(*k)) {
        anyhow::bail!("the archive holds {extra}, which its manifest does not list");
    }
    Ok(Checked { manifest })
}

/// The archive's size, for progress bars.
pub fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
