//! The demo's takeover: a person types on the shop's phone, the bot stops answering that chat
//! (the customer's message is stored as skipped), and the resume keyword gives the chat back.

use std::collections::HashMap;

use serde_json::{json, Value};

use crate::fakes::Delivery;
use crate::procs::{wait_for, Background};

/// Ana's chat with the shop, as in the demo's conversation.
const CHAT: &str = "5511911110001@s.whatsapp.net";

/// Plays the takeover on the `shop` instance; true when the message after the resume was
/// answered.
pub fn play(
    http: &reqwest::blocking::Client,
    (base, admin_key, webhook_secret): (&str, &str, &str),
    up: &Background,
) -> anyhow::Result<bool> {
    println!("A person at the shop takes Ana's chat over from the phone (docs/rules.md):");
    let rules = json!({"takeover_minutes": 30, "resume_keyword": "#bot"});
    http.put(format!("{base}/api/v1/instances/shop/rules"))
        .header("x-api-key", admin_key)
        .json(&rules)
        .send()?
        .error_for_status()?;
    println!("  rules of shop: {rules}");
    let say = |id: &str, from_me: bool, text: &str| -> anyhow::Result<Value> {
        let who = if from_me {
            "typed on the shop's phone".to_owned()
        } else {
            "Ana (+5511911110001)".to_owned()
        };
        println!("→ [shop] {who}: {text}");
        let body = json!({"event": "messages.upsert", "instance": "shop-wa",
            "data": {"key": {"remoteJid": CHAT, "fromMe": from_me, "id": id}, "pushName": "Ana",
                     "message": {"conversation": text}, "messageType": "conversation"}});
        let ack: Value = http
            .post(format!("{base}/webhook/evolution/shop"))
            .header("x-omnihub-token", webhook_secret)
            .json(&body)
            .send()?
            .json()?;
        let reason = ack["reason"]
            .as_str()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default();
        println!("  webhook answered {}{reason}", ack["status"]);
        Ok(ack)
    };
    say("TAKE1", true, "Hi Ana, Maria here: I'll check the stock for you.")?;
    say("TAKE2", false, "Thanks Maria!")?;
    let paused: Value = http
        .get(format!("{base}/api/v1/instances/shop/chats?paused=true"))
        .header("x-api-key", admin_key)
        .send()?
        .json()?;
    for chat in paused.as_array().into_iter().flatten() {
        println!(
            "  paused chat of shop: {} (by {}, until {})",
            chat["chat"].as_str().unwrap_or_default(),
            chat["paused_by"].as_str().unwrap_or_default(),
            chat["paused_until"].as_str().unwrap_or("resumed")
        );
    }
    // Maria answers from the console (the same call as its reply box): the message waits its
    // turn in Ana's chat, goes out through the shop's number and keeps the chat taken over.
    let text = "We have it in blue and in red, Ana.";
    println!("⇢ [shop] Maria sends through omnihub (POST /api/v1/instances/shop/messages/send): {text}");
    let sent: Value = http
        .post(format!("{base}/api/v1/instances/shop/messages/send"))
        .header("x-api-key", admin_key)
        .json(&json!({"to": "+5511911110001", "text": text, "idempotency_key": "demo-maria-1"}))
        .send()?
        .error_for_status()?
        .json()?;
    println!(
        "  queued as message #{} (the chat stays paused: {})",
        sent["id"], sent["chat"]["paused"]
    );
    if delivered(http, up, text).is_some() {
        println!("← [shop] to +5511911110001 (from Maria): {text}");
    }
    say("TAKE3", true, "#bot")?;
    let question = "And do you deliver to Campinas?";
    say("TAKE4", false, question)?;
    let reply = delivered(http, up, question);
    match &reply {
        Some(text) => println!("← [shop] to +5511911110001: {text}"),
        None => println!("  (no reply within 20 s)"),
    }
    println!();
    Ok(reply.is_some())
}

/// The text the fake Evolution delivered to Ana that contains `needle`, waiting up to 20 s.
fn delivered(http: &reqwest::blocking::Client, up: &Background, needle: &str) -> Option<String> {
    let mut found = None;
    let waited = wait_for("the delivery", 20, || {
        let Ok(resp) = http.get(format!("{}/_sandbox/deliveries", up.evolution)).send() else {
            return false;
        };
        let Ok(map) = resp.json::<HashMap<String, Delivery>>() else {
            return false;
        };
        found = map
            .into_iter()
            .find(|(t, d)| d.number == CHAT && t.contains(needle))
            .map(|(t, _)| t);
        found.is_some()
    });
    waited.ok().and(found)
}
