//! The one error type of the domain crate: a value that breaks a rule.

use std::borrow::Cow;

/// A value was rejected by a domain rule.
///
/// The message names the field and the rule, so it can be shown to an admin as is
/// (it never contains a secret value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// `field` holds a value that breaks `rule`.
    #[error("invalid {field}: {rule}")]
    Invalid {
        /// The name of the field, as the API and CLI spell it (e.g. `agent_api_url`).
        field: &'static str,
        /// What the value must look like.
        rule: Cow<'static, str>,
    },
    /// `field` is required but was not given.
    #[error("missing {field}: {rule}")]
    Missing {
        /// The name of the missing field.
        field: &'static str,
        /// Why it is needed or where it comes from.
        rule: Cow<'static, str>,
    },
}

impl DomainError {
    /// Builds an [`DomainError::Invalid`] error.
    pub fn invalid(field: &'static str, rule: impl Into<Cow<'static, str>>) -> Self {
        Self::Invalid {
            field,
            rule: rule.into(),
        }
    }

    /// Builds a [`DomainError::Missing`] error.
    pub fn missing(field: &'static str, rule: impl Into<Cow<'static, str>>) -> Self {
        Self::Missing {
            field,
            rule: rule.into(),
        }
    }

    /// The field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Invalid { field, .. } | Self::Missing { field, .. } => field,
        }
    }
}
