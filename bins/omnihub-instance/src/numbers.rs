//! `connect`, `status`, `webhook-sync`, `restart` and `logout`: managing numbers on
//! Evolution straight from the CLI, with the instance's stored configuration (the server
//! may be stopped). `import` is in [`crate::import`].

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use omnihub_core::{Connected, Lifecycle, NumberState};
use omnihub_db::Database;
use omnihub_domain::{ConnectionState, InstanceConfig, InstanceName};
use serde_json::json;

use crate::render::{add_safe_row, new_table, write_json};

/// How often `connect` asks Evolution for the state while waiting for the scan.
const POLL: Duration = Duration::from_secs(1);
/// How often `connect` fetches the QR again (Baileys rotates it every 20 s).
const QR_REFRESH: Duration = Duration::from_secs(15);

/// A lifecycle manager for the CLI, and a runtime to drive it.
pub fn lifecycle(
    db: &Database,
    env: &omnihub_config::Env,
) -> anyhow::Result<(Lifecycle, tokio::runtime::Runtime)> {
    let public_url = omnihub_config::public_url(env)?;
    let client = omnihub_evolution::EvolutionClient::new(Duration::from_secs(15))
        .context("cannot build the Evolution HTTP client")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    Ok((Lifecycle::new(db.clone(), client, public_url), runtime))
}

fn instance(db: &Database, name: &str) -> anyhow::Result<InstanceConfig> {
    Ok(db.instances().get(&InstanceName::parse(name)?)?)
}

