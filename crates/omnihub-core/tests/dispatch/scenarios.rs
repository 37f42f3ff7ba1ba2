//! Dispatcher scenarios: the happy path, ordering, retries, failures, resumption.

use std::time::Duration;

use omnihub_agent::AgentError;
use omnihub_db::ClaimRequest;
use omnihub_domain::{AgentReply, MessageStatus, Stage};
use omnihub_evolution::EvolutionError;
use omnihub_test_support::TestDb;

use crate::{accept, add_instance, fast_config, run_until_finished, text_message, world};

omnihub_test_support::on_both_engines!(async:
    a_message_gets_one_agent_call_and_its_reply_in_parts,
    messages_of_one_chat_run_one_at_a_time_in_order_while_chats_run_in_parallel,
    transient_agent_failures_are_retried_then_succeed,
    permanent_agent_failure_fails_with_an_apology,
    exhausted_retries_fail_and_apologise,
    a_failed_part_is_resent_alone_without_a_second_agent_call,
    unconfigured_evolution_fails_naming_the_fix_and_sends_nothing,
    no_reply_and_empty_replies_are_not_sent,
    an_expired_lease_of_a_dead_dispatcher_is_taken_over,
    a_per_instance_cap_leaves_room_for_other_instances,
    attempts_that_never_stored_an_outcome_still_count_toward_the_maximum,
    a_retry_after_longer_than_the_backoff_is_honoured,
);

async fn a_message_gets_one_agent_call_and_its_reply_in_parts(test_db: &TestDb) {
    let w = world(test_db);
    w.agent.then(Ok("Hello Ana!\n\nHow can I help?"));
    let id = accept(
        &w.db,
        "a",
        &text_message("M1", "14155551234@s.whatsapp.net", "hi"),
    );
    run_until_finished(&w, fast_config("d1"), 1).await;
    let calls = w.agent.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(
        (
            calls[0].instance.as_str(),
            calls[0].session.as_str(),
            calls[0].content.as_str()
        ),
        ("a", "a_14155551234", "hi")
    );
    let sent = w.messenger.sent();
    let texts: Vec<&str> = sent.iter().map(|(_, _, t)| t.as_str()).collect();
    assert_eq!(texts, ["Hello Ana!", "How can I help?"]);
    assert!(sent
        .iter()
        .all(|(i, chat, _)| i == "a" && chat == "14155551234@s.whatsapp.net"));
    let record = w.db.messages().get(id).unwrap();
    assert_eq!(
        (
            record.status,
            record.attempts,
            record.parts_sent,
            record.parts_total
        ),
        (MessageStatus::Done, 1, 2, 2)
    );
    assert!(
        record.agent_started_at.is_some() && record.agent_finished_at.is_some() && record.sent_at.is_some()
    );
    assert_eq!(record.lease_owner, None);
}

async fn messages_of_one_chat_run_one_at_a_time_in_order_while_chats_run_in_parallel(test_db: &TestDb) {
    let mut w = world(test_db);
    w.agent.delay = Duration::from_millis(15);
    for i in 0..20 {
        accept(
            &w.db,
            "a",
            &text_message(&format!("A{i}"), "111@s.whatsapp.net", &format!("a{i}")),
        );
        accept(
            &w.db,
            "b",
            &text_message(&format!("B{i}"), "222@s.whatsapp.net", &format!("b{i}")),
        );
    }
    run_until_finished(&w, fast_config("d1"), 40).await;
    assert_eq!(
        *w.agent.overlaps.lock().unwrap(),
        0,
        "two calls of one chat overlapped"
    );
    let calls = w.agent.calls();
    for (instance, prefix) in [("a", "a"), ("b", "b")] {
        let order: Vec<String> = calls
            .iter()
            .filter(|c| c.instance == instance)
            .map(|c| c.content.clone())
            .collect();
        let expected: Vec<String> = (0..20).map(|i| format!("{prefix}{i}")).collect();
        assert_eq!(order, expected);
    }
}

async fn transient_agent_failures_are_retried_then_succeed(test_db: &TestDb) {
    let w = world(test_db);
    w.agent
        .then(Err(AgentError::Timeout(1)))
        .then(Err(AgentError::Status {
            status: 503,
            backend: omnihub_domain::AgentKind::Automagik,
            message: "busy".into(),
            retry_after: None,
        }))
        .then(Ok("finally"));
    let id = accept(&w.db, "a", &text_message("M1", "1@s.whatsapp.net", "hi"));
    run_until_finished(&w, fast_config("d1"), 1).await;
    let record = w.db.messages().get(id).unwrap();
    assert_eq!((record.status, record.attempts), (MessageStatus::Done, 3));
    assert_eq!(w.agent.calls().len(), 3);
    assert_eq!(
        w.messenger
            .sent()
            .iter()
            .map(|s| s.2.as_str())
            .collect::<Vec<_>>(),
        ["finally"]
    );
}

