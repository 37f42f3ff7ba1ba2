//! The OpenAPI schema of an instance's conversation rules, written out by hand: a trigger
//! is one of two shapes, and every text rule publishes the pattern the validator uses
//! (`omnihub_domain::rules`), so the document and the code cannot drift apart.

use std::borrow::Cow;

use omnihub_domain::rules::{OWN_NUMBER, RULE_ENTRY, RULE_WORD};
use omnihub_domain::IGNORABLE_TYPES;
use serde_json::{json, Value};
use utoipa::openapi::{RefOr, Schema};

/// The `ConversationRules` schema (request and answer of `/rules`).
pub struct RulesDoc;

fn word() -> Value {
    json!({"type": ["string", "null"], "minLength": RULE_WORD.min_chars, "maxLength": RULE_WORD.max_chars, "pattern": RULE_WORD.pattern})
}

fn whole(max: u64, description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "maximum": max, "description": description})
}

fn schema_json() -> Value {
    let entries = json!({"type": "array", "maxItems": 1000, "items": {"type": "string", "minLength": RULE_ENTRY.min_chars, "maxLength": RULE_ENTRY.max_chars, "pattern": RULE_ENTRY.pattern}});
    let trigger_all = json!({"type": "object", "required": ["type"], "additionalProperties": false,
        "properties": {"type": {"type": "string", "enum": ["all"]}}});
    let trigger_keyword = json!({"type": "object", "required": ["type", "operator", "value"], "additionalProperties": false,
    "properties": {
        "type": {"type": "string", "enum": ["keyword"]},
        "operator": {"type": "string", "enum": ["contains", "equals", "starts_with", "ends_with", "regex"]},
        "value": {"type": "string", "minLength": 1, "maxLength": 256, "pattern": "\\S", "description": "The keyword, or a regular expression for `regex` (an invalid one is a 422)"},
        "finish": word(),
        "expire_minutes": {"type": ["integer", "null"], "minimum": 1, "maximum": 525_600}
    }});
    json!({
        "type": "object",
        "additionalProperties": false,
        "description": "Who is answered, when, and how a human takes over. Rules left out take their defaults.",
        "properties": {
            "allow": {"description": "Phone numbers (digits, `*` suffix) or JIDs answered; empty: everyone", "allOf": [entries]},
            "block": {"description": "Phone numbers or JIDs never answered; wins over allow", "allOf": [entries]},
            "groups": {"type": "string", "enum": ["mention", "all", "off"], "description": "Group messages: only when the number is mentioned or quoted, all, or none"},
            "trigger": {"oneOf": [trigger_all, trigger_keyword], "description": "Which messages open a conversation"},
            "debounce_ms": whole(600_000, "Messages of a chat closer together than this become one agent call (0: off)"),
            "debounce_max_ms": whole(3_600_000, "The longest a burst waits from its first message (never less than debounce_ms)"),
            "takeover_minutes": whole(525_600, "How long a message typed on the phone pauses the chat (0: until resumed)"),
            "resume_keyword": word(),
            "max_per_minute": whole(10_000, "Most answered messages per chat and minute (0: no limit)"),
            "send_per_minute": whole(6_000, "Most messages the number sends per minute, replies and outbound alike (0: not paced; default 60)"),
            "ignore_types": {"type": "array", "items": {"type": "string", "enum": IGNORABLE_TYPES}},
            "own_number": {"type": ["string", "null"], "minLength": OWN_NUMBER.min_chars, "maxLength": OWN_NUMBER.max_chars, "pattern": OWN_NUMBER.pattern}
        }
    })
}

impl utoipa::PartialSchema for RulesDoc {
    fn schema() -> RefOr<Schema> {
        serde_json::from_value(schema_json())
            .unwrap_or_else(|e| unreachable!("the rules schema is valid: {e}"))
    }
}

impl utoipa::ToSchema for RulesDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ConversationRules")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_reads_as_an_openapi_schema_with_the_published_patterns() {
        let schema = serde_json::to_value(<RulesDoc as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(schema["properties"]["own_number"]["pattern"], OWN_NUMBER.pattern);
        assert_eq!(
            schema["properties"]["trigger"]["oneOf"].as_array().map(Vec::len),
            Some(2)
        );
    }
}
