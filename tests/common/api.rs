//! A small blocking client for a test server's HTTP API: log in once, then
//! every request carries the session token. Every request is bounded in
//! time.
//!
//! ```ignore
//! let sue = Api::login(srv.http, "sue", "sue-pw");
//! let board = sue.get("/api/board").ok_json();
//! let reply = Api::anonymous(srv.http).get("/api/board");
//! assert_eq!(reply.status, 401);
//! ```
#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{Value, json};

pub struct Api {
    base: String,
    client: Client,
    /// The session token, sent as `Authorization: Bearer`.
    pub token: Option<String>,
}

/// A response, read whole.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub headers: reqwest::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.text()))
    }

    /// The JSON body of a 2xx answer; panics with the body otherwise.
    pub fn ok_json(&self) -> Value {
        assert!(
            (200..300).contains(&self.status),
            "{}: {}",
            self.status,
            self.text()
        );
        self.json()
    }

    /// The `error` message of a JSON error answer.
    pub fn error(&self) -> String {
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {} {}", self.status, self.text()))
            .to_string()
    }
}

impl Api {
    /// A client with no session.
    pub fn anonymous(http: SocketAddr) -> Api {
        Api {
            base: format!("http://{http}"),
            client: Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("HTTP client"),
            token: None,
        }
    }

    /// Logs in as `user`; panics when the server refuses.
    pub fn login(http: SocketAddr, user: &str, password: &str) -> Api {
        let mut api = Api::anonymous(http);
        let reply = api.post("/api/login", &json!({ "user": user, "password": password }));
        let token = reply.ok_json()["token"]
            .as_str()
            .expect("a token")
            .to_string();
        api.token = Some(token);
        api
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn get(&self, path: &str) -> Reply {
        self.send(self.client.get(self.url(path)))
    }

    pub fn post(&self, path: &str, body: &Value) -> Reply {
        self.send(self.client.post(self.url(path)).json(body))
    }

    /// POSTs `body` as it is, labelled JSON (for malformed bodies).
    pub fn post_raw(&self, path: &str, body: impl Into<Vec<u8>>) -> Reply {
        let request = self
            .client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.into());
        self.send(request)
    }

    /// Sends a request built on this client (extra headers, other methods).
    pub fn send(&self, request: RequestBuilder) -> Reply {
        let request = match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().expect("the HTTP server answers");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = response.bytes().expect("a whole body").to_vec();
        Reply {
            status,
            content_type,
            headers,
            body,
        }
    }

    /// A request builder on this client without the token (headers of its own).
    pub fn raw(&self) -> &Client {
        &self.client
    }
}
