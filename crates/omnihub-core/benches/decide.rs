//! The conversation rules' decision, as every arriving message pays for it inside its
//! commit: with the defaults, with every rule set, and with a regex trigger.

#![expect(missing_docs, reason = "criterion's macros generate undocumented items")]

use chrono::Utc;
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use omnihub_core::decide;
use omnihub_domain::{
    Arrival, ChatFacts, ChatState, ConversationRules, InboundMessage, MessageContent, MessageKind,
};
use serde_json::json;

fn message() -> InboundMessage {
    InboundMessage {
        message_id: "M1".into(),
        chat_id: "5511999990000@s.whatsapp.net".into(),
        author: None,
        sender_name: Some("Ana".into()),
        phone: Some("5511999990000".into()),
        timestamp: None,
        content: MessageContent {
            kind: MessageKind::Text,
            text: "quero fazer um pedido, por favor".into(),
            quoted: None,
            media: None,
            more_media: Vec::new(),
            quoted_id: None,
        },
    }
}

fn decisions(c: &mut Criterion) {
    let every_rule = json!({
        "allow": ["5511*", "5521*", "123@lid"], "block": ["5511888*"], "groups": "all",
        "trigger": {"type": "keyword", "operator": "contains", "value": "pedido", "finish": "tchau", "expire_minutes": 30},
        "debounce_ms": 2000, "takeover_minutes": 30, "resume_keyword": "#bot", "max_per_minute": 10
    });
    let regex = json!({"trigger": {"type": "keyword", "operator": "regex", "value": r"(?i)\bpedido\s+\d*"}});
    let cases = [
        ("defaults", ConversationRules::default()),
        (
            "every_rule",
            ConversationRules::from_json(&every_rule).unwrap_or_default(),
        ),
        (
            "regex_trigger",
            ConversationRules::from_json(&regex).unwrap_or_default(),
        ),
    ];
    let (message, facts, state, now) = (message(), ChatFacts::default(), ChatState::default(), Utc::now());
    let arrival = Arrival {
        message: &message,
        facts: &facts,
        own_number: Some("5511900000000"),
    };
    let mut group = c.benchmark_group("decide");
    for (name, rules) in &cases {
        group.bench_function(*name, |b| {
            b.iter(|| decide(black_box(rules), black_box(&state), &arrival, now))
        });
    }
    group.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