/// `connect NAME`: draws the QR (or prints the pairing code) and waits until the number is
/// `open` (Ok(true)), or gives up (Ok(false): timeout, refused, closed).
pub fn connect(
    db: &Database,
    env: &omnihub_config::Env,
    (name, number, timeout): (&str, Option<&str>, Duration),
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<bool> {
    if number.is_some_and(|n| !omnihub_domain::rules::PHONE_NUMBER.allows(n)) {
        bail!("invalid --number: must be a phone number, 5 to 20 digits with the country code, an optional leading +");
    }
    let number = number.map(|n| n.trim_start_matches('+'));
    let (lifecycle, runtime) = lifecycle(db, env)?;
    let spinner = !json && std::io::stdout().is_terminal();
    runtime.block_on(async {
        let started = Instant::now();
        let mut connected = lifecycle.connect(&instance(db, name)?, number).await?;
        // A created instance may have been given a webhook secret.
        let current = instance(db, name)?;
        show(out, &connected, json)?;
        let mut last_fetch = Instant::now();
        // A refusal reported (by the server, from Evolution's webhook) after this started.
        let before = db.connections().get(current.name.as_str())?.map(|c| c.since);
        let mut state = connected.state;
        let frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let mut tick = 0usize;
        while state != NumberState::Open {
            if started.elapsed() >= timeout {
                finish_line(out, spinner)?;
                report(
                    out,
                    json,
                    "timeout",
                    &format!("no scan within {} s; run connect again", timeout.as_secs()),
                )?;
                return Ok(false);
            }
            tokio::time::sleep(POLL).await;
            let stored = db.connections().get(current.name.as_str())?;
            if stored.is_some_and(|c| c.state == ConnectionState::Refused && Some(c.since) != before) {
                finish_line(out, spinner)?;
                report(
                    out,
                    json,
                    "refused",
                    "Evolution stopped generating QR codes (the limit was reached); run connect again",
                )?;
                return Ok(false);
            }
            state = lifecycle.state(&current).await?;
            if state == NumberState::Close || state == NumberState::Refused {
                finish_line(out, spinner)?;
                report(
                    out,
                    json,
                    state.as_str(),
                    "the connection closed before the scan (the QR expired); run connect again",
                )?;
                return Ok(false);
            }
            if state != NumberState::Open && last_fetch.elapsed() >= QR_REFRESH {
                let fresh = lifecycle.connect(&current, number).await?;
                last_fetch = Instant::now();
                if fresh.qr_code != connected.qr_code || fresh.pairing_code != connected.pairing_code {
                    finish_line(out, spinner)?;
                    show(out, &fresh, json)?;
                    connected = fresh;
                }
            }
            if spinner {
                tick += 1;
                write!(
                    out,
                    "\r{} {} ({} s)  ",
                    frames[tick % frames.len()],
                    state,
                    started.elapsed().as_secs()
                )?;
                out.flush()?;
            }
        }
        finish_line(out, spinner)?;
        // The number, as Evolution's instance list has it now.
        let number = lifecycle.status(&current).await.ok().and_then(|r| r.number);
        if json {
            json_line(out, &json!({"state": "open", "number": number}))?;
        } else {
            let shown = number.map(|n| format!(" as {n}")).unwrap_or_default();
            writeln!(out, "Connected: {name} is open{shown}.")?;
        }
        Ok(true)
    })
}

/// One JSON value on one line (`connect --json` prints one per change), flushed at once.
fn json_line(out: &mut impl Write, value: &serde_json::Value) -> std::io::Result<()> {
    writeln!(out, "{value}")?;
    out.flush()
}

fn finish_line(out: &mut impl Write, spinner: bool) -> std::io::Result<()> {
    if spinner {
        write!(out, "\r\x1b[2K")?;
    }
    Ok(())
}

fn report(out: &mut impl Write, json: bool, state: &str, message: &str) -> std::io::Result<()> {
    if json {
        json_line(out, &json!({"state": state, "message": message}))
    } else {
        writeln!(out, "Not connected ({state}): {message}.")
    }
}

fn show(out: &mut impl Write, connected: &Connected, json: bool) -> anyhow::Result<()> {
    if json {
        let line = json!({"state": connected.state.as_str(), "qr": connected.qr_code, "pairing_code": connected.pairing_code});
        json_line(out, &line)?;
        return Ok(());
    }
    if let Some(code) = &connected.pairing_code {
        writeln!(out, "Pairing code: {code}")?;
        writeln!(out, "On the phone: WhatsApp > Settings > Linked devices > Link a device > Link with phone number, then type it.")?;
    } else if let Some(code) = &connected.qr_code {
        writeln!(
            out,
            "Scan with WhatsApp on the phone (Settings > Linked devices > Link a device):"
        )?;
        writeln!(out, "{}", crate::qr::terminal_qr(code)?)?;
    } else {
        writeln!(out, "State: {}", connected.state)?;
    }
    Ok(())
}

/// `status [NAME]`: one instance in detail, or a table of all.
pub fn status(
    db: &Database,
    env: &omnihub_config::Env,
    name: Option<&str>,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    let (lifecycle, runtime) = lifecycle(db, env)?;
    let instances = match name {
        Some(name) => vec![instance(db, name)?],
        None => db.instances().list(0, i64::MAX)?,
    };
    let mut rows = Vec::new();
    for instance in &instances {
        let row = match runtime.block_on(lifecycle.status(instance)) {
            Ok(report) => {
                json!({"name": instance.name.as_str(), "state": report.state.as_str(), "number": report.number,
                "profile_name": report.profile_name, "webhook": report.webhook.as_str(),
                "checked_at": report.checked_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true), "detail": report.detail})
            }
            Err(err) if name.is_some() => return Err(err.into()),
            Err(err) => json!({"name": instance.name.as_str(), "state": "not_configured", "number": null,
                "profile_name": null, "webhook": "unknown", "checked_at": null, "detail": err.to_string()}),
        };
        rows.push(row);
    }
    if json {
        write_json(
            out,
            &if name.is_some() {
                rows[0].clone()
            } else {
                json!(rows)
            },
        )?;
        return Ok(());
    }
    let mut table = new_table();
    table.set_header(["NAME", "STATE", "NUMBER", "WEBHOOK", "DETAIL"]);
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
    for row in &rows {
        add_safe_row(
            &mut table,
            [
                text(&row["name"]),
                text(&row["state"]),
                text(&row["number"]),
                text(&row["webhook"]),
                text(&row["detail"]),
            ],
        );
    }
    writeln!(out, "{table}")?;
    Ok(())
}

/// `webhook-sync`, `restart` and `logout`.
pub fn simple(
    db: &Database,
    env: &omnihub_config::Env,
    action: &str,
    name: &str,
    out: &mut impl Write,
    json: bool,
) -> anyhow::Result<()> {
    let (lifecycle, runtime) = lifecycle(db, env)?;
    let target = instance(db, name)?;
    let (state, sentence) = match action {
        "webhook-sync" => {
            let status = runtime.block_on(lifecycle.sync_webhook(&target))?;
            let url = lifecycle.webhook_url(&target).unwrap_or_default();
            (
                status.as_str(),
                format!("Evolution's webhook for {name} now posts to {url} (webhook {status})."),
            )
        }
        "restart" => {
            let connected = runtime.block_on(lifecycle.restart(&target))?;
            (
                connected.state.as_str(),
                format!("Restarted {name}: {}.", connected.state),
            )
        }
        "logout" => {
            runtime.block_on(lifecycle.logout(&target))?;
            (
                "close",
                format!(
                    "Logged out {name}; connecting again needs a new scan (omnihub-instance connect {name})."
                ),
            )
        }
        other => bail!("unknown action {other}"),
    };
    if json {
        write_json(out, &json!({"name": name, "result": state}))?;
    } else {
        writeln!(out, "{sentence}")?;
    }
    Ok(())
}
