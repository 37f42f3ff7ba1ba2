//! Tests of instance input validation.

use super::*;

fn valid_input() -> NewInstanceInput {
    NewInstanceInput {
        name: "flashinho_v2".into(),
        whatsapp_instance: "flashinho_v2".into(),
        agent_api_url: "http://localhost:8001".into(),
        agent_api_key: "secret_key_123456".into(),
        default_agent: "flashinho_pro".into(),
        ..NewInstanceInput::default()
    }
}

#[test]
fn a_complete_input_validates_with_defaults() {
    let new = valid_input().validate().unwrap();
    assert_eq!(new.name.as_str(), "flashinho_v2");
    assert_eq!(new.agent_timeout.secs(), 60);
    assert_eq!(new.evolution_url, None);
    assert_eq!(new.evolution_key, None);
    assert!(!new.is_default);
}

#[test]
fn empty_evolution_settings_mean_not_configured_but_bad_ones_are_rejected() {
    let mut input = valid_input();
    input.evolution_url = Some(String::new());
    input.evolution_key = Some(String::new());
    assert_eq!(input.clone().validate().unwrap().evolution_url, None);
    input.evolution_url = Some("evolution:8080".into());
    assert_eq!(input.validate().unwrap_err().field(), "evolution_url");
}

#[test]
fn each_required_field_is_named_when_it_is_wrong() {
    type Breaker = fn(&mut NewInstanceInput);
    let cases: [(&str, Breaker); 6] = [
        ("name", |i| i.name = "bad name".into()),
        ("whatsapp_instance", |i| i.whatsapp_instance = String::new()),
        ("agent_api_url", |i| i.agent_api_url = "ftp://x".into()),
        ("agent_api_key", |i| i.agent_api_key = String::new()),
        ("default_agent", |i| i.default_agent = "../admin".into()),
        ("agent_timeout", |i| i.agent_timeout = Some(0)),
    ];
    for (field, break_it) in cases {
        let mut input = valid_input();
        break_it(&mut input);
        let err = input.validate().unwrap_err();
        assert_eq!(err.field(), field);
        assert!(err.to_string().contains(field), "{err}");
    }
}

#[test]
fn changes_validate_only_given_fields() {
    let changes = InstanceChangesInput {
        agent_timeout: Some(120),
        is_default: Some(true),
        ..Default::default()
    }
    .validate()
    .unwrap();
    assert_eq!(changes.agent_timeout.map(AgentTimeout::secs), Some(120));
    assert!(changes.make_default);
    assert_eq!(changes.agent_api_url, None);
    assert!(InstanceChangesInput::default().validate().unwrap().is_empty());
}

#[test]
fn changes_can_clear_optional_fields_but_not_unset_default() {
    let changes = InstanceChangesInput {
        evolution_url: Some(String::new()),
        session_id_prefix: Some(String::new()),
        ..Default::default()
    }
    .validate()
    .unwrap();
    assert_eq!(changes.evolution_url, Some(None));
    assert_eq!(changes.session_id_prefix, Some(None));
    let err = InstanceChangesInput {
        is_default: Some(false),
        ..Default::default()
    }
    .validate()
    .unwrap_err();
    assert_eq!(err.field(), "is_default");
}

#[test]
fn json_input_rejects_unknown_fields_and_wrong_types() {
    let unknown = serde_json::from_str::<InstanceChangesInput>(r#"{"agent_timout": 5}"#);
    assert!(unknown.unwrap_err().to_string().contains("unknown field"));
    let wrong = serde_json::from_str::<InstanceChangesInput>(r#"{"agent_timeout": "5"}"#);
    assert!(wrong.is_err());
    let missing = serde_json::from_str::<NewInstanceInput>(r#"{"name": "a"}"#);
    assert!(missing.unwrap_err().to_string().contains("missing field"));
}
