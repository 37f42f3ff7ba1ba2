use serde_json::json;

use super::*;

fn field_of(value: Value) -> &'static str {
    ConversationRules::from_json(&value).unwrap_err().field()
}

#[test]
fn defaults_read_back_and_store_as_nothing() {
    let rules = ConversationRules::from_json(&json!({})).unwrap();
    assert_eq!(rules, ConversationRules::default());
    assert_eq!(rules.to_stored(), "{}");
    assert_eq!(rules.to_json()["groups"], "mention");
    assert_eq!(rules.to_json()["ignore_types"], json!(["reaction", "sticker"]));
    assert_eq!(ConversationRules::from_stored("").unwrap(), rules);
}

#[test]
fn a_full_rule_set_round_trips() {
    let value = json!({
        "allow": ["5511*", "123@lid"], "block": ["551199"], "groups": "all",
        "trigger": {"type": "keyword", "operator": "starts_with", "value": "Oi", "finish": "tchau", "expire_minutes": 15},
        "debounce_ms": 1500.0, "debounce_max_ms": 5000, "takeover_minutes": 0, "resume_keyword": "#bot",
        "max_per_minute": 5, "ignore_types": ["audio"], "own_number": "5511900000000"
    });
    let rules = ConversationRules::from_json(&value).unwrap();
    assert_eq!(rules.debounce_ms, 1500, "a whole float counts");
    let short = ConversationRules::from_json(&json!({"debounce_ms": 5000, "debounce_max_ms": 1000})).unwrap();
    assert_eq!(
        short.debounce_max_ms, 1000,
        "a shorter longest wait is allowed: the window is the wait"
    );
    let stored = ConversationRules::from_stored(&rules.to_stored()).unwrap();
    assert_eq!(stored, rules);
    assert_eq!(stored.to_json()["trigger"]["operator"], "starts_with");
}

#[test]
fn each_bad_rule_is_named() {
    assert_eq!(field_of(json!([])), "rules");
    assert_eq!(field_of(json!({"colour": 1})), "rules");
    assert_eq!(field_of(json!({"allow": ["55 11"]})), "allow");
    assert_eq!(field_of(json!({"block": "5511"})), "block");
    assert_eq!(field_of(json!({"allow": ["x@example.com"]})), "allow");
    assert_eq!(field_of(json!({"groups": "some"})), "groups");
    assert_eq!(field_of(json!({"trigger": {"type": "maybe"}})), "trigger.type");
    assert_eq!(
        field_of(json!({"trigger": {"type": "keyword", "value": "x"}})),
        "trigger.operator"
    );
    assert_eq!(
        field_of(json!({"trigger": {"type": "keyword", "operator": "equals"}})),
        "trigger.value"
    );
    assert_eq!(
        field_of(json!({"trigger": {"type": "keyword", "operator": "regex", "value": "(unclosed"}})),
        "trigger.value"
    );
    assert_eq!(
        field_of(
            json!({"trigger": {"type": "keyword", "operator": "equals", "value": "a", "expire_minutes": 0}})
        ),
        "trigger.expire_minutes"
    );
    assert_eq!(
        field_of(json!({"trigger": {"type": "all", "value": "x"}})),
        "trigger"
    );
    assert_eq!(field_of(json!({"debounce_ms": -1})), "debounce_ms");
    assert_eq!(field_of(json!({"debounce_ms": 1.5})), "debounce_ms");
    assert_eq!(field_of(json!({"debounce_ms": "100"})), "debounce_ms");
    assert_eq!(
        field_of(json!({"takeover_minutes": 10_000_000})),
        "takeover_minutes"
    );
    assert_eq!(field_of(json!({"resume_keyword": "two words"})), "resume_keyword");
    assert_eq!(field_of(json!({"resume_keyword": ""})), "resume_keyword");
    assert_eq!(field_of(json!({"max_per_minute": true})), "max_per_minute");
    assert_eq!(field_of(json!({"ignore_types": ["gif"]})), "ignore_types");
    assert_eq!(field_of(json!({"own_number": "+55 11"})), "own_number");
}

#[test]
fn keyword_operators_compare_case_insensitively_except_regex() {
    let trigger = |operator: &str, value: &str| match ConversationRules::from_json(
        &json!({"trigger": {"type": "keyword", "operator": operator, "value": value, "finish": "Bye"}}),
    )
    .unwrap()
    .trigger
    {
        Trigger::Keyword(k) => k,
        Trigger::All => unreachable!(),
    };
    assert!(trigger("contains", "PRICE").opens("what is the price?"));
    assert!(!trigger("contains", "price").opens("hello"));
    assert!(trigger("equals", "menu").opens("  Menu "));
    assert!(!trigger("equals", "menu").opens("menu please"));
    assert!(trigger("starts_with", "oi").opens("Oi, tudo bem?"));
    assert!(!trigger("starts_with", "oi").opens("tudo bem? oi"));
    assert!(trigger("ends_with", "bot").opens("hey BOT"));
    assert!(trigger("regex", r"^order #\d+$").opens("order #42"));
    assert!(
        !trigger("regex", r"^order #\d+$").opens("ORDER #42"),
        "regex is case-sensitive"
    );
    assert!(trigger("equals", "x").finishes(" bye "));
    assert!(!trigger("equals", "x").finishes("bye now"));
}

#[test]
fn entries_match_numbers_wildcards_and_jids() {
    let addresses = vec!["5511999@s.whatsapp.net".to_owned(), "123@lid".to_owned()];
    assert!(entry_matches("5511999", Some("5511999"), &addresses));
    assert!(entry_matches("5511*", Some("5511999"), &addresses));
    assert!(entry_matches("*", Some("1"), &[]));
    assert!(!entry_matches("5512*", Some("5511999"), &addresses));
    assert!(entry_matches("123@lid", None, &addresses));
    assert!(
        !entry_matches("5511999", None, &addresses),
        "digits need a known phone"
    );
}
