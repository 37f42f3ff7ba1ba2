//! HTTP errors. Policy: every error is JSON `{"error": code, "message": sentence}`; 4xx
//! for the caller's mistakes, with a message that helps fix them; 5xx with a generic
//! message, the cause chain going to the log only (never internals in a body).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use omnihub_db::DbError;
use omnihub_domain::DomainError;
use serde::Serialize;
use utoipa::ToSchema;

/// The JSON body of every error response.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// A stable snake_case code (e.g. `not_found`, `validation_failed`).
    pub error: String,
    /// One sentence for people.
    pub message: String,
    /// The offending field, for validation errors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An error answered to an HTTP client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The caller sent something unusable (`code` says what).
    #[error("{message}")]
    BadRequest {
        /// Error code.
        code: &'static str,
        /// Sentence.
        message: String,
    },
    /// Missing, wrong or unconfigured credentials.
    #[error("{message}")]
    Unauthorized {
        /// Error code.
        code: &'static str,
        /// Sentence.
        message: String,
    },
    /// Authenticated, but not allowed to do this.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state.
    #[error("{0}")]
    Conflict(String),
    /// The body is larger than the limit.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The body is not JSON.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// Well-formed input that breaks a rule.
    #[error("{message}")]
    Validation {
        /// The field, when known.
        field: Option<String>,
        /// Sentence.
        message: String,
    },
    /// Well-formed input that cannot be processed for its content (`code` says why).
    #[error("{message}")]
    Unprocessable {
        /// Error code.
        code: &'static str,
        /// Sentence.
        message: String,
    },
    /// The server is at a limit right now (`Retry-After` says when to try again).
    #[error("{0}")]
    Busy(String),
    /// The request body did not arrive in time.
    #[error("{0}")]
    RequestTimeout(String),
    /// Evolution failed a management call (`status` 404, 409, 502 or 503, `code` says why).
    #[error("{message}")]
    Upstream {
        /// HTTP status to answer.
        status: u16,
        /// Error code.
        code: &'static str,
        /// What happened and what to do.
        message: String,
    },
    /// The database cannot be reached right now.
    #[error("the database is unavailable; try again shortly")]
    Unavailable(#[source] DbError),
    /// A fault on our side; details are logged, not returned.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// The snake_case code of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unauthorized { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Upstream { code, .. } => code,
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::Conflict(_) => "conflict",
            Self::PayloadTooLarge(_) => "payload_too_large",
            Self::UnsupportedMediaType(_) => "unsupported_media_type",
            Self::Validation { .. } => "validation_failed",
            Self::Busy(_) => "busy",
            Self::RequestTimeout(_) => "body_timeout",
            Self::Unavailable(_) => "database_unavailable",
            Self::Internal(_) => "internal_error",
        }
    }

    /// Wraps any fault as an internal error.
    pub fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Box::new(err))
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::NotFound { .. } => Self::NotFound(err.to_string()),
            DbError::Conflict(message) => Self::Conflict(message),
            DbError::Invalid(domain) => domain.into(),
            DbError::Unavailable { .. } | DbError::ConnectionLost(_) | DbError::Contention(_) => {
                Self::Unavailable(err)
            }
            other => Self::internal(other),
        }
    }
}

impl From<omnihub_core::CoreError> for ApiError {
    fn from(err: omnihub_core::CoreError) -> Self {
        use omnihub_core::LifecycleProblem as P;
        match err {
            omnihub_core::CoreError::Db(db) => db.into(),
            omnihub_core::CoreError::Lifecycle { problem, message } => {
                let status = match problem {
                    P::NotConfigured | P::NameInUse => 409,
                    P::NotFound => 404,
                    P::NotActivated => 503,
                    P::Unreachable | P::Unauthorized | P::Rejected => 502,
                };
                Self::Upstream {
                    status,
                    code: problem.code(),
                    message,
                }
            }
            other => Self::internal(other),
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(err: DomainError) -> Self {
        Self::Validation {
            field: Some(err.field().to_owned()),
            message: err.to_string(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation { .. } | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unavailable(_) | Self::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Upstream { status, .. } => StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
        }
    }

    fn error_response(&self) -> HttpResponse {
        if matches!(self, Self::Internal(_) | Self::Unavailable(_)) {
            tracing::error!(error = %error_chain(self), code = self.code(), "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        match self {
            Self::Unauthorized { .. } => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"omnihub\""));
            }
            Self::Busy(_) | Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        let field = match self {
            Self::Validation { field, .. } => field.clone(),
            _ => None,
        };
        response.json(ErrorBody {
            error: self.code().to_owned(),
            message: self.to_string(),
            field,
        })
    }
}

/// `error: cause: cause` on one line, for the log.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
