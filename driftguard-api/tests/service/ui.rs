//! The dashboard as a browser gets it: the redirects to `/ui/`, each file's type, caching
//! and security headers, conditional requests, access without a token while the API needs
//! one, and what the files may hold (no other host, no inline script or style, < 300 KB).

use std::net::SocketAddr;

use bytes::Bytes;
use driftguard_api::{AuthConfig, ServiceSettings};
use http_body_util::{BodyExt, Empty};
use hyper::header::{
    AUTHORIZATION, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, HeaderMap,
    HeaderName, IF_NONE_MATCH, LOCATION, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use sha2::{Digest, Sha256};
use tokio::net::TcpStream;

use crate::fixtures;
use crate::harness::{Harness, test_settings, wait_until_async};

/// The policy the contract asks of every dashboard answer.
const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Each file: its path, content type and `Cache-Control`.
const FILES: [(&str, &str, &str); 4] = [
    ("/ui/", "text/html; charset=utf-8", "no-cache"),
    (
        "/ui/app.js",
        "text/javascript; charset=utf-8",
        "public, max-age=300",
    ),
    (
        "/ui/app.css",
        "text/css; charset=utf-8",
        "public, max-age=300",
    ),
    ("/ui/favicon.svg", "image/svg+xml", "public, max-age=300"),
];

/// URLs the files may name: XML namespace names, which identify, and are never fetched.
const NAMESPACES: [&str; 1] = ["http://www.w3.org/2000/svg"];

#[derive(Debug)]
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn header(&self, name: HeaderName) -> &str {
        self.headers
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_else(|| panic!("no {name} header: {:?}", self.headers))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.to_vec()).expect("UTF-8 text")
    }
}

