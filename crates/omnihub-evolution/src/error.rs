//! The one error type of the Evolution crate.

/// What went wrong reading a webhook or calling the Evolution API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvolutionError {
    /// The webhook body is not JSON.
    #[error("the body is not valid JSON: {0}")]
    MalformedJson(String),
    /// The JSON is not an Evolution webhook envelope (or not a message inside one).
    #[error("not an Evolution webhook: {0}")]
    NotAnEnvelope(String),
    /// The request timed out.
    #[error("Evolution API did not answer within {0} s")]
    Timeout(u64),
    /// The server could not be reached.
    #[error("cannot reach the Evolution API: {0}")]
    Connect(String),
    /// Evolution answered 429.
    #[error("Evolution API is rate limiting (429)")]
    RateLimited,
    /// Evolution answered another non-success status.
    #[error("Evolution API answered {status}: {message}")]
    Status {
        /// HTTP status.
        status: u16,
        /// Evolution's `response.message`, or the start of the body.
        message: String,
    },
    /// Evolution answered a redirect; omnihub follows none, so the key never travels to
    /// another host.
    #[error("Evolution API answered {status} redirecting to {host}; omnihub follows no redirects: set the instance's evolution_url to the final address")]
    Redirected {
        /// HTTP status (3xx).
        status: u16,
        /// The host the `Location` header names (`unknown` when absent or unreadable).
        host: String,
    },
    /// Evolution 2.4+ answered 503 `LICENSE_REQUIRED`: the server is not activated. Not
    /// transient: nothing works until an operator activates it.
    #[error("the Evolution server is not activated (LICENSE_REQUIRED): open {} and activate it, then try again", register_url.as_deref().unwrap_or("its /manager page"))]
    NotActivated {
        /// Where to activate it, as Evolution said.
        register_url: Option<String>,
    },
    /// A 2xx answer whose body says `"error": true` (Evolution hides some failures so).
    #[error("Evolution API reported an error in a successful answer: {0}")]
    ErrorBody(String),
    /// A 2xx answer omnihub cannot read.
    #[error("unexpected answer from the Evolution API: {0}")]
    Unexpected(String),
    /// The request could not be built (a bad base URL).
    #[error("invalid Evolution API request: {0}")]
    Request(String),
}

impl EvolutionError {
    /// True for failures worth retrying: timeouts, connection errors (refused, reset, closed
    /// before the answer was complete), 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Connect(_) | Self::RateLimited => true,
            Self::Status { status, .. } => *status >= 500,
            Self::MalformedJson(_)
            | Self::NotAnEnvelope(_)
            | Self::Request(_)
            | Self::Redirected { .. }
            | Self::NotActivated { .. }
            | Self::ErrorBody(_)
            | Self::Unexpected(_) => false,
        }
    }
}
