//! The systemd units in `docker/` load (`systemd-analyze verify`) and keep
//! their hardening (`systemd-analyze security --offline`, an exposure of at
//! most 2.0 of 10). The binaries they start are stood in for by this test's
//! own build, in a folder of the test's. Skips where systemd's tools are
//! not installed.

use std::path::Path;
use std::process::Command;

const UNITS: [&str; 2] = ["halftone.service", "halftone-analytics.service"];

#[test]
fn systemd_units_verify_and_stay_hardened() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipping: no systemd-analyze");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    for name in ["halftone", "halftone-analytics"] {
        std::os::unix::fs::symlink(crate::common::halftone_bin(), bin.join(name)).expect("link");
    }
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("docker");
    let mut paths = Vec::new();
    for unit in UNITS {
        let text = std::fs::read_to_string(source.join(unit)).expect("unit");
        assert!(
            text.contains("ExecStart=/usr/local/bin/"),
            "{unit}: ExecStart moved?"
        );
        let path = dir.path().join(unit);
        std::fs::write(
            &path,
            text.replace("/usr/local/bin/", &format!("{}/", bin.display())),
        )
        .expect("write unit");
        paths.push(path);
    }
    let verify = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .expect("systemd-analyze verify");
    assert!(
        verify.status.success() && verify.stderr.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    for path in &paths {
        let security = Command::new("systemd-analyze")
            .args(["security", "--offline=true", "--no-pager"])
            .arg(path)
            .output()
            .expect("systemd-analyze security");
        let text = String::from_utf8_lossy(&security.stdout);
        let exposure: f64 = text
            .lines()
            .find_map(|l| l.split("Overall exposure level for ").nth(1))
            .and_then(|rest| rest.split(": ").nth(1))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no exposure level in: {text}"));
        assert!(
            exposure <= 2.0,
            "{}: exposure {exposure} (was 1.4)",
            path.display()
        );
    }
}
