//! The demo's number connection: `omnihub-instance connect` draws the QR, the sandbox's
//! fake phone scans it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

use crate::procs::{sibling, wait_for, Background};

/// Connects the shop's number as an operator would: `omnihub-instance connect shop` creates
/// the instance on the fake Evolution (with the webhook) and draws its QR code; the fake then
/// plays the phone scanning it, Evolution's `connection.update` reaches the server, and the
/// command sees the number open.
pub fn connect_shop(
    http: &reqwest::blocking::Client,
    base: &str,
    db: &Path,
    up: &Background,
) -> anyhow::Result<()> {
    println!("Connecting the shop's WhatsApp number: omnihub-instance connect shop");
    let mut connect = Command::new(sibling("omnihub-instance")?)
        .arg("--database-url")
        .arg(db)
        .args(["connect", "shop", "--timeout", "60"])
        .env("OMNIHUB_PUBLIC_URL", base)
        .stdin(Stdio::null())
        .spawn()
        .context("cannot run omnihub-instance connect")?;
    let state = format!("{}/instance/connectionState/shop-wa", up.evolution);
    wait_for("the QR code", 20, || {
        http.get(&state)
            .header("apikey", crate::fake_lifecycle::SANDBOX_EVOLUTION_KEY)
            .send()
            .and_then(|r| r.json::<Value>())
            .is_ok_and(|v| v["instance"]["state"] == "connecting")
    })?;
    // Time to look at the QR before the "phone" scans it.
    std::thread::sleep(Duration::from_secs(2));
    println!("(the sandbox's phone scans the QR code now)");
    let scanned = http
        .post(format!("{}/_sandbox/scan/shop-wa", up.evolution))
        .json(&json!({"number": "5511900000000"}))
        .send()?;
    if !scanned.status().is_success() {
        bail!("the fake could not scan: {}", scanned.text()?);
    }
    let status = connect.wait()?;
    if !status.success() {
        bail!("omnihub-instance connect shop failed ({status})");
    }
    Ok(())
}
