//! The dashboard at `/ui/` in a real browser: headless Chromium over chromedriver (Debian's
//! packages, installed by scripts/test.sh) against `driftguard serve` on a copy of the
//! bundled shop example, as a process on 127.0.0.1.
//!
//! Checked through the page's DOM, as the contract in docs/ui.md describes it: the
//! overview's counts, the drifts table and its filters kept in the URL, a record's field
//! table, a live update after an analysis without a reload, no Secret value anywhere in the
//! DOM, the token dialog with `server.auth.tokens_file`, and a phone-sized screen.
//! Screenshots of every page land in `target/ui-screenshots/` (docs/ui/ holds copies).
//!
//! A missing browser fails these tests: they never skip.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use driftguard_test_support::browser::{Browser, Viewport};
use driftguard_test_support::files::copy_tree;
use driftguard_test_support::http;
use driftguard_test_support::python::workspace_root;
use driftguard_test_support::service::ServiceProcess;
use driftguard_test_support::tokens::sha256sum;
use serde_json::{Value, json};

const TOKEN: &str = "ui-reader-5d0c7e2a91";

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_driftguard"))
}

/// Where every run leaves its screenshots.
fn screenshots() -> PathBuf {
    workspace_root().join("target/ui-screenshots")
}

/// The shop example copied into `dir` (so that a test may edit it), with its records in a
/// database of its own and the given extra `server:` settings.
fn write_example(dir: &Path, server: &str) -> PathBuf {
    let examples = workspace_root().join("examples");
    copy_tree(&examples.join("desired"), &dir.join("desired"));
    copy_tree(&examples.join("live"), &dir.join("live"));
    let config = format!(
        "\
server:
  host: 127.0.0.1
{server}
logging:
  level: info
  format: json
database:
  type: sqlite
  path: {dir}/drift.db
sources:
  desired: folder
  folder: {dir}/desired
  live: dump
  dump: {dir}/live
detection:
  interval: 1h
  watch: false
  fingerprint_key: dashboard test key
",
        dir = dir.display(),
    );
    let path = dir.join("config.yaml");
    std::fs::write(&path, config).unwrap();
    path
}