async fn permanent_agent_failure_fails_with_an_apology(test_db: &TestDb) {
    let w = world(test_db);
    w.agent.then(Err(AgentError::Status {
        status: 400,
        backend: omnihub_domain::AgentKind::Automagik,
        message: "bad request".into(),
        retry_after: None,
    }));
    let id = accept(&w.db, "a", &text_message("M1", "1@s.whatsapp.net", "hi"));
    run_until_finished(&w, fast_config("d1"), 1).await;
    let record = w.db.messages().get(id).unwrap();
    assert_eq!(
        (record.status, record.error_stage),
        (MessageStatus::Failed, Some(Stage::Agent))
    );
    assert!(record.error.as_deref().unwrap().contains("400"));
    assert_eq!(w.agent.calls().len(), 1, "a 4xx is not retried");
    assert_eq!(w.messenger.sent()[0].2, omnihub_core::DEFAULT_APOLOGY);
}

async fn exhausted_retries_fail_and_apologise(test_db: &TestDb) {
    let w = world(test_db);
    for _ in 0..3 {
        w.agent.then(Err(AgentError::Connect("refused".into())));
    }
    let id = accept(&w.db, "a", &text_message("M1", "1@s.whatsapp.net", "hi"));
    let mut config = fast_config("d1");
    config.apology = Some("We are having trouble.".into());
    run_until_finished(&w, config, 1).await;
    let record = w.db.messages().get(id).unwrap();
    assert_eq!((record.status, record.attempts), (MessageStatus::Failed, 3));
    assert_eq!(
        w.messenger
            .sent()
            .iter()
            .map(|s| s.2.as_str())
            .collect::<Vec<_>>(),
        ["We are having trouble."]
    );
}

async fn a_failed_part_is_resent_alone_without_a_second_agent_call(test_db: &TestDb) {
    let w = world(test_db);
    w.agent.then(Ok("one\n\ntwo\n\nthree"));
    w.messenger.then(Ok(())).then(Err(EvolutionError::Status {
        status: 500,
        message: "boom".into(),
    }));
    let id = accept(&w.db, "a", &text_message("M1", "1@s.whatsapp.net", "hi"));
    run_until_finished(&w, fast_config("d1"), 1).await;
    assert_eq!(w.agent.calls().len(), 1);
    assert_eq!(
        w.messenger
            .sent()
            .iter()
            .map(|s| s.2.as_str())
            .collect::<Vec<_>>(),
        ["one", "two", "three"]
    );
    let record = w.db.messages().get(id).unwrap();
    assert_eq!(
        (record.status, record.attempts, record.parts_sent),
        (MessageStatus::Done, 2, 3)
    );
}

async fn unconfigured_evolution_fails_naming_the_fix_and_sends_nothing(test_db: &TestDb) {
    let w = world(test_db);
    add_instance(&w.db, "bare", false);
    w.cache.reload().unwrap();
    let id = accept(&w.db, "bare", &text_message("M1", "1@s.whatsapp.net", "hi"));
    run_until_finished(&w, fast_config("d1"), 1).await;
    let record = w.db.messages().get(id).unwrap();
    assert_eq!(
        (record.status, record.error_stage),
        (MessageStatus::Failed, Some(Stage::Config))
    );
    assert!(record
        .error
        .unwrap()
        .contains("omnihub-instance update bare --evolution-url"));
    assert!(w.agent.calls().is_empty() && w.messenger.sent().is_empty());
}

async fn no_reply_and_empty_replies_are_not_sent(test_db: &TestDb) {
    let w = world(test_db);
    w.agent
        .then_reply(Ok(AgentReply::no_reply("not sent: the agent chose silence")))
        .then(Ok("   "));
    let first = accept(&w.db, "a", &text_message("M1", "1@s.whatsapp.net", "hi"));
    let second = accept(&w.db, "a", &text_message("M2", "1@s.whatsapp.net", "again"));
    run_until_finished(&w, fast_config("d1"), 2).await;
    assert!(w.messenger.sent().is_empty());
    for id in [first, second] {
        let record = w.db.messages().get(id).unwrap();
        assert_eq!(record.status, MessageStatus::Done);
        assert!(record.outcome.unwrap().starts_with("not sent"));
    }
}

