//! A small blocking HTTP/1.1 client over std, for tests that drive a server as curl would.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// The longest one exchange may take.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(120);

/// One exchange on a fresh connection: `body` is `(content type, payload)`. Returns the
/// status and the body (de-chunked). Panics with the reason when the server does not answer
/// with HTTP.
pub fn request(
    address: SocketAddr,
    method: &str,
    path: &str,
    body: Option<(&str, &str)>,
) -> (u16, String) {
    let (status, _, body) = request_with_headers(address, method, path, &[], body);
    (status, body)
}

/// [`request`] with extra request `headers`; also returns the answer's head (status line
/// and headers) as received.
pub fn request_with_headers(
    address: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> (u16, String, String) {
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("connect to {address}: {e}"));
    let _ = stream.set_read_timeout(Some(EXCHANGE_TIMEOUT));
    let (content_type, payload) = body.unwrap_or(("application/json", ""));
    let extra: String = headers
        .iter()
        .map(|(name, value)| format!("{name}: {value}\r\n"))
        .collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n{extra}\r\n{payload}",
        payload.len()
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("send {method} {path} to {address}: {e}"));
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("read the answer to {method} {path}: {e}"));
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("{method} {path}: no HTTP answer: {text:?}"));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("{method} {path}: no status in {head:?}"));
    let body = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(rest)
    } else {
        rest.to_owned()
    };
    (status, head.to_owned(), body)
}

/// `GET path`, its body parsed as JSON.
pub fn get_json(address: SocketAddr, path: &str) -> (u16, serde_json::Value) {
    let (status, body) = request(address, "GET", path, None);
    let json = serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"));
    (status, json)
}

fn dechunk(mut rest: &str) -> String {
    let mut body = String::new();
    while let Some((size, after)) = rest.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || after.len() < size {
            break;
        }
        body.push_str(&after[..size]);
        rest = after.get(size + 2..).unwrap_or_default();
    }
    body
}
