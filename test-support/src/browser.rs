//! Headless Chromium driven over WebDriver: Debian's `chromium` and `chromium-driver`,
//! with chromedriver started on a free loopback port for one test.
//!
//! The client speaks the W3C WebDriver protocol (JSON over HTTP on std's TCP stream): the
//! tests need a dozen commands, which cost no dependency and no build time.
//!
//! [`Browser::start`] panics with instructions when chromedriver or Chromium is missing:
//! a browser test must fail loudly rather than pass without a browser.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tempfile::TempDir;

use crate::process::{ChildGuard, free_port, wait_for_port};

/// Environment variable naming the chromedriver to use instead of the one on `PATH`.
pub const CHROMEDRIVER_ENV: &str = "DRIFTGUARD_TEST_CHROMEDRIVER";
/// Environment variable naming the Chromium (or Chrome) binary to drive.
pub const CHROMIUM_ENV: &str = "DRIFTGUARD_TEST_CHROMIUM";

/// How long chromedriver may take to open its port.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest one WebDriver command may take (a page load, a script).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(90);
/// How long [`Browser::wait_until`] waits by default.
pub const WAIT: Duration = Duration::from_secs(20);
/// The key under which WebDriver returns an element reference.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// The window a [`Browser`] opens with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewport {
    /// CSS pixels.
    pub width: u32,
    /// CSS pixels.
    pub height: u32,
    /// Emulate a phone (touch, device metrics at pixel ratio 1) rather than a desktop
    /// window: a desktop window cannot be made narrower than about 500 px.
    pub mobile: bool,
}

impl Viewport {
    /// A 1280×900 desktop window.
    pub const DESKTOP: Self = Self {
        width: 1280,
        height: 900,
        mobile: false,
    };
    /// A 390×844 phone screen.
    pub const PHONE: Self = Self {
        width: 390,
        height: 844,
        mobile: true,
    };
}

/// A chromedriver process on 127.0.0.1, killed when dropped.
#[derive(Debug)]
pub struct Chromedriver {
    child: ChildGuard,
    address: SocketAddr,
    dir: TempDir,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it reports ready.
    ///
    /// Starts are serialized within the test process: between choosing a free port and
    /// chromedriver binding it, a second start could choose the same port, fail to bind,
    /// and talk to the first test's chromedriver until that one is stopped.
    pub fn start() -> Self {
        static STARTING: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one_at_a_time = STARTING
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let binary = chromedriver();
        let dir = tempfile::Builder::new()
            .prefix("driftguard-chromedriver-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a folder for chromedriver: {e}"));
        let port = free_port();
        let log = dir.path().join("chromedriver.log");
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {}: {e}; run scripts/test.sh, which installs Debian's \
                     chromium and chromium-driver",
                    binary.display()
                )
            });
        let mut child = ChildGuard::new(format!("chromedriver (log: {})", log.display()), child);
        wait_for_port(&mut child, port, START_TIMEOUT);
        let address = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            let (_, status) = raw_command(address, "GET", "/status", None);
            if status["value"]["ready"] == true {
                // Ours answered, not another process on a reused port.
                child.assert_running();
                break;
            }
            child.assert_running();
            assert!(
                Instant::now() < deadline,
                "chromedriver is not ready: {status}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self {
            child,
            address,
            dir,
        }
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The end of its log (the last `bytes` bytes), for failure messages.
    pub fn log_tail(&self, bytes: usize) -> String {
        let log =
            std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
        let start = log.len().saturating_sub(bytes);
        let start = (start..log.len())
            .find(|&i| log.is_char_boundary(i))
            .unwrap_or(log.len());
        log[start..].to_owned()
    }

    /// Panics when it has exited.
    pub fn assert_running(&mut self) {
        self.child.assert_running();
    }
}

/// The chromedriver binary: `DRIFTGUARD_TEST_CHROMEDRIVER`, else `chromedriver` on `PATH`,
/// else `/usr/bin/chromedriver`. Panics with instructions when there is none.
pub fn chromedriver() -> PathBuf {
    find_binary(
        CHROMEDRIVER_ENV,
        &["chromedriver"],
        &["/usr/bin/chromedriver"],
    )
    .unwrap_or_else(|| {
        panic!(
            "chromedriver is not installed: run scripts/test.sh (it installs Debian's \
                 chromium and chromium-driver), or set {CHROMEDRIVER_ENV}"
        )
    })
}

