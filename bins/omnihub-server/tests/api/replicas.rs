//! Several `omnihub-server` replicas on one PostgreSQL database (every test here needs it).

use std::collections::HashMap;
use std::time::Duration;

use omnihub_test_support::{FakeHttp, Recorded, Reply, TestDb};
use serde_json::json;

use crate::flow::{
    content, create_instance, echo_agent, fast_env, finished, log, ok_evolution, post_webhook, text_webhook,
    texts, wait_until,
};
use crate::support::{Api, Req, ServerProcess, ADMIN_KEY};

fn replicas(db: &TestDb, n: usize) -> Vec<ServerProcess> {
    (0..n)
        .map(|_| ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env()))
        .collect()
}

/// Messages a replica finished, from its own metrics.
fn finished_by(server: &ServerProcess) -> u64 {
    let metrics = server.send(Req::new("GET", "/metrics")).text();
    metrics
        .lines()
        .find(|l| l.starts_with(r#"omnihub_messages_finished_total{status="done"}"#))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Per chat (session), the agent calls in start order must be the chat's messages in order,
/// and none may overlap the next.
fn assert_per_chat_order(calls: &[Recorded]) {
    let mut by_chat: HashMap<String, Vec<&Recorded>> = HashMap::new();
    for call in calls {
        by_chat
            .entry(call.json["session_name"].as_str().unwrap().to_owned())
            .or_default()
            .push(call);
    }
    for (chat, mut calls) in by_chat {
        calls.sort_by_key(|c| c.started);
        let numbers: Vec<u32> = calls
            .iter()
            .map(|c| content(c).rsplit(' ').next().unwrap().parse().unwrap())
            .collect();
        // A call repeated after a replica died mid-call is the same number twice in a row.
        if !numbers.windows(2).all(|w| w[0] <= w[1]) {
            for c in &calls {
                println!(
                    "{chat} {} started {:?} finished {:?}",
                    content(c),
                    c.started,
                    c.finished
                );
            }
        }
        assert!(
            numbers.windows(2).all(|w| w[0] <= w[1]),
            "{chat}: out of order {numbers:?}"
        );
        assert!(
            calls.windows(2).all(|w| w[1].started >= w[0].finished),
            "{chat}: two calls at once"
        );
    }
}

fn post_spread(servers: &[ServerProcess], count: usize, chats: usize, duplicate_every: usize) {
    for i in 0..count {
        let chat = format!("5511{:07}@s.whatsapp.net", i % chats);
        let body = text_webhook("caldasIA", &format!("R{i:04}"), &chat, &format!("msg {i}"));
        let target = (i * 7) % servers.len();
        post_webhook(&servers[target], "/webhook/evolution/shop", &body).expect(200, None);
        if duplicate_every > 0 && i % duplicate_every == 0 {
            let other = &servers[(target + 1) % servers.len()];
            assert_eq!(
                post_webhook(other, "/webhook/evolution/shop", &body).expect(200, None)["status"],
                "duplicate"
            );
        }
    }
}

#[test]
fn postgres_three_replicas_process_each_message_once_in_chat_order() {
    let db = TestDb::postgres();
    let agent = FakeHttp::start(|r, _| {
        Reply::json(200, json!({"message": format!("echo: {}", content(r))})).after(Duration::from_millis(3))
    });
    let evolution = ok_evolution();
    let servers = replicas(&db, 3);
    create_instance(&servers[0], "shop", "caldasIA", &agent, &evolution, json!({}));
    wait_until(10, "every replica to know the instance", || {
        servers.iter().all(|s| {
            post_webhook(
                s,
                "/webhook/evolution/shop",
                &json!({"event": "connection.update", "instance": "caldasIA", "data": {}}),
            )
            .status
                == 200
        })
    });
    post_spread(&servers, 1000, 50, 10);
    wait_until(120, "1000 replies", || texts(&evolution).len() >= 1000);
    wait_until(30, "every message done", || finished(&servers[0]) == 1000);
    let calls = agent.requests();
    let mut per_message: HashMap<String, usize> = HashMap::new();
    for call in &calls {
        *per_message.entry(content(call)).or_default() += 1;
    }
    assert_eq!(per_message.len(), 1000);
    assert!(
        per_message.values().all(|&n| n == 1),
        "a message got more than one agent call"
    );
    assert_eq!(texts(&evolution).len(), 1000);
    assert_per_chat_order(&calls);
    let spread: Vec<u64> = servers.iter().map(finished_by).collect();
    assert_eq!(spread.iter().sum::<u64>(), 1000, "{spread:?}");
    assert!(spread.iter().all(|&n| n > 0), "a replica did no work: {spread:?}");
    println!("three replicas finished {spread:?} messages");
}

#[test]
fn postgres_a_killed_replica_s_messages_are_finished_by_the_others() {
    let db = TestDb::postgres();
    let agent = FakeHttp::start(|r, _| {
        Reply::json(200, json!({"message": format!("echo: {}", content(r))})).after(Duration::from_millis(40))
    });
    let evolution = ok_evolution();
    let mut servers = replicas(&db, 3);
    create_instance(
        &servers[0],
        "shop",
        "caldasIA",
        &agent,
        &evolution,
        json!({"agent_timeout": 2}),
    );
    wait_until(10, "every replica to know the instance", || {
        servers.iter().all(|s| {
            post_webhook(
                s,
                "/webhook/evolution/shop",
                &json!({"event": "x", "instance": "caldasIA", "data": {}}),
            )
            .status
                == 200
        })
    });
    post_spread(&servers, 300, 30, 0);
    wait_until(30, "the run to be under way", || texts(&evolution).len() >= 30);
    servers[1].kill_hard();
    let survivors = [servers.remove(0), servers.remove(1)];
    wait_until(120, "every message after the kill", || {
        finished(&survivors[0]) == 300
    });
    let entries = log(&survivors[0]);
    assert!(entries.iter().all(|m| m["status"] == "done"));
    for m in entries.iter().filter(|m| m["attempts"].as_u64() != Some(1)) {
        println!(
            "retried: {} attempts={} chat={}",
            m["preview"], m["attempts"], m["chat_id"]
        );
    }
    for c in agent
        .requests()
        .iter()
        .filter(|c| content(c).ends_with(" 3") || content(c).ends_with(" 33"))
    {
        println!(
            "call {} started {:?} finished {:?}",
            content(c),
            c.started,
            c.finished
        );
    }
    let answered: std::collections::HashSet<String> = texts(&evolution)
        .iter()
        .map(|r| r.json["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(answered.len(), 300, "every message was answered");
    assert_per_chat_order(
        &agent
            .requests()
            .into_iter()
            .filter(|r| r.finished > r.started)
            .collect::<Vec<_>>(),
    );
}

#[test]
fn postgres_an_instance_changed_through_one_replica_is_used_by_another_within_the_bound() {
    let db = TestDb::postgres();
    let (old_agent, new_agent, evolution) = (echo_agent(), echo_agent(), ok_evolution());
    let servers = replicas(&db, 2);
    create_instance(&servers[0], "shop", "caldasIA", &old_agent, &evolution, json!({}));
    servers[0]
        .send(Req::admin("PUT", "/api/v1/instances/shop").json(&json!({"agent_api_url": new_agent.url})))
        .expect(200, None);
    // The documented bound is OMNIHUB_INSTANCE_CACHE_TTL_MS (200 ms in these tests).
    std::thread::sleep(Duration::from_millis(600));
    post_webhook(
        &servers[1],
        "/webhook/evolution/shop",
        &text_webhook("caldasIA", "U1", "1@s.whatsapp.net", "after"),
    )
    .expect(200, None);
    wait_until(20, "the reply", || texts(&evolution).len() == 1);
    assert_eq!(new_agent.requests().len(), 1);
    assert!(old_agent.requests().is_empty());
}

#[test]
fn postgres_three_replicas_starting_together_migrate_once() {
    let db = TestDb::postgres();
    let servers: Vec<ServerProcess> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| ServerProcess::start(db.url(), Some(ADMIN_KEY), &fast_env())))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let applied: Vec<String> = servers
        .iter()
        .map(|s| {
            let logs = s.log_text();
            logs.split("migrations_applied=")
                .nth(1)
                .map(|rest| rest.chars().take_while(char::is_ascii_digit).collect())
                .unwrap_or_default()
        })
        .collect();
    let mut sorted = applied.clone();
    sorted.sort();
    let versions = omnihub_db::embedded_migration_versions()
        .unwrap()
        .1
        .len()
        .to_string();
    assert_eq!(sorted, ["0", "0", versions.as_str()], "{applied:?}");
    for server in &servers {
        server.send(Req::new("GET", "/ready")).expect(200, None);
    }
}
