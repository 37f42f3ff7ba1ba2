//! Output: comfy-table tables and sentences for people, JSON for scripts. Keys stay masked.

use std::io::{self, Write};

use comfy_table::presets::UTF8_FULL_CONDENSED;
use comfy_table::{ContentArrangement, Table};
use omnihub_db::{BootstrapOutcome, DeleteOutcome};
use omnihub_domain::hygiene::visible;
use omnihub_domain::{Connection, InstanceConfig};
use serde_json::json;

const NOT_CONFIGURED: &str = "(not configured)";

/// An instance as JSON, with its stored connection (`null`: never reported).
fn with_connection(i: &InstanceConfig, connection: Option<&Connection>) -> serde_json::Value {
    let mut value = serde_json::to_value(i).unwrap_or_default();
    value["connection"] = serde_json::to_value(connection).unwrap_or_default();
    value
}

/// The stored connection in a few words: `open since 2026-12-02T10:00:00Z`, `close (401: …)`.
fn connection_text(connection: Option<&Connection>) -> String {
    let Some(c) = connection else {
        return "(not reported)".into();
    };
    let since = c.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    match (&c.reason, c.reason_code) {
        (Some(reason), Some(code)) => format!("{} since {since} ({code}: {reason})", c.state),
        (Some(reason), None) => format!("{} since {since} ({reason})", c.state),
        _ => format!("{} since {since}", c.state),
    }
}

/// Paused chats of one instance (`ChatStore::paused_counts`).
pub type PausedCount = (String, i64);

/// `list`: a table, or "No instances found".
pub fn instance_list(
    out: &mut impl Write,
    instances: &[InstanceConfig],
    (connections, paused): (&[(String, Connection)], &[PausedCount]),
    json: bool,
) -> io::Result<()> {
    let paused_of = |i: &InstanceConfig| {
        paused
            .iter()
            .find(|(name, _)| name == i.name.as_str())
            .map_or(0, |(_, n)| *n)
    };
    let connection = |i: &InstanceConfig| {
        connections
            .iter()
            .find(|(name, _)| name == i.name.as_str())
            .map(|(_, c)| c)
    };
    if json {
        let all: Vec<serde_json::Value> = instances
            .iter()
            .map(|i| {
                let mut value = with_connection(i, connection(i));
                value["paused_chats"] = paused_of(i).into();
                value
            })
            .collect();
        return write_json(out, &all);
    }
    if instances.is_empty() {
        return writeln!(out, "No instances found");
    }
    let mut table = new_table();
    table.set_header([
        "Name",
        "WhatsApp instance",
        "Agent API URL",
        "Default agent",
        "Timeout",
        "Default",
        "Connection",
        "Paused chats",
    ]);
    for i in instances {
        add_safe_row(
            &mut table,
            [
                i.name.to_string(),
                i.whatsapp_instance.to_string(),
                i.agent_api_url.to_string(),
                i.default_agent.to_string(),
                format!("{}s", i.agent_timeout.secs()),
                if i.is_default { "✓" } else { "" }.to_owned(),
                connection(i).map_or("-".into(), |c| c.state.to_string()),
                paused_of(i).to_string(),
            ],
        );
    }
    writeln!(out, "{table}")
}

