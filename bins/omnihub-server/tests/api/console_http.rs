//! The console's doors over plain HTTP (no browser): closed without an admin key, sign-in
//! with the key only, the session cookie's flags (`Secure` behind an https public URL), forms
//! refused without their CSRF token or from another site, sessions ended by sign-out, and no
//! secret in any page.

use omnihub_test_support::TestDb;
use reqwest::blocking::{Client, Response};
use reqwest::redirect::Policy;
use serde_json::json;

use crate::flow::{create_instance, echo_agent, fast_env, ok_evolution, start};
use crate::support::{ServerProcess, ADMIN_KEY};

on_both_engines!(console_doors_open_only_with_the_key_and_a_session,);

fn client() -> Client {
    Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .build()
        .unwrap()
}

/// Signs in; the session cookie's `name=value` and the whole `Set-Cookie` line.
fn sign_in(c: &Client, base: &str, key: &str) -> (Response, Option<(String, String)>) {
    let resp = c
        .post(format!("{base}/admin/login"))
        .form(&[("key", key)])
        .send()
        .unwrap();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .map(|line| {
            (
                line.split(';').next().unwrap_or_default().to_owned(),
                line.to_owned(),
            )
        });
    (resp, cookie)
}

fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .unwrap_or_else(|| panic!("a form with its token"))
        + 19;
    page[at..at + 64].to_owned()
}

fn console_doors_open_only_with_the_key_and_a_session(db: &TestDb) {
    let (agent, evolution) = (echo_agent(), ok_evolution());
    let server = start(db);
    create_instance(
        &server,
        "shop",
        "wa_shop",
        &agent,
        &evolution,
        json!({"webhook_secret": "whsec-0123456789abcdef-0123"}),
    );
    let (c, base) = (client(), server.base.clone());
    // Without a session every page sends to the sign-in page.
    for path in [
        "/admin",
        "/admin/messages",
        "/admin/instances/shop/chats",
        "/admin/fragments/instances",
    ] {
        let resp = c.get(format!("{base}{path}")).send().unwrap();
        assert_eq!(resp.status(), 303, "{path}");
        assert_eq!(resp.headers()["location"], "/admin/login");
    }
    let (wrong, cookie) = sign_in(&c, &base, "not-the-admin-key-at-all");
    assert_eq!(wrong.status(), 401);
    assert!(cookie.is_none(), "no session for a wrong key");
    assert!(wrong.text().unwrap().contains("That is not the admin key"));
    let (right, cookie) = sign_in(&c, &base, ADMIN_KEY);
    assert_eq!(
        (
            right.status().as_u16(),
            right.headers()["location"].to_str().unwrap()
        ),
        (303, "/admin")
    );
    let (cookie, line) = cookie.unwrap_or_else(|| panic!("a session cookie"));
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/admin", "Max-Age=43200"] {
        assert!(line.contains(flag), "{flag} in {line}");
    }
    assert!(!line.contains("Secure"), "http public URL: not Secure: {line}");
    assert!(!line.contains(ADMIN_KEY), "the key is not the cookie");
    let get = |path: &str| {
        c.get(format!("{base}{path}"))
            .header("cookie", &cookie)
            .send()
            .unwrap()
    };
    let dashboard = get("/admin");
    assert_eq!(dashboard.status(), 200);
    assert_eq!(dashboard.headers()["content-type"], "text/html; charset=utf-8");
    let page = dashboard.text().unwrap();
    assert!(page.contains("data-instance=\"shop\""), "{page}");
    let edit = get("/admin/instances/shop/edit").text().unwrap();
    for secret in [
        ADMIN_KEY,
        "whsec-0123456789abcdef-0123",
        omnihub_test_support::AGENT_KEY,
        &omnihub_test_support::evolution_key("shop"),
    ] {
        assert!(
            !page.contains(secret) && !edit.contains(secret),
            "{secret} shows in a page"
        );
    }
    assert!(
        edit.contains("set; leave blank to keep"),
        "secrets show as set: {edit}"
    );
    let csrf = csrf_of(&page);
    let post = |path: &str, form: &[(&str, &str)], origin: Option<&str>| {
        let mut req = c
            .post(format!("{base}{path}"))
            .header("cookie", &cookie)
            .form(form);
        if let Some(origin) = origin {
            req = req.header("origin", origin);
        }
        req.send().unwrap()
    };
    let pause = "/admin/instances/shop/chats/5511999990000/pause";
    assert_eq!(post(pause, &[("minutes", "")], None).status(), 403, "no token");
    assert_eq!(
        post(pause, &[("minutes", ""), ("csrf", "0".repeat(64).as_str())], None).status(),
        403,
        "wrong token"
    );
    let forged = post(
        pause,
        &[("minutes", ""), ("csrf", &csrf)],
        Some("https://evil.example"),
    );
    assert_eq!(forged.status(), 403, "another site's form");
    assert!(forged.text().unwrap().contains("cannot act on this console"));
    let paused = post(pause, &[("minutes", "15"), ("csrf", &csrf)], Some(&base));
    assert_eq!(paused.status(), 303);
    let bad_minutes = post(pause, &[("minutes", "ten"), ("csrf", &csrf)], None);
    assert_eq!(bad_minutes.status(), 422);
    assert!(bad_minutes.text().unwrap().contains("invalid minutes"));
    let chat = get("/admin/instances/shop/chats/5511999990000%40s.whatsapp.net")
        .text()
        .unwrap();
    assert!(chat.contains("paused by api until"), "{chat}");
    assert_eq!(get("/admin/instances/ghost/chats").status(), 404);
    assert_eq!(get("/admin/messages?status=lost").status(), 422);
    // Sign-out ends the session on the server: the old cookie no longer opens a page.
    assert_eq!(
        post("/admin/logout", &[], None).status(),
        403,
        "sign-out needs the token too"
    );
    let out = post("/admin/logout", &[("csrf", &csrf)], None);
    assert_eq!(
        (out.status().as_u16(), out.headers()["location"].to_str().unwrap()),
        (303, "/admin/login")
    );
    assert!(out.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    assert_eq!(get("/admin").status(), 303, "the old cookie is dead");
    // The API key never opens the console, nor the console cookie the API.
    let api_with_cookie = c
        .get(format!("{base}/api/v1/instances"))
        .header("cookie", &cookie)
        .send()
        .unwrap();
    assert_eq!(api_with_cookie.status(), 401);
    let _ = server;
}

/// Behind an https public URL the cookie is `Secure`; without an admin key the console is
/// closed like the API.
#[test]
fn secure_cookies_behind_https_and_closed_without_a_key() {
    let db = TestDb::sqlite();
    let mut env = fast_env();
    env.push(("OMNIHUB_PUBLIC_URL", "https://hub.example.com"));
    let server = ServerProcess::start(db.url(), Some(ADMIN_KEY), &env);
    let (_, cookie) = sign_in(&client(), &server.base, ADMIN_KEY);
    let (_, line) = cookie.unwrap_or_else(|| panic!("a session cookie"));
    assert!(line.contains("Secure"), "{line}");
    drop(server);
    let closed = ServerProcess::start(db.url(), None, &fast_env());
    let c = client();
    let page = c.get(format!("{}/admin/login", closed.base)).send().unwrap();
    assert_eq!(page.status(), 503);
    assert!(page.text().unwrap().contains("OMNIHUB_API_KEY"));
    let (resp, cookie) = sign_in(&c, &closed.base, "anything-at-all-0123456789");
    assert_eq!(resp.status(), 503);
    assert!(cookie.is_none());
}
