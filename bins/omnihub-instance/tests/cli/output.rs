//! What `list`, `show`, `add`, `update` and `set-default` print, as tables and as JSON.

use serde_json::Value;

use crate::{add_args, assert_code, run_in, stdout};

#[test]
fn empty_database_lists_no_instances_and_is_created_on_first_use() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_in(dir.path(), &["list"], &[]);
    assert_code(&out, 0);
    assert_eq!(stdout(&out), "No instances found\n");
    assert!(dir.path().join("data/omnihub.db").exists());
    let json = run_in(dir.path(), &["--json", "list"], &[]);
    assert_eq!(stdout(&json).trim(), "[]");
}

#[test]
fn add_list_show_update_and_set_default_print_what_happened() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = run_in(d, &add_args("support", &["--session-id-prefix", "wa-"]), &[]);
    assert_code(&out, 0);
    assert_eq!(
        stdout(&out),
        "Instance 'support' created. It is the default instance.\n"
    );
    assert_code(&run_in(d, &add_args("sales", &["--agent-timeout", "90"]), &[]), 0);

    let list = stdout(&run_in(d, &["list"], &[]));
    for header in [
        "Name",
        "WhatsApp instance",
        "Agent API URL",
        "Default agent",
        "Timeout",
        "Default",
    ] {
        assert!(list.contains(header), "{list}");
    }
    let lines: Vec<&str> = list.lines().filter(|l| l.contains("agents.local")).collect();
    assert_eq!(lines.len(), 2, "{list}");
    assert!(
        lines[0].contains("sales") && lines[0].contains("90s") && !lines[0].contains('✓'),
        "{list}"
    );
    assert!(
        lines[1].contains("support") && lines[1].contains("60s") && lines[1].contains('✓'),
        "{list}"
    );

    let show = stdout(&run_in(d, &["show", "support"], &[]));
    for field in [
        "ID",
        "Name",
        "Evolution URL",
        "Evolution key",
        "WhatsApp instance",
        "Session ID prefix",
        "Agent API URL",
        "Agent API key",
        "Default agent",
        "Agent timeout",
        "Default",
        "Created",
        "Updated",
    ] {
        assert!(show.contains(field), "{field} missing in {show}");
    }
    assert!(
        show.contains("****6789") && show.contains("****EFGH") && show.contains("wa-"),
        "{show}"
    );

    let out = run_in(
        d,
        &["update", "sales", "--agent-timeout", "120", "--default"],
        &[],
    );
    assert_eq!(
        stdout(&out),
        "Instance 'sales' updated. It is the default instance.\n"
    );
    let sales: Value = serde_json::from_str(&stdout(&run_in(d, &["--json", "show", "sales"], &[]))).unwrap();
    assert_eq!(sales["agent_timeout"], 120);
    assert_eq!(sales["default_agent"], "sofia", "other fields untouched");
    let out = run_in(d, &["set-default", "support"], &[]);
    assert_eq!(
        stdout(&out),
        "Instance 'support' made the default. It is the default instance.\n"
    );
}

#[test]
fn json_output_has_every_column_with_masked_keys() {
    let dir = tempfile::tempdir().unwrap();
    run_in(dir.path(), &add_args("bot", &[]), &[]);
    let list: Value = serde_json::from_str(&stdout(&run_in(dir.path(), &["--json", "list"], &[]))).unwrap();
    let bot = &list[0];
    let mut keys: Vec<&str> = bot.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "agent_api_key",
            "agent_api_url",
            "agent_kind",
            "agent_options",
            "agent_timeout",
            "connection",
            "created_at",
            "default_agent",
            "evolution_key",
            "evolution_url",
            "id",
            "is_default",
            "name",
            "paused_chats",
            "session_id_prefix",
            "updated_at",
            "webhook_secret",
            "whatsapp_instance"
        ]
    );
    assert_eq!(bot["agent_api_key"], "****6789");
    assert_eq!(bot["evolution_key"], "****EFGH");
    assert!(bot["created_at"].as_str().unwrap().ends_with('Z'));
}
