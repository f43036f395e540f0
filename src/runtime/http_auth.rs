//! Logging in and out of the API, and the extractor every other `/api`
//! route starts with: no live session is a 401, a role that may not do
//! what is asked a 403 (see [`crate::auth::allowed`]).
//!
//! The token travels in the `ivr_session` cookie (pages: HttpOnly and
//! SameSite=Strict, so scripts cannot read it and other sites cannot send
//! it) or in `Authorization: Bearer <token>` (scripts, tests).

use std::sync::{Arc, Mutex};

use axum::extract::{FromRef, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;

use crate::auth::{
    Action, AuthError, Identity, Role, SESSION_IDLE_MS, Sessions, TOKEN_BYTES, Users,
};
use crate::runtime::clock::Clock;
use crate::runtime::http_json::{ApiError, ApiResult, Body, parse_json};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ivr_session";

/// Password checks run at once: each is tens of ms of CPU, and a flood of
/// logins must not take the cores the calls' audio needs.
const CONCURRENT_PASSWORD_CHECKS: usize = 2;

/// Users and their live sessions, shared by every request.
pub struct AuthState {
    users: Users,
    sessions: Mutex<Sessions>,
    clock: Clock,
    password_checks: Semaphore,
}

impl AuthState {
    pub fn new(users: Users) -> AuthState {
        AuthState {
            users,
            sessions: Mutex::new(Sessions::new(SESSION_IDLE_MS)),
            clock: Clock::new(),
            password_checks: Semaphore::new(CONCURRENT_PASSWORD_CHECKS),
        }
    }

    /// Whether `token` is still a live session (using it keeps it alive).
    pub fn is_live(&self, token: &str) -> bool {
        let now_ms = self.clock.now_ms();
        self.sessions().check(token, now_ms).is_some()
    }

    fn sessions(&self) -> std::sync::MutexGuard<'_, Sessions> {
        self.sessions.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The logged-in user of a request, and the token that proved it.
pub struct Authed {
    pub who: Identity,
    token: String,
}

impl Authed {
    /// The session token the request came with.
    pub fn token(&self) -> &str {
        &self.token
    }

    /// A 403 unless the user's role may do `action`.
    pub fn require(&self, action: Action<'_>) -> ApiResult<()> {
        if crate::auth::allowed(&self.who, action) {
            return Ok(());
        }
        let what = match action {
            Action::ReadBoard | Action::ReadCalls => "read this",
            Action::ControlCalls => "move or end calls (supervisors only)",
            Action::SetAgentState { .. } => "change another agent's state",
            Action::WriteDisposition { .. } => "write a note on a call they did not take",
        };
        let role = match self.who.role {
            Role::Supervisor => "supervisor",
            Role::Agent => "agent",
        };
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!("{role} {:?} may not {what}", self.who.user),
        ))
    }
}

impl<S> FromRequestParts<S> for Authed
where
    Arc<AuthState>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<AuthState>::from_ref(state);
        let Some(token) = token_of(&parts.headers) else {
            return Err(unauthorized(
                "log in first: POST /api/login, then send the session cookie or Authorization: Bearer <token>",
            ));
        };
        let now_ms = auth.clock.now_ms();
        match auth.sessions().check(&token, now_ms) {
            Some(who) => Ok(Authed { who, token }),
            None => Err(unauthorized(
                "the session is unknown or has expired; log in again",
            )),
        }
    }
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, message)
}

/// The bearer token, else the session cookie.
fn token_of(headers: &HeaderMap) -> Option<String> {
    let bearer = headers
        .get_all(header::AUTHORIZATION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        });
    let cookie = || {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .find_map(|pair| {
                let (name, value) = pair.trim().split_once('=')?;
                (name == SESSION_COOKIE).then(|| value.trim_matches('"'))
            })
    };
    bearer
        .or_else(cookie)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    user: String,
    password: String,
}

/// `POST /api/login {"user","password"}`: the token, in the body and as
/// the session cookie.
pub async fn login(State(auth): State<Arc<AuthState>>, body: Body) -> ApiResult<Response> {
    let Login { user, password } = parse_json(&body)?;
    let _turn = auth
        .password_checks
        .acquire()
        .await
        .map_err(|_| ApiError::internal("the password check failed"))?;
    let checking = auth.clone();
    // argon2 takes tens of ms of CPU: not on the async threads.
    let checked = tokio::task::spawn_blocking(move || checking.users.verify(&user, &password))
        .await
        .map_err(|_| ApiError::internal("the password check failed"))?;
    let who = match checked {
        Ok(who) => who,
        Err(AuthError::BadCredentials) => {
            return Err(unauthorized("wrong user name or password"));
        }
        Err(e) => return Err(ApiError::internal(e.to_string())),
    };
    let mut random = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut random)
        .map_err(|e| ApiError::internal(format!("no random bytes for a session: {e}")))?;
    let token = auth
        .sessions()
        .open(who.clone(), random, auth.clock.now_ms());
    let cookie = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    let body = json!({
        "token": token,
        "user": who.user,
        "role": who.role,
        "agent": who.agent,
    });
    Ok(([(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// `POST /api/logout`: ends the session and clears the cookie.
pub async fn logout(State(auth): State<Arc<AuthState>>, authed: Authed) -> Response {
    auth.sessions().close(&authed.token);
    let cookie = format!("{SESSION_COOKIE}=; Max-Age=0; HttpOnly; SameSite=Strict; Path=/");
    (StatusCode::NO_CONTENT, [(header::SET_COOKIE, cookie)]).into_response()
}

/// `GET /api/me`: who is logged in.
pub async fn me(authed: Authed) -> Json<Identity> {
    Json(authed.who)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn the_token_comes_from_a_bearer_header_or_the_cookie() {
        let bearer = headers(&[(header::AUTHORIZATION, "Bearer abc")]);
        assert_eq!(token_of(&bearer).as_deref(), Some("abc"));
        let lower = headers(&[(header::AUTHORIZATION, "bearer  abc ")]);
        assert_eq!(token_of(&lower).as_deref(), Some("abc"));
        let cookie = headers(&[(header::COOKIE, "theme=dark; ivr_session=def; x=1")]);
        assert_eq!(token_of(&cookie).as_deref(), Some("def"));
        let both = headers(&[
            (header::COOKIE, "ivr_session=def"),
            (header::AUTHORIZATION, "Bearer abc"),
        ]);
        assert_eq!(token_of(&both).as_deref(), Some("abc"));
    }

    #[test]
    fn no_or_empty_tokens_are_none() {
        for pairs in [
            vec![],
            vec![(header::AUTHORIZATION, "Basic dXNlcjpwdw==")],
            vec![(header::AUTHORIZATION, "Bearer ")],
            vec![(header::COOKIE, "ivr_session=")],
            vec![(header::COOKIE, "my_ivr_session=abc")],
        ] {
            assert_eq!(token_of(&headers(&pairs)), None, "{pairs:?}");
        }
    }
}
