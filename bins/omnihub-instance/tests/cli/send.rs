//! `send`: a message from the number, stored for the server's dispatcher, with a file as
//! media, an idempotency key, the takeover pause, and refusals naming the field.

use omnihub_db::{Database, DatabaseUrl, MessageFilter};
use omnihub_domain::Direction;
use serde_json::Value;

use crate::{add_args, assert_code, run_in, stderr, stdout};

#[test]
fn send_stores_texts_and_files_once_and_takes_the_chat_over() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_code(&run_in(d, &add_args("shop", &[]), &[]), 0);
    let first = run_in(
        d,
        &[
            "send",
            "shop",
            "+5511999990000",
            "Your order shipped",
            "--idempotency-key",
            "order-17",
        ],
        &[],
    );
    assert_code(&first, 0);
    assert!(
        stdout(&first).contains("queued as message #1"),
        "{}",
        stdout(&first)
    );
    assert!(
        stdout(&first).contains("The bot is paused for this chat"),
        "{}",
        stdout(&first)
    );
    let again = run_in(
        d,
        &[
            "--json",
            "send",
            "shop",
            "5511999990000",
            "Your order shipped",
            "--idempotency-key",
            "order-17",
        ],
        &[],
    );
    let again: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(
        (again["id"].as_i64(), again["duplicate"].as_bool()),
        (Some(1), Some(true))
    );
    let file = d.join("invoice.pdf");
    std::fs::write(&file, b"%PDF-1.4 fake").unwrap();
    let media = run_in(
        d,
        &[
            "--json",
            "send",
            "shop",
            "5521988887777",
            "the invoice",
            "--media",
            file.to_str().unwrap(),
            "--keep-bot",
        ],
        &[],
    );
    assert_code(&media, 0);
    let media: Value = serde_json::from_str(&stdout(&media)).unwrap();
    assert_eq!(
        (media["paused"].as_bool(), media["chat"].as_str()),
        (Some(false), Some("5521988887777@s.whatsapp.net"))
    );
    let db =
        Database::connect(&DatabaseUrl::parse(&d.join("data/omnihub.db").display().to_string()).unwrap())
            .unwrap();
    let mut log = db
        .messages()
        .list(&MessageFilter {
            limit: 10,
            ..Default::default()
        })
        .unwrap();
    log.reverse();
    assert_eq!(log.len(), 2, "the repeated key stored nothing");
    assert!(log
        .iter()
        .all(|m| m.direction == Direction::Outbound && m.inbound.sender_name.as_deref() == Some("cli")));
    let pdf = log[1]
        .inbound
        .content
        .media
        .as_ref()
        .unwrap_or_else(|| panic!("the file"));
    assert_eq!(
        (
            pdf.mime_type.as_deref(),
            pdf.file_name.as_deref(),
            pdf.base64.as_deref()
        ),
        (
            Some("application/pdf"),
            Some("invoice.pdf"),
            Some("JVBERi0xLjQgZmFrZQ==")
        )
    );
    assert_eq!(log[1].inbound.content.text, "the invoice");
    let chats = stdout(&run_in(d, &["chats", "shop", "--paused"], &[]));
    assert!(
        chats.contains("5511999990000@s.whatsapp.net") && !chats.contains("5521988887777"),
        "{chats}"
    );
    for (args, needle) in [
        (vec!["send", "shop", "nobody", "hi"], "to"),
        (vec!["send", "shop", "5511999990000"], "text"),
        (vec!["send", "ghost", "5511999990000", "hi"], "ghost"),
        (
            vec![
                "send",
                "shop",
                "5511999990000",
                "hi",
                "--media",
                "/nonexistent/file.png",
            ],
            "cannot read",
        ),
    ] {
        let refused = run_in(d, &args, &[]);
        assert_code(&refused, 1);
        assert!(
            stderr(&refused).contains(needle),
            "{args:?}: {}",
            stderr(&refused)
        );
    }
}