/// One request on a fresh connection with these extra headers.
async fn send(
    addr: SocketAddr,
    method: Method,
    path: &str,
    headers: &[(HeaderName, &str)],
) -> Reply {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header(hyper::header::HOST, addr.to_string());
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    let response = sender
        .send_request(request.body(Empty::<Bytes>::new()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(addr: SocketAddr, path: &str) -> Reply {
    send(addr, Method::GET, path, &[]).await
}

/// The dashboard's security headers are on `reply`.
fn assert_hardened(reply: &Reply, what: &str) {
    let policy = reply.header(CONTENT_SECURITY_POLICY);
    assert_eq!(policy, POLICY, "{what}");
    assert!(!policy.contains("unsafe-inline"), "{what}");
    assert!(!policy.contains("unsafe-eval"), "{what}");
    assert_eq!(reply.header(X_CONTENT_TYPE_OPTIONS), "nosniff", "{what}");
    assert_eq!(reply.header(REFERRER_POLICY), "no-referrer", "{what}");
}

#[tokio::test]
async fn the_root_and_ui_redirect_to_the_page() {
    let service = Harness::start(fixtures::desired(), fixtures::live_in_sync()).await;
    for method in [Method::GET, Method::HEAD] {
        for path in ["/", "/ui"] {
            let reply = send(service.addr, method.clone(), path, &[]).await;
            assert_eq!(
                reply.status,
                StatusCode::PERMANENT_REDIRECT,
                "{method} {path}"
            );
            assert_eq!(reply.header(LOCATION), "/ui/", "{method} {path}");
            assert!(reply.body.is_empty());
            assert_hardened(&reply, path);
        }
    }
    // Other methods are refused as on every route: a JSON 405.
    let reply = send(service.addr, Method::POST, "/", &[]).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(reply.header(CONTENT_TYPE), "application/json");
    service.stop().await.unwrap();
}

#[tokio::test]
async fn each_file_has_its_type_caching_headers_and_a_strong_etag() {
    let service = Harness::start(fixtures::desired(), fixtures::live_in_sync()).await;
    let mut etags = Vec::new();
    for (path, content_type, cache_control) in FILES {
        let reply = get(service.addr, path).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header(CONTENT_TYPE), content_type, "{path}");
        assert_eq!(reply.header(CACHE_CONTROL), cache_control, "{path}");
        assert_hardened(&reply, path);
        assert!(!reply.body.is_empty(), "{path}");
        let etag = reply.header(ETAG).to_owned();
        assert!(
            etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
            "{path}: a strong entity tag, got {etag}"
        );
        // The same bytes, the same tag.
        assert_eq!(get(service.addr, path).await.header(ETAG), etag, "{path}");

        // The browser's copy is current: 304, no body, the same headers.
        for if_none_match in [
            etag.clone(),
            format!("W/{etag}"),
            format!("\"other\", {etag}"),
            "*".to_owned(),
        ] {
            let reply = send(
                service.addr,
                Method::GET,
                path,
                &[(IF_NONE_MATCH, &if_none_match)],
            )
            .await;
            assert_eq!(
                reply.status,
                StatusCode::NOT_MODIFIED,
                "{path} {if_none_match}"
            );
            assert!(reply.body.is_empty(), "{path}");
            assert_eq!(reply.header(ETAG), etag, "{path}");
            assert_eq!(reply.header(CACHE_CONTROL), cache_control, "{path}");
            assert_hardened(&reply, path);
        }
        // An outdated copy gets the file.
        let reply = send(
            service.addr,
            Method::GET,
            path,
            &[(IF_NONE_MATCH, "\"outdated\"")],
        )
        .await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert!(!reply.body.is_empty(), "{path}");

        // HEAD: the headers of GET, no body.
        let reply = send(service.addr, Method::HEAD, path, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{path}");
        assert_eq!(reply.header(CONTENT_TYPE), content_type, "{path}");
        assert_eq!(reply.header(ETAG), etag, "{path}");
        assert!(reply.body.is_empty(), "{path}");
        etags.push(etag);
    }
    etags.sort();
    etags.dedup();
    assert_eq!(etags.len(), FILES.len(), "each file has its own tag");
    service.stop().await.unwrap();
}

#[tokio::test]
async fn unknown_dashboard_paths_are_json_404s_and_other_methods_405s() {
    let service = Harness::start(fixtures::desired(), fixtures::live_in_sync()).await;
    for path in [
        "/ui/nope",
        "/ui/index.html",
        "/ui/app.js/",
        "/ui//",
        "/ui/assets/app.js",
    ] {
        let reply = get(service.addr, path).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(reply.header(CONTENT_TYPE), "application/json", "{path}");
        let body: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert!(
            body["error"].as_str().unwrap().contains(path),
            "{path}: {body}"
        );
        assert_hardened(&reply, path);
    }
    let reply = send(service.addr, Method::POST, "/ui/app.js", &[]).await;
    assert_eq!(reply.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_hardened(&reply, "POST /ui/app.js");
    // A look-alike path is no dashboard path.
    let reply = get(service.addr, "/uix").await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
    assert!(reply.headers.get(CONTENT_SECURITY_POLICY).is_none());
    service.stop().await.unwrap();
}

#[tokio::test]
async fn the_dashboard_is_public_while_the_api_needs_a_token() {
    const TOKEN: &str = "dashboard-token-0c9e51";
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.yaml");
    let digest: String = Sha256::digest(TOKEN.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::write(
        &tokens,
        format!("- name: dashboard\n  token_sha256: {digest}\n  scopes: [read]\n"),
    )
    .unwrap();
    let settings = ServiceSettings {
        auth: AuthConfig {
            tokens_file: Some(tokens),
            protect_metrics: false,
        },
        ..test_settings()
    };
    let service = Harness::start_with(
        fixtures::desired(),
        fixtures::live_drifted(),
        settings,
        |_| {},
    )
    .await;
    wait_until_async("the first analysis", || async {
        service.get("/ready").await.status == StatusCode::OK
    })
    .await;
    for (path, _, _) in FILES {
        assert_eq!(
            get(service.addr, path).await.status,
            StatusCode::OK,
            "{path}"
        );
    }
    for path in ["/", "/ui"] {
        let reply = get(service.addr, path).await;
        assert_eq!(reply.status, StatusCode::PERMANENT_REDIRECT, "{path}");
    }
    assert_eq!(
        get(service.addr, "/ui/nope").await.status,
        StatusCode::NOT_FOUND
    );
    // The API the page reads still needs the token, which the page sends as a header.
    let reply = get(service.addr, "/api/v1/statistics").await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    let bearer = format!("Bearer {TOKEN}");
    let reply = send(
        service.addr,
        Method::GET,
        "/api/v1/statistics",
        &[(AUTHORIZATION, &bearer)],
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    // Other paths next to `/` stay closed.
    assert_eq!(
        get(service.addr, "/nope").await.status,
        StatusCode::UNAUTHORIZED
    );
    service.stop().await.unwrap();
}

#[tokio::test]
async fn the_files_are_small_self_contained_and_hold_no_inline_code() {
    let service = Harness::start(fixtures::desired(), fixtures::live_in_sync()).await;
    let mut total = 0;
    let mut texts = Vec::new();
    for (path, _, _) in FILES {
        let reply = get(service.addr, path).await;
        total += reply.body.len();
        texts.push((path, reply.text()));
    }
    assert!(total < 300 * 1024, "the dashboard is {total} bytes");

    for (path, text) in &texts {
        // No other host: no absolute URL but namespace names, no protocol-relative one.
        let stripped = NAMESPACES
            .iter()
            .fold(text.to_lowercase(), |t, ns| t.replace(ns, ""));
        for scheme in ["http://", "https://", "ftp://", "ws://", "wss://"] {
            assert!(
                !stripped.contains(scheme),
                "{path} names a URL with {scheme}"
            );
        }
        for relative in [
            "src=\"//",
            "href=\"//",
            "url(//",
            "url(\"//",
            "url('//",
            "@import",
        ] {
            assert!(!stripped.contains(relative), "{path} holds {relative}");
        }
    }

    let html = &texts[0].1;
    // Scripts only from files: each <script> has a src and an empty body; no style
    // element, style attribute, inline event handler or javascript: URL.
    let lower = html.to_lowercase();
    let scripts: Vec<&str> = lower.split("<script").skip(1).collect();
    assert_eq!(scripts.len(), 1, "one script element");
    for script in scripts {
        let (tag, rest) = script.split_once('>').unwrap();
        assert!(
            tag.contains(" src=\""),
            "a script without src: <script{tag}>"
        );
        assert!(
            rest.starts_with("</script>"),
            "a script with a body: {rest:.40}"
        );
    }
    assert!(!lower.contains("<style"), "a style element");
    assert!(!lower.contains(" style="), "a style attribute");
    assert!(!lower.contains("javascript:"), "a javascript: URL");
    for tag in lower.split('<').skip(1) {
        let tag = tag.split('>').next().unwrap_or_default();
        for attribute in tag.split_whitespace().skip(1) {
            assert!(
                !attribute.starts_with("on"),
                "an inline event handler: <{tag}>"
            );
        }
    }
    // The elements the contract names in the page itself.
    for needle in [
        "id=\"page\"",
        "id=\"token-dialog\"",
        "id=\"token-input\" name=\"token\" type=\"password\"",
        "id=\"token-submit\"",
        "data-nav=\"overview\"",
        "data-nav=\"drifts\"",
        "data-nav=\"resolved\"",
        "data-live-status",
    ] {
        assert!(html.contains(needle), "index.html lacks {needle}");
    }

    // The script builds the page from text only and never decodes anything.
    let script = &texts[1].1;
    for forbidden in [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "atob(",
        "localStorage",
        "document.cookie",
        "EventSource",
    ] {
        assert!(!script.contains(forbidden), "app.js uses {forbidden}");
    }
    assert!(script.contains("sessionStorage"));
    assert!(script.contains("'driftguard.token'"));
    service.stop().await.unwrap();
}
