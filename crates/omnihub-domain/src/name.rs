//! Names: the instance name and the upstream names that end up in URL paths.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::{rules, DomainError};

/// The longest instance name accepted.
pub const INSTANCE_NAME_MAX: usize = 64;

/// The unique name of an omnihub instance, kept exactly as typed.
///
/// 1–64 characters of `A-Z a-z 0-9 . _ -`, starting with a letter or digit. It appears in
/// webhook URLs (`/webhook/evolution/{name}`), so nothing else is allowed and nothing is
/// rewritten: what the admin typed is what is stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstanceName(String);

impl InstanceName {
    /// Validates `value` as an instance name.
    pub fn parse(value: impl Into<String>) -> Result<Self, DomainError> {
        let value = value.into();
        let rule =
            "must be 1-64 characters of letters, digits, '.', '_' or '-', starting with a letter or digit";
        if !rules::INSTANCE_NAME.allows(&value) {
            return Err(DomainError::invalid("name", rule));
        }
        Ok(Self(value))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for InstanceName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// A name used as one path segment of an upstream URL: the Evolution instance
/// (`whatsapp_instance`) or the agent name (`default_agent`).
///
/// 1–128 characters, no whitespace at either end, no control characters and none of
/// `/ ? # %`, so it can never change which upstream endpoint a request reaches.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PathName(String);

impl PathName {
    /// Validates `value` for the field `field` (used in the error message).
    pub fn parse(field: &'static str, value: impl Into<String>) -> Result<Self, DomainError> {
        let value = value.into();
        if value.is_empty() {
            return Err(DomainError::missing(field, "must not be empty"));
        }
        if !rules::PATH_NAME.allows(&value) {
            return Err(DomainError::invalid(
                field,
                "must be 1-128 characters without '/', '?', '#', '%', control characters or surrounding spaces, and not only dots ('.' and '..' would change the upstream URL)",
            ));
        }
        Ok(Self(value))
    }

    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PathName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for PathName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// Validates an optional session-name prefix: empty means "none"; otherwise at most 64
/// characters without whitespace or control characters.
pub fn parse_session_prefix(value: Option<String>) -> Result<Option<String>, DomainError> {
    match value {
        None => Ok(None),
        Some(v) if v.is_empty() => Ok(None),
        Some(v) => {
            if !rules::SESSION_PREFIX.allows(&v) {
                return Err(DomainError::invalid(
                    "session_id_prefix",
                    "must be at most 64 characters without spaces or control characters",
                ));
            }
            Ok(Some(v))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_names_that_are_accepted_are_kept_as_typed() {
        for ok in ["a", "Z9", "flashinho_v2", "My.Bot-1", "0", &"x".repeat(64)] {
            assert_eq!(InstanceName::parse(ok).map(|n| n.to_string()), Ok(ok.to_string()));
        }
    }

    #[test]
    fn instance_names_that_break_a_rule_are_rejected_with_the_field() {
        for bad in ["", "_a", ".a", "-a", "a b", "a/b", "ação", "a\n", &"x".repeat(65)] {
            let err = InstanceName::parse(bad).unwrap_err();
            assert_eq!(err.field(), "name", "{bad:?}");
            assert!(err.to_string().contains("1-64 characters"), "{err}");
        }
    }

    #[test]
    fn path_names_reject_separators_and_padding() {
        assert!(PathName::parse("default_agent", "simple_agent").is_ok());
        assert!(PathName::parse("whatsapp_instance", "Minha Loja").is_ok());
        for good in ["a", "v1.2", ".env", "..a", ".a b", "a.", "x..y"] {
            assert!(PathName::parse("default_agent", good).is_ok(), "{good:?}");
        }
        for bad in [
            "a/b",
            "a?b",
            "a#b",
            "a%2f",
            " a",
            "a ",
            "a\tb",
            ".",
            "..",
            "...",
            &"x".repeat(129),
        ] {
            let err = PathName::parse("default_agent", bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    DomainError::Invalid {
                        field: "default_agent",
                        ..
                    }
                ),
                "{bad:?}"
            );
        }
        let empty = PathName::parse("whatsapp_instance", "").unwrap_err();
        assert!(matches!(
            empty,
            DomainError::Missing {
                field: "whatsapp_instance",
                ..
            }
        ));
    }

    #[test]
    fn session_prefix_empty_means_none_and_spaces_are_rejected() {
        assert_eq!(parse_session_prefix(None), Ok(None));
        assert_eq!(parse_session_prefix(Some(String::new())), Ok(None));
        assert_eq!(parse_session_prefix(Some("wa_".into())), Ok(Some("wa_".into())));
        assert!(parse_session_prefix(Some("a b".into())).is_err());
        assert!(parse_session_prefix(Some("x".repeat(65))).is_err());
    }
}
