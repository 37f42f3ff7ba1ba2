//! Every agent kind's memory across a clean restart and a SIGKILL in the middle of an agent
//! call: the killed attempt stores nothing, the retry carries the state of the last stored
//! turn, and no turn is lost or counted twice.

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use omnihub_test_support::agents::prefix;
use omnihub_test_support::{FakeHttp, InstanceBuilder, TestDb};
use serde_json::json;

use crate::agent_kinds::{sent_to, CHAT, KINDS};
use crate::flow::{ok_evolution, post_webhook, start, text_webhook, texts, wait_until};
use crate::support::{Api, Req, ServerProcess};

on_both_engines!(every_kinds_memory_survives_a_restart_and_a_sigkill_mid_call);

fn every_kinds_memory_survives_a_restart_and_a_sigkill_mid_call(db: &TestDb) {
    // Every kind's first attempt at the second message hangs until the server is killed.
    let arrived = Arc::new(AtomicUsize::new(0));
    let seen = arrived.clone();
    let hung: Arc<Mutex<HashSet<String>>> = Arc::default();
    let agent = FakeHttp::start(move |r, _| {
        let reply = omnihub_test_support::agents::answer(r);
        let kind = r.path.split('/').nth(1).unwrap_or_default().to_owned();
        if r.json.to_string().contains("\"two\"") && hung.lock().unwrap().insert(kind) {
            seen.fetch_add(1, Ordering::SeqCst);
            return reply.after(Duration::from_secs(8));
        }
        reply
    });
    let evolution = ok_evolution();
    let mut server = start(db);
    for kind in KINDS {
        let mut body = InstanceBuilder::new(kind)
            .agent(&format!("{}{}", agent.url, prefix(kind)))
            .evolution(&evolution.url)
            .kind(kind, json!({}))
            .json();
        // A short agent timeout keeps the killed attempt's lease short.
        body["agent_timeout"] = json!(3);
        server
            .send(Req::admin("POST", "/api/v1/instances").json(&body))
            .expect(201, None);
    }
    let say = |server: &ServerProcess, id: &str, text: &str| {
        for kind in KINDS {
            let hook = text_webhook(&format!("wa_{kind}"), &format!("{kind}-{id}"), CHAT, text);
            post_webhook(server, &format!("/webhook/evolution/{kind}"), &hook).expect(200, None);
        }
    };
    say(&server, "1", "one");
    wait_until(30, "every first reply", || texts(&evolution).len() == KINDS.len());
    server.terminate();
    let mut server = start(db);
    say(&server, "2", "two");
    wait_until(30, "every second call to reach its agent", || {
        arrived.load(Ordering::SeqCst) == KINDS.len()
    });
    server.kill_hard();
    let server = start(db);
    wait_until(60, "every second reply after the restart", || {
        texts(&evolution).len() == 2 * KINDS.len()
    });
    say(&server, "3", "three");
    wait_until(30, "every third reply", || {
        texts(&evolution).len() == 3 * KINDS.len()
    });
    for kind in KINDS {
        let replies = sent_to(&evolution, kind);
        assert_eq!(
            replies,
            [
                format!("{kind}: one"),
                format!("{kind}: two"),
                format!("{kind}: three")
            ],
            "{kind}"
        );
    }
    let third = |prefix: &str| {
        agent
            .requests_to(prefix)
            .into_iter()
            .find(|r| r.json.to_string().contains("\"three\""))
            .unwrap()
    };
    assert_eq!(
        third("/openai").json["messages"],
        json!([{"role": "user", "content": "one"}, {"role": "assistant", "content": "openai: one"},
               {"role": "user", "content": "two"}, {"role": "assistant", "content": "openai: two"},
               {"role": "user", "content": "three"}]),
        "each turn once: the killed attempt stored nothing"
    );
    assert_eq!(third("/dify").json["conversation_id"], "conv-1");
    assert_eq!(
        third("/typebot").path,
        "/typebot/api/v1/sessions/sess-1/continueChat"
    );
    assert_eq!(third("/n8n").json["sessionId"], "n8n_5511988887777");
    assert_eq!(
        third("/flowise").json["overrideConfig"]["sessionId"],
        "flowise_5511988887777"
    );
    assert_eq!(
        third("/webhook").json["inputs"]["sessionId"],
        "webhook_5511988887777"
    );
}