/// The browser binary: `DRIFTGUARD_TEST_CHROMIUM`, else `chromium` on `PATH`, else
/// `/usr/bin/chromium`. Panics with instructions when there is none.
pub fn chromium() -> PathBuf {
    find_binary(
        CHROMIUM_ENV,
        &["chromium", "chromium-browser"],
        &["/usr/bin/chromium"],
    )
    .unwrap_or_else(|| {
        panic!(
            "Chromium is not installed: run scripts/test.sh (it installs Debian's chromium \
             and chromium-driver), or set {CHROMIUM_ENV}"
        )
    })
}

fn find_binary(env: &str, names: &[&str], fallbacks: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "{env}={} does not exist; run scripts/test.sh",
            path.display()
        );
        return Some(path);
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |name| dir.join(name)))
        .chain(fallbacks.iter().map(PathBuf::from))
        .find(|candidate| candidate.is_file())
}

/// A WebDriver error answer.
#[derive(Debug, Clone)]
pub struct WebDriverError {
    /// The HTTP status.
    pub status: u16,
    /// The W3C error code, e.g. `no such element`.
    pub error: String,
    /// The driver's message.
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({}): {}", self.error, self.status, self.message)
    }
}

/// An element of the current page, as WebDriver references it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(String);

impl Element {
    /// The element as an argument of [`Browser::execute`].
    pub fn to_json(&self) -> Value {
        json!({ ELEMENT_KEY: self.0 })
    }

    fn from_json(value: &Value) -> Option<Self> {
        value[ELEMENT_KEY].as_str().map(|id| Self(id.to_owned()))
    }
}

