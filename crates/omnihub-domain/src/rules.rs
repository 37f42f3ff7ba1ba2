//! The validation rules of text fields, stated once: the validators of this crate check them
//! and the admin API's OpenAPI document publishes them as `pattern`, `minLength` and
//! `maxLength`, so the two cannot drift.
//!
//! Patterns use only syntax that Rust's `regex-lite`, ECMA-262 (JSON Schema) and Python's
//! `re` (the API fuzzer) read the same way: character classes, `\xHH` and `\uHHHH` escapes,
//! groups and bounded repetition.

use std::sync::LazyLock;

/// A rule on a text field: a length in characters and a pattern the whole value matches.
#[derive(Debug)]
pub struct TextRule {
    /// The field the rule is for, as errors name it.
    pub field: &'static str,
    /// Fewest characters.
    pub min_chars: usize,
    /// Most characters.
    pub max_chars: usize,
    /// The pattern, anchored (`^…$`).
    pub pattern: &'static str,
    regex: LazyLock<regex_lite::Regex>,
}

/// Whitespace (Rust's `char::is_whitespace`) and control characters (`char::is_control`).
macro_rules! space_or_control {
    () => {
        r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
    };
}
/// Control characters only.
macro_rules! control {
    () => {
        r"\x00-\x1f\x7f-\x9f"
    };
}
/// One label of a host name: letters, digits and single hyphens between them.
macro_rules! label {
    () => {
        r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
    };
}
/// An IPv4 octet, 0-255.
macro_rules! octet {
    () => {
        r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
    };
}

macro_rules! rule {
    ($name:ident, $field:literal, $min:expr, $max:expr, $pattern:expr, $doc:literal) => {
        #[doc = $doc]
        pub static $name: TextRule = TextRule {
            field: $field,
            min_chars: $min,
            max_chars: $max,
            pattern: $pattern,
            regex: LazyLock::new(|| {
                regex_lite::Regex::new($pattern).unwrap_or_else(|e| unreachable!("{}: {e}", $field))
            }),
        };
    };
}

rule!(
    INSTANCE_NAME,
    "name",
    1,
    crate::INSTANCE_NAME_MAX,
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    "An instance name: letters, digits, `.`, `_`, `-`, starting with a letter or digit."
);
rule!(
    PATH_NAME,
    "path_name",
    1,
    128,
    // Not only dots: `.` and `..` would remove a segment from the upstream URL. So either
    // the first character is not a dot, or dots are followed by a character that is not.
    concat!(
        "^(?:[^", space_or_control!(), "/?#%.](?:[^", control!(), "/?#%]*[^", space_or_control!(), "/?#%])?",
        r"|\.+(?:[^", space_or_control!(), "/?#%.]|[^", control!(), "/?#%.][^", control!(), "/?#%]*[^", space_or_control!(), "/?#%]))$"
    ),
    "A name used as one URL path segment upstream (`whatsapp_instance`, `default_agent`): no `/ ? # %`, no control characters, no surrounding whitespace, not only dots."
);
rule!(
    SESSION_PREFIX,
    "session_id_prefix",
    0,
    64,
    concat!("^[^", space_or_control!(), "]*$"),
    "A session-name prefix: no whitespace or control characters (empty: none)."
);
rule!(
    SECRET,
    "secret",
    1,
    4096,
    concat!("^[^", space_or_control!(), "]+$"),
    "A key sent in an HTTP header: no whitespace or control characters."
);
rule!(
    WEBHOOK_SECRET,
    "webhook_secret",
    crate::WEBHOOK_SECRET_MIN_LEN,
    4096,
    // The minimum is in the pattern too, so the pattern alone says it when an empty string
    // (no token) is also accepted; a test keeps the two equal.
    concat!("^[^", space_or_control!(), "]{16,}$"),
    "A webhook token: a secret of at least 16 characters."
);
rule!(
    HTTP_URL,
    "url",
    1,
    2048,
    concat!(
        "^https?://(?:",
        octet!(), r"\.", octet!(), r"\.", octet!(), r"\.", octet!(),
        "|(?:", label!(), r"\.)*[A-Za-z](?:[A-Za-z0-9]*(?:-[A-Za-z0-9]+)*)",
        r")(?::(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?",
        r"(?:/[A-Za-z0-9._~-]*)*$"
    ),
    "An upstream URL: `http://` or `https://`, a host name or IPv4 address, an optional port (0-65535) and a path of unreserved characters; no credentials, query or fragment."
);
rule!(
    PHONE_NUMBER,
    "number",
    5,
    21,
    r"^\+?[0-9]{5,20}$",
    "A phone number for a pairing code: 5 to 20 digits, country code first, an optional leading `+`."
);