/// `GET path` with `token` as a bearer token when given.
fn get(address: SocketAddr, path: &str, token: Option<&str>) -> (u16, Value) {
    let header = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = header
        .as_deref()
        .map(|h| ("Authorization", h))
        .into_iter()
        .collect();
    let (status, _, body) = http::request_with_headers(address, "GET", path, &headers, None);
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Starts the service on `config` and waits until its first analysis recorded the five
/// drifts of the example.
fn start(config: &Path, token: Option<&str>) -> ServiceProcess {
    let mut service = ServiceProcess::start(binary(), config, &[]);
    service.wait_for("the first analysis", |s| {
        let (status, stats) = get(s.address(), "/api/v1/statistics", token);
        status == 200 && stats["statistics"]["drifted_resources"] == 5
    });
    let (status, body) = http::request(service.address(), "GET", "/ui/", None);
    assert_eq!(
        status, 200,
        "GET /ui/ answered {status} (is the dashboard built in?): {body}"
    );
    service
}

/// The Secret's plaintext values (from examples/expected.json) and their base64 forms,
/// none of which may ever reach the page.
fn secret_values() -> Vec<String> {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(workspace_root().join("examples/expected.json")).unwrap(),
    )
    .unwrap();
    let plain: Vec<String> = expected["secret_plaintexts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(plain.len(), 3, "{plain:?}");
    let mut all = plain.clone();
    for value in &plain {
        // Without padding, so that the padded form (which contains it) is caught as well.
        all.push(base64::engine::general_purpose::STANDARD_NO_PAD.encode(value));
        all.push(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(value));
    }
    all
}

/// A browser on one service, keeping count of what it checked.
struct Dashboard {
    browser: Browser,
    base: String,
    secrets: Vec<String>,
    pages_checked: usize,
}

impl Dashboard {
    fn open(browser: Browser, service: &ServiceProcess) -> Self {
        Self {
            browser,
            base: format!("http://{}", service.address()),
            secrets: secret_values(),
            pages_checked: 0,
        }
    }

    /// Opens `/ui/` + `route` (a hash route such as `#/drifts`).
    fn goto(&self, route: &str) {
        self.browser.goto(&format!("{}/ui/{route}", self.base));
    }

    /// Waits until `main#page` shows `page` rendered and `ready` (a JS expression) holds;
    /// returns its `data-render`.
    fn wait_page(&self, page: &str, ready: &str) -> i64 {
        let script = format!(
            "const m = document.querySelector('main#page');
             if (!m || m.dataset.page !== arguments[0] || m.dataset.loaded !== 'true') return null;
             if (!({ready})) return null;
             return Number(m.dataset.render) || -1;"
        );
        let render = self.browser.wait_until(
            &format!("the {page} page ({ready})"),
            &script,
            &[json!(page)],
        );
        render.as_i64().unwrap()
    }

    /// `data-render` of `main#page` now.
    fn render(&self) -> i64 {
        self.browser
            .execute(
                "return Number(document.querySelector('main#page').dataset.render);",
                &[],
            )
            .as_i64()
            .unwrap()
    }

    /// The trimmed text content of the first element matching `selector`, if any.
    fn text(&self, selector: &str) -> Option<String> {
        self.browser
            .execute(
                "const e = document.querySelector(arguments[0]);
                 return e ? e.textContent.trim() : null;",
                &[json!(selector)],
            )
            .as_str()
            .map(str::to_owned)
    }

    fn count(&self, selector: &str) -> usize {
        self.browser.find_all(selector).len()
    }

    /// The page's DOM holds no Secret value.
    fn assert_no_secret(&mut self, page: &str) {
        let html = self.browser.html();
        for secret in &self.secrets {
            assert!(
                !html.contains(secret.as_str()),
                "the {page} page shows the Secret value {secret:?}"
            );
        }
        self.pages_checked += 1;
    }

    /// Saves a screenshot as `target/ui-screenshots/NAME.png`.
    fn screenshot(&self, name: &str) {
        let path = screenshots().join(format!("{name}.png"));
        let size = self.browser.screenshot(&path);
        eprintln!("screenshot {} ({size} bytes)", path.display());
    }

    /// Clicks `nav a[data-nav=NAME]`.
    fn nav(&self, name: &str) {
        let link = self.browser.element(&format!("nav a[data-nav=\"{name}\"]"));
        self.browser.click(&link);
    }

    /// The `aria-current` page of the navigation.
    fn current_nav(&self) -> Option<String> {
        self.browser
            .execute(
                "const a = document.querySelector('nav a[aria-current=\"page\"]');
                 return a ? a.dataset.nav : null;",
                &[],
            )
            .as_str()
            .map(str::to_owned)
    }

    /// The resource ids of the drifts table's rows.
    fn drift_rows(&self) -> Vec<String> {
        let ids = self.browser.execute(
            "return Array.from(document.querySelectorAll('table#drift-table tbody tr[data-resource-id]'))
                 .map(r => r.dataset.resourceId);",
            &[],
        );
        let mut ids: Vec<String> = serde_json::from_value(ids).unwrap();
        ids.sort();
        ids
    }

    /// The severity cells of the drifts table's rows.
    fn drift_severities(&self) -> Vec<String> {
        let cells = self.browser.execute(
            "return Array.from(document.querySelectorAll(
                 'table#drift-table tbody tr[data-resource-id] td[data-col=\"severity\"]'))
                 .map(c => c.textContent.trim());",
            &[],
        );
        serde_json::from_value(cells).unwrap()
    }
}

const HIGH: [&str; 2] = ["Deployment:shop:payments", "Secret:shop:payments-db"];

