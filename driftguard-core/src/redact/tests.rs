#![allow(clippy::unwrap_used)]

use super::*;

#[test]
fn user_information_is_masked() {
    assert_eq!(
        redact_url("https://bot:s3cr3t@git.example.com/team/app.git"),
        "https://***@git.example.com/team/app.git"
    );
    // A token alone as the user name, as GitHub and GitLab accept it.
    assert_eq!(
        redact_url("https://ghp_abc123@github.com/team/app.git"),
        "https://***@github.com/team/app.git"
    );
    // The last `@` of the authority ends the user information; a path may hold `@`.
    assert_eq!(
        redact_url("https://s3cr3t@git.example.com/a@b"),
        "https://***@git.example.com/a@b"
    );
    assert_eq!(redact_url("https://user:p@ss@host/x"), "https://***@host/x");
    assert_eq!(
        redact_url("ssh://git@host:2222/repo.git"),
        "ssh://***@host:2222/repo.git"
    );
    assert_eq!(
        redact_url("git://127.0.0.1:9418/app"),
        "git://127.0.0.1:9418/app"
    );
    assert_eq!(redact_url("https://@host/x"), "https://@host/x");
}

#[test]
fn secret_query_parameters_are_masked_by_name() {
    for name in [
        "token",
        "private_token",
        "access_token",
        "password",
        "passwd",
        "secret",
        "client_secret",
        "key",
        "api_key",
        "apikey",
        "sig",
        "signature",
        "x-amz-signature",
        "x-goog-signature",
        "auth",
        "credential",
        "credentials",
        "deploy_token",
        "job-token",
        "signing_key",
        "app-key",
        "oauth_secret",
    ] {
        let url = format!("https://host/r.git?ref=main&{name}=SEKRIT&depth=1");
        assert_eq!(
            redact_url(&url),
            format!("https://host/r.git?ref=main&{name}=***&depth=1"),
            "{name}"
        );
        let upper = format!("https://host/r.git?{}=SEKRIT", name.to_ascii_uppercase());
        assert!(!redact_url(&upper).contains("SEKRIT"), "{upper}");
    }
    // Mixed case, as pre-signed object-store URLs spell them.
    let presigned = "https://bucket.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256\
                     &X-Amz-Credential=AKIAEXAMPLE%2F20250101&X-Amz-Signature=abcdef\
                     &X-Amz-Security-Token=FQoGZX";
    assert_eq!(
        redact_url(presigned),
        "https://bucket.s3.amazonaws.com/o?X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=***&X-Amz-Signature=***&X-Amz-Security-Token=***"
    );
}

#[test]
fn ordinary_parameters_and_urls_are_left_alone() {
    for url in [
        "https://host/r.git?ref=main&depth=1",
        "https://host/r.git?private_token=",
        "https://host/r.git?token",
        "https://host/r.git?",
        "https://host/page#section-2",
        "mongodb://127.0.0.1:27017/?directConnection=true&authSource=admin",
    ] {
        assert_eq!(redact_url(url), url);
    }
}

#[test]
fn encoded_names_and_values_are_recognised() {
    assert_eq!(
        redact_url("https://host/r.git?private%5Ftoken=SEK%52IT"),
        "https://host/r.git?private%5Ftoken=***"
    );
    assert_eq!(
        redact_url("https://host/r.git?Private_Token=a%26b"),
        "https://host/r.git?Private_Token=***"
    );
    let secrets = url_secrets("https://host/r.git?private_token=SEK%52IT");
    assert!(secrets.contains(&"SEK%52IT".to_owned()), "{secrets:?}");
    assert!(secrets.contains(&"SEKRIT".to_owned()), "{secrets:?}");
}

#[test]
fn fragments_are_redacted_like_queries() {
    // OAuth's implicit grant returns the token in the fragment (RFC 6749 §4.2.2).
    assert_eq!(
        redact_url("https://app.example/cb#access_token=SEKRIT&state=xyz"),
        "https://app.example/cb#access_token=***&state=xyz"
    );
    assert_eq!(
        redact_url("https://host/r.git?token=SEKRIT#readme"),
        "https://host/r.git?token=***#readme"
    );
    // A `?` after the `#` belongs to the fragment.
    assert_eq!(
        redact_url("https://host/r#a?token=SEKRIT"),
        "https://host/r#a?token=***"
    );
}

