//! Credentials out of connection strings and messages.
//!
//! A MongoDB URI may carry `user:password@`. It appears in configuration, and the
//! driver's messages can quote it; neither may reach a log line, an error or an API
//! answer. [`redact_uri`] replaces the user information; [`scrub`] removes the user
//! name and password wherever a message repeats them.

const MASK: &str = "***";

/// The URI with its user information (`user:password@`) replaced by `***@`.
///
/// Errs on the side of hiding: when the URI is malformed and an `@` appears anywhere
/// after the scheme, everything up to the last `@` is hidden.
pub fn redact_uri(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return match uri.rfind('@') {
            Some(at) => format!("{MASK}{}", &uri[at..]),
            None => uri.to_owned(),
        };
    };
    match userinfo_end(rest) {
        Some(at) => format!("{scheme}://{MASK}{}", &rest[at..]),
        None => uri.to_owned(),
    }
}

/// `message` with the URI's user information and password (raw and percent-decoded)
/// replaced by `***` wherever it repeats them. The user name alone is replaced too when
/// it is long enough to be told apart from ordinary words (four characters or more).
pub fn scrub(message: &str, uri: &str) -> String {
    let mut secrets: Vec<String> = Vec::new();
    if let Some((user, password)) = userinfo(uri) {
        let mut add = |part: &str| {
            if !part.is_empty() {
                secrets.push(part.to_owned());
                let decoded = percent_decode(part);
                if decoded != part {
                    secrets.push(decoded);
                }
            }
        };
        add(password);
        if user.chars().count() >= 4 {
            add(user);
        }
        if let Some(rest) = uri.split_once("://").map(|(_, rest)| rest)
            && let Some(at) = userinfo_end(rest)
        {
            secrets.push(rest[..at].to_owned());
        }
    }
    // Longest first, so a message quoting the whole user information loses it in one piece.
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut text = message.to_owned();
    for secret in &secrets {
        text = text.replace(secret.as_str(), MASK);
    }
    text
}

/// The index in `rest` (the URI after `scheme://`) of the `@` that ends the user
/// information, if there is user information.
fn userinfo_end(rest: &str) -> Option<usize> {
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    rest[..authority_end]
        .rfind('@')
        // A malformed URI (an unescaped `/` or `?` in the password): hide up to the last `@`.
        .or_else(|| rest.rfind('@'))
}

/// The user name and password of a URI (the password empty when absent).
fn userinfo(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let at = userinfo_end(rest)?;
    let info = &rest[..at];
    Some(info.split_once(':').unwrap_or((info, "")))
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(hex) = text.get(i + 1..i + 3)
            && let Ok(byte) = u8::from_str_radix(hex, 16)
        {
            out.push(byte);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_information_only() {
        assert_eq!(
            redact_uri("mongodb://admin:s3cret@db1:27017,db2:27017/drift?authSource=admin"),
            "mongodb://***@db1:27017,db2:27017/drift?authSource=admin"
        );
        assert_eq!(
            redact_uri("mongodb+srv://user@cluster.example.net/"),
            "mongodb+srv://***@cluster.example.net/"
        );
        assert_eq!(
            redact_uri("mongodb://127.0.0.1:27017/?directConnection=true"),
            "mongodb://127.0.0.1:27017/?directConnection=true"
        );
    }

    #[test]
    fn redacts_malformed_user_information_too() {
        let redacted = redact_uri("mongodb://admin:pa/ss@db:27017/");
        assert!(!redacted.contains("pa/ss"), "{redacted}");
        assert!(!redacted.contains("admin"), "{redacted}");
        let no_scheme = redact_uri("admin:hunter2@db:27017");
        assert!(!no_scheme.contains("hunter2"), "{no_scheme}");
    }

    #[test]
    fn scrubs_raw_and_decoded_credentials_from_messages() {
        let uri = "mongodb://alice:p%40ss%3Aword@db:27017/";
        let message =
            "auth failed for alice with p@ss:word (p%40ss%3Aword) at alice:p%40ss%3Aword@db";
        let scrubbed = scrub(message, uri);
        for secret in ["alice", "p@ss:word", "p%40ss%3Aword"] {
            assert!(!scrubbed.contains(secret), "{secret} left in {scrubbed}");
        }
        assert!(scrubbed.contains("auth failed for ***"), "{scrubbed}");
    }

    #[test]
    fn keeps_messages_readable_with_a_short_user_name() {
        let scrubbed = scrub(
            "an invalid argument was provided",
            "mongodb://u:pw-1234@db/",
        );
        assert_eq!(scrubbed, "an invalid argument was provided");
        assert_eq!(
            scrub("auth failed: pw-1234", "mongodb://u:pw-1234@db/"),
            "auth failed: ***"
        );
    }

    #[test]
    fn leaves_messages_alone_without_credentials() {
        let message = "server selection timed out";
        assert_eq!(scrub(message, "mongodb://127.0.0.1:1/"), message);
    }
}