#[test]
fn the_dashboard_shows_the_example_filters_drifts_and_follows_an_analysis_live() {
    let started = Instant::now();
    let browser = Browser::start(Viewport::DESKTOP);
    let dir = tempfile::tempdir().unwrap();
    let config = write_example(dir.path(), "  analyze_rate_limit:\n    per_minute: 0");
    let service = start(&config, None);
    let cluster = service.record("Deployment:shop:cart")["cluster"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ui = Dashboard::open(browser, &service);

    // `/` leads to the dashboard.
    ui.browser.goto(&format!("{}/", ui.base));
    assert!(
        ui.browser.url().starts_with(&format!("{}/ui/", ui.base)),
        "{}",
        ui.browser.url()
    );

    // 1. Overview: five drifted, five in sync.
    ui.wait_page(
        "overview",
        "document.querySelector('[data-count=\"drifted\"]')",
    );
    assert_eq!(ui.text("[data-count=\"drifted\"]").as_deref(), Some("5"));
    assert_eq!(ui.text("[data-count=\"in_sync\"]").as_deref(), Some("5"));
    assert_eq!(ui.current_nav().as_deref(), Some("overview"));
    assert_eq!(
        ui.text("section[data-breakdown=\"severity\"] [data-key=\"High\"] [data-value]")
            .as_deref(),
        Some("2")
    );
    for chart in ["timeline-24h", "timeline-7d"] {
        let title = ui.text(&format!("svg[data-chart=\"{chart}\"] title"));
        assert!(title.is_some_and(|t| !t.is_empty()), "{chart} has no title");
    }
    assert_eq!(ui.count("ol[data-list=\"most-drifted\"] li a"), 5);
    ui.assert_no_secret("overview");
    ui.screenshot("overview");

    // 2. Drifts, then only the High ones; the filter lives in the URL.
    ui.nav("drifts");
    ui.wait_page(
        "drifts",
        "document.querySelector('table#drift-table tbody tr[data-resource-id]')",
    );
    assert_eq!(ui.current_nav().as_deref(), Some("drifts"));
    assert_eq!(ui.text("[data-total]").as_deref(), Some("10"));
    assert_eq!(
        ui.count("table#drift-table th[scope=\"col\"] button[data-sort]"),
        5
    );
    assert_eq!(ui.count("table#drift-table th[aria-sort]"), 1);
    assert!(ui.drift_rows().len() >= 5, "{:?}", ui.drift_rows());
    ui.assert_no_secret("drifts");
    ui.screenshot("drifts");

    let before = ui.render();
    ui.browser.select("select#filter-severity", "High");
    ui.wait_page(
        "drifts",
        &format!(
            "Number(m.dataset.render) > {before} && location.hash.includes('severity=High') && \
             document.querySelectorAll('table#drift-table tbody tr[data-resource-id]').length === 2"
        ),
    );
    assert_eq!(ui.drift_rows(), HIGH);
    assert_eq!(ui.drift_severities(), ["High", "High"]);
    let filtered = ui.browser.url();
    assert!(filtered.contains("#/drifts?"), "{filtered}");
    assert!(filtered.contains("severity=High"), "{filtered}");
    ui.assert_no_secret("drifts filtered to High");
    ui.screenshot("drifts-high");

    // The same URL, reloaded, shows the same rows with the filter chosen.
    ui.browser.refresh();
    ui.wait_page(
        "drifts",
        "document.querySelectorAll('table#drift-table tbody tr[data-resource-id]').length === 2",
    );
    assert_eq!(ui.browser.url(), filtered);
    assert_eq!(ui.drift_rows(), HIGH);
    assert_eq!(
        ui.browser.execute(
            "return document.querySelector('select#filter-severity').value;",
            &[]
        ),
        "High"
    );

    // The Secret's own page shows fingerprints only.
    ui.goto(&format!(
        "#/resource/Secret%3Ashop%3Apayments-db?cluster={cluster}"
    ));
    ui.wait_page(
        "resource",
        "document.querySelector('[data-field=\"resource_id\"]') && \
         document.querySelector('[data-field=\"resource_id\"]').textContent.includes('Secret:shop:payments-db') && \
         document.querySelector('table#field-table tbody tr[data-path]')",
    );
    ui.assert_no_secret("Secret:shop:payments-db");

    // 3. The cart's page, reached from the drifts table: replicas 2 in Git, 4 live, by kubectl.
    ui.goto("#/drifts");
    ui.wait_page(
        "drifts",
        "document.querySelector('table#drift-table tbody tr[data-resource-id=\"Deployment:shop:cart\"] a') && \
         !location.hash.includes('severity')",
    );
    let link = ui.browser.element(
        "table#drift-table tbody tr[data-resource-id=\"Deployment:shop:cart\"] td[data-col=\"resource_id\"] a",
    );
    ui.browser.click(&link);
    let row = "table#field-table tbody tr[data-path=\"spec.replicas\"]";
    ui.wait_page(
        "resource",
        &format!("document.querySelector('{}')", row.replace('\'', "\\'")),
    );
    assert!(
        ui.browser
            .url()
            .contains("#/resource/Deployment%3Ashop%3Acart"),
        "{}",
        ui.browser.url()
    );
    assert_eq!(
        ui.text("[data-field=\"resource_id\"]").as_deref(),
        Some("Deployment:shop:cart")
    );
    assert_eq!(
        ui.text("[data-field=\"drift_status\"]").as_deref(),
        Some("active")
    );
    assert_eq!(
        ui.text(&format!("{row} td[data-col=\"desired\"]"))
            .as_deref(),
        Some("2")
    );
    assert_eq!(
        ui.text(&format!("{row} td[data-col=\"live\"]")).as_deref(),
        Some("4")
    );
    // The manager, then tags such as "hand edit".
    let manager = ui
        .text(&format!("{row} td[data-col=\"manager\"]"))
        .unwrap_or_default();
    assert_eq!(
        manager.split_whitespace().next(),
        Some("kubectl"),
        "{manager:?}"
    );
    assert_eq!(
        ui.count("ol#event-timeline li[data-kind=\"drift_detected\"]"),
        1
    );
    ui.assert_no_secret("Deployment:shop:cart");
    ui.screenshot("resource");

    // 4. Live: Git now asks for the 4 replicas the cluster runs; after an analysis the page
    // shows the drift resolved, without a reload.
    ui.browser.wait_until(
        "the live stream to connect",
        "const s = document.querySelector('[data-live-status]');
         return s && s.textContent.trim() === 'live';",
        &[],
    );
    ui.browser
        .execute("window.__driftguardNoReload = true;", &[]);
    let before = ui.render();
    let cart = dir.path().join("desired/cart.yaml");
    let manifest = std::fs::read_to_string(&cart).unwrap();
    assert!(manifest.contains("\n  replicas: 2\n"), "{manifest}");
    std::fs::write(
        &cart,
        manifest.replace("\n  replicas: 2\n", "\n  replicas: 4\n"),
    )
    .unwrap();
    let analysed = Instant::now();
    service.analyze();
    // Polling (the fallback) comes every 10 s: a quicker update came over the stream.
    let update = ui.browser.wait_until_for(
        "the page to show the drift resolved",
        Duration::from_secs(8),
        &format!(
            "const m = document.querySelector('main#page');
             const s = document.querySelector('[data-field=\"drift_status\"]');
             return Number(m.dataset.render) > {before} && s && s.textContent.trim() === 'resolved';"
        ),
        &[],
    );
    assert_eq!(update, true);
    eprintln!(
        "live update shown {:?} after the analysis request",
        analysed.elapsed()
    );
    assert_eq!(
        ui.browser
            .execute("return window.__driftguardNoReload === true;", &[]),
        true,
        "the page was reloaded"
    );
    assert_eq!(ui.count(row), 0, "a resolved record lists no drifted field");
    assert_eq!(
        ui.count("ol#event-timeline li[data-kind=\"drift_resolved\"]"),
        1
    );
    ui.assert_no_secret("Deployment:shop:cart, resolved");

    // The resolution is listed among the recent ones.
    ui.nav("resolved");
    let resolved_row = "table#resolved-table tbody tr[data-resource-id=\"Deployment:shop:cart\"]";
    ui.wait_page(
        "resolved",
        &format!(
            "document.querySelector('{}')",
            resolved_row.replace('\'', "\\'")
        ),
    );
    assert_eq!(ui.current_nav().as_deref(), Some("resolved"));
    let duration = ui
        .text(&format!("{resolved_row} td[data-col=\"duration\"]"))
        .unwrap();
    assert!(!duration.is_empty(), "no duration");
    ui.assert_no_secret("resolved");
    ui.screenshot("resolved");

    // The overview follows: four drifted now, one resolved.
    ui.nav("overview");
    ui.wait_page(
        "overview",
        "document.querySelector('[data-count=\"drifted\"]') && \
         document.querySelector('[data-count=\"drifted\"]').textContent.trim() === '4'",
    );
    assert_eq!(ui.text("[data-count=\"resolved\"]").as_deref(), Some("1"));
    ui.assert_no_secret("overview after the analysis");

    // No script error and no Content-Security-Policy violation on the way.
    let errors: Vec<(String, String)> = ui
        .browser
        .console()
        .into_iter()
        .filter(|(level, _)| level == "SEVERE")
        .collect();
    assert!(errors.is_empty(), "the browser logged errors: {errors:#?}");
    assert_eq!(ui.pages_checked, 8);
    eprintln!("browser flow done in {:?}", started.elapsed());
}

#[test]
fn the_dashboard_asks_for_a_token_once_and_keeps_it_out_of_the_url() {
    let browser = Browser::start(Viewport::DESKTOP);
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.yaml");
    std::fs::write(
        &tokens,
        format!(
            "- name: dashboard\n  token_sha256: {}\n  scopes: [read]\n",
            sha256sum(TOKEN)
        ),
    )
    .unwrap();
    let config = write_example(
        dir.path(),
        &format!("  auth:\n    tokens_file: {}", tokens.display()),
    );
    let service = start(&config, Some(TOKEN));
    let mut ui = Dashboard::open(browser, &service);

    // Without a token the API answers 401 and the page asks for one.
    ui.goto("#/");
    let dialog_open = "const d = document.querySelector('dialog#token-dialog');
                       return d && d.open;";
    ui.browser.wait_until("the token dialog", dialog_open, &[]);
    let input = ui.browser.element("dialog#token-dialog input#token-input");
    assert_eq!(
        ui.browser
            .execute("return arguments[0].type;", &[input.to_json()]),
        "password"
    );
    ui.assert_no_secret("token dialog");
    ui.screenshot("token-dialog");

    ui.browser.send_keys(&input, TOKEN);
    let submit = ui
        .browser
        .element("dialog#token-dialog button#token-submit");
    ui.browser.click(&submit);
    ui.wait_page(
        "overview",
        "document.querySelector('[data-count=\"drifted\"]') && \
         document.querySelector('[data-count=\"drifted\"]').textContent.trim() === '5'",
    );
    assert_eq!(
        ui.browser.execute(dialog_open, &[]),
        false,
        "the dialog stays open"
    );
    assert_eq!(
        ui.browser
            .execute("return sessionStorage.getItem('driftguard.token');", &[]),
        TOKEN
    );
    let assert_token_hidden = |ui: &Dashboard| {
        let url = ui.browser.url();
        assert!(!url.contains(TOKEN), "the token is in the URL: {url}");
        let cookie = ui.browser.execute("return document.cookie;", &[]);
        assert!(
            !cookie.as_str().unwrap_or_default().contains(TOKEN),
            "the token is in a cookie"
        );
        assert!(
            !ui.browser.html().contains(TOKEN),
            "the token is in the DOM"
        );
    };
    assert_token_hidden(&ui);
    ui.assert_no_secret("overview with a token");

    // Once only: other pages and a reload of the tab use the kept token.
    ui.nav("drifts");
    ui.wait_page(
        "drifts",
        "document.querySelector('table#drift-table tbody tr[data-resource-id]')",
    );
    assert_eq!(ui.browser.execute(dialog_open, &[]), false);
    assert_token_hidden(&ui);
    ui.assert_no_secret("drifts with a token");

    ui.browser.refresh();
    ui.wait_page(
        "drifts",
        "document.querySelector('table#drift-table tbody tr[data-resource-id]')",
    );
    assert_eq!(
        ui.browser.execute(dialog_open, &[]),
        false,
        "asked again after a reload"
    );
    assert_token_hidden(&ui);

    ui.nav("resolved");
    ui.wait_page("resolved", "document.querySelector('table#resolved-table')");
    assert_eq!(ui.browser.execute(dialog_open, &[]), false);
    assert_token_hidden(&ui);
    ui.assert_no_secret("resolved with a token");
}

#[test]
fn the_dashboard_fits_a_phone_screen() {
    let browser = Browser::start(Viewport::PHONE);
    let dir = tempfile::tempdir().unwrap();
    let config = write_example(dir.path(), "");
    let service = start(&config, None);
    let mut ui = Dashboard::open(browser, &service);

    ui.goto("#/");
    ui.wait_page(
        "overview",
        "document.querySelector('[data-count=\"drifted\"]')",
    );
    assert_eq!(ui.text("[data-count=\"drifted\"]").as_deref(), Some("5"));
    // The page is laid out for the phone's width: no sideways scrolling of the page.
    let widths = ui.browser.execute(
        "return [innerWidth, document.documentElement.scrollWidth];",
        &[],
    );
    assert_eq!(widths, json!([390, 390]), "[viewport, page] widths");
    ui.assert_no_secret("overview on a phone");
    ui.screenshot("overview-390");

    // Wide tables scroll inside their own box, not the page.
    ui.nav("drifts");
    ui.wait_page(
        "drifts",
        "document.querySelector('table#drift-table tbody tr[data-resource-id]')",
    );
    let widths = ui.browser.execute(
        "return [innerWidth, document.documentElement.scrollWidth];",
        &[],
    );
    assert_eq!(widths, json!([390, 390]), "[viewport, page] widths");
    ui.assert_no_secret("drifts on a phone");
    ui.screenshot("drifts-390");
}
