//! Reading a rule set from JSON, one field at a time, so each error names its rule.

use serde_json::{Map, Value};

use super::{ConversationRules, GroupPolicy, KeywordTrigger, Trigger, TriggerOperator};
use crate::DomainError;

/// The values `ignore_types` accepts: every message kind, and `reaction`.
pub const IGNORABLE_TYPES: [&str; 9] = [
    "text", "image", "audio", "video", "document", "sticker", "location", "contact", "reaction",
];

/// Most entries in `allow` or `block`.
const MAX_ENTRIES: usize = 1000;
/// Longest debounce window: ten minutes.
const MAX_DEBOUNCE_MS: u64 = 600_000;
/// Longest wait of a burst: one hour.
const MAX_DEBOUNCE_WAIT_MS: u64 = 3_600_000;
/// Longest timed pause or session expiry: one year.
const MAX_MINUTES: u64 = 525_600;

pub(super) fn rules_from_json(value: &Value) -> Result<ConversationRules, DomainError> {
    let Value::Object(map) = value else {
        return Err(DomainError::invalid("rules", "must be a JSON object"));
    };
    let mut rules = ConversationRules::default();
    for (key, value) in map {
        match key.as_str() {
            "allow" => rules.allow = entries("allow", value)?,
            "block" => rules.block = entries("block", value)?,
            "groups" => rules.groups = groups(value)?,
            "trigger" => rules.trigger = trigger(value)?,
            "debounce_ms" => rules.debounce_ms = number("debounce_ms", value, MAX_DEBOUNCE_MS)?,
            "debounce_max_ms" => {
                rules.debounce_max_ms = number("debounce_max_ms", value, MAX_DEBOUNCE_WAIT_MS)?;
            }
            "takeover_minutes" => rules.takeover_minutes = number("takeover_minutes", value, MAX_MINUTES)?,
            "resume_keyword" => rules.resume_keyword = word("resume_keyword", value, 64)?,
            "max_per_minute" => rules.max_per_minute = number("max_per_minute", value, 10_000)?,
            "send_per_minute" => rules.send_per_minute = number("send_per_minute", value, 6_000)?,
            "ignore_types" => rules.ignore_types = ignore_types(value)?,
            "own_number" => rules.own_number = own_number(value)?,
            other => {
                return Err(DomainError::invalid(
                    "rules",
                    format!(
                        "{other:?} is not a rule (rules: allow, block, groups, trigger, debounce_ms, debounce_max_ms, takeover_minutes, resume_keyword, max_per_minute, send_per_minute, ignore_types, own_number)"
                    ),
                ))
            }
        }
    }
    // A `debounce_max_ms` below `debounce_ms` is not an error: a burst then waits
    // `debounce_ms` at most (see the decision), as documented.
    Ok(rules)
}

/// A whole number in `0..=max`; `1500.0` counts as whole.
fn number(field: &'static str, value: &Value, max: u64) -> Result<u32, DomainError> {
    let bad = || DomainError::invalid(field, format!("must be a whole number from 0 to {max}"));
    let n = match value {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= max as f64)
                .map(|f| f as u64)
        }),
        _ => None,
    }
    .ok_or_else(bad)?;
    if n > max {
        return Err(bad());
    }
    u32::try_from(n).map_err(|_| bad())
}

/// One word without whitespace or control characters, 1 to `max` characters; `null`: none.
fn word(field: &'static str, value: &Value, max: usize) -> Result<Option<String>, DomainError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if s.chars().count() <= max && crate::rules::RULE_WORD.allows(s) => {
            Ok(Some(s.clone()))
        }
        _ => Err(DomainError::invalid(
            field,
            format!("must be one word of 1 to {max} characters without spaces, or null"),
        )),
    }
}

fn entries(field: &'static str, value: &Value) -> Result<Vec<String>, DomainError> {
    let rule = "must be a list of phone numbers (digits, optionally ending in *) or WhatsApp JIDs (e.g. 5511999999999@s.whatsapp.net, 123@lid, 1203630@g.us)";
    let Value::Array(items) = value else {
        return Err(DomainError::invalid(field, rule));
    };
    if items.len() > MAX_ENTRIES {
        return Err(DomainError::invalid(
            field,
            format!("has more than {MAX_ENTRIES} entries"),
        ));
    }
    items
        .iter()
        .map(|item| match item.as_str() {
            Some(entry) if is_entry(entry) => Ok(entry.to_owned()),
            Some(entry) => Err(DomainError::invalid(field, format!("{entry:?}: {rule}"))),
            None => Err(DomainError::invalid(field, rule)),
        })
        .collect()
}

