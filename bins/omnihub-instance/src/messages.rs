//! `omnihub-instance messages`: the message log as a table, and retrying failed messages.

use std::io::Write;

use clap::{ArgGroup, Args, Subcommand};
use comfy_table::Table;
use omnihub_db::{Database, MessageFilter};
use omnihub_domain::{InstanceName, MessageRecord, MessageStatus};
use serde_json::json;

use crate::render::{add_safe_row, new_table, write_json};

/// Options of `messages`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct MessagesArgs {
    /// What to do instead of listing.
    #[command(subcommand)]
    pub action: Option<MessagesAction>,
    /// Only messages of this instance.
    pub name: Option<String>,
    /// Only this status: queued, processing, done, failed or skipped.
    #[arg(long, value_name = "STATUS")]
    pub status: Option<String>,
    /// Only this chat (a JID such as 5511999999999@s.whatsapp.net).
    #[arg(long, value_name = "JID")]
    pub chat: Option<String>,
    /// Most messages to show, newest first (1-1000).
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: i64,
}

/// Subcommands of `messages`.
#[derive(Debug, Subcommand)]
pub enum MessagesAction {
    /// Queue failed messages again: one by id, or every failed one (of one instance) with
    /// --failed. A running server picks them up within its poll interval.
    #[command(group(ArgGroup::new("which").required(true).args(["id", "failed"])))]
    Retry {
        /// The log id of the failed message.
        id: Option<i64>,
        /// Every failed message.
        #[arg(long, conflicts_with = "id")]
        failed: bool,
        /// With --failed: only this instance.
        #[arg(long, requires = "failed", value_name = "NAME")]
        instance: Option<String>,
    },
}

/// Runs `messages`.
pub fn run(db: &Database, args: MessagesArgs, out: &mut impl Write, json_output: bool) -> anyhow::Result<()> {
    match args.action {
        Some(MessagesAction::Retry { id: Some(id), .. }) => {
            let record = db.messages().requeue(id)?;
            if json_output {
                write_json(out, &json!({ "requeued": [record.id] }))?;
            } else {
                writeln!(out, "Message {} queued again.", record.id)?;
            }
        }
        Some(MessagesAction::Retry { instance, .. }) => {
            let instance = instance.map(InstanceName::parse).transpose()?;
            if let Some(name) = &instance {
                db.instances().get(name)?;
            }
            let count = db.messages().requeue_failed(instance.as_ref())?;
            if json_output {
                write_json(out, &json!({ "requeued_count": count }))?;
            } else {
                writeln!(out, "{count} failed message(s) queued again.")?;
            }
        }
        None => list(db, args, out, json_output)?,
    }
    Ok(())
}

fn list(db: &Database, args: MessagesArgs, out: &mut impl Write, json_output: bool) -> anyhow::Result<()> {
    if !(1..=1000).contains(&args.limit) {
        anyhow::bail!("invalid --limit: must be from 1 to 1000");
    }
    let status = match args.status.as_deref() {
        None => None,
        Some(text) => Some(text.parse::<MessageStatus>().map_err(|_| {
            anyhow::anyhow!("invalid --status: must be queued, processing, done, failed or skipped")
        })?),
    };
    if let Some(name) = &args.name {
        db.instances().get(&InstanceName::parse(name.clone())?)?;
    }
    let filter = MessageFilter {
        instance: args.name,
        chat: args.chat,
        status,
        since: None,
        limit: args.limit,
    };
    let records = db.messages().list(&filter)?;
    if json_output {
        let rows: Vec<_> = records.iter().map(record_json).collect();
        write_json(out, &rows)?;
        return Ok(());
    }
    if records.is_empty() {
        writeln!(out, "No messages found")?;
        return Ok(());
    }
    writeln!(out, "{}", table(&records))?;
    Ok(())
}

fn clip(text: &str, max: usize) -> String {
    let mut clipped: String = text.chars().take(max).collect();
    if text.chars().count() > max {
        clipped.push('…');
    }
    clipped.replace('\n', " ")
}

fn table(records: &[MessageRecord]) -> Table {
    let mut table = new_table();
    table.set_header([
        "ID", "Instance", "Chat", "Status", "Attempts", "Parts", "Received", "Text", "Error",
    ]);
    for r in records {
        add_safe_row(
            &mut table,
            [
                r.id.to_string(),
                r.instance.clone(),
                r.inbound.chat_id.clone(),
                match r.skip_reason {
                    Some(reason) => format!("skipped: {reason}"),
                    None => r.status.as_str().to_owned(),
                },
                r.attempts.to_string(),
                format!("{}/{}", r.parts_sent, r.parts_total),
                r.received_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                clip(&r.inbound.content.text, 40),
                r.error
                    .as_deref()
                    .map(|e| clip(&format!("{}: {e}", r.error_stage.map_or("?", |s| s.as_str())), 60))
                    .unwrap_or_default(),
            ],
        );
    }
    table
}

fn record_json(r: &MessageRecord) -> serde_json::Value {
    json!({
        "id": r.id,
        "instance": r.instance,
        "message_id": r.inbound.message_id,
        "chat_id": r.inbound.chat_id,
        "kind": r.inbound.content.kind.as_str(),
        "preview": clip(&r.inbound.content.text, 120),
        "status": r.status.as_str(),
        "chat": r.chat_key,
        "skip_reason": r.skip_reason.map(|reason| reason.as_str()),
        "attempts": r.attempts,
        "parts_total": r.parts_total,
        "parts_sent": r.parts_sent,
        "outcome": r.outcome,
        "error_stage": r.error_stage.map(|s| s.as_str()),
        "error": r.error,
        "received_at": r.received_at.to_rfc3339(),
        "finished_at": r.finished_at.map(|t| t.to_rfc3339()),
    })
}
