//! `import`: omnihub instances for instances an Evolution server already has, each with its
//! webhook set to omnihub's. The Evolution key comes from `EVOLUTION_API_KEY` or a prompt,
//! never from a flag (a flag is visible in the process list and the shell history).

use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};
use clap::Args;
use omnihub_config::Env;
use omnihub_db::Database;
use omnihub_domain::{HttpUrl, NewInstanceInput, Secret};
use omnihub_evolution::EvolutionServer;
use serde_json::json;

use crate::render::{add_safe_row, new_table, write_json};

/// Options of `import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The Evolution server (its global key: EVOLUTION_API_KEY, else asked for).
    #[arg(long, value_name = "URL")]
    pub evolution_url: String,
    /// Import every instance no omnihub instance uses yet.
    #[arg(long, conflicts_with = "names")]
    pub all: bool,
    /// The Evolution instances to import (each becomes an omnihub instance of that name).
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,
    /// The protocol of the agent backend for the imported instances.
    #[arg(long, value_name = "KIND", default_value = "automagik")]
    pub agent_kind: String,
    /// Base URL of the agent API.
    #[arg(long, value_name = "URL")]
    pub agent_api_url: String,
    /// Key of the agent backend (or OMNIHUB_AGENT_API_KEY).
    #[arg(
        long,
        value_name = "KEY",
        env = "OMNIHUB_AGENT_API_KEY",
        hide_env_values = true
    )]
    pub agent_api_key: Option<String>,
    /// Agent that answers the imported instances' messages.
    #[arg(long, value_name = "AGENT")]
    pub default_agent: String,
    /// A kind-specific option, KEY=VALUE, repeatable.
    #[arg(long = "agent-option", value_name = "KEY=VALUE")]
    pub agent_options: Vec<String>,
}

/// The Evolution key: `EVOLUTION_API_KEY`, else a prompt on a terminal (not echoed), else one
/// line of standard input.
fn evolution_key(env: &Env) -> anyhow::Result<Secret> {
    let key = match env.get("EVOLUTION_API_KEY") {
        Some(key) => key,
        None if std::io::stdin().is_terminal() => {
            rpassword::prompt_password("Evolution API key (global): ").context("cannot read the key")?
        }
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("cannot read the key from stdin")?;
            line
        }
    };
    Secret::parse("EVOLUTION_API_KEY", key.trim().to_owned())
        .map_err(|_| anyhow::anyhow!("no Evolution key: set EVOLUTION_API_KEY or type it when asked"))
}

/// Runs `import`.
pub fn run(
    db: &Database,
    env: &Env,
    args: ImportArgs,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    if !args.all && args.names.is_empty() {
        bail!("name the Evolution instances to import, or give --all");
    }
    let (lifecycle, runtime) = crate::numbers::lifecycle(db, env)?;
    if omnihub_config::public_url(env)?.is_none() {
        bail!("OMNIHUB_PUBLIC_URL is not set: imported instances need their webhook set to omnihub (e.g. OMNIHUB_PUBLIC_URL=https://hub.example.com)");
    }
    let base_url = HttpUrl::parse("--evolution-url", args.evolution_url.clone())?;
    let key = evolution_key(env)?;
    let server = EvolutionServer {
        base_url: &base_url,
        api_key: &key,
    };
    let known = db.instances().list(0, i64::MAX)?;
    let found = runtime.block_on(lifecycle.discover(server, &known))?;
    for name in &args.names {
        if !found.iter().any(|d| &d.name == name) {
            bail!(
                "Evolution at {} has no instance named '{name}'",
                base_url.as_str()
            );
        }
    }
    let options = crate::agents::parse_options(&args.agent_options)?;
    let mut rows = Vec::new();
    for remote in found.iter().filter(|d| args.all || args.names.contains(&d.name)) {
        if let Some(user) = &remote.used_by {
            rows.push(
                json!({"name": remote.name, "result": format!("skipped: used by omnihub instance '{user}'")}),
            );
            continue;
        }
        let input = NewInstanceInput {
            name: remote.name.clone(),
            whatsapp_instance: remote.name.clone(),
            evolution_url: Some(base_url.as_str().to_owned()),
            evolution_key: Some(key.expose().to_owned()),
            agent_kind: Some(args.agent_kind.clone()),
            agent_options: options.clone(),
            agent_api_url: args.agent_api_url.clone(),
            agent_api_key: args.agent_api_key.clone().unwrap_or_default(),
            default_agent: args.default_agent.clone(),
            ..NewInstanceInput::default()
        };
        let created = input
            .validate()
            .map_err(anyhow::Error::from)
            .and_then(|new| Ok(db.instances().create(&new)?));
        let created = match created {
            Ok(created) => created,
            Err(err) => {
                rows.push(json!({"name": remote.name, "result": format!("not imported: {err}")}));
                continue;
            }
        };
        let result = match runtime.block_on(lifecycle.sync_webhook(&created)) {
            Ok(status) => format!("imported ({}, webhook {status})", remote.state),
            Err(err) => format!("imported, but the webhook sync failed: {err}"),
        };
        rows.push(json!({"name": remote.name, "number": remote.number, "result": result}));
    }
    if json {
        return Ok(write_json(out, &json!(rows))?);
    }
    let mut table = new_table();
    table.set_header(["EVOLUTION INSTANCE", "NUMBER", "RESULT"]);
    for row in &rows {
        let text = |k: &str| row[k].as_str().unwrap_or("-").to_owned();
        add_safe_row(&mut table, [text("name"), text("number"), text("result")]);
    }
    writeln!(out, "{table}")?;
    Ok(())
}
