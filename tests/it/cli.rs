//! The `halftone` binary as a user runs it.

use std::process::Command;

use crate::common::{halftone_bin, png_bytes, spawn_app, write_file};

#[test]
fn help_explains_every_command() {
    let out = Command::new(halftone_bin())
        .arg("--help")
        .output()
        .expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for command in ["serve", "migrate", "import", "demo"] {
        assert!(text.contains(command), "--help lacks {command}:\n{text}");
    }
    let out = Command::new(halftone_bin())
        .args(["import", "--help"])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2010-05-03-title.png") && text.contains("ch01/003.jpg"),
        "{text}"
    );
}

#[test]
fn a_bad_setting_fails_fast_and_names_the_setting() {
    let dir = tempfile::tempdir().expect("dir");
    for (var, value, name) in [
        ("HALFTONE_BIND", "not-an-address", "bind"),
        ("HALFTONE_DATABASE_URL", "postgres://nope", "database_url"),
        ("HALFTONE_PUBLIC_URL", "ftp://x", "public_url"),
        ("HALFTONE_MEDIA__WEBP_QUALITY", "500", "media.webp_quality"),
        ("HALFTONE_DATABSE_URL", "sqlite://typo", "databse_url"),
    ] {
        let out = Command::new(halftone_bin())
            .arg("migrate")
            .env("HALFTONE_DATA_DIR", dir.path())
            .env(var, value)
            .output()
            .expect("run");
        assert!(!out.status.success(), "{var}={value} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(name),
            "{var}: error should name `{name}`:\n{err}"
        );
    }
}

#[test]
fn a_config_file_is_read() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("site.toml");
    std::fs::write(&config, "bind = \"nonsense\"\n").expect("write");
    let out = Command::new(halftone_bin())
        .args(["--config", config.to_str().expect("utf8"), "migrate"])
        .env("HALFTONE_DATA_DIR", dir.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bind"));
}

#[tokio::test]
async fn the_import_command_reports_what_it_did() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().expect("dir");
    write_file(dir.path(), "001.png", &png_bytes(120, 160, 1));
    write_file(dir.path(), "002.png", b"garbage");
    let mut command = Command::new(halftone_bin());
    command
        .arg("import")
        .arg(dir.path())
        .env("HALFTONE_DATA_DIR", app.data_dir.path());
    if let Some(url) = &app.config.database_url {
        command.env(
            "HALFTONE_DATABASE_URL",
            secrecy::ExposeSecret::expose_secret(url),
        );
    }
    let out = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("Imported 1 page ("), "{stdout}");
    assert!(
        stdout.contains("002.png: not a supported image"),
        "{stdout}"
    );
    assert_eq!(app.get("/comic/001").await.status(), 200);
}