#[test]
fn scp_like_addresses_paths_and_other_text_are_no_urls() {
    for text in [
        "git@github.com:team/app.git",
        "git@github.com:team/app.git?token=x",
        "/srv/git/app",
        "./manifests?token=x",
        "file-name:with@signs",
        "not a url at all",
        "",
        "://host?token=x",
        "1http://host?token=x",
    ] {
        assert_eq!(redact_url(text), text, "{text}");
        assert!(url_secrets(text).is_empty(), "{text}");
    }
    assert_eq!(
        redact_url("file:///srv/git/app?token=x"),
        "file:///srv/git/app?token=***"
    );
}

#[test]
fn connection_strings_hide_user_information_and_query_secrets() {
    assert_eq!(
        redact_connection_string(
            "mongodb://admin:s3cret@db1:27017,db2:27017/drift?authSource=admin"
        ),
        "mongodb://***@db1:27017,db2:27017/drift?authSource=admin"
    );
    assert_eq!(
        redact_connection_string(
            "mongodb://db:27017/?tls=true&tlsCertificateKeyFile=/c.pem\
             &tlsCertificateKeyFilePassword=hunter2"
        ),
        "mongodb://db:27017/?tls=true&tlsCertificateKeyFile=/c.pem\
         &tlsCertificateKeyFilePassword=***"
    );
    assert_eq!(
        redact_connection_string(
            "mongodb+srv://c.example.net/?authMechanism=MONGODB-AWS\
             &authMechanismProperties=SERVICE_NAME:mongodb,AWS_SESSION_TOKEN:FQoGZXIvYXdz"
        ),
        "mongodb+srv://c.example.net/?authMechanism=MONGODB-AWS\
         &authMechanismProperties=SERVICE_NAME:mongodb,AWS_SESSION_TOKEN:***"
    );
    // Escaped separators, as a driver decodes them.
    let escaped = redact_connection_string(
        "mongodb://h/?authMechanismProperties=AWS_SESSION_TOKEN%3AFQoG%2Bxyz",
    );
    assert!(!escaped.contains("FQoG"), "{escaped}");
    // Nothing secret among the pairs: written as it was.
    let plain = "mongodb://h/?authMechanismProperties=SERVICE_NAME%3Amongodb";
    assert_eq!(redact_connection_string(plain), plain);
}

#[test]
fn malformed_connection_strings_err_on_the_side_of_hiding() {
    let redacted = redact_connection_string("mongodb://admin:pa/ss@db:27017/");
    assert_eq!(redacted, "mongodb://***@db:27017/");
    let redacted = redact_connection_string("mongodb://admin:pa?ss@db:27017/");
    assert!(!redacted.contains("pa?ss"), "{redacted}");
    assert_eq!(
        redact_connection_string("admin:hunter2@db:27017"),
        "***@db:27017"
    );
    // The URL form keeps its reading: a path may hold `@`.
    assert_eq!(redact_url("https://host/a:b@c"), "https://host/a:b@c");
}

#[test]
fn secrets_are_listed_for_scrubbing() {
    let secrets = url_secrets("https://alice:p%40ss@host/r.git?private_token=SEKRIT&ref=main");
    for expected in ["alice:p%40ss", "p%40ss", "p@ss", "alice", "SEKRIT"] {
        assert!(
            secrets.iter().any(|s| s == expected),
            "{expected} in {secrets:?}"
        );
    }
    assert!(!secrets.iter().any(|s| s == "main"), "{secrets:?}");
    // A short user name is not listed: it would mask ordinary words.
    let secrets = url_secrets("https://u:pw-1234@host/");
    assert!(!secrets.iter().any(|s| s == "u"), "{secrets:?}");
    assert!(url_secrets("https://host/r.git?ref=main").is_empty());
    let secrets = connection_string_secrets(
        "mongodb://h/?authMechanismProperties=SERVICE_NAME:db,AWS_SESSION_TOKEN:FQoG",
    );
    assert_eq!(secrets, vec!["FQoG".to_owned()]);
}

#[test]
fn scrub_removes_every_secret_longest_first() {
    let url = "https://alice:p%40ss%3Aword@host/r.git?private_token=SEKRIT";
    let message = "auth failed for alice with p@ss:word (p%40ss%3Aword) at \
                   alice:p%40ss%3Aword@host, token SEKRIT";
    let scrubbed = scrub(message, &url_secrets(url));
    for secret in ["alice", "p@ss:word", "p%40ss%3Aword", "SEKRIT"] {
        assert!(!scrubbed.contains(secret), "{secret} left in {scrubbed}");
    }
    assert!(scrubbed.contains("at ***@host"), "{scrubbed}");
    assert_eq!(scrub("nothing here", &[""]), "nothing here");
    assert_eq!(scrub("nothing here", &Vec::<String>::new()), "nothing here");
}
