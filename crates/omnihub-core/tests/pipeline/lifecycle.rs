//! Managing numbers with the real Evolution client against the fake Evolution server:
//! connect (create, then rotate QRs), lifecycle webhooks, status with the webhook check,
//! webhook sync and repair, logout, delete, every error class, discovery.

use std::time::Duration;

use omnihub_core::{CoreError, Lifecycle, LifecycleProblem, NumberState, WebhookStatus};
use omnihub_db::Database;
use omnihub_domain::{ConnectionState, HttpUrl, InstanceConfig, InstanceName};
use omnihub_evolution::EvolutionClient;
use omnihub_test_support::{echo_agent, evolution_key, FakeEvolution, InstanceBuilder, TestDb};
use serde_json::json;

use crate::{create, database, fast_config, ingest_with, start_http};

omnihub_test_support::on_both_engines!(async:
    a_number_is_created_connected_scanned_and_checked,
    the_webhook_is_synced_idempotently_and_repaired,
);

pub const PUBLIC: &str = "https://hub.example.com";

pub fn lifecycle(db: &Database) -> Lifecycle {
    let public = HttpUrl::parse("OMNIHUB_PUBLIC_URL", PUBLIC).unwrap();
    Lifecycle::new(
        db.clone(),
        EvolutionClient::new(Duration::from_secs(5)).unwrap(),
        Some(public),
    )
}

pub fn get(db: &Database, name: &str) -> InstanceConfig {
    db.instances().get(&InstanceName::parse(name).unwrap()).unwrap()
}

pub fn problem(result: Result<impl std::fmt::Debug, CoreError>) -> (LifecycleProblem, String) {
    match result {
        Err(CoreError::Lifecycle { problem, message }) => (problem, message),
        other => panic!("expected a lifecycle error, got {other:?}"),
    }
}

async fn a_number_is_created_connected_scanned_and_checked(test_db: &TestDb) {
    let evolution = FakeEvolution::start(&evolution_key("shop"));
    let agent = echo_agent();
    let db = database(test_db, None);
    create(
        &db,
        InstanceBuilder::new("shop")
            .agent(&agent.url)
            .evolution(evolution.url()),
    );
    let pipeline = start_http(&db, fast_config(Duration::from_millis(50)));
    let lifecycle = lifecycle(&db);
    let first = lifecycle.connect(&get(&db, "shop"), None).await.unwrap();
    assert!(first.created);
    assert_eq!(first.state, NumberState::Connecting);
    assert!(first.qr_code.as_deref().unwrap().starts_with("2@fake-wa_shop-1,"));
    assert!(
        first.qr_png_base64.as_deref().unwrap().starts_with("iVBOR"),
        "without the data: prefix"
    );
    // Created with omnihub's webhook and a newly generated secret.
    let secret = get(&db, "shop").webhook_secret.unwrap();
    let hook = evolution.world.webhook("wa_shop").unwrap();
    assert_eq!(hook["url"], format!("{PUBLIC}/webhook/evolution/shop"));
    assert_eq!(hook["headers"]["x-omnihub-token"], secret.expose());
    assert_eq!(hook["events"].as_array().unwrap().len(), 5);
    let create_call = &evolution.http.requests_to("/instance/create")[0];
    assert_eq!(create_call.json["integration"], "WHATSAPP-BAILEYS");
    assert_eq!(create_call.json["qrcode"], true);
    assert_eq!(
        db.connections().get("shop").unwrap().unwrap().state,
        ConnectionState::Connecting
    );
    // Connecting again rotates the QR; with a number, a pairing code.
    let second = lifecycle
        .connect(&get(&db, "shop"), Some("5511988887777"))
        .await
        .unwrap();
    assert!(!second.created);
    assert_ne!(second.qr_code, first.qr_code);
    assert_eq!(second.pairing_code.as_deref(), Some("PAIR-0002"));
    assert!(
        evolution
            .http
            .requests_to("/instance/connect/wa_shop?number=5511988887777")
            .len()
            == 1
    );
    // The phone scans: Evolution's connection.update reaches the pipeline.
    for delivery in evolution.world.scan("wa_shop", "5511988887777").unwrap() {
        let outcome = ingest_with(&pipeline, "shop", secret.expose(), &delivery.body).await;
        assert_eq!(outcome, omnihub_core::IngestOutcome::Recorded("open".into()));
    }
    let stored = db.connections().get("shop").unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.number.as_deref()),
        (ConnectionState::Open, Some("5511988887777"))
    );
    assert_eq!(
        pipeline.instances().connection("shop").unwrap().state,
        ConnectionState::Open
    );
    let status = lifecycle.status(&get(&db, "shop")).await.unwrap();
    assert_eq!(status.state, NumberState::Open);
    assert_eq!(status.number.as_deref(), Some("5511988887777"));
    assert_eq!(status.webhook, WebhookStatus::Ok);
    assert_eq!(status.detail, None);
    // Connecting an open number changes nothing.
    let open = lifecycle.connect(&get(&db, "shop"), None).await.unwrap();
    assert_eq!((open.state, open.qr_code), (NumberState::Open, None));
    // Restart, logout, delete on Evolution; the omnihub instance stays.
    assert_eq!(
        lifecycle.restart(&get(&db, "shop")).await.unwrap().state,
        NumberState::Connecting
    );
    lifecycle.logout(&get(&db, "shop")).await.unwrap();
    assert_eq!(evolution.world.state("wa_shop"), Some("close"));
    lifecycle.logout(&get(&db, "shop")).await.unwrap();
    let closed = db.connections().get("shop").unwrap().unwrap();
    assert_eq!(closed.state, ConnectionState::Close);
    lifecycle.delete_whatsapp(&get(&db, "shop")).await.unwrap();
    assert_eq!(evolution.world.state("wa_shop"), None);
    lifecycle.delete_whatsapp(&get(&db, "shop")).await.unwrap();
    // The exact calls, each with the instance's key: restart is POST (not the documented PUT);
    // logout checks the state first and is skipped once closed; delete logs out first.
    let calls: Vec<(String, String)> = evolution
        .http
        .requests()
        .iter()
        .filter(|r| {
            !r.path.starts_with("/instance/connectionState") && !r.path.starts_with("/instance/connect/")
        })
        .inspect(|r| {
            assert_eq!(
                r.header("apikey"),
                Some(evolution_key("shop").as_str()),
                "{}",
                r.path
            )
        })
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    let expected = [
        ("POST", "/instance/create"),
        ("GET", "/instance/fetchInstances?instanceName=wa_shop"),
        ("GET", "/webhook/find/wa_shop"),
        ("POST", "/instance/restart/wa_shop"),
        ("DELETE", "/instance/logout/wa_shop"),
        ("DELETE", "/instance/logout/wa_shop"),
        ("DELETE", "/instance/delete/wa_shop"),
        ("DELETE", "/instance/logout/wa_shop"),
        ("DELETE", "/instance/delete/wa_shop"),
    ];
    let expected: Vec<(String, String)> = expected
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(calls, expected);
    let (class, message) = problem(lifecycle.restart(&get(&db, "shop")).await);
    assert_eq!(class, LifecycleProblem::NotFound, "{message}");
    assert!(message.contains("omnihub-instance connect shop"), "{message}");
    pipeline.shutdown(Duration::from_secs(1));
}