/// `show`: every field, keys masked.
pub fn instance_detail(
    out: &mut impl Write,
    i: &InstanceConfig,
    connection: Option<&Connection>,
    json: bool,
) -> io::Result<()> {
    if json {
        return write_json(out, &with_connection(i, connection));
    }
    let mut table = new_table();
    table.set_header(["Field", "Value"]);
    let rows = [
        ("ID", i.id.to_string()),
        ("Name", i.name.to_string()),
        (
            "Evolution URL",
            i.evolution_url
                .as_ref()
                .map_or(NOT_CONFIGURED.into(), ToString::to_string),
        ),
        (
            "Evolution key",
            i.evolution_key
                .as_ref()
                .map_or(NOT_CONFIGURED.into(), |k| k.masked()),
        ),
        ("WhatsApp instance", i.whatsapp_instance.to_string()),
        (
            "Session ID prefix",
            i.session_id_prefix
                .clone()
                .unwrap_or_else(|| format!("(none: sessions are named {}_<user>)", i.name)),
        ),
        ("Agent API URL", i.agent_api_url.to_string()),
        ("Agent kind", i.agent_kind.to_string()),
        ("Agent options", agent_options(i)),
        (
            "Agent API key",
            i.agent_api_key.as_ref().map_or("(none)".into(), |k| k.masked()),
        ),
        ("Default agent", i.default_agent.to_string()),
        ("Agent timeout", format!("{}s", i.agent_timeout.secs())),
        ("Default", if i.is_default { "yes" } else { "no" }.to_owned()),
        ("Connection", connection_text(connection)),
        (
            "Webhook secret",
            i.webhook_secret
                .as_ref()
                .map_or("(none: webhooks need no token)".into(), |s| s.masked()),
        ),
        (
            "Created",
            i.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        (
            "Updated",
            i.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
    ];
    for (field, value) in rows {
        add_safe_row(&mut table, [field.to_owned(), value]);
    }
    writeln!(out, "{table}")
}

/// `add`, `update`, `set-default`: one sentence, or the instance as JSON.
pub fn changed(out: &mut impl Write, i: &InstanceConfig, what: &str, json: bool) -> io::Result<()> {
    if json {
        return write_json(out, i);
    }
    let default = if i.is_default {
        " It is the default instance."
    } else {
        ""
    };
    writeln!(out, "Instance '{}' {what}.{default}", i.name)
}

/// `delete`: what was deleted and which instance became the default.
pub fn deleted(out: &mut impl Write, outcome: &DeleteOutcome, json: bool) -> anyhow::Result<()> {
    if json {
        let promoted = outcome.promoted.as_ref().map(ToString::to_string);
        write_json(
            out,
            &json!({ "deleted": outcome.deleted.to_string(), "promoted_default": promoted }),
        )?;
        return Ok(());
    }
    writeln!(out, "Instance '{}' deleted.", outcome.deleted)?;
    if let Some(promoted) = &outcome.promoted {
        writeln!(out, "Instance '{promoted}' is now the default.")?;
    }
    Ok(())
}

/// `bootstrap`: what changed, if anything.
pub fn bootstrap(out: &mut impl Write, outcome: &BootstrapOutcome, json: bool) -> io::Result<()> {
    let (code, name, sentence) = match outcome {
        BootstrapOutcome::Created(n) => (
            "created",
            Some(n),
            format!("Instance '{n}' created from the environment and made the default."),
        ),
        BootstrapOutcome::Promoted(n) => (
            "promoted",
            Some(n),
            format!("No default instance was set; '{n}' (the oldest) is now the default."),
        ),
        BootstrapOutcome::AlreadyConfigured => (
            "unchanged",
            None,
            "A default instance already exists; nothing changed.".to_owned(),
        ),
        BootstrapOutcome::NothingToSeed => (
            "nothing_to_seed",
            None,
            "No instances exist and AGENT_API_URL is not set; nothing to create.".to_owned(),
        ),
    };
    if json {
        return write_json(
            out,
            &json!({ "outcome": code, "instance": name.map(ToString::to_string) }),
        );
    }
    writeln!(out, "{sentence}")
}

/// Adds a row whose cells show control and bidi-override characters as visible escapes:
/// text taken from webhooks (chat ids, names, messages, upstream errors) must not move the
/// operator's cursor, ring the bell or reorder what the operator reads.
pub fn add_safe_row<const N: usize>(table: &mut Table, cells: [String; N]) {
    table.add_row(cells.map(|cell| visible(&cell).into_owned()));
}

/// The options as compact JSON (the secret masked), or `(none)`.
fn agent_options(i: &InstanceConfig) -> String {
    match serde_json::to_value(&i.agent_options) {
        Ok(serde_json::Value::Object(map)) if !map.is_empty() => serde_json::Value::Object(map).to_string(),
        _ => "(none)".into(),
    }
}

/// A table in the CLI's style.
pub fn new_table() -> Table {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    table
}

/// Pretty JSON and a newline.
pub fn write_json(out: &mut impl Write, value: &impl serde::Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value)?;
    writeln!(out)
}
