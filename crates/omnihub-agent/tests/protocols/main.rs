//! Every protocol against a fake backend that records the exact request: path, headers and
//! body; the reply read; the state the next turn carries; and how failures are classified.

#![expect(
    clippy::expect_used,
    reason = "a test should stop loudly at the first unexpected error"
)]

mod dify;
mod openai;
mod others;
mod typebot;

use chrono::{DateTime, TimeZone, Utc};
use omnihub_agent::{AgentBackends, AgentError};
use omnihub_domain::{AgentReply, AgentTurn, InboundMessage, InstanceConfig};
use omnihub_test_support::text_message;
use serde_json::Value;

/// The chat every test message comes from.
pub const CHAT: &str = "5511999999999@s.whatsapp.net";

/// Noon on 2027-01-01, the test clock.
pub fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 1, 12, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A text message from Ana.
pub fn message(text: &str) -> InboundMessage {
    let mut message = text_message("MSG1", CHAT, text);
    message.phone = Some("5511999999999".into());
    message
}

/// One turn of session `s1` with `state`, at `now`.
pub async fn call(
    instance: &InstanceConfig,
    message: &InboundMessage,
    state: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<AgentReply, AgentError> {
    let turn = AgentTurn {
        instance: instance.name.as_str(),
        session: "s1",
        message,
        state,
        now,
    };
    AgentBackends::new().expect("client").run(instance, &turn).await
}

/// The reply's text, or a panic naming what came instead.
pub fn text(reply: &AgentReply) -> &str {
    match &reply.answer {
        omnihub_domain::Answer::Text(text) => text,
        other => panic!("expected a text answer, got {other:?}"),
    }
}