async fn the_webhook_is_synced_idempotently_and_repaired(test_db: &TestDb) {
    let evolution = FakeEvolution::start(&evolution_key("shop"));
    evolution.world.add_instance("wa_shop", Some("5511900000001"));
    let db = database(test_db, None);
    create(
        &db,
        InstanceBuilder::new("shop")
            .evolution(evolution.url())
            .webhook_secret("existing-secret-0123456789"),
    );
    let lifecycle = lifecycle(&db);
    assert_eq!(
        lifecycle.status(&get(&db, "shop")).await.unwrap().webhook,
        WebhookStatus::Missing
    );
    for _ in 0..2 {
        assert_eq!(
            lifecycle.sync_webhook(&get(&db, "shop")).await.unwrap(),
            WebhookStatus::Ok
        );
    }
    assert_eq!(evolution.http.requests_to("/webhook/set/wa_shop").len(), 2);
    let hook = evolution.world.webhook("wa_shop").unwrap();
    assert_eq!(
        hook["headers"]["x-omnihub-token"], "existing-secret-0123456789",
        "the secret is kept"
    );
    assert_eq!(
        (hook["webhookByEvents"].clone(), hook["webhookBase64"].clone()),
        (json!(false), json!(true))
    );
    // Someone points it elsewhere, drops events, or changes the token: status says so.
    let key = evolution_key("shop");
    let set = |webhook: serde_json::Value| {
        let answer = evolution.world.handle(
            "POST",
            "/webhook/set/wa_shop",
            Some(&key),
            &json!({"webhook": webhook}),
        );
        assert_eq!(answer.unwrap().status, 201);
    };
    let url = format!("{PUBLIC}/webhook/evolution/shop");
    let token = json!({"x-omnihub-token": "existing-secret-0123456789"});
    let cases = [
        (
            json!({"enabled": true, "url": "http://old-python:8000/webhook", "events": [], "headers": token}),
            WebhookStatus::Elsewhere,
        ),
        (
            json!({"enabled": true, "url": url, "events": ["MESSAGES_UPSERT"], "headers": token}),
            WebhookStatus::WrongEvents,
        ),
        (
            json!({"enabled": true, "url": url, "events": [], "headers": {"x-omnihub-token": "stale"}}),
            WebhookStatus::WrongToken,
        ),
        (
            json!({"enabled": false, "url": url, "events": [], "headers": token}),
            WebhookStatus::Missing,
        ),
    ];
    for (webhook, expected) in cases {
        set(webhook);
        let status = lifecycle.status(&get(&db, "shop")).await.unwrap();
        assert_eq!(status.webhook, expected);
        assert!(status
            .detail
            .unwrap()
            .contains("omnihub-instance webhook-sync shop"));
        assert_eq!(
            lifecycle.sync_webhook(&get(&db, "shop")).await.unwrap(),
            WebhookStatus::Ok
        );
        assert_eq!(
            lifecycle.status(&get(&db, "shop")).await.unwrap().webhook,
            WebhookStatus::Ok
        );
    }
    // Without OMNIHUB_PUBLIC_URL a sync cannot know the URL.
    let unset = Lifecycle::new(
        db.clone(),
        EvolutionClient::new(Duration::from_secs(5)).unwrap(),
        None,
    );
    let (class, message) = problem(unset.sync_webhook(&get(&db, "shop")).await);
    assert_eq!(class, LifecycleProblem::NotConfigured);
    assert!(message.contains("OMNIHUB_PUBLIC_URL"), "{message}");
}
