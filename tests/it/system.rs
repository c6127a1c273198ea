//! The System page and the owners' alert mails, on one node (the
//! two-node scenario is in `cluster.rs`). SQLite and MariaDB.

use std::time::Duration;

use halftone::auth::Role;

use crate::common::smtp::{smtp_config, SmtpSink};
use crate::common::spawn_app_with;

fn quick(config: &mut halftone::config::Config) {
    config.cluster.heartbeat_secs = 1;
    config.cluster.node_timeout_secs = 3;
    config.cluster.lease_secs = 2;
    config.cluster.check_secs = 1;
}

#[tokio::test]
async fn the_system_page_shows_this_node_its_services_and_its_last_errors() {
    let app = spawn_app_with(quick).await;
    let owner = app.owner().await;
    // An error this node logs is on the page (the tracing layer keeps it;
    // logged again each round, as other tests in this process log theirs).
    let probe = |json: &serde_json::Value| {
        json["errors"].as_array().is_some_and(|errors| {
            errors.iter().any(|e| {
                e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("a probe error") && m.contains("system-page-test"))
            })
        })
    };
    let mut json = serde_json::Value::Null;
    for _ in 0..50 {
        tracing::error!(
            probe = "system-page-test",
            "a probe error for the System page"
        );
        json = owner
            .get("/admin/system?format=json")
            .await
            .json()
            .await
            .expect("json");
        if json["nodes"].as_array().is_some_and(|n| !n.is_empty()) && probe(&json) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let node = &json["nodes"][0];
    assert_eq!(node["id"], app.state.node.id.as_str(), "{json}");
    assert_eq!(node["state"], "up");
    assert_eq!(node["this"], true);
    assert!(
        node["memory"].as_str().is_some_and(|m| m.ends_with('B')),
        "{node}"
    );
    assert!(probe(&json), "{json}");
    assert!(json["media_store"]
        .as_str()
        .is_some_and(|s| s.starts_with("local folder")));
    // The watchdog lease is held by this node.
    let leases = json["leases"].as_array().expect("leases");
    assert!(
        leases.iter().any(|l| l["name"] == "watchdog"
            && l["owner"] == app.state.node.id.as_str()
            && l["live"] == true),
        "{json}"
    );

    let page = owner.page("/admin/system").await;
    assert!(page.contains(&app.state.node.id) && page.contains("(this one)"));
    assert!(page.contains("Search index"));

    // Owners only; anonymous readers are sent to the login.
    let editor_email = "editor@example.com";
    app.create_user(editor_email, Role::Editor).await;
    let editor = app
        .login(editor_email, crate::common::admin::PASSWORD)
        .await
        .unwrap_or_else(|_| panic!("editor login"));
    assert_eq!(editor.get("/admin/system").await.status(), 403);
    assert_ne!(app.get("/admin/system").await.status(), 200);
}

#[tokio::test]
async fn owners_get_one_alert_mail_per_cause_per_hour() {
    let sink = SmtpSink::start();
    let app = spawn_app_with(|c| {
        smtp_config(c, sink.port);
        quick(c);
        // Any disk is fuller than 0 %.
        c.cluster.disk_alert_percent = 0.0;
    })
    .await;
    let owner_email = "owner-alerts@example.com";
    app.create_user(owner_email, Role::Owner).await;
    // A node that stopped answering without saying goodbye.
    sqlx::query(
        "INSERT INTO nodes (id, version, address, started_at, seen_at, stopped_at, stats) \
         VALUES ('web-9~abcdef', '0.1.0', 'web-9:8080', ?, ?, NULL, '{}')",
    )
    .bind(halftone::db::now() - 600)
    .bind(halftone::db::now() - 120)
    .execute(app.db.pool())
    .await
    .expect("a gone node");

    let mails = sink.wait_for(2, Duration::from_secs(20)).await;
    let subjects: Vec<String> = mails.iter().map(|m| m.subject()).collect();
    assert!(
        subjects.iter().any(|s| s.contains("the disk is")),
        "{subjects:?}"
    );
    assert!(
        subjects
            .iter()
            .any(|s| s.contains("node web-9~abcdef is gone")),
        "{subjects:?}"
    );
    let disk = mails
        .iter()
        .find(|m| m.subject().contains("the disk is"))
        .expect("disk mail");
    assert!(disk.text().contains("/admin/system"), "{}", disk.text());
    // The watchdog keeps checking every second: no second mail for a cause.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let subjects: Vec<String> = sink
        .mails_to(owner_email)
        .iter()
        .map(|m| m.subject())
        .collect();
    for cause in ["the disk is", "node web-9~abcdef is gone"] {
        assert_eq!(
            subjects.iter().filter(|s| s.contains(cause)).count(),
            1,
            "{subjects:?}"
        );
    }
    // The System page lists what was sent.
    let owner = app
        .login(owner_email, crate::common::admin::PASSWORD)
        .await
        .unwrap_or_else(|_| panic!("login"));
    let page = owner.page("/admin/system").await;
    assert!(page.contains("web-9~abcdef") && page.contains("gone"));
}
