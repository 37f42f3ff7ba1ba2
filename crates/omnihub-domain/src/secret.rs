//! Secrets (API keys) that can be used but never printed.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::DomainError;

/// An API key or token. `Debug`, `Display` and `Serialize` all print a mask such as
/// `****abcd`; the value itself is only reachable through [`Secret::expose`].
///
/// Secrets shorter than 12 characters are masked completely (`****`): showing four of
/// eight characters would give half of the key away.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Validates `value` as the secret of `field`: non-empty, at most 4096 characters,
    /// no whitespace or control characters (it travels in HTTP headers).
    pub fn parse(field: &'static str, value: impl Into<String>) -> Result<Self, DomainError> {
        let value = value.into();
        if value.is_empty() {
            return Err(DomainError::missing(field, "must not be empty"));
        }
        if !crate::rules::SECRET.allows(&value) {
            return Err(DomainError::invalid(
                field,
                "must be at most 4096 characters without spaces or control characters",
            ));
        }
        Ok(Self(value))
    }

    /// The real value, for the one place that needs it (an outbound request header).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The mask shown instead of the value: `****` plus the last four characters when the
    /// secret has at least 12 characters, `****` alone otherwise.
    pub fn masked(&self) -> String {
        let count = self.0.chars().count();
        if count < 12 {
            return "****".to_owned();
        }
        let tail: String = self.0.chars().skip(count - 4).collect();
        format!("****{tail}")
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.masked())
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_secrets_show_only_their_last_four_characters() {
        let secret = Secret::parse("agent_api_key", "sk-live-1234567890abcd").unwrap();
        assert_eq!(secret.to_string(), "****abcd");
        assert_eq!(format!("{secret:?}"), "Secret(****abcd)");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"****abcd\"");
        assert_eq!(secret.expose(), "sk-live-1234567890abcd");
    }

    #[test]
    fn short_secrets_are_masked_completely() {
        let secret = Secret::parse("evolution_key", "12345678901").unwrap();
        assert_eq!(secret.masked(), "****");
        assert!(!format!("{secret:?} {secret}").contains("8901"));
    }

    #[test]
    fn bad_secrets_are_rejected_with_the_field() {
        assert!(matches!(
            Secret::parse("agent_api_key", ""),
            Err(DomainError::Missing {
                field: "agent_api_key",
                ..
            })
        ));
        for bad in ["with space", "tab\tkey", "new\nline", &"k".repeat(4097)] {
            assert!(matches!(
                Secret::parse("evolution_key", bad),
                Err(DomainError::Invalid {
                    field: "evolution_key",
                    ..
                })
            ));
        }
    }
}
