//! Credentials out of URLs, wherever a URL is shown: log lines, errors, `config show`,
//! `/ready`, application descriptions.
//!
//! A URL carries credentials in two places: its user information
//! (`https://user:token@host/…`) and its query or fragment (`?private_token=…`,
//! `#access_token=…`, pre-signed `X-Amz-Signature=…`). [`redact_url`] masks both;
//! [`redact_connection_string`] does the same for hand-written connection strings such
//! as MongoDB URIs, erring on the side of hiding when one is malformed. For messages that
//! quote a URL's parts in other shapes (a library's error text), [`url_secrets`] lists
//! what to remove and [`scrub`] removes it.
//!
//! Which parameter names count as secret: [`is_secret_name`], a table of names.
//! Strings that are no URLs (file paths, scp-like `git@host:path`) are returned as they
//! are: there is nothing in them to find.

mod names;
mod percent;
mod url;

pub use names::is_secret_name;

use url::Mode;

/// What replaces a secret.
pub const MASK: &str = "***";

/// `url` with its user information and the values of secret-looking query and fragment
/// parameters replaced by [`MASK`]:
/// `https://bot:t0k@host/r.git?private_token=x&ref=main` →
/// `https://***@host/r.git?private_token=***&ref=main`.
///
/// Anything that is not a `scheme://` URL (a path, an scp-like `git@host:path`) is
/// returned unchanged.
pub fn redact_url(url: &str) -> String {
    url::redact(url, Mode::Url)
}

/// A connection string (`mongodb://user:pw@host/?tlsCertificateKeyFilePassword=…`)
/// redacted like [`redact_url`], and also when malformed: without a scheme, or with an
/// unescaped `/`, `?` or `#` in the password, everything up to the last `@` is hidden.
pub fn redact_connection_string(uri: &str) -> String {
    url::redact(uri, Mode::ConnectionString)
}

/// The secrets `url` holds, as written and percent-decoded, to remove from messages that
/// quote them outside the URL: the user information, its password and user name (when
/// four characters or longer), and the values of secret parameters. Empty for strings
/// that are no URLs.
pub fn url_secrets(url: &str) -> Vec<String> {
    url::secrets(url, Mode::Url)
}

/// [`url_secrets`] of a connection string, found as [`redact_connection_string`] finds
/// its user information.
pub fn connection_string_secrets(uri: &str) -> Vec<String> {
    url::secrets(uri, Mode::ConnectionString)
}

/// `message` with every one of `secrets` replaced by [`MASK`], the longest first so that
/// a message quoting a whole user information loses it in one piece. Empty secrets are
/// ignored.
pub fn scrub<S: AsRef<str>>(message: &str, secrets: &[S]) -> String {
    let mut secrets: Vec<&str> = secrets
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| !s.is_empty())
        .collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut text = message.to_owned();
    for secret in secrets {
        if text.contains(secret) {
            text = text.replace(secret, MASK);
        }
    }
    text
}

#[cfg(test)]
mod tests;
