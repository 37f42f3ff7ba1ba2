//! Every Evolution error class a management call can meet, each reported with what to do,
//! and discovering an Evolution server's instances.

use omnihub_core::{LifecycleProblem, NumberState};
use omnihub_domain::{ConnectionState, HttpUrl, Secret};
use omnihub_evolution::EvolutionServer;
use omnihub_test_support::{evolution_key, FakeEvolution, InstanceBuilder, TestDb};

use crate::lifecycle::{get, lifecycle, problem};
use crate::{create, database};

omnihub_test_support::on_both_engines!(async:
    every_evolution_error_class_is_reported_with_what_to_do,
    discovery_lists_the_servers_instances_and_who_uses_them,
);

async fn every_evolution_error_class_is_reported_with_what_to_do(test_db: &TestDb) {
    let evolution = FakeEvolution::start(&evolution_key("shop"));
    evolution.world.add_instance("wa_shop", None);
    let db = database(test_db, None);
    create(&db, InstanceBuilder::new("shop").evolution(evolution.url()));
    create(&db, InstanceBuilder::new("gone").evolution("http://127.0.0.1:9"));
    let mut wrong_key = InstanceBuilder::new("wrongkey")
        .evolution(evolution.url())
        .input();
    wrong_key.evolution_key = Some("not-the-key-0123456789".into());
    create(&db, InstanceBuilder::from_input(wrong_key));
    let mut bare = InstanceBuilder::new("bare").input();
    bare.evolution_url = None;
    bare.evolution_key = None;
    create(&db, InstanceBuilder::from_input(bare));
    let lifecycle = lifecycle(&db);
    // Unreachable: connect fails, status says so.
    let (class, message) = problem(lifecycle.connect(&get(&db, "gone"), None).await);
    assert_eq!(class, LifecycleProblem::Unreachable);
    assert!(message.contains("evolution_url"), "{message}");
    assert_eq!(
        lifecycle.status(&get(&db, "gone")).await.unwrap().state,
        NumberState::Unreachable
    );
    // 401: the key.
    let (class, message) = problem(lifecycle.logout(&get(&db, "wrongkey")).await);
    assert_eq!(class, LifecycleProblem::Unauthorized);
    assert!(
        message.contains("--evolution-key") && !message.contains("not-the-key"),
        "{message}"
    );
    assert_eq!(
        lifecycle.status(&get(&db, "wrongkey")).await.unwrap().state,
        NumberState::Unauthorized
    );
    // No Evolution configured.
    let (class, message) = problem(lifecycle.status(&get(&db, "bare")).await);
    assert_eq!(class, LifecycleProblem::NotConfigured);
    assert!(message.contains("omnihub-instance update bare"), "{message}");
    // A 200 whose body says error.
    evolution.world.set_unloaded("wa_shop");
    let (class, message) = problem(lifecycle.connect(&get(&db, "shop"), None).await);
    assert_eq!(class, LifecycleProblem::Rejected);
    assert!(
        message.contains("[object Object]") && message.contains("restart Evolution"),
        "{message}"
    );
    // An Evolution that quotes the key back in its error: the key is cut out.
    let echo = omnihub_test_support::FakeHttp::start(|r, _| {
        let key = r.header("apikey").unwrap_or_default().to_owned();
        omnihub_test_support::Reply::json(
            400,
            serde_json::json!({"status": 400, "error": "Bad Request",
            "response": {"message": [format!("invalid apikey {key}")]}}),
        )
    });
    create(&db, InstanceBuilder::new("echo").evolution(&echo.url));
    let (class, message) = problem(lifecycle.connect(&get(&db, "echo"), None).await);
    assert_eq!(class, LifecycleProblem::Rejected);
    assert!(
        message.contains("invalid apikey") && !message.contains(&evolution_key("echo")),
        "{message}"
    );
    // LICENSE_REQUIRED: not activated, stored, with where to activate.
    evolution.world.set_activated(false);
    let (class, message) = problem(lifecycle.connect(&get(&db, "shop"), None).await);
    assert_eq!(class, LifecycleProblem::NotActivated);
    assert!(
        message.contains("https://evolution.example/manager/login"),
        "{message}"
    );
    let status = lifecycle.status(&get(&db, "shop")).await.unwrap();
    assert_eq!(status.state, NumberState::NotActivated);
    assert_eq!(
        db.connections().get("shop").unwrap().unwrap().state,
        ConnectionState::NotActivated
    );
}

async fn discovery_lists_the_servers_instances_and_who_uses_them(test_db: &TestDb) {
    let evolution = FakeEvolution::start("global-key-0123456789");
    evolution.world.add_instance("wa_shop", Some("5511900000001"));
    evolution.world.add_instance("sales", None);
    let db = database(test_db, None);
    create(&db, InstanceBuilder::new("shop").evolution(evolution.url()));
    let lifecycle = lifecycle(&db);
    let known = db.instances().list(0, 100).unwrap();
    let base = HttpUrl::parse("evolution_url", evolution.url()).unwrap();
    let key = Secret::parse("x-evolution-key", "global-key-0123456789").unwrap();
    let found = lifecycle
        .discover(
            EvolutionServer {
                base_url: &base,
                api_key: &key,
            },
            &known,
        )
        .await
        .unwrap();
    let summary: Vec<(&str, NumberState, Option<&str>)> = found
        .iter()
        .map(|d| (d.name.as_str(), d.state, d.used_by.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            ("sales", NumberState::Close, None),
            ("wa_shop", NumberState::Open, Some("shop"))
        ]
    );
    let wrong = Secret::parse("x-evolution-key", "wrong-key-0123456789").unwrap();
    let (class, _) = problem(
        lifecycle
            .discover(
                EvolutionServer {
                    base_url: &base,
                    api_key: &wrong,
                },
                &known,
            )
            .await,
    );
    assert_eq!(class, LifecycleProblem::Unauthorized);
}