rule!(
    RULE_WORD,
    "resume_keyword",
    1,
    64,
    concat!("^[^", space_or_control!(), "]+$"),
    "A keyword of the conversation rules (`resume_keyword`, a trigger's `finish`): one word, no whitespace or control characters."
);
rule!(
    RULE_ENTRY,
    "allow",
    1,
    128,
    r"^(?:[0-9]+\*?|\*|[A-Za-z0-9._:-]+@(?:s\.whatsapp\.net|c\.us|lid|g\.us))$",
    "An `allow`/`block` entry: phone digits with an optional `*` suffix (`*` alone: everyone), or a WhatsApp JID."
);
rule!(
    OWN_NUMBER,
    "own_number",
    5,
    20,
    r"^[0-9]{5,20}$",
    "The instance's own number: 5 to 20 digits, country code first."
);

rule!(
    CHAT,
    "chat",
    5,
    128,
    r"^(?:\+?[0-9]{5,20}|[A-Za-z0-9._:-]{1,100}@(?:s\.whatsapp\.net|c\.us|lid|g\.us))$",
    "A chat as an admin names it: a phone number (5 to 20 digits, an optional leading `+`) or a WhatsApp JID."
);

impl TextRule {
    /// Whether `value` satisfies the rule.
    pub fn allows(&self, value: &str) -> bool {
        let chars = value.chars().count();
        (self.min_chars..=self.max_chars).contains(&chars) && self.regex.is_match(value)
    }

    /// The pattern for a field where an empty string is also accepted (it clears the field).
    pub fn pattern_or_empty(&self) -> String {
        format!("^(?:{})?$", &self.pattern[1..self.pattern.len() - 1])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles_and_accepts_its_examples() {
        for (rule, good, bad) in [
            (&INSTANCE_NAME, "support-bot.v2", "_hidden"),
            (&PATH_NAME, "Minha Loja", " padded"),
            (&SESSION_PREFIX, "wa-", "has space"),
            (&SECRET, "sk-0123456789", "tab\tinside"),
            (&WEBHOOK_SECRET, "0123456789abcdef", "0123456789abcde"),
            (&HTTP_URL, "http://agents:8000/prefix", "http://user@host"),
            (&PHONE_NUMBER, "+5511988887777", "+55 11 98888-7777"),
            (&PHONE_NUMBER, "5511988887777", "1234"),
            (&HTTP_URL, "https://127.0.0.1:8001", "http://999.0.0.1"),
            (&HTTP_URL, "http://my-agent.internal/", "http://xn--a.example"),
            (&HTTP_URL, "http://127.0.0.1:65535", "http://127.0.0.1:65536"),
        ] {
            assert!(rule.allows(good), "{} should allow {good:?}", rule.field);
            assert!(!rule.allows(bad), "{} should refuse {bad:?}", rule.field);
        }
        assert!(!INSTANCE_NAME.allows(&"a".repeat(65)));
        assert!(!PATH_NAME.allows("a\u{2003}"), "unicode space at the end");
        assert!(!SECRET.allows("no\u{a0}break"));
    }

    #[test]
    fn the_webhook_secret_pattern_states_the_minimum() {
        let min = crate::WEBHOOK_SECRET_MIN_LEN;
        assert!(WEBHOOK_SECRET.pattern.contains(&format!("{{{min},}}")));
        assert!(WEBHOOK_SECRET.allows(&"x".repeat(min)) && !WEBHOOK_SECRET.allows(&"x".repeat(min - 1)));
    }

    #[test]
    fn clearable_fields_accept_the_empty_string() {
        let pattern = regex_lite::Regex::new(&WEBHOOK_SECRET.pattern_or_empty()).unwrap();
        assert!(pattern.is_match("") && pattern.is_match("0123456789abcdef"));
        assert!(!pattern.is_match(" "));
    }
}
