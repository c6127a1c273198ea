//! Accounts and the admin's front door: set-up, login, throttling, CSRF,
//! sessions, and every route refusing anonymous visitors.

use halftone::auth::Role;

use crate::common::admin::{hidden_csrf, PASSWORD};
use crate::common::spawn_app;

#[tokio::test]
async fn first_run_offers_setup_once_and_logs_the_owner_in() {
    let app = spawn_app().await;
    let (client, _) = app.browser();
    // /admin → login → setup, while no account exists.
    let r = client.get(app.url("/admin")).send().await.expect("get");
    assert_eq!(r.status(), 303);
    assert!(r.headers()["location"]
        .to_str()
        .expect("ascii")
        .starts_with("/admin/login"));
    let r = client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("get");
    assert_eq!(r.headers()["location"], "/admin/setup");
    let form = client
        .get(app.url("/admin/setup"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let csrf = hidden_csrf(&form);
    // The set-up code the server printed in its log at start.
    let code: String = sqlx::query_scalar("SELECT value FROM settings WHERE name = 'setup.code'")
        .fetch_one(app.db.pool())
        .await
        .expect("a set-up code exists while there is no account");
    let wrong_code = client
        .post(app.url("/admin/setup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("code", "aaaa-bbbb-cccc"),
            ("comic", "Taken Over"),
            ("name", "Mallory"),
            ("email", "mallory@example.com"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(
        wrong_code.status(),
        400,
        "the first visitor is not the owner without the code"
    );
    assert!(wrong_code
        .text()
        .await
        .expect("body")
        .contains("set-up code is not right"));

    // Bad input: clear errors, nothing created.
    let bad = client
        .post(app.url("/admin/setup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("code", code.as_str()),
            ("comic", "The Moth Lantern"),
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", "short"),
            ("password_again", "short"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 400);
    assert!(bad
        .text()
        .await
        .expect("body")
        .contains("at least 10 characters"));
    let mismatch = client
        .post(app.url("/admin/setup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("code", code.as_str()),
            ("comic", "The Moth Lantern"),
            ("name", "Ada"),
            ("email", "ada@example.com"),
            ("password", "long enough 1"),
            ("password_again", "long enough 2"),
        ])
        .send()
        .await
        .expect("post");
    assert!(mismatch.text().await.expect("body").contains("differ"));
    assert_eq!(
        halftone::auth::users::count(&app.db).await.expect("count"),
        0
    );

    let ok = client
        .post(app.url("/admin/setup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("code", code.as_str()),
            ("comic", "The Moth Lantern"),
            ("name", "Ada"),
            ("email", "Ada@Example.com"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 303);
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .find(|c| c.starts_with("halftone_session="))
        .expect("session cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    let dashboard = client.get(app.url("/admin")).send().await.expect("get");
    assert_eq!(dashboard.status(), 200);
    assert!(dashboard
        .text()
        .await
        .expect("body")
        .contains("Welcome! Your owner account is ready."));

    // The comic's name is the site's, everywhere readers look.
    crate::common::seed_pages(&app, 1, 0).await;
    let home = app.page("/").await;
    assert!(home.contains("The Moth Lantern"), "{home}");
    assert!(!home.contains(">Halftone<") && !home.contains("My Comic"));
    let feed = app.page("/feed.xml").await;
    assert!(feed.contains("<title>The Moth Lantern</title>"), "{feed}");

    // The set-up page is gone for good.
    let again = client
        .get(app.url("/admin/setup"))
        .send()
        .await
        .expect("get");
    assert_eq!(again.headers()["location"], "/admin/login");
    let (other, _) = app.browser();
    let form = other
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    let csrf = hidden_csrf(&form);
    let late = other
        .post(app.url("/admin/setup"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("comic", "Eve's Comic"),
            ("name", "Eve"),
            ("email", "eve@example.com"),
            ("password", PASSWORD),
            ("password_again", PASSWORD),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(late.headers()["location"], "/admin/login");
    assert_eq!(
        halftone::auth::users::count(&app.db).await.expect("count"),
        1
    );
}

#[tokio::test]
async fn login_checks_the_password_and_logout_ends_the_session() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", Role::Owner).await;
    let wrong = app
        .login("ada@example.com", "not the password")
        .await
        .err()
        .expect("refused");
    assert_eq!(wrong.status(), 401);
    assert!(wrong
        .text()
        .await
        .expect("body")
        .contains("Wrong e-mail address or password"));
    assert!(app.login("nobody@example.com", PASSWORD).await.is_err());

    let admin = app
        .login("ada@example.com", PASSWORD)
        .await
        .unwrap_or_else(|_| panic!("login"));
    assert_eq!(
        admin.get("/admin/pages").await.status(),
        303,
        "no series yet: sent to create one"
    );
    let logout = admin.post("/admin/logout", &[]).await;
    assert_eq!(logout.headers()["location"], "/admin/login");
    let after = admin.get("/admin").await;
    assert_eq!(after.status(), 303);
    assert!(after.headers()["location"]
        .to_str()
        .expect("ascii")
        .starts_with("/admin/login"));

    // A session that ended on the server (expired, revoked) says so.
    let admin = app
        .login("ada@example.com", PASSWORD)
        .await
        .unwrap_or_else(|_| panic!("login"));
    sqlx::query("DELETE FROM sessions")
        .execute(app.db.pool())
        .await
        .expect("expire");
    let after = admin.get("/admin/pages").await;
    let location = after.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_owned();
    assert_eq!(location, "/admin/login?next=%2Fadmin%2Fpages&expired=1");
    assert!(admin
        .page(&location)
        .await
        .contains("Your session has ended"));
}

#[tokio::test]
async fn login_is_throttled_per_account_and_per_address() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", Role::Owner).await;
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            app.login("ada@example.com", "wrong password!")
                .await
                .err()
                .expect("refused")
                .status()
                .as_u16(),
        );
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    let throttled = app
        .login("ada@example.com", PASSWORD)
        .await
        .err()
        .expect("still throttled");
    assert_eq!(throttled.status(), 429);
    assert!(throttled.headers().contains_key("retry-after"));
    assert!(throttled
        .text()
        .await
        .expect("body")
        .contains("Too many login attempts"));

    // Many accounts from one address: the address is throttled too.
    let mut last = 0;
    for i in 0..16 {
        last = app
            .login(&format!("guess{i}@example.com"), "whatever12")
            .await
            .err()
            .expect("refused")
            .status()
            .as_u16();
    }
    assert_eq!(last, 429);
}

#[tokio::test]
async fn state_changing_requests_need_the_csrf_token_and_our_origin() {
    let app = spawn_app().await;
    halftone::demo::fill(&app.config, &app.db)
        .await
        .expect("demo");
    let admin = app.owner().await;
    // No token, a wrong token: refused, nothing created.
    let none = admin
        .client
        .post(admin.url("/admin/pages/new"))
        .form(&[("series", "1")])
        .send()
        .await
        .expect("post");
    assert_eq!(none.status(), 403);
    let wrong = admin
        .client
        .post(admin.url("/admin/pages/new"))
        .form(&[("csrf_token", "0".repeat(64))])
        .send()
        .await
        .expect("post");
    assert_eq!(wrong.status(), 403);
    assert!(wrong.text().await.expect("body").contains("security token"));
    // A token in the header works too (used by scripts).
    let header = admin
        .client
        .post(admin.url("/admin/markdown"))
        .header("X-CSRF-Token", &admin.csrf)
        .json(&serde_json::json!({ "markdown": "**hi**" }))
        .send()
        .await
        .expect("post");
    assert_eq!(header.status(), 200);
    let no_header = admin
        .client
        .post(admin.url("/admin/markdown"))
        .json(&serde_json::json!({ "markdown": "**hi**" }))
        .send()
        .await
        .expect("post");
    assert_eq!(no_header.status(), 403);
    // Right token, foreign origin.
    let foreign = admin
        .client
        .post(admin.url("/admin/pages/new"))
        .header("Origin", "https://evil.example")
        .form(&[("csrf_token", admin.csrf.as_str())])
        .send()
        .await
        .expect("post");
    assert_eq!(foreign.status(), 403);
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pages WHERE status = 'draft'")
        .fetch_one(app.db.pool())
        .await
        .expect("count");
    assert_eq!(count, 0);
    // The anonymous login form has its own token.
    let (client, _) = app.browser();
    let login = client
        .post(app.url("/admin/login"))
        .form(&[("email", "a@b.cd"), ("password", "x")])
        .send()
        .await
        .expect("post");
    assert_eq!(login.status(), 403);
}

#[tokio::test]
async fn every_admin_route_refuses_anonymous_visitors() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", Role::Owner).await;
    let (client, _) = app.browser();
    let mut checked = 0;
    for (method, path, _) in halftone::admin::route_table() {
        if halftone::admin::PUBLIC_PATHS.contains(&path) {
            continue;
        }
        let url = app.url(&format!(
            "/admin{}",
            path.replace("{id}", "1").replace("{rev}", "1")
        ));
        let response = client
            .request(method.as_str().parse().expect("method"), &url)
            .header("Origin", &app.address)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        if method == actix_web::http::Method::GET {
            assert_eq!(
                status, 303,
                "GET {path} must send anonymous visitors to the login page"
            );
            let location = response.headers()["location"]
                .to_str()
                .expect("ascii")
                .to_owned();
            assert!(
                location.starts_with("/admin/login?next="),
                "{path}: {location}"
            );
        } else {
            assert_eq!(
                status, 401,
                "{method} {path} must refuse anonymous visitors"
            );
        }
        checked += 1;
    }
    assert!(checked >= 35, "walked {checked} routes");
    // And the websocket handshake.
    let url = app.address.replace("http://", "ws://") + "/admin/pages/1/ws";
    let mut request =
        tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)
            .expect("req");
    request
        .headers_mut()
        .insert("Origin", app.address.parse().expect("origin"));
    let refused = tokio_tungstenite::connect_async(request).await;
    assert!(
        matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 401),
        "{refused:?}"
    );
}

#[tokio::test]
async fn changing_the_password_logs_out_everywhere_else() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", Role::Owner).await;
    let laptop = app
        .login("ada@example.com", PASSWORD)
        .await
        .unwrap_or_else(|_| panic!("login"));
    let phone = app
        .login("ada@example.com", PASSWORD)
        .await
        .unwrap_or_else(|_| panic!("login"));
    let bad = laptop
        .post(
            "/admin/account/password",
            &[
                ("current", "wrong one!!"),
                ("new", "a new password"),
                ("again", "a new password"),
            ],
        )
        .await;
    assert!(laptop
        .follow(bad)
        .await
        .contains("current password is not right"));
    let ok = laptop
        .post(
            "/admin/account/password",
            &[
                ("current", PASSWORD),
                ("new", "a new password"),
                ("again", "a new password"),
            ],
        )
        .await;
    assert!(laptop
        .follow(ok)
        .await
        .contains("logged out everywhere else"));
    assert_eq!(
        laptop.get("/admin").await.status(),
        200,
        "this session lives on"
    );
    assert_eq!(
        phone.get("/admin").await.status(),
        303,
        "the other one is over"
    );
    assert!(app.login("ada@example.com", PASSWORD).await.is_err());
    assert!(app.login("ada@example.com", "a new password").await.is_ok());
}

#[tokio::test]
async fn editors_cannot_manage_accounts_or_settings() {
    let app = spawn_app().await;
    app.create_user("ed@example.com", Role::Editor).await;
    let editor = app
        .login("ed@example.com", PASSWORD)
        .await
        .unwrap_or_else(|_| panic!("login"));
    assert_eq!(editor.get("/admin/users").await.status(), 403);
    assert_eq!(editor.get("/admin/settings").await.status(), 403);
    let r = editor
        .post(
            "/admin/users",
            &[
                ("email", "x@example.com"),
                ("name", "X"),
                ("role", "owner"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert_eq!(r.status(), 403);
    assert_eq!(editor.get("/admin/queue").await.status(), 200);
}

#[tokio::test]
async fn the_owner_adds_accounts_and_the_cli_does_too() {
    let app = spawn_app().await;
    let owner = app.owner().await;
    let r = owner
        .post(
            "/admin/users",
            &[
                ("email", "ed@example.com"),
                ("name", "Ed"),
                ("role", "editor"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert!(owner
        .follow(r)
        .await
        .contains("Account for ed@example.com created"));
    let dup = owner
        .post(
            "/admin/users",
            &[
                ("email", "ED@example.com"),
                ("name", "Ed"),
                ("role", "editor"),
                ("password", "long enough pw"),
            ],
        )
        .await;
    assert!(owner.follow(dup).await.contains("exists already"));
    assert!(app.login("ed@example.com", "long enough pw").await.is_ok());

    let mut command = crate::common::halftone_command(&app);
    command.args([
        "user",
        "add",
        "cli@example.com",
        "--role",
        "editor",
        "--password-stdin",
    ]);
    command
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let output = tokio::task::spawn_blocking(move || {
        use std::io::Write;
        let mut child = command.spawn().expect("spawn");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(b"from the shell!\n")
            .expect("write");
        child.wait_with_output().expect("wait")
    })
    .await
    .expect("join");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(app
        .login("cli@example.com", "from the shell!")
        .await
        .is_ok());
}

/// Six wrong guesses from anywhere once locked the owner out. Now the
/// guesser's address slows down, the owner elsewhere logs in, and a crowd of
/// addresses that exhausts the account's own ceiling still cannot keep out a
/// browser that has logged in before.
#[tokio::test]
async fn guessers_are_throttled_without_locking_the_owner_out() {
    let app = crate::common::spawn_app_with(|c| c.trusted_proxies = vec!["127.0.0.1".into()]).await;
    app.create_user("ada@example.com", Role::Owner).await;
    // Ada logs in once from her own browser: it becomes a known device.
    let (own, own_jar) = app.browser();
    app.login_with(
        own.clone(),
        own_jar.clone(),
        "ada@example.com",
        PASSWORD,
        Some("198.51.100.10"),
    )
    .await
    .unwrap_or_else(|_| panic!("first login"));

    // A guesser at one address: five wrong tries, then throttled.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        let (client, jar) = app.browser();
        let status = app
            .login_with(
                client,
                jar,
                "ada@example.com",
                "wrong password!",
                Some("203.0.113.66"),
            )
            .await
            .err()
            .expect("refused")
            .status()
            .as_u16();
        statuses.push(status);
    }
    assert_eq!(statuses, vec![401, 401, 401, 401, 401, 429]);
    // The owner from another address, in a new browser: not locked out.
    let (fresh, fresh_jar) = app.browser();
    assert!(app
        .login_with(
            fresh,
            fresh_jar,
            "ada@example.com",
            PASSWORD,
            Some("198.51.100.20")
        )
        .await
        .is_ok());

    // A crowd: three tries from each of twenty addresses exhausts the
    // account's ceiling of fifty.
    for n in 0..20 {
        for _ in 0..3 {
            let (client, jar) = app.browser();
            let _ = app
                .login_with(
                    client,
                    jar,
                    "ada@example.com",
                    "wrong password!",
                    Some(&format!("192.0.2.{n}")),
                )
                .await;
        }
    }
    let (stranger, stranger_jar) = app.browser();
    let refused = app
        .login_with(
            stranger,
            stranger_jar,
            "ada@example.com",
            PASSWORD,
            Some("198.51.100.30"),
        )
        .await
        .err()
        .expect("a new browser waits");
    assert_eq!(refused.status(), 429);
    // Ada's own browser (its device cookie; her session has ended) from yet
    // another address: in.
    use reqwest::cookie::CookieStore;
    let admin_url: url::Url = app.url("/admin/login").parse().expect("url");
    let cookies = own_jar.cookies(&admin_url).expect("cookies");
    let device = cookies
        .to_str()
        .expect("ascii")
        .split("; ")
        .find(|c| c.starts_with("halftone_device="))
        .expect("the first login remembered the browser")
        .to_owned();
    drop(own);
    let (again, again_jar) = app.browser();
    again_jar.add_cookie_str(&format!("{device}; Path=/admin"), &admin_url);
    assert!(
        app.login_with(
            again,
            again_jar,
            "ada@example.com",
            PASSWORD,
            Some("198.51.100.40")
        )
        .await
        .is_ok(),
        "a known device passes the account's ceiling"
    );
}

/// The origin check compares with `public_url` (scheme, host, port) and the
/// request's own host; `X-Forwarded-Host` and `-Proto` count only from a
/// trusted proxy.
#[tokio::test]
async fn forwarded_headers_cannot_make_another_origin_ours() {
    let app = spawn_app().await;
    crate::common::seed_pages(&app, 1, 0).await;
    let admin = app.owner().await;
    let post = |origin: &'static str,
                forwarded_host: Option<&'static str>,
                proto: Option<&'static str>| {
        let mut request = admin
            .client
            .post(admin.url("/admin/pages/new"))
            .header("origin", origin)
            .form(&[("csrf_token", admin.csrf.as_str())]);
        if let Some(host) = forwarded_host {
            request = request.header("x-forwarded-host", host);
        }
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        async move { request.send().await.expect("post").status().as_u16() }
    };
    assert_eq!(
        post("http://attacker.example", Some("attacker.example"), None).await,
        403,
        "X-Forwarded-Host from an untrusted peer is ignored"
    );
    let https = format!("https://127.0.0.1:{}", app.port);
    let https: &'static str = Box::leak(https.into_boxed_str());
    assert_eq!(
        post(https, None, Some("https")).await,
        403,
        "the scheme counts"
    );
    let ours: &'static str = Box::leak(app.address.clone().into_boxed_str());
    assert_eq!(post(ours, None, None).await, 303, "our own origin passes");
}

#[tokio::test]
async fn behind_https_every_admin_cookie_is_secure() {
    let app = crate::common::spawn_app_with(|c| {
        c.public_url = "https://comic.example/".parse().expect("url");
        c.admin.secure_cookies = Some(true);
    })
    .await;
    app.create_user("ada@example.com", Role::Owner).await;
    let (client, _) = app.browser();
    let form = client
        .get(app.url("/admin/login"))
        .send()
        .await
        .expect("get");
    let csrf_cookie: Vec<String> = form
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_owned())
        .collect();
    assert!(
        csrf_cookie.iter().any(|c| c.starts_with("halftone_csrf=")),
        "{csrf_cookie:?}"
    );
    assert!(
        csrf_cookie.iter().all(|c| c.contains("Secure")),
        "{csrf_cookie:?}"
    );
    let csrf = hidden_csrf(&form.text().await.expect("body"));
    let login = client
        .post(app.url("/admin/login"))
        .header("origin", "https://comic.example")
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("email", "ada@example.com"),
            ("password", "wrong password!"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(login.status(), 401);
    let flash = client
        .post(app.url("/admin/logout"))
        .header("origin", "https://comic.example")
        .send()
        .await
        .expect("post");
    for cookie in flash.headers().get_all("set-cookie") {
        assert!(
            cookie.to_str().expect("ascii").contains("Secure"),
            "{cookie:?}"
        );
    }
}

/// Set-up forms raced from many browsers at once (with the right code):
/// exactly one owner, on SQLite and on MariaDB alike.
#[tokio::test]
async fn racing_set_ups_make_exactly_one_owner() {
    let app = spawn_app().await;
    let code: String = sqlx::query_scalar("SELECT value FROM settings WHERE name = 'setup.code'")
        .fetch_one(app.db.pool())
        .await
        .expect("code");
    let attempts = (0..8).map(|n| {
        let app = &app;
        let code = code.clone();
        async move {
            let (client, _) = app.browser();
            let form = client
                .get(app.url("/admin/setup"))
                .send()
                .await
                .expect("get")
                .text()
                .await
                .expect("body");
            let csrf = hidden_csrf(&form);
            client
                .post(app.url("/admin/setup"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("code", code.as_str()),
                    ("comic", "Race"),
                    ("name", &format!("Racer {n}")),
                    ("email", &format!("racer{n}@example.com")),
                    ("password", PASSWORD),
                    ("password_again", PASSWORD),
                ])
                .send()
                .await
                .expect("post")
                .status()
                .as_u16()
        }
    });
    futures_util::future::join_all(attempts).await;
    assert_eq!(
        halftone::auth::users::count(&app.db).await.expect("count"),
        1,
        "one owner, whoever won"
    );
    let left: Option<String> =
        sqlx::query_scalar("SELECT value FROM settings WHERE name = 'setup.code'")
            .fetch_optional(app.db.pool())
            .await
            .expect("code");
    assert_eq!(left, None, "the code is spent");
}

#[tokio::test]
async fn a_hostile_next_after_login_is_replaced_not_a_500() {
    let app = spawn_app().await;
    app.create_user("ada@example.com", Role::Owner).await;
    let (client, _) = app.browser();
    let form = client
        .get(app.url("/admin/login?next=%2Fadmin%0D%0ASet-Cookie%3A%20x%3Dy"))
        .send()
        .await
        .expect("get");
    assert_eq!(form.status(), 200);
    drop(form);
    for next in [
        "/admin\r\nSet-Cookie: x=y",
        "/admin\u{0}",
        "//evil.example",
        "https://evil.example/admin",
    ] {
        let (client, _) = app.browser();
        let page = client
            .get(app.url("/admin/login"))
            .send()
            .await
            .expect("get");
        let csrf = hidden_csrf(&page.text().await.expect("body"));
        let response = client
            .post(app.url("/admin/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("email", "ada@example.com"),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(response.status(), 303, "{next:?}");
        assert_eq!(response.headers()["location"], "/admin", "{next:?}");
    }
}
