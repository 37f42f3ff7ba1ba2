//! `rules show|set`, `chats`, `pause` and `resume`: an instance's conversation rules and its
//! chats as the rules see them.

use std::io::Write;

use anyhow::{bail, Context};
use clap::Subcommand;
use omnihub_db::Database;
use omnihub_domain::{parse_chat, Chat, ConversationRules, InstanceName};
use serde_json::{json, Map, Value};

use crate::render::{add_safe_row, new_table, write_json};

/// Subcommands of `rules`.
#[derive(Debug, Subcommand)]
pub enum RulesAction {
    /// Every rule of the instance with its value (defaults included).
    Show {
        /// The instance name.
        name: String,
    },
    /// Change some rules, RULE=VALUE each; the others stay. VALUE is JSON when it reads as
    /// JSON (numbers, "quoted", arrays, objects), a comma-separated list for allow, block and
    /// ignore_types, `all` for trigger, else text. RULE= puts a rule back to its default.
    Set {
        /// The instance name.
        name: String,
        /// RULE=VALUE, e.g. debounce_ms=2000 allow=5511*,5521* resume_keyword=#bot
        #[arg(value_name = "RULE=VALUE", required = true)]
        rules: Vec<String>,
    },
}

/// Runs `rules …`.
pub fn rules(db: &Database, action: RulesAction, out: &mut impl Write, json: bool) -> anyhow::Result<()> {
    let (name, changes) = match action {
        RulesAction::Show { name } => (name, Vec::new()),
        RulesAction::Set { name, rules } => (name, rules),
    };
    let name = InstanceName::parse(name)?;
    let instance = db.instances().get(&name)?;
    let mut rules = instance.rules.as_ref().clone();
    if !changes.is_empty() {
        let Value::Object(mut stored) = serde_json::from_str(&rules.to_stored())? else {
            bail!("the stored rules of '{name}' are not an object");
        };
        for change in &changes {
            let Some((rule, value)) = change.split_once('=') else {
                bail!("invalid rule '{change}': write it as RULE=VALUE, e.g. debounce_ms=2000");
            };
            let rule = rule.trim().to_owned();
            match value {
                "" => stored.remove(&rule),
                text => stored.insert(rule.clone(), rule_value(&rule, text)),
            };
        }
        rules = ConversationRules::from_json(&Value::Object(stored))?;
        db.chats().set_rules(&name, &rules)?;
    }
    let all = rules.to_json();
    if json {
        return Ok(write_json(out, &all)?);
    }
    if !changes.is_empty() {
        writeln!(
            out,
            "Rules of '{name}' updated; they apply to messages received from now on."
        )?;
    }
    let mut table = new_table();
    table.set_header(["Rule", "Value"]);
    if let Value::Object(map) = all {
        for (rule, value) in map {
            let shown = match value {
                Value::Null => "(none)".to_owned(),
                Value::String(s) => s,
                other => other.to_string(),
            };
            add_safe_row(&mut table, [rule, shown]);
        }
    }
    writeln!(out, "{table}")?;
    Ok(())
}

/// A `RULE=VALUE` value: JSON when it reads as JSON, a list for list rules, else text.
fn rule_value(rule: &str, text: &str) -> Value {
    if let Ok(value) = serde_json::from_str::<Value>(text) {
        if !value.is_string() || text.starts_with('"') {
            return value;
        }
    }
    match rule {
        "allow" | "block" | "ignore_types" => Value::Array(
            text.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Value::from)
                .collect(),
        ),
        "trigger" if text == "all" => json!({"type": "all"}),
        _ => Value::String(text.to_owned()),
    }
}

/// Runs `chats NAME [--paused]`.
pub fn list(
    db: &Database,
    name: String,
    paused: bool,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    let name = InstanceName::parse(name)?;
    db.instances().get(&name)?;
    let chats = db.chats().list(name.as_str(), paused, 1000)?;
    let now = db.now();
    if json {
        let all: Vec<Value> = chats.iter().map(|c| chat_json(c, now)).collect();
        return Ok(write_json(out, &all)?);
    }
    if chats.is_empty() {
        let which = if paused { "paused chats" } else { "chats" };
        writeln!(out, "No {which} for instance '{name}'.")?;
        return Ok(());
    }
    let mut table = new_table();
    table.set_header([
        "Chat",
        "Paused",
        "Session",
        "In",
        "Answered",
        "Skipped",
        "Last message",
    ]);
    for c in &chats {
        add_safe_row(
            &mut table,
            [
                c.key.clone(),
                pause_text(c, now),
                if c.state.session_open { "open" } else { "" }.to_owned(),
                c.state.inbound_count.to_string(),
                c.state.answered_count.to_string(),
                c.state.skipped_count.to_string(),
                c.state
                    .last_inbound_at
                    .map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
            ],
        );
    }
    writeln!(out, "{table}")?;
    Ok(())
}

/// Runs `pause NAME CHAT [--minutes N]` (`minutes` set) or `resume NAME CHAT`.
pub fn steer(
    db: &Database,
    (name, chat): (String, String),
    pause: Option<Option<u32>>,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    let name = InstanceName::parse(name)?;
    db.instances().get(&name)?;
    let address = parse_chat(&chat)?;
    let changed = match pause {
        Some(Some(0)) => bail!("invalid --minutes: must be 1 or more (leave it out to pause until resumed)"),
        Some(minutes) => db.chats().pause(name.as_str(), &address, minutes),
        None => db.chats().resume(name.as_str(), &address),
    }
    .with_context(|| format!("chat '{chat}' of instance '{name}'"))?;
    let now = db.now();
    if json {
        return Ok(write_json(out, &chat_json(&changed, now))?);
    }
    match pause {
        Some(_) => writeln!(
            out,
            "Paused chat '{}' of '{name}': {}.",
            changed.key,
            pause_text(&changed, now)
        )?,
        None => writeln!(
            out,
            "Resumed chat '{}' of '{name}': the bot answers it again.",
            changed.key
        )?,
    }
    Ok(())
}

fn pause_text(c: &Chat, now: chrono::DateTime<chrono::Utc>) -> String {
    if !c.state.is_paused(now) {
        return String::new();
    }
    let by = c.state.paused_by.map_or("?", |p| p.as_str());
    match c.state.paused_until {
        Some(until) => format!("{by}, until {}", until.format("%Y-%m-%d %H:%M:%S")),
        None => format!("{by}, until resumed"),
    }
}

fn chat_json(c: &Chat, now: chrono::DateTime<chrono::Utc>) -> Value {
    let s = &c.state;
    let paused = s.is_paused(now);
    let mut map = Map::new();
    map.insert("chat".into(), json!(c.key));
    map.insert("last_address".into(), json!(c.last_address));
    map.insert("paused".into(), json!(paused));
    map.insert(
        "paused_by".into(),
        json!(paused.then(|| s.paused_by.map(|p| p.as_str())).flatten()),
    );
    map.insert(
        "paused_until".into(),
        json!(if paused {
            s.paused_until.map(|t| t.to_rfc3339())
        } else {
            None
        }),
    );
    map.insert("session_open".into(), json!(s.session_open));
    map.insert("inbound_count".into(), json!(s.inbound_count));
    map.insert("answered_count".into(), json!(s.answered_count));
    map.insert("skipped_count".into(), json!(s.skipped_count));
    Value::Object(map)
}
