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

/// The board's WebSocket (`/api/events`), read with a bounded wait.
pub struct Events {
    socket: tungstenite::WebSocket<std::net::TcpStream>,
}

impl Api {
    /// Opens `/api/events` with this client's token; the handshake's HTTP
    /// status when the server refuses it.
    pub fn events(&self) -> Result<Events, u16> {
        self.events_with(&[])
    }

    /// Like [`Api::events`] with extra handshake headers (`Origin`, ...).
    pub fn events_with(&self, headers: &[(&str, &str)]) -> Result<Events, u16> {
        use tungstenite::client::IntoClientRequest;
        let url = self.url("/api/events").replacen("http://", "ws://", 1);
        let mut request = url.into_client_request().expect("a WebSocket URL");
        if let Some(token) = &self.token {
            let value = format!("Bearer {token}").parse().unwrap();
            request.headers_mut().insert("authorization", value);
        }
        for (name, value) in headers {
            let name: tungstenite::http::HeaderName = name.parse().unwrap();
            request.headers_mut().insert(name, value.parse().unwrap());
        }
        let host = self.base.trim_start_matches("http://");
        let stream = std::net::TcpStream::connect(host).expect("HTTP server reachable");
        stream
            .set_read_timeout(Some(Duration::from_millis(200)))
            .unwrap();
        match tungstenite::client(request, stream) {
            Ok((socket, _)) => Ok(Events { socket }),
            Err(tungstenite::HandshakeError::Failure(tungstenite::Error::Http(response))) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("WebSocket handshake failed: {e}"),
        }
    }
}

impl Events {
    /// The next JSON message, or `None` when none came before `until`.
    pub fn next(&mut self, until: std::time::Instant) -> Option<Value> {
        use tungstenite::Message;
        loop {
            match self.socket.read() {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("JSON message"));
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("the event stream broke: {e}"),
            }
            if std::time::Instant::now() >= until {
                return None;
            }
        }
    }

    /// Reads messages until one satisfies `wanted` (within `limit`).
    pub fn wait_for(
        &mut self,
        limit: Duration,
        what: &str,
        wanted: impl Fn(&Value) -> bool,
    ) -> Value {
        let until = std::time::Instant::now() + limit;
        while let Some(message) = self.next(until) {
            if wanted(&message) {
                return message;
            }
        }
        panic!("no event stream message with {what} within {limit:?}");
    }

    /// Reads until the server closes the stream (within `limit`); its close
    /// code, or `None` if it stayed open.
    pub fn wait_closed(&mut self, limit: Duration) -> Option<u16> {
        use tungstenite::Message;
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            match self.socket.read() {
                Ok(Message::Close(frame)) => return Some(frame.map_or(1005, |f| f.code.into())),
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return Some(1006),
            }
        }
        None
    }

    pub fn close(mut self) {
        let _ = self.socket.close(None);
    }
}
