//! A scripted Kubernetes API server: real HTTP/1.1 on 127.0.0.1, answering each request
//! with whatever the test's script returns for it, and recording every request.
//!
//! One thread accepts; each connection gets a thread, serves one request and closes it.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use serde_json::{Value, json};

use crate::process::stop_accept_loop;

/// One request as the server received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// The query parameters, decoded, in order.
    pub query: Vec<(String, String)>,
    /// The `Authorization` header, if one was sent.
    pub authorization: Option<String>,
}

impl ApiRequest {
    /// The first value of query parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// Whether this is a watch request (`?watch=true`).
    pub fn is_watch(&self) -> bool {
        matches!(self.param("watch"), Some("true" | "1"))
    }
}

/// How the server answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A JSON body with this status.
    Json(u16, Value),
    /// A watch stream: these events, one JSON document per line; then the stream ends, or
    /// (with `keep_open`) stays open and silent until the server is dropped.
    Events {
        /// The watch events (`{"type": "ADDED", "object": {...}}`).
        events: Vec<Value>,
        /// Whether the stream stays open after the events.
        keep_open: bool,
    },
    /// A JSON body already serialised, with this status: for answers sent many times
    /// (benchmarks), so the server does not spend its time serialising.
    Raw(u16, Arc<String>),
    /// No answer: the connection stays open and silent until the server is dropped.
    Silence,
}

impl Reply {
    /// A Kubernetes `Status` failure with this code, reason and message.
    pub fn status(code: u16, reason: &str, message: &str) -> Self {
        Self::Json(
            code,
            json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                   "code": code, "reason": reason, "message": message}),
        )
    }

    /// A list answer with `items`, the list's resource version and, when there are more
    /// pages, a continue token.
    pub fn list(
        api_version: &str,
        kind: &str,
        items: Vec<Value>,
        resource_version: &str,
        continue_token: Option<&str>,
    ) -> Self {
        let mut metadata = json!({"resourceVersion": resource_version});
        if let Some(token) = continue_token {
            metadata["continue"] = Value::String(token.to_owned());
        }
        Self::Json(
            200,
            json!({"apiVersion": api_version, "kind": format!("{kind}List"),
                   "metadata": metadata, "items": items}),
        )
    }
}

type Script = dyn Fn(&ApiRequest) -> Reply + Send + Sync + 'static;

/// A Kubernetes API server whose answers the test scripts.
pub struct ScriptedApiServer {
    port: u16,
    requests: Arc<Mutex<Vec<ApiRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for ScriptedApiServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedApiServer")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ScriptedApiServer {
    /// Starts the server on a free port of 127.0.0.1; `script` answers every request.
    pub fn start(script: impl Fn(&ApiRequest) -> Reply + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the scripted API server");
        let port = listener
            .local_addr()
            .expect("scripted API server address")
            .port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let script: Arc<Script> = Arc::new(script);
        let thread = {
            let stop = Arc::clone(&stop);
            let requests = Arc::clone(&requests);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let script = Arc::clone(&script);
                    let requests = Arc::clone(&requests);
                    let stop = Arc::clone(&stop);
                    std::thread::spawn(move || serve(stream, &*script, &requests, &stop));
                }
            })
        };
        Self {
            port,
            requests,
            stop,
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for ScriptedApiServer {
    fn drop(&mut self) {
        stop_accept_loop(&self.stop, self.port, self.thread.take());
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_target(target: &str) -> (String, Vec<(String, String)>) {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let query = query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(key), percent_decode(value))
        })
        .collect();
    (path.to_owned(), query)
}

/// Reads one request head; `None` when the connection closed or sent garbage.
fn read_request(stream: &TcpStream) -> Option<ApiRequest> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let (path, query) = parse_target(parts.next()?);
    let mut authorization = None;
    let mut content_length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            let value = value.trim();
            if name.eq_ignore_ascii_case("authorization") {
                authorization = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("content-length") {
                content_length = value.parse().unwrap_or(0);
            }
        }
    }
    let mut body = vec![0; content_length];
    std::io::Read::read_exact(&mut reader, &mut body).ok()?;
    Some(ApiRequest {
        method,
        path,
        query,
        authorization,
    })
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

fn wait_for_stop(stop: &AtomicBool) {
    while !stop.load(Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn write_json(stream: &mut TcpStream, code: u16, body: &str) {
    let _ = write!(
        stream,
        "HTTP/1.1 {code} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        reason_phrase(code),
        body.len()
    );
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}

fn serve(
    mut stream: TcpStream,
    script: &Script,
    requests: &Mutex<Vec<ApiRequest>>,
    stop: &AtomicBool,
) {
    let Some(request) = read_request(&stream) else {
        return;
    };
    requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(request.clone());
    match script(&request) {
        Reply::Json(code, body) => write_json(&mut stream, code, &body.to_string()),
        Reply::Raw(code, body) => write_json(&mut stream, code, &body),
        Reply::Events { events, keep_open } => {
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            );
            for event in events {
                let line = format!("{event}\n");
                let _ = write!(stream, "{:x}\r\n{line}\r\n", line.len());
            }
            let _ = stream.flush();
            if keep_open {
                wait_for_stop(stop);
            }
            let _ = write!(stream, "0\r\n\r\n");
            let _ = stream.flush();
        }
        Reply::Silence => wait_for_stop(stop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_decoded() {
        let (path, query) = parse_target(
            "/api/v1/secrets?fieldSelector=metadata.namespace%21%3Dkube-system%2Cx&limit=2",
        );
        assert_eq!(path, "/api/v1/secrets");
        assert_eq!(
            query,
            vec![
                (
                    "fieldSelector".to_owned(),
                    "metadata.namespace!=kube-system,x".to_owned()
                ),
                ("limit".to_owned(), "2".to_owned())
            ]
        );
    }
}
