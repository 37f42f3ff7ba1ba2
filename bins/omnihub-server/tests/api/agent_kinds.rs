//! Every agent kind through the real server binary: the exact calls each backend gets, the
//! second message of a chat carrying the stored memory, errors classified (transient retried,
//! permanent → apology, never the provider's text), memory surviving a restart and a SIGKILL
//! mid-call (`agent_restarts.rs`), and the admin routes (`agent_admin.rs`).

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use omnihub_test_support::agents::{every_protocol_agent, prefix};
use omnihub_test_support::{FakeHttp, InstanceBuilder, Reply, TestDb};
use serde_json::{json, Value};

use crate::flow::{finished, log, ok_evolution, post_webhook, start, text_webhook, texts, wait_until};
use crate::support::{Api, Req, ServerProcess};

on_both_engines!(
    every_kind_answers_a_chat_and_its_second_message_carries_the_memory,
    transient_agent_errors_are_retried_and_permanent_ones_get_the_apology_only,
    every_kind_retries_a_503_and_fails_a_401_with_the_apology,
);

/// Every kind but Automagik (covered by the pipeline tests).
pub const KINDS: [&str; 6] = ["openai", "dify", "n8n", "flowise", "typebot", "webhook"];
/// The chat every test message comes from.
pub const CHAT: &str = "5511988887777@s.whatsapp.net";

/// Creates instance `name` of `kind` whose backend is `url`, on Evolution instance `wa_{name}`.
pub fn create_kind(
    server: &ServerProcess,
    name: &str,
    kind: &str,
    url: &str,
    evolution: &FakeHttp,
    options: Value,
) {
    let body = InstanceBuilder::new(name)
        .agent(url)
        .evolution(&evolution.url)
        .kind(kind, options)
        .json();
    server
        .send(Req::admin("POST", "/api/v1/instances").json(&body))
        .expect(201, None);
}