/// One headless Chromium session over its own chromedriver; both end when dropped.
#[derive(Debug)]
pub struct Browser {
    driver: Chromedriver,
    session: String,
    viewport: Viewport,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with `viewport`.
    pub fn start(viewport: Viewport) -> Self {
        let browser = chromium();
        let driver = Chromedriver::start();
        let mut args = vec![
            "--headless=new".to_owned(),
            // Tests run as root, where Chromium's sandbox cannot start.
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-extensions".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            "--no-first-run".to_owned(),
            "--no-default-browser-check".to_owned(),
            "--hide-scrollbars".to_owned(),
            "--force-device-scale-factor=1".to_owned(),
        ];
        let mut options = json!({ "binary": browser.to_string_lossy() });
        if viewport.mobile {
            options["mobileEmulation"] = json!({
                "deviceMetrics": {
                    "width": viewport.width,
                    "height": viewport.height,
                    "pixelRatio": 1.0,
                    "touch": true,
                    "mobile": true,
                }
            });
            args.push("--window-size=500,900".to_owned());
        } else {
            args.push(format!(
                "--window-size={},{}",
                viewport.width, viewport.height
            ));
        }
        options["args"] = json!(args);
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": options,
                    "goog:loggingPrefs": { "browser": "ALL" },
                    "timeouts": { "script": 30_000, "pageLoad": 60_000, "implicit": 0 },
                    "unhandledPromptBehavior": "ignore",
                }
            }
        });
        let (status, answer) =
            raw_command(driver.address(), "POST", "/session", Some(&capabilities));
        let session = answer["value"]["sessionId"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                panic!(
                    "chromedriver could not start {} ({status}): {answer}\n\
                     --- chromedriver's log ---\n{}",
                    browser.display(),
                    driver.log_tail(4000)
                )
            });
        let browser = Self {
            driver,
            session,
            viewport,
        };
        if !viewport.mobile {
            browser.fit_window();
        }
        browser
    }

    /// Grows the window so that the page's viewport (not the window with its frame) is
    /// the one asked for: headless Chromium keeps some height for a frame it does not
    /// draw.
    fn fit_window(&self) {
        let inner = self.execute("return [innerWidth, innerHeight];", &[]);
        let rect = self.must("GET", "/window/rect", None);
        let grow = |axis: &str, index: usize, wanted: u32| {
            let outer = rect[axis].as_i64().unwrap_or_default();
            let inner = inner[index].as_i64().unwrap_or_default();
            outer + i64::from(wanted) - inner
        };
        let width = grow("width", 0, self.viewport.width);
        let height = grow("height", 1, self.viewport.height);
        self.must(
            "POST",
            "/window/rect",
            Some(&json!({ "width": width, "height": height })),
        );
        let inner = self.execute("return [innerWidth, innerHeight];", &[]);
        assert_eq!(
            inner,
            json!([self.viewport.width, self.viewport.height]),
            "Chromium's viewport is not the one asked for"
        );
    }

    /// The viewport it was started with.
    pub fn viewport(&self) -> Viewport {
        self.viewport
    }

    /// One WebDriver command of this session (`path` after `/session/{id}`).
    pub fn command(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, WebDriverError> {
        let (status, answer) = raw_command(
            self.driver.address(),
            method,
            &format!("/session/{}{path}", self.session),
            body,
        );
        if status == 200 {
            return Ok(answer["value"].clone());
        }
        Err(WebDriverError {
            status,
            error: answer["value"]["error"]
                .as_str()
                .unwrap_or("unknown error")
                .to_owned(),
            message: answer["value"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    fn must(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        self.command(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    /// Opens `url` and waits for the document to load.
    pub fn goto(&self, url: &str) {
        self.must("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Reloads the current page.
    pub fn refresh(&self) {
        self.must("POST", "/refresh", Some(&json!({})));
    }

    /// The current URL.
    pub fn url(&self) -> String {
        self.must("GET", "/url", None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) and returns its value.
    pub fn execute(&self, script: &str, args: &[Value]) -> Value {
        self.must(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// The first element matching the CSS `selector`, if any.
    pub fn find(&self, selector: &str) -> Option<Element> {
        match self.command(
            "POST",
            "/element",
            Some(&json!({ "using": "css selector", "value": selector })),
        ) {
            Ok(value) => Element::from_json(&value),
            Err(e) if e.error == "no such element" => None,
            Err(e) => panic!("find {selector}: {e}"),
        }
    }

    /// Every element matching the CSS `selector`.
    pub fn find_all(&self, selector: &str) -> Vec<Element> {
        let found = self.must(
            "POST",
            "/elements",
            Some(&json!({ "using": "css selector", "value": selector })),
        );
        found
            .as_array()
            .map(|items| items.iter().filter_map(Element::from_json).collect())
            .unwrap_or_default()
    }

    /// The element matching `selector`; panics with the page's state when there is none.
    pub fn element(&self, selector: &str) -> Element {
        self.find(selector)
            .unwrap_or_else(|| panic!("no element {selector} on the page{}", self.state()))
    }

    /// Clicks `element` as a user would (scrolling it into view first).
    pub fn click(&self, element: &Element) {
        self.must(
            "POST",
            &format!("/element/{}/click", element.0),
            Some(&json!({})),
        );
    }

    /// Types `text` into `element`.
    pub fn send_keys(&self, element: &Element, text: &str) {
        self.must(
            "POST",
            &format!("/element/{}/value", element.0),
            Some(&json!({ "text": text })),
        );
    }

    /// Clears an input or textarea.
    pub fn clear(&self, element: &Element) {
        self.must(
            "POST",
            &format!("/element/{}/clear", element.0),
            Some(&json!({})),
        );
    }

    /// The rendered text of `element`.
    pub fn text(&self, element: &Element) -> String {
        self.must("GET", &format!("/element/{}/text", element.0), None)
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Chooses the option of the `<select>` matching `select` whose value or text is
    /// `choice`, by clicking it as a user does (which fires `input` and `change`).
    pub fn select(&self, select: &str, choice: &str) {
        let option = self.execute(
            "const s = document.querySelector(arguments[0]);
             if (!s) return null;
             return Array.from(s.options).find(o => o.value === arguments[1]
                 || o.textContent.trim() === arguments[1]) || null;",
            &[json!(select), json!(choice)],
        );
        let option = Element::from_json(&option).unwrap_or_else(|| {
            panic!(
                "no option {choice:?} in {select}; options: {}{}",
                self.execute(
                    "const s = document.querySelector(arguments[0]);
                     return s ? Array.from(s.options).map(o => [o.value, o.textContent]) : null;",
                    &[json!(select)],
                ),
                self.state()
            )
        });
        self.click(&option);
    }

    /// `document.documentElement.outerHTML`.
    pub fn html(&self) -> String {
        self.execute("return document.documentElement.outerHTML;", &[])
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Polls `script` (a function body) until it returns something other than `null`,
    /// `false`, `0`, `""` or `undefined`, and returns that; panics after `WAIT` with
    /// `what`, the last value and the page's state.
    pub fn wait_until(&self, what: &str, script: &str, args: &[Value]) -> Value {
        self.wait_until_for(what, WAIT, script, args)
    }

    /// [`Browser::wait_until`] with another patience.
    pub fn wait_until_for(
        &self,
        what: &str,
        patience: Duration,
        script: &str,
        args: &[Value],
    ) -> Value {
        let deadline = Instant::now() + patience;
        loop {
            let value = self.execute(script, args);
            let truthy = match &value {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return value;
            }
            assert!(
                Instant::now() < deadline,
                "gave up waiting {patience:?} for {what}; last value: {value}{}",
                self.state()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the browser logged to its console since the last call (level and message).
    pub fn console(&self) -> Vec<(String, String)> {
        let Ok(entries) = self.command("POST", "/se/log", Some(&json!({ "type": "browser" })))
        else {
            return Vec::new();
        };
        entries
            .as_array()
            .map(|entries| {
                entries
                    .iter()
                    .map(|e| {
                        (
                            e["level"].as_str().unwrap_or_default().to_owned(),
                            e["message"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// A PNG of the viewport, written to `path` (folders created); returns its size in
    /// bytes.
    pub fn screenshot(&self, path: &Path) -> u64 {
        let data = self.must("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(data.as_str().unwrap_or_default())
            .unwrap_or_else(|e| panic!("the screenshot is not base64: {e}"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
        }
        std::fs::write(path, &png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        png.len() as u64
    }

    /// The URL, the page's `main` element attributes, its console and the end of
    /// chromedriver's log, for failure messages.
    pub fn state(&self) -> String {
        let url = self.command("GET", "/url", None).unwrap_or_default();
        let main = self
            .command(
                "POST",
                "/execute/sync",
                Some(&json!({
                    "script": "const m = document.querySelector('main');
                        return m ? m.outerHTML.slice(0, 3000) : document.body
                            ? document.body.outerHTML.slice(0, 3000) : null;",
                    "args": [],
                })),
            )
            .unwrap_or_default();
        let console: Vec<String> = self
            .console()
            .into_iter()
            .map(|(level, message)| format!("  {level}: {message}"))
            .collect();
        format!(
            "\n--- url: {url}\n--- page:\n{}\n--- console:\n{}\n--- chromedriver (end):\n{}",
            main.as_str().unwrap_or("(none)"),
            console.join("\n"),
            self.driver.log_tail(1500)
        )
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = raw_command(
            self.driver.address(),
            "DELETE",
            &format!("/session/{}", self.session),
            None,
        );
    }
}

/// One WebDriver exchange: the HTTP status and the JSON answer.
///
/// chromedriver answers `Connection: close` yet keeps the connection open, so the answer
/// is read up to its `Content-Length` rather than to the end of the stream.
fn raw_command(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let payload = body.map(Value::to_string).unwrap_or_default();
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect to chromedriver at {address}: {e}"));
    let _ = stream.set_read_timeout(Some(COMMAND_TIMEOUT));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\n\r\n{payload}",
        payload.len()
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("send {method} {path} to chromedriver: {e}"));
    let mut raw = Vec::new();
    let mut buffer = [0_u8; 64 * 1024];
    let (head_end, length) = loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok());
            break (end + 4, length);
        }
        let read = stream
            .read(&mut buffer)
            .unwrap_or_else(|e| panic!("read chromedriver's answer to {method} {path}: {e}"));
        assert!(
            read > 0,
            "chromedriver closed {method} {path} without an answer"
        );
        raw.extend_from_slice(&buffer[..read]);
    };
    while length.is_none_or(|length| raw.len() < head_end + length) {
        let read = stream
            .read(&mut buffer)
            .unwrap_or_else(|e| panic!("read chromedriver's answer to {method} {path}: {e}"));
        if read == 0 {
            break;
        }
        raw.extend_from_slice(&buffer[..read]);
    }
    let head = String::from_utf8_lossy(&raw[..head_end]).into_owned();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("chromedriver: no status in {head:?}"));
    let text = String::from_utf8_lossy(&raw[head_end..]);
    let answer = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!("chromedriver answered {method} {path} with {status} and no JSON ({e}): {text}")
    });
    (status, answer)
}
