//! Tests of per-kind option validation.

use serde_json::json;

use super::*;

fn map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("test inputs are objects"),
    }
}

fn rule(kind: AgentKind, options: Value) -> String {
    AgentOptions::parse(kind, &map(options)).unwrap_err().to_string()
}

#[test]
fn openai_options_validate_and_default() {
    let parsed = AgentOptions::parse(
        AgentKind::Openai,
        &map(
            json!({"system_prompt": "Be brief.", "history_turns": 6, "temperature": 0.3, "max_tokens": 300}),
        ),
    )
    .unwrap();
    assert_eq!(parsed.history_turns(), 6);
    assert_eq!(parsed.max_tokens, Some(300));
    assert_eq!(AgentOptions::default().history_turns(), DEFAULT_HISTORY_TURNS);
    assert!(rule(AgentKind::Openai, json!({"history_turns": -1}))
        .contains("`history_turns` must be a whole number"));
    assert!(rule(AgentKind::Openai, json!({"history_turns": "6"})).contains("history_turns"));
    assert!(rule(AgentKind::Openai, json!({"temperature": 2.5}))
        .contains("`temperature` must be a number from 0 to 2"));
    assert!(rule(AgentKind::Openai, json!({"system_prompt": ""})).contains("system_prompt"));
    // JSON Schema counts 6.0 as an integer, so omnihub does too.
    let float = AgentOptions::parse(AgentKind::Openai, &map(json!({"history_turns": 6.0}))).unwrap();
    assert_eq!(float.history_turns, Some(6));
    assert!(rule(AgentKind::Openai, json!({"history_turns": 6.5})).contains("history_turns"));
}

#[test]
fn unknown_options_and_options_of_another_kind_are_named() {
    let message = rule(AgentKind::Openai, json!({"app_type": "chat"}));
    assert_eq!(
        message,
        "invalid agent_options: unknown option `app_type`: agent_kind openai takes system_prompt, history_turns, temperature, max_tokens"
    );
    assert!(rule(AgentKind::Flowise, json!({"x": 1})).contains("agent_kind flowise takes no options"));
    assert!(rule(AgentKind::Dify, json!({"inputs": null})).contains("`inputs` must be a JSON object"));
}

#[test]
fn dify_n8n_and_typebot_options() {
    let dify = AgentOptions::parse(
        AgentKind::Dify,
        &map(json!({"app_type": "workflow", "inputs": {"lang": "pt"}, "workflow_output": "result"})),
    )
    .unwrap();
    assert_eq!(
        (dify.app_type(), dify.workflow_output()),
        (DifyAppType::Workflow, "result")
    );
    assert_eq!(AgentOptions::default().workflow_output(), "text");
    assert!(rule(AgentKind::Dify, json!({"app_type": "completion"})).contains("chat, agent or workflow"));
    assert!(rule(AgentKind::N8n, json!({"basic_auth_user": "bot"})).contains("set both or neither"));
    assert!(rule(AgentKind::Typebot, json!({"expire_minutes": 0})).contains("expire_minutes"));
    assert_eq!(AgentOptions::default().expire_minutes(), 60);
}

#[test]
fn the_n8n_password_is_masked_when_shown_and_kept_when_stored() {
    let n8n = AgentOptions::parse(
        AgentKind::N8n,
        &map(json!({"basic_auth_user": "bot", "basic_auth_password": "hunter2-very-long-pass"})),
    )
    .unwrap();
    let shown = serde_json::to_value(&n8n).unwrap();
    assert_eq!(
        shown,
        json!({"basic_auth_user": "bot", "basic_auth_password": "****pass"})
    );
    assert_eq!(n8n.to_stored()["basic_auth_password"], "hunter2-very-long-pass");
    assert!(!format!("{n8n:?}").contains("hunter2"));
}

#[test]
fn merging_replaces_given_keys_and_null_removes_one() {
    let stored = AgentOptions::parse(
        AgentKind::Openai,
        &map(json!({"system_prompt": "A", "history_turns": 4})),
    )
    .unwrap();
    let merged = stored
        .merged(
            AgentKind::Openai,
            &map(json!({"history_turns": 8, "system_prompt": null})),
        )
        .unwrap();
    assert_eq!((merged.history_turns, merged.system_prompt), (Some(8), None));
    assert!(stored
        .merged(AgentKind::Openai, &map(json!({"bogus": 1})))
        .is_err());
}
