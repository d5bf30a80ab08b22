//! Which URL parameter names carry a secret.
//!
//! A URL carries credentials in its query as often as in its user information: GitLab's
//! `private_token`, OAuth's `access_token` (RFC 6750 §2.3, and in a fragment, RFC 6749
//! §4.2.2), pre-signed object-store URLs (AWS SigV4 `X-Amz-Signature`,
//! `X-Amz-Credential`, `X-Amz-Security-Token`; Google Cloud Storage `X-Goog-Signature`;
//! Azure SAS `sig`), API keys (`key`, `api_key`) and MongoDB connection string options
//! (`tlsCertificateKeyFilePassword`, and the `AWS_SESSION_TOKEN` inside
//! `authMechanismProperties`, MongoDB's Connection String spec). A name is compared
//! lowercase and percent-decoded, so `Private%5FToken` counts as `private_token`.

/// Names that are secret as they are (lowercase).
const SECRET_NAMES: &[&str] = &["auth", "authorization", "jwt", "key", "pass", "pwd", "sig"];

/// Parts whose presence anywhere in a name marks it secret: `access_token`,
/// `x-amz-security-token`, `password`, `passwd`, `client_secret`, `x-goog-credential`,
/// `x-amz-signature`, `apikey`, `tlscertificatekeyfilepassword`…
const SECRET_PARTS: &[&str] = &[
    "token",
    "passw",
    "secret",
    "credential",
    "signature",
    "apikey",
];

/// Endings that mark a name secret: `api_key`, `private-key`, `access_key`, `url_sig`.
const SECRET_SUFFIXES: &[&str] = &["_key", "-key", ".key", "_sig", "-sig"];

/// Parameters whose value is a list of `KEY:value` pairs, some of them secret (MongoDB's
/// `authMechanismProperties=SERVICE_NAME:mongodb,AWS_SESSION_TOKEN:…`): only the secret
/// pairs' values are hidden.
const PAIR_LIST_PARAMETERS: &[&str] = &["authmechanismproperties"];

/// Whether a parameter (or `KEY:value` pair) named `name` holds a secret. `name` is
/// compared lowercase; decode percent escapes before asking.
pub fn is_secret_name(name: &str) -> bool {
    let name = name.trim().to_ascii_lowercase();
    SECRET_NAMES.contains(&name.as_str())
        || SECRET_PARTS.iter().any(|part| name.contains(part))
        || SECRET_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
}

/// Whether the parameter `name` holds `KEY:value` pairs to look into.
pub(super) fn is_pair_list(name: &str) -> bool {
    PAIR_LIST_PARAMETERS.contains(&name.trim().to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_name_is_secret_in_any_case() {
        for name in [
            "token",
            "private_token",
            "access_token",
            "refresh_token",
            "password",
            "passwd",
            "pwd",
            "secret",
            "client_secret",
            "key",
            "api_key",
            "apikey",
            "sig",
            "signature",
            "x-amz-signature",
            "x-amz-credential",
            "x-amz-security-token",
            "x-goog-signature",
            "x-goog-credential",
            "auth",
            "credential",
            "credentials",
            "deploy_token",
            "job-token",
            "private_key",
            "signing-key",
            "app_secret",
            "tlsCertificateKeyFilePassword",
            "AWS_SESSION_TOKEN",
        ] {
            assert!(is_secret_name(name), "{name}");
            assert!(is_secret_name(&name.to_ascii_uppercase()), "{name}");
        }
        assert!(is_secret_name("X-Amz-Signature"));
        assert!(is_secret_name("Private_Token"));
    }

    #[test]
    fn ordinary_names_are_not_secret() {
        for name in [
            "ref",
            "service",
            "replicaSet",
            "authSource",
            "authMechanism",
            "tlsCertificateKeyFile",
            "directConnection",
            "readPreference",
            "SERVICE_NAME",
            "X-Amz-Algorithm",
            "X-Amz-Date",
            "X-Amz-Expires",
            "sp",
            "se",
            "monkey",
            "",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn pair_lists_are_known_by_name() {
        assert!(is_pair_list("authMechanismProperties"));
        assert!(!is_pair_list("readPreferenceTags"));
    }
}
