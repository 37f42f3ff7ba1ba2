//! The console in a real headless Chromium against the real server binary, the fake
//! Evolution server and a fake agent: sign in (a wrong key first), create an instance (a
//! refused form first), connect it by QR (the state turns `open` without a reload), open a
//! conversation, retry a failed message, pause, reply through the number, resume, a form
//! post without its token, and sign out. Screenshots go to `target/console-screenshots/`.

use omnihub_test_support::{
    content, evolution_key, text_webhook, texts, wait_until, FakeEvolution, FakeHttp, Reply, TestDb,
};
use serde_json::json;

use crate::numbers::start_public;
use crate::support::{Api, Req, ADMIN_KEY};
use crate::webdriver::Browser;

const CHAT: &str = "5511999990000@s.whatsapp.net";
const TOKEN: &str = "whsec-console-0123456789abcdef";

#[test]
fn an_operator_connects_a_number_takes_a_chat_over_and_signs_out() {
    let Some(browser) = Browser::start() else {
        return;
    };
    let db = TestDb::sqlite();
    let server = start_public(&db, &[]);
    let evolution = FakeEvolution::start(&evolution_key("shop"));
    // The agent refuses the first message ("fail me") once, for good (401), then echoes.
    let agent = FakeHttp::start(|r, n| match n {
        0 => Reply::json(401, json!({"detail": "bad key"})),
        _ => Reply::json(200, json!({"message": format!("echo: {}", content(r))})),
    });
    let base = server.base.clone();
    let page = |path: &str| format!("{base}{path}");

    // Sign in: a wrong key is refused, the right one opens the console.
    browser.go(&page("/admin"));
    assert!(browser.url().ends_with("/admin/login"), "{}", browser.url());
    browser.screenshot("01-sign-in");
    browser.fill("#key", "wrong-key-0123456789");
    browser.click("button[type=submit]");
    assert!(browser.text("p.error").contains("not the admin key"));
    browser.fill("#key", ADMIN_KEY);
    browser.click("button[type=submit]");
    browser.wait_for(10, "the dashboard", |b| b.url() == page("/admin"));
    let cookies = browser.cookies();
    let session = cookies
        .iter()
        .find(|c| c["name"] == "omnihub_console")
        .unwrap_or_else(|| panic!("the session cookie"));
    assert_eq!(
        (session["httpOnly"].as_bool(), session["sameSite"].as_str()),
        (Some(true), Some("Strict")),
        "{session}"
    );
    assert!(session.get("expiry").is_some(), "the cookie expires: {session}");
    assert_eq!(
        browser.run("return document.cookie;"),
        json!(""),
        "scripts cannot read the session"
    );

    // Create: the API's own message for a bad field, then the instance.
    browser.click("a.button[href='/admin/instances/new']");
    let fill_form = |agent_url: &str| {
        browser.fill("#whatsapp_instance", "wa_shop");
        browser.fill("#evolution_url", evolution.url());
        browser.fill("#evolution_key", &evolution_key("shop"));
        browser.fill("#agent_api_url", agent_url);
        browser.fill("#agent_api_key", "agent-key-0123456789");
        browser.fill("#default_agent", "bot");
        browser.fill("#webhook_secret", TOKEN);
    };
    browser.fill("#name", "shop");
    fill_form("ftp://agent.example.com");
    browser.click("form.form button[type=submit]");
    let refused = browser.text("p.error");
    assert!(refused.contains("agent_api_url"), "{refused}");
    browser.screenshot("02-instance-form-refused");
    fill_form(&agent.url);
    browser.click("form.form button[type=submit]");
    browser.wait_for(10, "the connect page", |b| {
        b.url().ends_with("/admin/instances/shop/connect")
    });

    // Connect: the QR from Evolution's code; the scan turns the state open without a reload.
    browser.click("#connect");
    let code = browser.attribute("#qr", "data-code").unwrap_or_default();
    assert!(code.starts_with("2@"), "the QR is Evolution's code: {code}");
    assert!(browser.has("#qr svg"), "drawn as an SVG");
    browser.screenshot("03-connect-qr");
    browser.run("window.__notReloaded = true; return null;");
    evolution.scan("wa_shop", "5511988887777");
    browser.wait_for(20, "the state open", |b| b.text("#state") == "open");
    assert_eq!(
        browser.run("return window.__notReloaded === true;"),
        json!(true),
        "no reload"
    );
    assert!(browser.text("#live").contains("+5511988887777"));
    browser.screenshot("04-connected");
    // A button behind a confirmation: the webhook sync.
    browser.click("form[action$='/actions/sync'] button");
    browser.accept_dialog();
    browser.wait_for(10, "the sync's notice", |b| b.has("p.notice"));
    assert!(
        browser.text("p.notice").contains("Webhook synced"),
        "{}",
        browser.text("p.notice")
    );

    // Two messages arrive: the first fails at the agent, the second is answered.
    let webhook = |id: &str, text: &str| {
        server.send(
            Req::new("POST", "/webhook/evolution/shop")
                .header("x-omnihub-token", TOKEN)
                .json(&text_webhook("wa_shop", id, CHAT, text)),
        )
    };
    webhook("W1", "fail me").expect(200, None);
    wait_until(20, "the failure", || {
        server
            .send(Req::admin("GET", "/api/v1/messages?status=failed"))
            .json()
            .as_array()
            .is_some_and(|a| a.len() == 1)
    });
    webhook("W2", "hello").expect(200, None);
    wait_until(20, "the echo", || {
        texts(&evolution.http)
            .iter()
            .any(|r| r.json["text"] == "echo: hello")
    });

    // The dashboard card and the conversation.
    browser.go(&page("/admin"));
    assert_eq!(
        browser
            .attribute("article[data-instance=shop]", "data-state")
            .as_deref(),
        Some("open")
    );
    browser.screenshot("05-instances");
    browser.click("article[data-instance=shop] a[href$='/chats']");
    browser.click(&format!("a[href$='{CHAT}']"));
    assert!(browser.text("ol.conversation").contains("echo: hello"));
    browser.screenshot("06-conversation");

    // Retry the failed message: answered this time.
    browser.click("button.retry");
    browser.wait_for(20, "the retried answer", |b| {
        b.go(&b.url());
        b.text("ol.conversation").contains("echo: fail me")
    });
    assert!(!browser.has("button.retry"));

    // Pause; a message while paused is skipped; a reply typed in the console reaches Evolution.
    browser.click("#pause");
    browser.wait_for(10, "paused", |b| b.has("#paused"));
    webhook("W3", "anyone there?").expect(200, None);
    browser.fill("#text", "A person here: your order ships today.");
    browser.click("#send");
    wait_until(20, "the console's reply sent", || {
        texts(&evolution.http)
            .iter()
            .any(|r| r.json == json!({"number": CHAT, "text": "A person here: your order ships today."}))
    });
    browser.go(&browser.url());
    let conversation = browser.text("ol.conversation");
    assert!(
        conversation.contains("skipped: paused") && conversation.contains("sent by console"),
        "{conversation}"
    );
    browser.screenshot("07-paused-and-replied");
    // On a phone's screen the conversation is one column and the reply box still fits.
    browser.resize(390, 844);
    let overflow = browser.run("return document.documentElement.scrollWidth > window.innerWidth;");
    let wide = browser.run(
        "const d = document.documentElement; return [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > d.clientWidth + 1).map(e => e.tagName + '.' + e.className + '#' + e.id + ':' + Math.round(e.getBoundingClientRect().right)).slice(0, 12).join(' ') + ' inner=' + window.innerWidth + ' client=' + d.clientWidth + ' scroll=' + d.scrollWidth + ' body=' + document.body.scrollWidth;",
    );
    assert_eq!(overflow, json!(false), "no sideways scrolling on a phone: {wide}");
    browser.screenshot("07b-conversation-on-a-phone");
    browser.resize(1100, 900);
    browser.click("#resume");
    browser.wait_for(10, "answering again", |b| b.has("#answering"));

    // A form post without its token is refused, even from the console's own origin.
    let status = browser.run_async(&format!(
        "const done = arguments[0]; fetch('/admin/instances/shop/chats/{CHAT}/pause', {{method: 'POST', body: new URLSearchParams({{minutes: ''}})}}).then(r => done(r.status));"
    ));
    assert_eq!(status, json!(403));
    assert!(browser.has("#answering"));

    // The log and a message's timeline.
    browser.go(&page("/admin/messages?instance=shop&status=done"));
    assert!(browser.text("table").contains("fail me"));
    browser.screenshot("08-messages");
    browser.click("table a");
    let timeline = browser.text("ol.timeline");
    assert!(
        timeline.contains("finished") && timeline.contains("parts sent"),
        "{timeline}"
    );

    // No secret in any page the console served.
    for path in [
        "/admin",
        "/admin/instances/shop/edit",
        "/admin/instances/shop/connect",
    ] {
        browser.go(&page(path));
        let html = browser.source();
        for secret in [ADMIN_KEY, TOKEN, "agent-key-0123456789", &evolution_key("shop")] {
            assert!(!html.contains(secret), "{secret} in {path}");
        }
    }

    // Sign out: back to the sign-in page, and the console is closed again.
    browser.click("form.signout button");
    browser.wait_for(10, "the sign-in page", |b| b.url().ends_with("/admin/login"));
    browser.go(&page("/admin"));
    assert!(browser.url().ends_with("/admin/login"));
    assert_eq!(agent.requests().len(), 3, "fail me, hello, fail me again");
}
