//! Small validated values: upstream URLs and the agent timeout.

use std::fmt;

use serde::{Serialize, Serializer};

use crate::DomainError;

/// An absolute `http` or `https` URL of an upstream (agent API, Evolution API).
///
/// The text is kept as typed (minus one trailing `/`, so `{url}/path` never has `//`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HttpUrl(String);

impl HttpUrl {
    /// Validates `value` as the URL of `field`.
    pub fn parse(field: &'static str, value: impl Into<String>) -> Result<Self, DomainError> {
        let value = value.into();
        if value.is_empty() {
            return Err(DomainError::missing(field, "must be an http:// or https:// URL"));
        }
        let rule =
            "must be an absolute http:// or https:// URL with a host name or IPv4 address, an optional port and a plain path, without credentials, query or fragment";
        if !crate::rules::HTTP_URL.allows(&value) {
            return Err(DomainError::invalid(field, rule));
        }
        let parsed = url::Url::parse(&value).map_err(|_| DomainError::invalid(field, rule))?;
        let scheme_ok = matches!(parsed.scheme(), "http" | "https");
        // Credentials in the URL would end up in logs; keys have their own fields.
        let clean = parsed.username().is_empty()
            && parsed.password().is_none()
            && parsed.query().is_none()
            && parsed.fragment().is_none();
        if !scheme_ok || parsed.host_str().is_none_or(str::is_empty) || !clean || value.trim() != value {
            return Err(DomainError::invalid(field, rule));
        }
        let trimmed = value.strip_suffix('/').unwrap_or(&value).to_owned();
        Ok(Self(trimmed))
    }

    /// Validates an optional URL: `None` or an empty string mean "not configured yet".
    pub fn parse_optional(field: &'static str, value: Option<String>) -> Result<Option<Self>, DomainError> {
        match value {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) => Self::parse(field, v).map(Some),
        }
    }

    /// The URL as a string slice, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for HttpUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for HttpUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

/// How long omnihub waits for the agent, in whole seconds: 1–3600, default 60.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AgentTimeout(u32);

impl AgentTimeout {
    /// The default agent timeout (60 s), as in the seed schema.
    pub const DEFAULT: Self = Self(60);
    /// The largest accepted timeout, one hour.
    pub const MAX_SECONDS: i64 = 3600;

    /// Validates a number of seconds.
    pub fn from_secs(seconds: i64) -> Result<Self, DomainError> {
        match u32::try_from(seconds) {
            Ok(s) if (1..=Self::MAX_SECONDS).contains(&seconds) => Ok(Self(s)),
            _ => Err(DomainError::invalid(
                "agent_timeout",
                "must be a whole number of seconds from 1 to 3600",
            )),
        }
    }

    /// The timeout in seconds.
    pub fn secs(self) -> u32 {
        self.0
    }
}

impl Default for AgentTimeout {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_and_https_urls_are_accepted_without_trailing_slash() {
        let url = HttpUrl::parse("agent_api_url", "http://localhost:8000/").unwrap();
        assert_eq!(url.as_str(), "http://localhost:8000");
        let url = HttpUrl::parse("evolution_url", "https://evo.example.com/base").unwrap();
        assert_eq!(url.as_str(), "https://evo.example.com/base");
    }

    #[test]
    fn other_urls_are_rejected_naming_the_field() {
        for bad in [
            "ftp://x.example",
            "localhost:8000",
            "not a url",
            "http://",
            "https://user:pw@example.com",
            "http://example.com/?a=1",
            "http://example.com/#x",
            " http://example.com",
            "file:///etc/passwd",
            // The URL parser drops tabs and newlines silently; the rule must not.
            "http://agent.example/a\nb",
            "http://agent.example/a\tb",
            "http://agent.example\n",
            "http://agent.example/\u{1b}[31m",
            "http://agent.example/a b",
        ] {
            let err = HttpUrl::parse("agent_api_url", bad).unwrap_err();
            assert_eq!(err.field(), "agent_api_url", "{bad:?}");
            assert!(err.to_string().contains("http://"), "{err}");
        }
    }

    #[test]
    fn optional_urls_treat_empty_as_not_configured() {
        assert_eq!(HttpUrl::parse_optional("evolution_url", None), Ok(None));
        assert_eq!(
            HttpUrl::parse_optional("evolution_url", Some(String::new())),
            Ok(None)
        );
        assert!(HttpUrl::parse_optional("evolution_url", Some("x".into())).is_err());
    }

    #[test]
    fn agent_timeout_accepts_one_second_to_one_hour() {
        assert_eq!(AgentTimeout::from_secs(1).unwrap().secs(), 1);
        assert_eq!(AgentTimeout::from_secs(3600).unwrap().secs(), 3600);
        assert_eq!(AgentTimeout::default().secs(), 60);
        for bad in [0, -1, 3601, i64::MAX] {
            let err = AgentTimeout::from_secs(bad).unwrap_err();
            assert_eq!(err.field(), "agent_timeout");
        }
    }
}