async fn an_expired_lease_of_a_dead_dispatcher_is_taken_over(test_db: &TestDb) {
    let w = world(test_db);
    let id = accept(&w.db, "a", &text_message("M1", "1@s.whatsapp.net", "hi"));
    let dead = ClaimRequest {
        owner: "dead".into(),
        lease: Duration::from_millis(200),
        limit: 10,
        capacity: None,
        leases: Vec::new(),
    };
    assert_eq!(w.db.messages().claim(&dead).unwrap().len(), 1);
    assert!(
        w.db.messages().claim(&dead).unwrap().is_empty(),
        "a leased head is not claimable again"
    );
    run_until_finished(&w, fast_config("alive"), 1).await;
    let record = w.db.messages().get(id).unwrap();
    assert_eq!((record.status, record.attempts), (MessageStatus::Done, 2));
    assert!(
        !w.db.messages().complete(id, "dead", None).unwrap(),
        "the dead owner's late write is fenced off"
    );
}

async fn a_per_instance_cap_leaves_room_for_other_instances(test_db: &TestDb) {
    let mut w = world(test_db);
    w.agent.delay = Duration::from_millis(30);
    for i in 0..30 {
        accept(
            &w.db,
            "a",
            &text_message(&format!("A{i}"), &format!("{i}@s.whatsapp.net"), "x"),
        );
    }
    accept(&w.db, "b", &text_message("B0", "999@s.whatsapp.net", "b"));
    let mut config = fast_config("d1");
    config.global_limit = 4;
    config.per_instance_limit = 2;
    run_until_finished(&w, config, 31).await;
    let calls = w.agent.calls();
    let b_position = calls.iter().position(|c| c.instance == "b").unwrap();
    assert!(
        b_position < 6,
        "instance b waited behind a's backlog: position {b_position}"
    );
}

/// Three attempts died without storing anything (a crash, a write the database refused);
/// with a maximum of 3 the fourth claim fails the message with the apology and never calls
/// the agent again.
async fn attempts_that_never_stored_an_outcome_still_count_toward_the_maximum(test_db: &TestDb) {
    let w = world(test_db);
    let id = accept(&w.db, "a", &text_message("M1", "1@s.whatsapp.net", "hi"));
    let dead = ClaimRequest {
        owner: "dead".into(),
        lease: Duration::from_millis(1),
        limit: 10,
        capacity: None,
        leases: Vec::new(),
    };
    for attempt in 1..=3 {
        // Waiting for something that must happen: the 1 ms lease to lapse.
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while w.db.messages().claim(&dead).unwrap().is_empty() {
            assert!(
                std::time::Instant::now() < deadline,
                "attempt {attempt} never claimable"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    run_until_finished(&w, fast_config("alive"), 1).await;
    let record = w.db.messages().get(id).unwrap();
    assert_eq!((record.status, record.attempts), (MessageStatus::Failed, 4));
    assert!(
        record.error.as_deref().unwrap().contains("gave up: 4 attempts"),
        "{:?}",
        record.error
    );
    assert!(
        w.agent.calls().is_empty(),
        "the agent is not called a fourth time"
    );
    let sent = w.messenger.sent();
    assert_eq!(sent.len(), 1, "only the apology: {sent:?}");
}

async fn a_retry_after_longer_than_the_backoff_is_honoured(test_db: &TestDb) {
    let w = world(test_db);
    w.agent.then(Err(AgentError::Status {
        status: 429,
        backend: omnihub_domain::AgentKind::Openai,
        message: "slow down".into(),
        retry_after: Some(Duration::from_secs(300)),
    }));
    let id = accept(&w.db, "a", &text_message("M1", "1@s.whatsapp.net", "hi"));
    let dispatcher = omnihub_core::Dispatcher::new(
        w.db.clone(),
        w.cache.clone(),
        w.agent.clone(),
        w.messenger.clone(),
        std::sync::Arc::new(omnihub_core::NoEvents),
        fast_config("d1"),
    );
    let (stop, stopped) = tokio::sync::watch::channel(None);
    let handle = tokio::spawn(dispatcher.run(stopped));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let record = loop {
        let db = w.db.clone();
        let record = tokio::task::spawn_blocking(move || db.messages().get(id).unwrap())
            .await
            .unwrap();
        if record.status == MessageStatus::Queued && record.attempts == 1 {
            break record;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the retry was never scheduled: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    stop.send(Some(Duration::from_secs(5))).unwrap();
    handle.await.unwrap();
    // The backoff says 10 ms; the backend asked for 300 s.
    let wait = record.next_attempt_at - w.db.now();
    assert!(wait > chrono::Duration::seconds(290), "retry in {wait}");
    assert_eq!(w.agent.calls().len(), 1);
}
