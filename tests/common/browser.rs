//! Drives a real headless Chromium (Debian `chromium` + `chromium-driver`)
//! through chromedriver on a free loopback port, for tests of the pages the
//! engine serves. Blocking calls on its own small runtime, as the rest of
//! the harness is; every wait is bounded; screenshots land in
//! `target/test-screenshots/<test>/` for a person to look at.
#![allow(dead_code)]

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// How long a page gets to show something before a test gives up.
pub const PAGE_WAIT: Duration = Duration::from_secs(20);

pub struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Option<Client>,
    driver: Child,
    profile: PathBuf,
    pub screenshots: PathBuf,
    shots: usize,
}

fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session; `test` names
    /// the screenshot folder.
    pub fn start(test: &str) -> Browser {
        let port = free_tcp_port();
        let scratch =
            std::env::temp_dir().join(format!("ivr-chromium-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&scratch);
        std::fs::create_dir_all(&scratch).unwrap();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .arg(format!(
                "--log-path={}",
                scratch.join("chromedriver.log").display()
            ))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver runs (make test installs the chromium-driver package)");
        let mut browser = Browser {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: None,
            driver,
            profile: scratch.clone(),
            screenshots: crate::common::repo()
                .join("target/test-screenshots")
                .join(test),
            shots: 0,
        };
        let _ = std::fs::remove_dir_all(&browser.screenshots);
        std::fs::create_dir_all(&browser.screenshots).unwrap();

        let until = Instant::now() + Duration::from_secs(15);
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < until,
                "chromedriver did not open port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-dev-shm-usage",
                    "--no-first-run",
                    "--window-size=1400,1300",
                    // Listening in: WebRTC between the page and a loopback engine.
                    "--allow-loopback-in-peer-connection",
                    "--disable-features=WebRtcHideLocalIpsWithMdns",
                    "--autoplay-policy=no-user-gesture-required",
                    format!("--user-data-dir={}", scratch.join("profile").display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let client = browser
            .runtime
            .block_on(async {
                tokio::time::timeout(
                    Duration::from_secs(30),
                    ClientBuilder::new(HttpConnector::new())
                        .capabilities(caps)
                        .connect(&url),
                )
                .await
            })
            .expect("Chromium starts within 30 s")
            .unwrap_or_else(|e| panic!("no Chromium session: {e}"));
        browser.client = Some(client);
        browser
    }

    fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    pub fn goto(&self, url: &str) {
        self.runtime
            .block_on(self.client().goto(url))
            .unwrap_or_else(|e| panic!("cannot open {url}: {e}"));
    }

    /// Runs `script` in the page (`arguments[0..]` are `args`) and returns
    /// its result.
    pub fn eval(&self, script: &str, args: Vec<Value>) -> Value {
        self.runtime
            .block_on(self.client().execute(script, args))
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// The visible text of the first element matching `css`, or None when
    /// there is none or it is hidden.
    pub fn text(&self, css: &str) -> Option<String> {
        let found = self.eval(
            "const n = document.querySelector(arguments[0]);
             return n && n.getClientRects().length > 0 ? n.innerText : null;",
            vec![json!(css)],
        );
        found.as_str().map(str::to_string)
    }

    /// The visible texts of every element matching `css`, in page order.
    pub fn texts(&self, css: &str) -> Vec<String> {
        let found = self.eval(
            "return [...document.querySelectorAll(arguments[0])]
               .filter(n => n.getClientRects().length > 0)
               .map(n => n.innerText);",
            vec![json!(css)],
        );
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// `attr` of every element matching `css`, in page order.
    pub fn attrs(&self, css: &str, attr: &str) -> Vec<String> {
        let found = self.eval(
            "return [...document.querySelectorAll(arguments[0])].map(n => n.getAttribute(arguments[1]));",
            vec![json!(css), json!(attr)],
        );
        found
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Waits (bounded) until `ready` holds for the page, checking every
    /// 100 ms; on timeout saves a screenshot and fails with the page text.
    pub fn wait_until<T>(
        &mut self,
        what: &str,
        limit: Duration,
        mut ready: impl FnMut(&Browser) -> Option<T>,
    ) -> T {
        let until = Instant::now() + limit;
        loop {
            if let Some(found) = ready(self) {
                return found;
            }
            if Instant::now() > until {
                let shot = self.screenshot(&format!("timeout-{}", slug(what)));
                let page = self.text("body").unwrap_or_default();
                panic!(
                    "the page did not show {what} within {limit:?} (screenshot {})\npage text:\n{page}",
                    shot.display()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for a visible element matching `css`; returns its text.
    pub fn wait_for(&mut self, css: &str, limit: Duration) -> String {
        self.wait_until(css, limit, |b| b.text(css))
    }

    /// Waits until the visible element `css` has text containing `needle`
    /// (case-insensitive); returns the text.
    pub fn wait_for_text(&mut self, css: &str, needle: &str, limit: Duration) -> String {
        let lower = needle.to_lowercase();
        self.wait_until(&format!("{css} containing {needle:?}"), limit, |b| {
            b.text(css).filter(|t| t.to_lowercase().contains(&lower))
        })
    }

    /// Clicks the element `css`.
    pub fn click(&self, css: &str) {
        self.on_element(css, "click", async |node| node.click().await);
    }

    /// Clears the field `css` and types `text` into it.
    pub fn fill(&self, css: &str, text: &str) {
        self.on_element(css, "type into", async |node| {
            node.clear().await?;
            node.send_keys(text).await
        });
    }

    /// Picks the option with `value` in the `<select>` `css`.
    pub fn select(&self, css: &str, value: &str) {
        self.on_element(css, &format!("pick {value} in"), async |node| {
            node.select_by_value(value).await
        });
    }

    /// Finds `css` and does `act` to it. A live page may redraw the element
    /// between finding and acting (a stale element): that is retried a few
    /// times, then the test fails saying it could not `what`.
    fn on_element(
        &self,
        css: &str,
        what: &str,
        act: impl AsyncFn(Element) -> Result<(), CmdError>,
    ) {
        let mut tries = 0;
        loop {
            let done = self.runtime.block_on(async {
                let node = self.client().find(Locator::Css(css)).await?;
                act(node).await
            });
            match done {
                Ok(()) => return,
                Err(_) if tries < 5 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("cannot {what} {css}: {e}"),
            }
        }
    }

    /// Accepts a `confirm()` dialog the page opened.
    pub fn accept_dialog(&self) {
        self.runtime
            .block_on(self.client().accept_alert())
            .unwrap_or_else(|e| panic!("no dialog to accept: {e}"));
    }

    /// Opens `http://{http}{path}`, signs in through the page's login form
    /// and waits until the form is gone.
    pub fn login(&mut self, http: SocketAddr, path: &str, user: &str, password: &str) {
        self.goto(&format!("http://{http}{path}"));
        let signed_in = self.wait_until("the login form or a signed-in user", PAGE_WAIT, |b| {
            if b.text("#login").is_some() {
                Some(false)
            } else {
                b.text("#who-name").map(|_| true)
            }
        });
        if signed_in {
            // Someone else is signed in in this browser: sign out first.
            self.click("#logout");
            self.wait_for("#login", PAGE_WAIT);
        }
        self.fill("#login-user", user);
        self.fill("#login-password", password);
        self.click("#login-submit");
        self.wait_until("the login form to close", PAGE_WAIT, |b| {
            if let Some(error) = b.text("#login-error").filter(|t| !t.is_empty()) {
                panic!("login as {user} refused: {error}");
            }
            b.text("#login").is_none().then_some(())
        });
    }

    /// Saves a PNG of the window as `<n>-<name>.png` in the test's folder.
    pub fn screenshot(&mut self, name: &str) -> PathBuf {
        self.shots += 1;
        let file = self
            .screenshots
            .join(format!("{:02}-{}.png", self.shots, slug(name)));
        let png = self
            .runtime
            .block_on(self.client().screenshot())
            .unwrap_or_else(|e| panic!("no screenshot: {e}"));
        std::fs::write(&file, png).unwrap();
        file
    }
}

fn slug(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Ending the session closes Chromium; then chromedriver goes.
        if let Some(client) = self.client.take() {
            let _ = self.runtime.block_on(async {
                tokio::time::timeout(Duration::from_secs(10), client.close()).await
            });
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
