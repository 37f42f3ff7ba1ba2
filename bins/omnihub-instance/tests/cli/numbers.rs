//! `connect`, `status`, `webhook-sync`, `restart`, `logout` and `import` against the fake
//! Evolution server, on both engines; the CLI reaches Evolution itself (no server runs).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use omnihub_test_support::{FakeEvolution, TestDb};
use serde_json::Value;

use crate::{add_args, assert_code, run_in, stderr, stdout, EVOLUTION_KEY};

omnihub_test_support::on_both_engines!(
    connect_draws_the_qr_waits_for_the_scan_and_exits_0,
    status_sync_restart_and_logout_manage_the_number,
    import_creates_instances_for_existing_evolution_instances,
    evolution_errors_exit_1_with_what_to_do,
);

/// The database and `OMNIHUB_PUBLIC_URL` (where the fake would post webhooks; nothing
/// listens there, which the fake only reports).
fn env(db: &TestDb) -> Vec<(&str, &str)> {
    vec![
        ("OMNIHUB_DATABASE_URL", db.url()),
        ("OMNIHUB_PUBLIC_URL", "http://127.0.0.1:9"),
    ]
}

fn add(dir: &std::path::Path, db: &TestDb, name: &str, evolution: &FakeEvolution) {
    let mut args = add_args(name, &[]);
    let at = args.iter().position(|a| *a == "https://evo.example.com").unwrap();
    args[at] = evolution.url();
    assert_code(&run_in(dir, &args, &env(db)), 0);
}

fn connect_draws_the_qr_waits_for_the_scan_and_exits_0(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let evolution = FakeEvolution::start(EVOLUTION_KEY);
    add(dir.path(), db, "wa_shop", &evolution);
    // Nobody scans: the QR is drawn (the snapshot), and the wait ends with exit 1.
    let out = run_in(dir.path(), &["connect", "wa_shop", "--timeout", "1"], &env(db));
    assert_code(&out, 1);
    let shown = stdout(&out);
    assert!(shown.contains("Scan with WhatsApp on the phone"), "{shown}");
    assert!(
        shown.contains(include_str!("../../src/qr_snapshot.txt")),
        "{shown}"
    );
    assert!(shown.contains("no scan within 1 s"), "{shown}");
    assert!(stderr(&out).contains("'wa_shop' is not connected"));
    let created = &evolution.http.requests_to("/instance/create")[0];
    assert_eq!(
        created.json["webhook"]["url"],
        "http://127.0.0.1:9/webhook/evolution/wa_shop"
    );
    // With --json, one line per change; the phone scans while it waits.
    let mut child = Command::new(env!("CARGO_BIN_EXE_omnihub-instance"))
        .current_dir(dir.path())
        .args([
            "connect",
            "wa_shop",
            "--json",
            "--timeout",
            "30",
            "--number",
            "5511988887777",
        ])
        .envs(env(db))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    assert_eq!(first["state"], "connecting");
    assert!(
        first["qr"].as_str().unwrap().starts_with("2@fake-wa_shop-"),
        "{first}"
    );
    assert_eq!(
        first["pairing_code"].as_str().map(str::len),
        Some(9),
        "XXXX-XXXX: {first}"
    );
    evolution.world.scan("wa_shop", "5511988887777").unwrap();
    let last: Value = serde_json::from_str(&lines.last().unwrap().unwrap()).unwrap();
    assert_eq!(
        last,
        serde_json::json!({"state": "open", "number": "5511988887777"})
    );
    assert!(child.wait().unwrap().success());
    // Already open: connected at once.
    let again = run_in(dir.path(), &["connect", "wa_shop"], &env(db));
    assert_code(&again, 0);
    assert!(
        stdout(&again).contains("Connected: wa_shop is open as 5511988887777."),
        "{}",
        stdout(&again)
    );
    let shown = stdout(&run_in(dir.path(), &["show", "wa_shop"], &env(db)));
    assert!(shown.contains("open since"), "{shown}");
}

