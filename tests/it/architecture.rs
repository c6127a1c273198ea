//! The dependency rules of ARCHITECTURE.md, checked on the source: the
//! domains never reach up into the web layer, and background work never
//! holds the web layer's state.

use std::path::Path;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Lines of code (comments left out) that mention `needle`.
fn uses(file: &Path, needles: &[&str]) -> Vec<String> {
    std::fs::read_to_string(file)
        .expect("read")
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| needles.iter().any(|n| l.contains(n)))
        .map(|l| format!("{}: {}", file.display(), l.trim()))
        .collect()
}

#[test]
fn domains_never_import_the_admin_or_the_reader() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    for domain in [
        "comics",
        "comments",
        "media",
        "newsletter",
        "queue",
        "search",
        "backup",
        "cluster",
        "fediverse",
    ] {
        rust_files(&src.join(domain), &mut files);
    }
    files.push(src.join("events.rs"));
    assert!(files.len() > 20, "the walk found the domains");
    let offending: Vec<String> = files
        .iter()
        .flat_map(|f| uses(f, &["crate::admin", "crate::reader", "super::super::admin"]))
        .collect();
    assert!(
        offending.is_empty(),
        "domains reach into the web layer:\n{}",
        offending.join("\n")
    );
}

#[test]
fn background_workers_take_services_not_the_web_state() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let workers = [
        "newsletter/sender.rs",
        "newsletter/compose.rs",
        "newsletter/mod.rs",
        "search/mod.rs",
        "queue/notify.rs",
        "backup/schedule.rs",
        "backup/mod.rs",
        "cluster/node.rs",
        "cluster/alerts.rs",
    ];
    let offending: Vec<String> = workers
        .iter()
        .flat_map(|f| uses(&src.join(f), &["AppState"]))
        .filter(|l| !l.contains("share of `AppState`"))
        .collect();
    assert!(
        offending.is_empty(),
        "workers hold AppState:\n{}",
        offending.join("\n")
    );
}

#[test]
fn the_site_shares_only_the_protocol_crate_with_analytics() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let offending: Vec<String> = files
        .iter()
        .flat_map(|f| uses(f, &["halftone_analytics::", "use halftone_analytics"]))
        .collect();
    assert!(
        offending.is_empty(),
        "the site reaches into the analytics service:\n{}",
        offending.join("\n")
    );
}