fn is_entry(entry: &str) -> bool {
    if entry.len() > 128 {
        return false;
    }
    if let Some((user, server)) = entry.split_once('@') {
        return !user.is_empty()
            && user
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
            && matches!(server, "s.whatsapp.net" | "c.us" | "lid" | "g.us");
    }
    let digits = entry.strip_suffix('*').unwrap_or(entry);
    (!digits.is_empty() || entry == "*") && digits.bytes().all(|b| b.is_ascii_digit())
}

fn groups(value: &Value) -> Result<GroupPolicy, DomainError> {
    match value.as_str() {
        Some("mention") => Ok(GroupPolicy::Mention),
        Some("all") => Ok(GroupPolicy::All),
        Some("off") => Ok(GroupPolicy::Off),
        _ => Err(DomainError::invalid("groups", "must be one of mention, all, off")),
    }
}

fn ignore_types(value: &Value) -> Result<Vec<String>, DomainError> {
    let rule = format!("must be a list of message types ({})", IGNORABLE_TYPES.join(", "));
    let Value::Array(items) = value else {
        return Err(DomainError::invalid("ignore_types", rule));
    };
    let mut types = Vec::new();
    for item in items {
        match item.as_str() {
            Some(t) if IGNORABLE_TYPES.contains(&t) => {
                if !types.iter().any(|known| known == t) {
                    types.push(t.to_owned());
                }
            }
            _ => return Err(DomainError::invalid("ignore_types", rule)),
        }
    }
    Ok(types)
}

fn own_number(value: &Value) -> Result<Option<String>, DomainError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) if crate::rules::OWN_NUMBER.allows(s) => Ok(Some(s.clone())),
        _ => Err(DomainError::invalid(
            "own_number",
            "must be the instance's phone number as 5 to 20 digits, country code first, or null",
        )),
    }
}

fn trigger(value: &Value) -> Result<Trigger, DomainError> {
    let Value::Object(map) = value else {
        return Err(DomainError::invalid(
            "trigger",
            r#"must be {"type": "all"} or {"type": "keyword", "operator": …, "value": …}"#,
        ));
    };
    match map.get("type").and_then(Value::as_str) {
        Some("all") if map.len() == 1 => Ok(Trigger::All),
        Some("all") => Err(DomainError::invalid(
            "trigger",
            r#"{"type": "all"} takes no other fields"#,
        )),
        Some("keyword") => keyword(map).map(Trigger::Keyword),
        _ => Err(DomainError::invalid("trigger.type", "must be all or keyword")),
    }
}

fn keyword(map: &Map<String, Value>) -> Result<KeywordTrigger, DomainError> {
    if let Some(other) = map.keys().find(|k| {
        !matches!(
            k.as_str(),
            "type" | "operator" | "value" | "finish" | "expire_minutes"
        )
    }) {
        return Err(DomainError::invalid(
            "trigger",
            format!("{other:?} is not a trigger field (type, operator, value, finish, expire_minutes)"),
        ));
    }
    let operator: TriggerOperator = map
        .get("operator")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .ok_or_else(|| {
            DomainError::invalid(
                "trigger.operator",
                "must be one of contains, equals, starts_with, ends_with, regex",
            )
        })?;
    let value = match map.get("value").and_then(Value::as_str) {
        // Not only whitespace: the same test as the published pattern `\S`.
        Some(v) if v.chars().any(|c| !c.is_whitespace()) && v.chars().count() <= 256 => v.to_owned(),
        _ => {
            return Err(DomainError::invalid(
                "trigger.value",
                "must be a non-blank text of at most 256 characters",
            ))
        }
    };
    let regex = match operator {
        TriggerOperator::Regex => Some(
            regex_lite::RegexBuilder::new(&value)
                .size_limit(1 << 20)
                .build()
                .map_err(|e| {
                    DomainError::invalid("trigger.value", format!("is not a valid regular expression: {e}"))
                })?,
        ),
        _ => None,
    };
    let finish = word("trigger.finish", map.get("finish").unwrap_or(&Value::Null), 64)?;
    let expire_minutes = match map.get("expire_minutes") {
        None | Some(Value::Null) => None,
        Some(v) => match number("trigger.expire_minutes", v, MAX_MINUTES)? {
            0 => {
                return Err(DomainError::invalid(
                    "trigger.expire_minutes",
                    "must be at least 1, or null",
                ))
            }
            n => Some(n),
        },
    };
    Ok(KeywordTrigger {
        operator,
        value,
        finish,
        expire_minutes,
        regex,
    })
}
