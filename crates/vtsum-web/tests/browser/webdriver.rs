//! A small W3C WebDriver client over HTTP, enough for the browser tests: it starts Debian's
//! `chromedriver` on a free port, opens headless Chromium sessions, finds elements, clicks,
//! types, runs scripts and takes screenshots. A dependency such as `thirtyfour` would do
//! more, at the price of a few dozen crates in every build.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// The key W3C WebDriver puts element references under.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A running chromedriver, killed on drop.
pub struct Driver {
    child: Child,
    base: String,
    http: reqwest::Client,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find_binary(env: &str, candidates: &[&str]) -> Result<String, String> {
    if let Ok(path) = std::env::var(env) {
        return Ok(path);
    }
    candidates
        .iter()
        .find(|c| std::path::Path::new(c).exists())
        .map(|c| c.to_string())
        .ok_or_else(|| format!("none of {candidates:?} exists: install Debian's chromium and chromium-driver (scripts/test.sh does), or set {env}"))
}

impl Driver {
    /// Starts chromedriver and waits until it is ready.
    pub async fn start() -> Result<Driver, String> {
        let binary = find_binary(
            "CHROMEDRIVER",
            &["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
        )?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {binary}: {e}"))?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| e.to_string())?;
        let driver = Driver {
            child,
            base: format!("http://127.0.0.1:{port}"),
            http,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = driver
                .http
                .get(format!("{}/status", driver.base))
                .send()
                .await;
            if let Ok(res) = ready {
                let body: Value = res.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    return Ok(driver);
                }
            }
            if Instant::now() > deadline {
                return Err("chromedriver did not become ready in 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a headless Chromium session with downloads going to `download_dir`.
    pub async fn session(&self, download_dir: &std::path::Path) -> Result<Session, String> {
        let chrome = find_binary(
            "CHROME_BIN",
            &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
        )?;
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chrome,
                "args": ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                         "--window-size=1280,900", "--no-first-run", "--disable-extensions"],
                "prefs": {"download.default_directory": download_dir.display().to_string(),
                          "download.prompt_for_download": false}
            }
        }}});
        let value = call(
            &self.http,
            reqwest::Method::POST,
            &format!("{}/session", self.base),
            Some(caps),
        )
        .await?;
        let id = value["sessionId"]
            .as_str()
            .ok_or("no session id")?
            .to_string();
        Ok(Session {
            http: self.http.clone(),
            base: format!("{}/session/{id}", self.base),
        })
    }
}

/// Sends one WebDriver command and returns its `value`, or the driver's error message.
async fn call(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut req = http.request(method, url);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let res = req.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = res.status();
    let body: Value = res.json().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(format!(
            "{url}: {} {}",
            body["value"]["error"], body["value"]["message"]
        ));
    }
    Ok(body["value"].clone())
}

/// One browser session.
#[derive(Clone)]
pub struct Session {
    http: reqwest::Client,
    base: String,
}

/// An element of the page.
#[derive(Clone)]
pub struct Element {
    session: Session,
    id: String,
}

impl Session {
    async fn cmd(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, String> {
        call(&self.http, method, &format!("{}{path}", self.base), body).await
    }

    /// A command whose answer is text (empty when the driver sends none).
    async fn get_text(&self, path: &str) -> Result<String, String> {
        let v = self.cmd(reqwest::Method::GET, path, None).await?;
        Ok(v.as_str().unwrap_or("").to_string())
    }

    /// A command that answers nothing of interest.
    async fn post(&self, path: &str, body: Value) -> Result<(), String> {
        self.cmd(reqwest::Method::POST, path, Some(body))
            .await
            .map(|_| ())
    }

    fn element(&self, id: &str) -> Element {
        Element {
            session: self.clone(),
            id: id.to_string(),
        }
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.post("/url", json!({ "url": url })).await
    }

    pub async fn title(&self) -> Result<String, String> {
        self.get_text("/title").await
    }

    pub async fn url(&self) -> Result<String, String> {
        self.get_text("/url").await
    }

    pub async fn find(&self, css: &str) -> Result<Element, String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/element",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        let id = v[ELEMENT]
            .as_str()
            .ok_or_else(|| format!("no element for {css}: {v}"))?;
        Ok(self.element(id))
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<Element>, String> {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/elements",
                Some(json!({"using": "css selector", "value": css})),
            )
            .await?;
        Ok(v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str())
                    .map(|id| self.element(id))
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Runs a script (its body; `arguments` holds `args`) and returns its value.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Runs an async script: it calls `arguments[arguments.length - 1]` with its result.
    pub async fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value, String> {
        self.cmd(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// Polls a script until it returns something truthy; a condition, never a fixed sleep.
    pub async fn wait_for(&self, script: &str, timeout: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.execute(script, vec![]).await?;
            let truthy =
                !matches!(&v, Value::Null | Value::Bool(false)) && v != json!(0) && v != json!("");
            if truthy {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!("still {v} after {timeout:?}: {script}"));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn screenshot_png(&self) -> Result<Vec<u8>, String> {
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await?;
        base64_decode(v.as_str().ok_or("no screenshot data")?)
    }

    pub async fn save_screenshot(&self, path: &std::path::Path) -> Result<(), String> {
        let png = self.screenshot_png().await?;
        std::fs::write(path, png).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub async fn set_window_size(&self, width: u32, height: u32) -> Result<(), String> {
        self.post("/window/rect", json!({"width": width, "height": height}))
            .await
    }

    /// Ends the session (closes the browser).
    pub async fn quit(&self) -> Result<(), String> {
        self.cmd(reqwest::Method::DELETE, "", None)
            .await
            .map(|_| ())
    }
}

impl Element {
    /// A path of a command on this element.
    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    pub async fn click(&self) -> Result<(), String> {
        self.session.post(&self.path("/click"), json!({})).await
    }

    /// Types text; for `<input type=file>` the text is a file's absolute path.
    pub async fn send_keys(&self, text: &str) -> Result<(), String> {
        let body = json!({ "text": text });
        self.session.post(&self.path("/value"), body).await
    }

    pub async fn clear(&self) -> Result<(), String> {
        self.session.post(&self.path("/clear"), json!({})).await
    }

    pub async fn text(&self) -> Result<String, String> {
        self.session.get_text(&self.path("/text")).await
    }

    pub async fn attr(&self, name: &str) -> Result<Option<String>, String> {
        let path = self.path(&format!("/attribute/{name}"));
        let v = self.session.cmd(reqwest::Method::GET, &path, None).await?;
        Ok(v.as_str().map(String::from))
    }
}

/// Standard base64 (screenshots), without a crate for one function.
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text
        .bytes()
        .filter(|c| !c.is_ascii_whitespace() && *c != b'=')
    {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return Err(format!("not base64: {:?}", c as char)),
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    Ok(out)
}