/// The texts sent through Evolution instance `wa_{name}`, in order.
pub fn sent_to(evolution: &FakeHttp, name: &str) -> Vec<String> {
    texts(evolution)
        .iter()
        .filter(|r| r.path == format!("/message/sendText/wa_{name}"))
        .map(|r| r.json["text"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn every_kind_answers_a_chat_and_its_second_message_carries_the_memory(db: &TestDb) {
    let (agent, evolution) = (every_protocol_agent(), ok_evolution());
    let server = start(db);
    for kind in KINDS {
        create_kind(
            &server,
            kind,
            kind,
            &format!("{}{}", agent.url, prefix(kind)),
            &evolution,
            json!({}),
        );
    }
    for kind in KINDS {
        post_webhook(
            &server,
            &format!("/webhook/evolution/{kind}"),
            &text_webhook(&format!("wa_{kind}"), &format!("{kind}-1"), CHAT, "first"),
        )
        .expect(200, None);
    }
    wait_until(30, "every first reply", || texts(&evolution).len() == KINDS.len());
    for kind in KINDS {
        post_webhook(
            &server,
            &format!("/webhook/evolution/{kind}"),
            &text_webhook(&format!("wa_{kind}"), &format!("{kind}-2"), CHAT, "second"),
        )
        .expect(200, None);
    }
    wait_until(30, "every second reply", || {
        texts(&evolution).len() == 2 * KINDS.len()
    });
    for kind in KINDS {
        assert_eq!(
            sent_to(&evolution, kind),
            [format!("{kind}: first"), format!("{kind}: second")],
            "{kind}"
        );
    }
    let calls = |p: &str| agent.requests_to(p);
    // openai: the second call resends the first turn.
    let openai = calls("/openai/chat/completions");
    assert_eq!(
        openai[1].json["messages"],
        json!([{"role": "user", "content": "first"}, {"role": "assistant", "content": "openai: first"},
               {"role": "user", "content": "second"}])
    );
    assert_eq!(
        openai[1].header("authorization"),
        Some("Bearer agent-key-for-tests-0123")
    );
    // dify: the conversation id Dify gave comes back; the user is the chat's session.
    let dify = calls("/dify/chat-messages");
    assert_eq!(
        (
            dify[0].json.get("conversation_id"),
            &dify[1].json["conversation_id"]
        ),
        (None, &json!("conv-1"))
    );
    assert_eq!(dify[1].json["user"], "dify_5511988887777");
    // typebot: started once, then continued.
    let typebot: Vec<String> = calls("/typebot").iter().map(|r| r.path.clone()).collect();
    assert_eq!(
        typebot,
        [
            "/typebot/api/v1/typebots/agent-typebot/startChat",
            "/typebot/api/v1/sessions/sess-1/continueChat"
        ]
    );
    // The stateless kinds name the same session both times, so the backend's memory holds.
    assert_eq!(calls("/n8n")[1].json["sessionId"], "n8n_5511988887777");
    assert_eq!(
        calls("/flowise")[1].json["overrideConfig"]["sessionId"],
        "flowise_5511988887777"
    );
    assert_eq!(
        calls("/webhook")[1].json["inputs"]["sessionId"],
        "webhook_5511988887777"
    );
    // No body ever carried Evolution's key or the webhook's server_url.
    for request in agent.requests() {
        let text = request.json.to_string();
        assert!(
            !text.contains("evolution-key")
                && !text.contains("body-apikey")
                && !text.contains("evolution.example.com"),
            "{text}"
        );
    }
    for (kind, memory) in [
        ("openai", "turns"),
        ("dify", "conversation_id"),
        ("typebot", "session_id"),
    ] {
        let listed = server
            .send(Req::admin(
                "GET",
                format!("/api/v1/instances/{kind}/conversations"),
            ))
            .expect(200, None);
        assert_eq!(listed.as_array().map(Vec::len), Some(1), "{kind}");
        assert!(listed[0]["state"].get(memory).is_some(), "{kind}: {listed}");
    }
    let none = server
        .send(Req::admin("GET", "/api/v1/instances/n8n/conversations"))
        .expect(200, None);
    assert_eq!(none, json!([]), "n8n keeps its memory itself");
    wait_until(10, "the log to say done", || finished(&server) == 2 * KINDS.len());
}

fn transient_agent_errors_are_retried_and_permanent_ones_get_the_apology_only(db: &TestDb) {
    let agent = FakeHttp::start(|r, n| {
        let said = r.json["messages"][0]["content"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        match (said.as_str(), n) {
            ("flaky", 0) => Reply::json(503, json!({"error": {"message": "overloaded"}})),
            ("flaky", 1) => {
                Reply::json(429, json!({"error": {"message": "slow down"}})).header("retry-after", "0")
            }
            ("denied", _) => Reply::json(
                401,
                json!({"error": {"message": "Incorrect API key provided: sk-leak"}}),
            ),
            _ => Reply::json(
                200,
                json!({"choices": [{"message": {"role": "assistant", "content": format!("ok: {said}")}}]}),
            ),
        }
    });
    let evolution = ok_evolution();
    let server = start(db);
    create_kind(
        &server,
        "shop",
        "openai",
        &agent.url,
        &evolution,
        json!({"history_turns": 0}),
    );
    post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("wa_shop", "F1", CHAT, "flaky"),
    )
    .expect(200, None);
    wait_until(30, "the retried reply", || sent_to(&evolution, "shop").len() == 1);
    assert_eq!(sent_to(&evolution, "shop"), ["ok: flaky"]);
    assert_eq!(agent.requests().len(), 3, "503 and 429 were retried");
    post_webhook(
        &server,
        "/webhook/evolution/shop",
        &text_webhook("wa_shop", "D1", "5511900000001@s.whatsapp.net", "denied"),
    )
    .expect(200, None);
    wait_until(30, "the failure", || finished(&server) == 2);
    assert_eq!(agent.requests().len(), 4, "a 401 is not retried");
    let failed = log(&server)
        .into_iter()
        .find(|m| m["message_id"] == "D1")
        .unwrap();
    assert_eq!(failed["status"], "failed");
    let error = failed["error"].as_str().unwrap();
    assert!(
        error.contains("the openai agent API answered 401: Incorrect API key provided"),
        "{error}"
    );
    let apology = sent_to(&evolution, "shop").pop().unwrap();
    assert!(
        !apology.contains("Incorrect") && !apology.contains("sk-leak"),
        "{apology}"
    );
}

fn every_kind_retries_a_503_and_fails_a_401_with_the_apology(db: &TestDb) {
    // Each kind's first call answers 503 (then the protocol's answer); a chat saying "deny"
    // always gets 401.
    let first: Arc<Mutex<HashSet<String>>> = Arc::default();
    let agent = FakeHttp::start(move |r, _| {
        let kind = r.path.split('/').nth(1).unwrap_or_default().to_owned();
        if r.json.to_string().contains("deny") {
            return Reply::json(
                401,
                json!({"error": {"message": "invalid key sk-provider-secret"}, "message": "invalid key sk-provider-secret"}),
            );
        }
        if first.lock().unwrap().insert(kind) {
            return Reply::json(503, json!({"error": {"message": "busy"}}));
        }
        omnihub_test_support::agents::answer(r)
    });
    let evolution = ok_evolution();
    let server = start(db);
    for kind in KINDS {
        create_kind(
            &server,
            kind,
            kind,
            &format!("{}{}", agent.url, prefix(kind)),
            &evolution,
            json!({}),
        );
        post_webhook(
            &server,
            &format!("/webhook/evolution/{kind}"),
            &text_webhook(&format!("wa_{kind}"), &format!("{kind}-1"), CHAT, "hello"),
        )
        .expect(200, None);
        let other = "5511900000002@s.whatsapp.net";
        post_webhook(
            &server,
            &format!("/webhook/evolution/{kind}"),
            &text_webhook(&format!("wa_{kind}"), &format!("{kind}-2"), other, "deny"),
        )
        .expect(200, None);
    }
    wait_until(40, "every message to finish", || {
        finished(&server) == 2 * KINDS.len()
    });
    let entries = log(&server);
    for kind in KINDS {
        let of = |id: &str| {
            entries
                .iter()
                .find(|m| m["message_id"] == format!("{kind}-{id}"))
                .cloned()
                .unwrap()
        };
        let (answered, denied) = (of("1"), of("2"));
        assert_eq!(
            answered["status"], "done",
            "{kind}: the 503 was retried: {answered}"
        );
        assert_eq!(denied["status"], "failed", "{kind}: {denied}");
        let reason = denied["error"].as_str().unwrap_or_default();
        assert!(
            reason.contains(&format!("the {kind} agent API answered 401: invalid key")),
            "{kind}: {reason}"
        );
        let sent = sent_to(&evolution, kind);
        assert!(sent.contains(&format!("{kind}: hello")), "{kind}: {sent:?}");
        assert!(
            sent.iter()
                .all(|t| !t.contains("invalid key") && !t.contains("sk-provider")),
            "{kind}: {sent:?}"
        );
        assert_eq!(sent.len(), 2, "{kind}: the reply and the apology: {sent:?}");
    }
}
