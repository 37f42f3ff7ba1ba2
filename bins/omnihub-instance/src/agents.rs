//! `--agent-kind` / `--agent-option` parsing, `conversations list|reset` and `test-agent`.

use std::io::Write;

use anyhow::{bail, Context};
use clap::Subcommand;
use omnihub_db::Database;
use omnihub_domain::hygiene::visible;
use omnihub_domain::{sessions_for_chat, InstanceName};
use serde_json::{json, Map, Value};

use crate::render::{add_safe_row, new_table, write_json};

/// Subcommands of `conversations`.
#[derive(Debug, Subcommand)]
pub enum ConversationsAction {
    /// List the conversations whose agent memory omnihub keeps (openai, dify, typebot).
    List {
        /// The instance name.
        name: String,
    },
    /// Forget one conversation's memory; its next message starts a new conversation.
    Reset {
        /// The instance name.
        name: String,
        /// The session as listed, a chat JID, or a phone number.
        chat: String,
    },
}

/// `--agent-option KEY=VALUE` flags as a JSON object. A value that reads as JSON (a number,
/// `true`, an object, a quoted string) is taken as such; anything else is a string; an empty
/// value is `null` (removes the option in `update`).
pub fn parse_options(flags: &[String]) -> anyhow::Result<Option<Value>> {
    if flags.is_empty() {
        return Ok(None);
    }
    let mut options = Map::new();
    for flag in flags {
        let Some((key, value)) = flag.split_once('=') else {
            bail!("invalid --agent-option '{flag}': write it as KEY=VALUE, e.g. history_turns=6");
        };
        let value = match value {
            "" => Value::Null,
            text => serde_json::from_str::<Value>(text)
                .ok()
                .filter(|v| !v.is_string() || text.starts_with('"'))
                .unwrap_or_else(|| Value::String(text.to_owned())),
        };
        options.insert(key.trim().to_owned(), value);
    }
    Ok(Some(Value::Object(options)))
}

/// Runs `conversations …`.
pub fn conversations(
    db: &Database,
    action: ConversationsAction,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    match action {
        ConversationsAction::List { name } => {
            let name = InstanceName::parse(name)?;
            db.instances().get(&name)?;
            let conversations = db.conversations().list(name.as_str(), 0, 1000)?;
            if json {
                let body: Vec<Value> = conversations
                    .iter()
                    .map(|c| json!({"session": c.session, "state": c.state, "updated_at": c.updated_at.to_rfc3339()}))
                    .collect();
                return Ok(write_json(out, &body)?);
            }
            if conversations.is_empty() {
                writeln!(out, "No stored conversations for instance '{name}'.")?;
                return Ok(());
            }
            let mut table = new_table();
            table.set_header(["Session", "Memory", "Updated"]);
            for c in &conversations {
                add_safe_row(
                    &mut table,
                    [
                        c.session.clone(),
                        summary(&c.state),
                        c.updated_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    ],
                );
            }
            writeln!(out, "{table}")?;
        }
        ConversationsAction::Reset { name, chat } => {
            let name = InstanceName::parse(name)?;
            let instance = db.instances().get(&name)?;
            let store = db.conversations();
            let mut forgotten = None;
            for session in sessions_for_chat(name.as_str(), instance.session_id_prefix.as_deref(), &chat) {
                if store.delete(name.as_str(), &session)? {
                    forgotten = Some(session);
                    break;
                }
            }
            let Some(session) = forgotten else {
                bail!("no stored conversation for '{chat}' in instance '{name}'");
            };
            if json {
                write_json(out, &json!({"reset": session}))?;
            } else {
                writeln!(
                    out,
                    "Forgot conversation '{session}' of instance '{name}'; its next message starts anew."
                )?;
            }
        }
    }
    Ok(())
}

/// One line about what a state holds.
fn summary(state: &Value) -> String {
    if let Some(turns) = state.get("turns").and_then(Value::as_array) {
        return format!("{} messages of history", turns.len());
    }
    if let Some(id) = state.get("conversation_id").and_then(Value::as_str) {
        return format!("Dify conversation {id}");
    }
    if let Some(id) = state.get("session_id").and_then(Value::as_str) {
        return format!("Typebot session {id}");
    }
    "state kept".into()
}

/// Runs `test-agent NAME TEXT`: one call, nothing stored; fails (exit 1) when the agent does.
pub fn test_agent(
    db: &Database,
    name: String,
    text: &str,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    if text.is_empty() || text.chars().count() > 4096 {
        bail!("invalid TEXT: must be 1 to 4096 characters");
    }
    let instance = db.instances().get(&InstanceName::parse(name)?)?;
    let agent = omnihub_agent::AgentBackends::new().context("cannot build the agent HTTP client")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let limits = omnihub_core::PipelineConfig::default();
    let trial = runtime.block_on(omnihub_core::try_agent(
        &agent,
        &instance,
        text,
        db.now(),
        (limits.reply_max_chars, limits.reply_max_parts),
    ));
    let ms = trial.latency.as_millis();
    match trial.outcome {
        omnihub_core::TrialOutcome::Replied(parts) => {
            if json {
                write_json(
                    out,
                    &json!({"outcome": "replied", "parts": parts, "latency_ms": ms}),
                )?;
            } else {
                writeln!(
                    out,
                    "The {} agent answered in {ms} ms, as {} message(s):",
                    instance.agent_kind,
                    parts.len()
                )?;
                for (i, part) in parts.iter().enumerate() {
                    writeln!(out, "--- {} ---\n{}", i + 1, visible(part))?;
                }
            }
            Ok(())
        }
        omnihub_core::TrialOutcome::NoReply(reason) => {
            if json {
                write_json(
                    out,
                    &json!({"outcome": "no_reply", "detail": reason, "latency_ms": ms}),
                )?;
            } else {
                writeln!(
                    out,
                    "The agent answered in {ms} ms but nothing would be sent: {}",
                    visible(&reason)
                )?;
            }
            Ok(())
        }
        omnihub_core::TrialOutcome::Failed { error, transient } => {
            let class = if transient {
                "transient: the pipeline would retry it"
            } else {
                "permanent: the message would fail with the apology"
            };
            bail!("after {ms} ms: {} ({class})", visible(&error))
        }
    }
}
