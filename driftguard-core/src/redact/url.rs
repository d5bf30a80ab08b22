//! Cutting a URL at the places credentials hide (user information, query, fragment) and
//! putting it back together with the secret parts masked.

use super::MASK;
use super::names::{is_pair_list, is_secret_name};
use super::percent::percent_decode;

/// How the user information of a string is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// RFC 3986: a URL has a scheme, and its user information ends at the last `@` of the
    /// authority. A string without a scheme (a path, an scp-like `git@host:path`) is no
    /// URL and holds nothing to hide.
    Url,
    /// Connection strings, which users write by hand: without a scheme, or with a `/`, `?`
    /// or `#` left unescaped in the password, everything up to the last `@` counts as
    /// user information, so a malformed string hides too much rather than too little.
    ConnectionString,
}

/// A URL cut into the parts that matter here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Parts<'a> {
    /// `scheme://`; empty for a connection string without a scheme.
    pub prefix: &'a str,
    /// What precedes the `@` that ends the user information, if there is one.
    pub userinfo: Option<&'a str>,
    /// Host, port and path.
    pub location: &'a str,
    /// After `?`, without it.
    pub query: Option<&'a str>,
    /// After `#`, without it.
    pub fragment: Option<&'a str>,
}

/// Whether `text` is a URL scheme: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Cuts `url`; `None` when it is no URL in `mode`.
pub(super) fn split(url: &str, mode: Mode) -> Option<Parts<'_>> {
    let (prefix, rest) = match url.find("://") {
        Some(at) if is_scheme(&url[..at]) => url.split_at(at + 3),
        _ if mode == Mode::ConnectionString => ("", url),
        _ => return None,
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let at = match mode {
        Mode::Url => rest[..authority_end].rfind('@'),
        Mode::ConnectionString => rest[..authority_end].rfind('@').or_else(|| rest.rfind('@')),
    };
    let (userinfo, after) = match at {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    };
    let (before_fragment, fragment) = match after.split_once('#') {
        Some((before, fragment)) => (before, Some(fragment)),
        None => (after, None),
    };
    let (location, query) = match before_fragment.split_once('?') {
        Some((location, query)) => (location, Some(query)),
        None => (before_fragment, None),
    };
    Some(Parts {
        prefix,
        userinfo,
        location,
        query,
        fragment,
    })
}

/// `url` with its user information and secret parameter values replaced by [`MASK`].
pub(super) fn redact(url: &str, mode: Mode) -> String {
    let Some(parts) = split(url, mode) else {
        return url.to_owned();
    };
    let mut out = String::with_capacity(url.len());
    out.push_str(parts.prefix);
    match parts.userinfo {
        Some("") => out.push('@'),
        Some(_) => {
            out.push_str(MASK);
            out.push('@');
        }
        None => {}
    }
    out.push_str(parts.location);
    if let Some(query) = parts.query {
        out.push('?');
        out.push_str(&redact_parameters(query));
    }
    if let Some(fragment) = parts.fragment {
        out.push('#');
        out.push_str(&redact_parameters(fragment));
    }
    out
}

/// `a=1&private_token=x` → `a=1&private_token=***`. Text without `=` is kept as it is.
fn redact_parameters(parameters: &str) -> String {
    let mut out = String::with_capacity(parameters.len());
    for (i, parameter) in parameters.split('&').enumerate() {
        if i > 0 {
            out.push('&');
        }
        match parameter.split_once('=') {
            Some((name, value)) => {
                let decoded = percent_decode(name);
                out.push_str(name);
                out.push('=');
                if is_pair_list(&decoded) {
                    out.push_str(&redact_pairs(value));
                } else if is_secret_name(&decoded) && !value.is_empty() {
                    out.push_str(MASK);
                } else {
                    out.push_str(value);
                }
            }
            None => out.push_str(parameter),
        }
    }
    out
}

/// `SERVICE_NAME:db,AWS_SESSION_TOKEN:x` → `SERVICE_NAME:db,AWS_SESSION_TOKEN:***`. The
/// value is read percent-decoded, as the driver reads it; when nothing is secret it is
/// returned as it was written.
fn redact_pairs(value: &str) -> String {
    let decoded = percent_decode(value);
    let mut hidden = false;
    let pairs: Vec<String> = decoded
        .split(',')
        .map(|pair| match pair.split_once(':') {
            Some((key, secret)) if is_secret_name(key) && !secret.is_empty() => {
                hidden = true;
                format!("{key}:{MASK}")
            }
            _ => pair.to_owned(),
        })
        .collect();
    if hidden {
        pairs.join(",")
    } else {
        value.to_owned()
    }
}

/// Every secret `url` carries, as written and percent-decoded: the user information,
/// its password, its user name (when four characters or longer: a shorter one would
/// mask ordinary words in messages), and the values of secret parameters.
pub(super) fn secrets(url: &str, mode: Mode) -> Vec<String> {
    let Some(parts) = split(url, mode) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut add = |secret: &str| {
        if secret.is_empty() {
            return;
        }
        let decoded = percent_decode(secret);
        if decoded != secret && !decoded.is_empty() {
            found.push(decoded);
        }
        found.push(secret.to_owned());
    };
    if let Some(userinfo) = parts.userinfo {
        add(userinfo);
        match userinfo.split_once(':') {
            Some((user, password)) => {
                add(password);
                if user.chars().count() >= 4 {
                    add(user);
                }
            }
            None => add(userinfo),
        }
    }
    for parameters in [parts.query, parts.fragment].into_iter().flatten() {
        for (name, value) in parameters.split('&').filter_map(|p| p.split_once('=')) {
            let name = percent_decode(name);
            if is_pair_list(&name) {
                for (key, secret) in percent_decode(value)
                    .split(',')
                    .filter_map(|pair| pair.split_once(':'))
                {
                    if is_secret_name(key) {
                        add(secret);
                    }
                }
            } else if is_secret_name(&name) {
                add(value);
            }
        }
    }
    found.sort();
    found.dedup();
    found
}
