//! JSON in and out of the API: every error is `{"error": "<message>"}`
//! with its status, and request bodies and query strings that do not parse
//! get a 400 that says what is wrong (axum's own rejections are plain
//! text).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// Largest request body the API reads; every request body is a small JSON
/// object, so more is a mistake or an attack.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// An API error: its status and a message for people.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(json!({ "error": self.message }))).into_response();
        if self.status == StatusCode::PAYLOAD_TOO_LARGE {
            // The rest of the body was never read, so the connection cannot
            // carry another request: say so, or a client may reuse it.
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response
    }
}

/// A request body, read whole up to [`MAX_BODY_BYTES`]; parse it with
/// [`parse_json`] once the caller is known to be allowed.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|rejection| {
                let status = rejection.status();
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(
                        status,
                        format!("the request body is larger than {MAX_BODY_BYTES} bytes"),
                    )
                } else {
                    ApiError::new(status, rejection.body_text())
                }
            })
    }
}

/// Parses a JSON object request body; whatever is wrong is a 400 naming it.
pub fn parse_json<T: DeserializeOwned>(body: &Body) -> ApiResult<T> {
    match body.0.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {
            return Err(ApiError::bad_request(
                "the request needs a JSON body (an object)",
            ));
        }
        // serde would also take an array for a struct, by field order.
        Some(b'{') => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "invalid JSON body: expected an object",
            ));
        }
    }
    serde_json::from_slice(&body.0)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

/// A query string parsed into `T`; a 400 naming what is wrong otherwise.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Query::try_from_uri(&parts.uri)
            .map(|Query(q)| ApiQuery(q))
            .map_err(|rejection| ApiError::bad_request(rejection.body_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Note {
        note: String,
    }

    fn body(text: &str) -> Body {
        Body(Bytes::copy_from_slice(text.as_bytes()))
    }

    #[test]
    fn bodies_that_do_not_parse_say_why() {
        let cases = [
            ("", "needs a JSON body"),
            ("  \n", "needs a JSON body"),
            ("{\"note\": ", "invalid JSON body"),
            ("{\"nope\": \"x\"}", "unknown field `nope`"),
            ("{\"note\": 3}", "invalid type"),
            ("[]", "invalid JSON body"),
        ];
        for (text, says) in cases {
            let err = parse_json::<Note>(&body(text)).unwrap_err();
            assert_eq!(err.status, StatusCode::BAD_REQUEST, "{text:?}");
            assert!(err.message.contains(says), "{text:?}: {}", err.message);
        }
        assert_eq!(
            parse_json::<Note>(&body("{\"note\":\"hi\"}")).unwrap().note,
            "hi"
        );
    }
}
