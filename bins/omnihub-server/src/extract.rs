//! Turning extractor failures and actix's own bare error responses into JSON errors.

use actix_web::body::MessageBody;
use actix_web::dev::ServiceResponse;
use actix_web::error::{JsonPayloadError, QueryPayloadError};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, ErrorHandlers};
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{ApiError, ErrorBody};

/// Largest admin API request body (1 MiB; an instance is a few hundred bytes).
pub const ADMIN_BODY_LIMIT: usize = 1024 * 1024;

/// JSON bodies: `application/json` required (415), 1 MiB (413), syntax errors 400,
/// wrong types / unknown or missing fields 422.
pub fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(ADMIN_BODY_LIMIT)
        .error_handler(|err, _req| json_error(err).into())
}

fn json_error(err: JsonPayloadError) -> ApiError {
    match err {
        JsonPayloadError::OverflowKnownLength { length, limit } => {
            ApiError::PayloadTooLarge(format!("the body has {length} bytes; the limit is {limit} bytes"))
        }
        JsonPayloadError::Overflow { limit } => {
            ApiError::PayloadTooLarge(format!("the body is larger than the limit of {limit} bytes"))
        }
        JsonPayloadError::ContentType => ApiError::UnsupportedMediaType(
            "the body must be JSON, sent with Content-Type: application/json".to_owned(),
        ),
        JsonPayloadError::Deserialize(e) if e.is_data() && e.to_string().contains("expected a map") => {
            ApiError::Validation {
                field: None,
                message: "the body must be a JSON object".to_owned(),
            }
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::Validation {
            field: None,
            message: format!("the JSON does not fit: {e}"),
        },
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest {
            code: "invalid_json",
            message: format!("the body is not valid JSON: {e}"),
        },
        other => ApiError::BadRequest {
            code: "invalid_body",
            message: format!("the body could not be read: {other}"),
        },
    }
}

/// A JSON body that must be an object, deserialized into `T`. Anything else (an array, a
/// string, a number) is a 422: serde would otherwise bind an array to a struct's fields by
/// position.
#[derive(Debug)]
pub struct JsonObject<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonObject<T> {
    type Error = actix_web::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut actix_web::dev::Payload) -> Self::Future {
        // Size, content type and syntax are checked by `json_config` as for any JSON body.
        let object = web::Json::<Map<String, Value>>::from_request(req, payload);
        Box::pin(async move {
            let object = object.await?.into_inner();
            serde_json::from_value(Value::Object(object))
                .map(JsonObject)
                .map_err(|e| {
                    ApiError::Validation {
                        field: None,
                        message: format!("the JSON does not fit: {e}"),
                    }
                    .into()
                })
        })
    }
}

/// Query strings that do not parse are a 400 naming the problem.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err: QueryPayloadError, _req: &HttpRequest| {
        ApiError::BadRequest {
            code: "invalid_query",
            message: format!("the query string is not valid: {err}"),
        }
        .into()
    })
}

/// Rewrites error responses that are not JSON yet (actix's own 404, 405, payload errors…)
/// into the JSON error shape, keeping status and headers.
pub fn json_error_pages<B: MessageBody + 'static>() -> ErrorHandlers<B> {
    ErrorHandlers::new().default_handler(to_json_error)
}

fn to_json_error<B: MessageBody>(res: ServiceResponse<B>) -> actix_web::Result<ErrorHandlerResponse<B>> {
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        // The console's error pages are HTML on purpose.
        .is_some_and(|v| v.starts_with("application/json") || v.starts_with("text/html"));
    if is_json {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let (code, message) = match status {
        StatusCode::NOT_FOUND => ("route_not_found", "no route matches this path".to_owned()),
        StatusCode::METHOD_NOT_ALLOWED => (
            "method_not_allowed",
            "this route does not accept this method".to_owned(),
        ),
        StatusCode::PAYLOAD_TOO_LARGE => (
            "payload_too_large",
            "the body is larger than the limit".to_owned(),
        ),
        s if s.is_server_error() => ("internal_error", "internal error".to_owned()),
        s => (
            "bad_request",
            s.canonical_reason().unwrap_or("bad request").to_lowercase(),
        ),
    };
    let (req, old) = res.into_parts();
    let mut new = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.append_header((name.clone(), value.clone()));
        }
    }
    let new = new.json(ErrorBody {
        error: code.to_owned(),
        message,
        field: None,
    });
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, new).map_into_right_body(),
    ))
}

/// The fallback service: unknown routes are a JSON 404.
pub async fn route_not_found() -> HttpResponse {
    HttpResponse::NotFound().json(ErrorBody {
        error: "route_not_found".to_owned(),
        message: "no route matches this path".to_owned(),
        field: None,
    })
}
