//! The one error type of the agent crate.

use std::time::Duration;

use omnihub_domain::AgentKind;

/// What went wrong calling an agent. The texts name the backend and carry what it said, for
/// the stored reason of a failed message; none of them is ever sent to a WhatsApp user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// No answer within the instance's `agent_timeout`.
    #[error("the agent did not answer within {0} s")]
    Timeout(u64),
    /// The agent API could not be reached.
    #[error("cannot reach the agent API: {0}")]
    Connect(String),
    /// A non-success status.
    #[error("the {backend} agent API answered {status}: {message}")]
    Status {
        /// The protocol that was spoken.
        backend: AgentKind,
        /// HTTP status.
        status: u16,
        /// What the backend said (its error message, else the start of the body).
        message: String,
        /// The wait the backend asked for (`Retry-After`), if any.
        retry_after: Option<Duration>,
    },
    /// The backend reported a permanent failure in a way its status does not say (a
    /// workflow that failed in a 200, Flowise's 500 for a wrong key, an expired session
    /// after a fresh start).
    #[error("the {backend} agent API refused the request: {message}")]
    Refused {
        /// The protocol that was spoken.
        backend: AgentKind,
        /// What the backend said.
        message: String,
    },
    /// A success status whose JSON has no usable reply field.
    #[error("the agent's answer cannot be read: {0}")]
    Decode(String),
    /// The agent API answered a redirect; omnihub follows none, so the key never travels to
    /// another host.
    #[error("the agent API answered {status} redirecting to {host}; omnihub follows no redirects: set the instance's agent_api_url to the final address")]
    Redirected {
        /// HTTP status (3xx).
        status: u16,
        /// The host the `Location` header names.
        host: String,
    },
    /// A success status whose body cannot be sent to a person (an HTML error page, broken
    /// JSON, bytes that are not UTF-8, control characters).
    #[error("the agent's answer is not a readable reply: {0}")]
    Unreadable(String),
    /// The request could not be built.
    #[error("invalid agent request: {0}")]
    Request(String),
}

impl AgentError {
    /// True for failures worth retrying: timeouts, connection errors, 408, 409, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Connect(_) => true,
            Self::Status { status, .. } => matches!(status, 408 | 409 | 429) || *status >= 500,
            Self::Refused { .. }
            | Self::Decode(_)
            | Self::Request(_)
            | Self::Redirected { .. }
            | Self::Unreadable(_) => false,
        }
    }

    /// How long the backend asked to be left alone (`Retry-After`), when it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> AgentError {
        AgentError::Status {
            backend: AgentKind::Openai,
            status,
            message: "m".into(),
            retry_after: None,
        }
    }

    #[test]
    fn transient_statuses_follow_the_openai_sdk() {
        for code in [408, 409, 429, 500, 502, 503] {
            assert!(status(code).is_transient(), "{code}");
        }
        for code in [400, 401, 403, 404, 422] {
            assert!(!status(code).is_transient(), "{code}");
        }
        assert_eq!(status(401).to_string(), "the openai agent API answered 401: m");
    }
}
