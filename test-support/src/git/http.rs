//! A small HTTP/1.1 server that runs `git http-backend` as a CGI program (Git's smart HTTP
//! protocol), optionally behind HTTP basic authentication with a token as the password,
//! as Git hosting services do.
//!
//! One thread accepts; each connection gets a thread, serves one request and closes.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use base64::Engine;

use super::git_command;
use crate::process::stop_accept_loop;

/// The largest request body accepted; Git's fetch negotiation is far smaller.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One request the server answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// `GET` or `POST`.
    pub method: String,
    /// The path, without the query.
    pub path: String,
    /// Whether an `Authorization` header was sent.
    pub sent_credentials: bool,
    /// The basic-auth user name sent, if any.
    pub user: Option<String>,
    /// The status answered.
    pub status: u16,
}

/// `git http-backend` behind HTTP on 127.0.0.1, serving a folder's repositories.
#[derive(Debug)]
pub struct GitHttpServer {
    port: u16,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// What each connection needs.
#[derive(Debug)]
struct Settings {
    root: PathBuf,
    token: Option<String>,
    requests: Arc<Mutex<Vec<HttpRequest>>>,
}

impl GitHttpServer {
    /// Serves the repositories under `root` to anyone.
    pub fn serve(root: &Path) -> Self {
        Self::start(root, None)
    }

    /// Serves the repositories under `root` only to requests whose basic-auth password is
    /// `token` (any user name); others get `401` with a `WWW-Authenticate` challenge.
    pub fn serve_with_token(root: &Path, token: &str) -> Self {
        Self::start(root, Some(token.to_owned()))
    }

    fn start(root: &Path, token: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the Git HTTP server");
        let port = listener
            .local_addr()
            .expect("Git HTTP server address")
            .port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let settings = Arc::new(Settings {
            root: root.to_owned(),
            token,
            requests: Arc::clone(&requests),
        });
        let thread = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let settings = Arc::clone(&settings);
                    std::thread::spawn(move || {
                        if let Err(error) = serve_connection(stream, &settings) {
                            eprintln!("[git http server] {error}");
                        }
                    });
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

    /// The `http://` URL of repository `name`.
    pub fn url(&self, name: &str) -> String {
        format!("http://127.0.0.1:{}/{name}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every request answered so far, in order.
    pub fn requests(&self) -> Vec<HttpRequest> {
        self.requests
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        stop_accept_loop(&self.stop, self.port, self.thread.take());
    }
}

/// An answer: status line text, headers and body.
struct Response {
    status: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// A parsed request.
struct Request {
    method: String,
    path: String,
    query: String,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

fn serve_connection(stream: TcpStream, settings: &Settings) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    let Some(request) = read_request(&mut reader, &mut writer)? else {
        return Ok(());
    };
    let sent_credentials = request.headers.contains_key("authorization");
    let credentials = basic_credentials(&request);
    let user = match &settings.token {
        None => Some(String::new()),
        Some(token) => credentials
            .as_ref()
            .filter(|(_, password)| password == token)
            .map(|(user, _)| user.clone()),
    };
    let Response {
        status,
        headers,
        body,
    } = match user {
        None => Response {
            status: "401 Unauthorized".to_owned(),
            headers: vec![(
                "WWW-Authenticate".to_owned(),
                "Basic realm=\"git\"".to_owned(),
            )],
            body: b"authentication required\n".to_vec(),
        },
        Some(user) => run_backend(&request, &settings.root, &user)?,
    };
    let code = status
        .split_whitespace()
        .next()
        .and_then(|c| c.parse().ok())
        .unwrap_or(500);
    settings
        .requests
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(HttpRequest {
            method: request.method.clone(),
            path: request.path.clone(),
            sent_credentials,
            user: credentials.map(|(user, _)| user),
            status: code,
        });
    let mut response = format!("HTTP/1.1 {status}\r\n");
    for (name, value) in headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    ));
    writer.write_all(response.as_bytes())?;
    writer.write_all(&body)?;
    writer.flush()
}

fn invalid(message: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.to_owned())
}

fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// Reads one request; `None` when the client closed without sending one.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    writer: &mut TcpStream,
) -> std::io::Result<Option<Request>> {
    let request_line = read_line(reader)?;
    if request_line.is_empty() {
        return Ok(None);
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return Err(invalid("malformed request line"));
    };
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers = HashMap::new();
    loop {
        let line = read_line(reader)?;
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_owned());
        }
    }
    if headers
        .get("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        writer.write_all(b"HTTP/1.1 100 Continue\r\n\r\n")?;
    }
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        read_chunked(reader)?
    } else {
        let length: usize = headers
            .get("content-length")
            .map(|v| v.parse().map_err(|_| invalid("bad Content-Length")))
            .transpose()?
            .unwrap_or(0);
        if length > MAX_BODY_BYTES {
            return Err(invalid("request body too large"));
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        body
    };
    Ok(Some(Request {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body,
    }))
}

fn read_chunked(reader: &mut impl BufRead) -> std::io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(reader)?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| invalid("bad chunk size"))?;
        if size == 0 {
            // Trailers, up to the empty line.
            while !read_line(reader)?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY_BYTES {
            return Err(invalid("request body too large"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..])?;
        read_line(reader)?;
    }
}

/// The basic-auth user name and password of the request, if it sent them.
fn basic_credentials(request: &Request) -> Option<(String, String)> {
    let header = request.headers.get("authorization")?;
    let encoded = header.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// Runs `git http-backend` for the request; returns status, headers and body.
fn run_backend(request: &Request, root: &Path, user: &str) -> std::io::Result<Response> {
    let mut command = git_command();
    command
        .arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("REQUEST_METHOD", &request.method)
        .env("PATH_INFO", &request.path)
        .env("QUERY_STRING", &request.query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env(
            "CONTENT_TYPE",
            request
                .headers
                .get("content-type")
                .map_or("", String::as_str),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !user.is_empty() {
        command.env("REMOTE_USER", user);
    }
    if let Some(protocol) = request.headers.get("git-protocol") {
        command.env("GIT_PROTOCOL", protocol);
    }
    if let Some(encoding) = request.headers.get("content-encoding") {
        command.env("HTTP_CONTENT_ENCODING", encoding);
    }
    let mut child = command.spawn()?;
    let mut stdin = child.stdin.take().ok_or_else(|| invalid("no stdin"))?;
    let body = request.body.clone();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&body);
    });
    let output = child.wait_with_output()?;
    let _ = feeder.join();
    if !output.stderr.is_empty() {
        eprintln!(
            "[git http-backend] {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    parse_cgi_output(&output.stdout)
}

/// Splits CGI output into status, headers and body.
fn parse_cgi_output(output: &[u8]) -> std::io::Result<Response> {
    let (head_end, body_start) = find(output, b"\r\n\r\n")
        .map(|i| (i, i + 4))
        .or_else(|| find(output, b"\n\n").map(|i| (i, i + 2)))
        .ok_or_else(|| invalid("git http-backend wrote no headers"))?;
    let head = String::from_utf8_lossy(&output[..head_end]);
    let mut status = "200 OK".to_owned();
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("status") {
            status = value.to_owned();
        } else {
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    Ok(Response {
        status,
        headers,
        body: output[body_start..].to_vec(),
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
