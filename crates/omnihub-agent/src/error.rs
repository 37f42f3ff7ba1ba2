//! The one error type of the agent crate.

/// What went wrong calling an agent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgentError {
    /// No answer within the instance's `agent_timeout`.
    #[error("the agent did not answer within {0} s")]
    Timeout(u64),
    /// The agent API could not be reached.
    #[error("cannot reach the agent API: {0}")]
    Connect(String),
    /// The agent API answered 429.
    #[error("the agent API is rate limiting (429)")]
    RateLimited,
    /// Another non-success status.
    #[error("the agent API answered {status}: {body}")]
    Status {
        /// HTTP status.
        status: u16,
        /// The start of the body.
        body: String,
    },
    /// A success status whose JSON has no usable `message`.
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
    /// True for failures worth retrying: timeouts, connection errors, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Connect(_) | Self::RateLimited => true,
            Self::Status { status, .. } => *status >= 500,
            Self::Decode(_) | Self::Request(_) | Self::Redirected { .. } | Self::Unreadable(_) => false,
        }
    }
}
