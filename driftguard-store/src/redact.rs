//! Credentials out of connection strings and messages.
//!
//! A MongoDB URI may carry `user:password@` and secret options
//! (`tlsCertificateKeyFilePassword=…`, `authMechanismProperties=AWS_SESSION_TOKEN:…`). It
//! appears in configuration, and the driver's messages can quote it; neither may reach a
//! log line, an error or an API answer. Both functions here are
//! [`driftguard_core::redact`]'s, the one redaction shared with the Git source.

use driftguard_core::redact::{connection_string_secrets, redact_connection_string};

/// The URI with its user information (`user:password@` → `***@`) and the values of
/// secret-looking options replaced by `***`.
///
/// Errs on the side of hiding: when the URI is malformed and an `@` appears anywhere
/// after the scheme, everything up to the last `@` is hidden.
pub fn redact_uri(uri: &str) -> String {
    redact_connection_string(uri)
}

/// `message` with the URI's secrets (its user information, password, user name when
/// four characters or longer, and secret option values; raw and percent-decoded)
/// replaced by `***` wherever it repeats them.
pub fn scrub(message: &str, uri: &str) -> String {
    let message = if uri.is_empty() {
        message.to_owned()
    } else {
        message.replace(uri, &redact_uri(uri))
    };
    driftguard_core::redact::scrub(&message, &connection_string_secrets(uri))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_user_information_and_secret_options() {
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
        assert_eq!(
            redact_uri(
                "mongodb://db/?authMechanism=MONGODB-AWS\
                 &authMechanismProperties=AWS_SESSION_TOKEN:FQoGZXIv&tls=true\
                 &tlsCertificateKeyFilePassword=hunter2"
            ),
            "mongodb://db/?authMechanism=MONGODB-AWS\
             &authMechanismProperties=AWS_SESSION_TOKEN:***&tls=true\
             &tlsCertificateKeyFilePassword=***"
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
        let uri = "mongodb://alice:p%40ss%3Aword@db:27017/?tlsCertificateKeyFilePassword=k3y";
        let message = "auth failed for alice with p@ss:word (p%40ss%3Aword) at \
                       alice:p%40ss%3Aword@db; cannot decrypt the key with k3y";
        let scrubbed = scrub(message, uri);
        for secret in ["alice", "p@ss:word", "p%40ss%3Aword", "k3y"] {
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