fn status_sync_restart_and_logout_manage_the_number(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let evolution = FakeEvolution::start(EVOLUTION_KEY);
    evolution.world.add_instance("shop", Some("5511900000001"));
    add(dir.path(), db, "shop", &evolution);
    let mut bare = add_args("elsewhere", &[]);
    bare.truncate(bare.len() - 4); // no Evolution URL nor key
    assert_code(&run_in(dir.path(), &bare, &env(db)), 0);
    let table = stdout(&run_in(dir.path(), &["status"], &env(db)));
    for expected in [
        "shop",
        "open",
        "5511900000001",
        "missing",
        "webhook-sync shop",
        "elsewhere",
        "not_configured",
    ] {
        assert!(table.contains(expected), "{expected} in {table}");
    }
    let sync = run_in(dir.path(), &["webhook-sync", "shop"], &env(db));
    assert_code(&sync, 0);
    assert!(
        stdout(&sync).contains("http://127.0.0.1:9/webhook/evolution/shop (webhook ok)"),
        "{}",
        stdout(&sync)
    );
    let one: Value = serde_json::from_str(&stdout(&run_in(
        dir.path(),
        &["--json", "status", "shop"],
        &env(db),
    )))
    .unwrap();
    assert_eq!(
        (one["state"].as_str(), one["webhook"].as_str()),
        (Some("open"), Some("ok"))
    );
    let secret = evolution.world.webhook("shop").unwrap()["headers"]["x-omnihub-token"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown = stdout(&run_in(dir.path(), &["show", "shop"], &env(db)));
    assert!(
        !shown.contains(&secret) && shown.contains(&format!("****{}", &secret[secret.len() - 4..])),
        "{shown}"
    );
    assert_code(&run_in(dir.path(), &["restart", "shop"], &env(db)), 0);
    let logout = run_in(dir.path(), &["logout", "shop"], &env(db));
    assert_code(&logout, 0);
    assert!(stdout(&logout).contains("omnihub-instance connect shop"));
    assert_eq!(evolution.world.state("shop"), Some("close"));
    let listed: Value =
        serde_json::from_str(&stdout(&run_in(dir.path(), &["--json", "list"], &env(db)))).unwrap();
    let shop = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "shop")
        .unwrap();
    assert_eq!(shop["connection"]["state"], "close");
}

fn import_creates_instances_for_existing_evolution_instances(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let evolution = FakeEvolution::start(EVOLUTION_KEY);
    evolution.world.add_instance("sales", Some("5511900000002"));
    evolution.world.add_instance("support", None);
    let mut with_key = env(db);
    with_key.push(("EVOLUTION_API_KEY", EVOLUTION_KEY));
    let import = |names: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "import",
            "--evolution-url",
            evolution.url(),
            "--agent-api-url",
            "http://agents.local:8000",
            "--agent-api-key",
            "agent-secret-key-0123456789",
            "--default-agent",
            "bot",
        ];
        args.extend_from_slice(names);
        run_in(dir.path(), &args, env)
    };
    let out = import(&["--all"], &with_key);
    assert_code(&out, 0);
    let table = stdout(&out);
    assert!(
        table.contains("imported (open, webhook ok)") && table.contains("imported (close, webhook ok)"),
        "{table}"
    );
    for name in ["sales", "support"] {
        let hook = evolution.world.webhook(name).unwrap();
        assert_eq!(
            hook["url"],
            format!("http://127.0.0.1:9/webhook/evolution/{name}")
        );
    }
    let again = import(&["sales"], &with_key);
    assert_code(&again, 0);
    assert!(
        stdout(&again).contains("skipped: used by omnihub instance 'sales'"),
        "{}",
        stdout(&again)
    );
    let unknown = import(&["nobody"], &with_key);
    assert_code(&unknown, 1);
    assert!(stderr(&unknown).contains("no instance named 'nobody'"));
    let mut wrong = env(db);
    wrong.push(("EVOLUTION_API_KEY", "wrong-key-0123456789"));
    let refused = import(&["--all"], &wrong);
    assert_code(&refused, 1);
    assert!(stderr(&refused).contains("401"), "{}", stderr(&refused));
    let no_public = import(
        &["--all"],
        &[
            ("OMNIHUB_DATABASE_URL", db.url()),
            ("EVOLUTION_API_KEY", EVOLUTION_KEY),
        ],
    );
    assert_code(&no_public, 1);
    assert!(stderr(&no_public).contains("OMNIHUB_PUBLIC_URL"));
    assert_code(&import(&[], &with_key), 1);
}

fn evolution_errors_exit_1_with_what_to_do(db: &TestDb) {
    let dir = tempfile::tempdir().unwrap();
    let evolution = FakeEvolution::start(EVOLUTION_KEY);
    add(dir.path(), db, "shop", &evolution);
    let mut gone = add_args("gone", &[]);
    let at = gone.iter().position(|a| *a == "https://evo.example.com").unwrap();
    gone[at] = "http://127.0.0.1:9";
    assert_code(&run_in(dir.path(), &gone, &env(db)), 0);
    let out = run_in(dir.path(), &["connect", "gone"], &env(db));
    assert_code(&out, 1);
    assert!(
        stderr(&out).contains("cannot reach the Evolution API") && stderr(&out).contains("--evolution-url"),
        "{}",
        stderr(&out)
    );
    evolution.world.set_activated(false);
    let out = run_in(dir.path(), &["restart", "shop"], &env(db));
    assert_code(&out, 1);
    assert!(stderr(&out).contains("not activated"), "{}", stderr(&out));
    let out = run_in(dir.path(), &["connect", "ghost"], &env(db));
    assert_code(&out, 1);
    assert!(stderr(&out).contains("not found"), "{}", stderr(&out));
}
