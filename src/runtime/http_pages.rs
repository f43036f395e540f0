//! The pages: the supervisor board (`/`), the agent screen (`/agent`), call
//! history (`/history`) and their assets (`/static/{file}`). The files are
//! compiled into the binary so `ivr serve` needs nothing beside it and
//! there is no build step; the pages call the API for everything else.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

/// A served file: its name under `/static/`, content type and text.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const HTML: &str = "text/html; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

const BOARD: &str = include_str!("../../web/board.html");
const AGENT: &str = include_str!("../../web/agent.html");
const HISTORY: &str = include_str!("../../web/history.html");

const ASSETS: &[Asset] = &[
    Asset {
        name: "app.css",
        content_type: CSS,
        body: include_str!("../../web/app.css"),
    },
    Asset {
        name: "common.js",
        content_type: JS,
        body: include_str!("../../web/common.js"),
    },
    Asset {
        name: "board.js",
        content_type: JS,
        body: include_str!("../../web/board.js"),
    },
    Asset {
        name: "agent.js",
        content_type: JS,
        body: include_str!("../../web/agent.js"),
    },
    Asset {
        name: "listen.js",
        content_type: JS,
        body: include_str!("../../web/listen.js"),
    },
    Asset {
        name: "history.js",
        content_type: JS,
        body: include_str!("../../web/history.js"),
    },
];

/// The page routes, to merge into the API's router (any state type).
pub fn page_routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { page(BOARD) }))
        .route("/agent", get(|| async { page(AGENT) }))
        .route("/history", get(|| async { page(HISTORY) }))
        .route("/static/{file}", get(asset))
}

fn page(body: &'static str) -> Response {
    served(HTML, body)
}

async fn asset(Path(file): Path<String>) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => served(a.content_type, a.body),
        None => (
            StatusCode::NOT_FOUND,
            [(header::CONTENT_TYPE, "application/json")],
            r#"{"error":"no such page asset"}"#,
        )
            .into_response(),
    }
}

fn served(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            // Pages change with the engine: always revalidate so an
            // upgraded engine is not shown with yesterday's script.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            // Everything comes from the engine itself; no inline script.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; media-src 'self'; \
                 connect-src 'self'; frame-ancestors 'none'",
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Serves the pages on a loopback port and GETs `path` over HTTP/1.1:
    /// (status, content type, body).
    async fn get(path: &str) -> (u16, String, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let app: Router = page_routes();
        let server = tokio::spawn(async move { axum::serve(listener, app).await });
        let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        server.abort();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        let content_type = head
            .lines()
            .find_map(|l| l.strip_prefix("content-type: "))
            .unwrap_or_default()
            .to_string();
        (status, content_type, body.to_string())
    }

    #[tokio::test]
    async fn pages_are_html_with_their_scripts() {
        for (path, script) in [
            ("/", "board.js"),
            ("/agent", "agent.js"),
            ("/history", "history.js"),
        ] {
            let (status, content_type, body) = get(path).await;
            assert_eq!(status, 200, "{path}");
            assert!(content_type.starts_with("text/html"), "{path}");
            assert!(body.contains(&format!("/static/{script}")), "{path}");
            assert!(body.contains("/static/common.js"), "{path}");
        }
    }

    #[tokio::test]
    async fn every_referenced_asset_is_served_with_its_type() {
        for asset in ASSETS {
            let (status, content_type, body) = get(&format!("/static/{}", asset.name)).await;
            assert_eq!(status, 200, "{}", asset.name);
            assert_eq!(content_type, asset.content_type);
            assert_eq!(body, asset.body);
        }
        for page in [BOARD, AGENT, HISTORY] {
            for reference in page.split("/static/").skip(1) {
                let name = reference.split('"').next().unwrap();
                assert!(
                    ASSETS.iter().any(|a| a.name == name),
                    "a page refers to /static/{name}, which is not served"
                );
            }
        }
    }

    #[tokio::test]
    async fn unknown_assets_and_paths_outside_static_are_not_found() {
        for path in [
            "/static/nope.js",
            "/static/..%2Fsrc%2Flib.rs",
            "/static/",
            "/board.html",
        ] {
            let (status, _, _) = get(path).await;
            assert_eq!(status, 404, "{path}");
        }
    }
}
