//! `send NAME TO "text" [--media FILE]`: a message from the instance's number, stored and
//! queued for the running server's dispatcher (it goes out in the chat's order, paced).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use base64::Engine as _;
use clap::Args;
use omnihub_db::Database;
use omnihub_domain::{InstanceName, Outbound};
use serde_json::{json, Map, Value};

use crate::render::write_json;

/// Largest file `--media` sends inline (larger ones: give a URL with `--media-url`).
const MAX_FILE_BYTES: u64 = 12 * 1024 * 1024;

/// Arguments of `send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The instance name.
    name: String,
    /// To whom: a phone number (country code first) or a JID (…@s.whatsapp.net, …@lid, …@g.us).
    to: String,
    /// The text (the caption when media is sent).
    text: Option<String>,
    /// A file to send as media (image, video, audio or document, by its extension).
    #[arg(long, value_name = "FILE", conflicts_with = "media_url")]
    media: Option<PathBuf>,
    /// A URL Evolution fetches the media from (needs --mimetype).
    #[arg(long, value_name = "URL", requires = "mimetype")]
    media_url: Option<String>,
    /// The media's MIME type (default: from the file's extension).
    #[arg(long, value_name = "TYPE")]
    mimetype: Option<String>,
    /// Send once per key: the same key again shows the first message and sends nothing.
    #[arg(long, value_name = "KEY")]
    idempotency_key: Option<String>,
    /// Keep the bot answering the chat (by default a person's send pauses it for the rule
    /// takeover_minutes).
    #[arg(long)]
    keep_bot: bool,
}

/// Runs `send`.
pub fn run(db: &Database, args: SendArgs, out: &mut impl Write, json: bool) -> anyhow::Result<()> {
    let name = InstanceName::parse(args.name)?;
    let mut request = Map::new();
    request.insert("to".into(), json!(args.to));
    if let Some(text) = &args.text {
        request.insert("text".into(), json!(text));
    }
    if let Some(file) = &args.media {
        let mimetype = args.mimetype.clone().unwrap_or_else(|| mime_of(file).to_owned());
        let mut media = json!({ "base64": read_base64(file)?, "mimetype": mimetype });
        if let Some(file_name) = file.file_name().and_then(|n| n.to_str()) {
            media["filename"] = json!(file_name);
        }
        request.insert("media".into(), media);
    } else if let Some(url) = &args.media_url {
        request.insert("media".into(), json!({ "url": url, "mimetype": args.mimetype }));
    }
    if let Some(key) = &args.idempotency_key {
        request.insert("idempotency_key".into(), json!(key));
    }
    request.insert("keep_bot".into(), json!(args.keep_bot));
    let outbound = Outbound::from_json(&Value::Object(request))?;
    let message_id = outbound.message_id(|| uuid::Uuid::new_v4().simple().to_string());
    let sent = db.messages().send(&name, &outbound, &message_id, "cli")?;
    let paused = sent.chat.state.is_paused(db.now());
    if json {
        let answer =
            json!({ "id": sent.id, "duplicate": sent.duplicate, "chat": sent.chat.key, "paused": paused });
        return Ok(write_json(out, &answer)?);
    }
    let what = if sent.duplicate {
        "was already queued as"
    } else {
        "queued as"
    };
    writeln!(out, "Message to {} {what} message #{}.", sent.chat.key, sent.id)?;
    if paused && !args.keep_bot {
        writeln!(
            out,
            "The bot is paused for this chat (resume it with: omnihub-instance resume {name} {}).",
            sent.chat.key
        )?;
    }
    writeln!(
        out,
        "The running omnihub-server sends it; follow it with: omnihub-instance messages show {}",
        sent.id
    )?;
    Ok(())
}

fn read_base64(file: &Path) -> anyhow::Result<String> {
    let size = std::fs::metadata(file)
        .with_context(|| format!("cannot read {}", file.display()))?
        .len();
    if size > MAX_FILE_BYTES {
        anyhow::bail!(
            "{} has {size} bytes; files up to {MAX_FILE_BYTES} bytes are sent inline (give a URL with --media-url instead)",
            file.display()
        );
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The MIME type of a file by its extension.
fn mime_of(file: &Path) -> &'static str {
    let extension = file
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match extension.as_str() {
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "mp4" => "video/mp4",
        "3gp" => "video/3gpp",
        "ogg" | "opus" => "audio/ogg",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "pdf" => "application/pdf",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _ => "application/octet-stream",
    }
}
