//! Remote URLs as they may be shown, and the name of a remote's folder in the clone
//! cache. The redaction itself is [`driftguard_core::redact`]'s, shared with the store.

use driftguard_core::hash::content_hash;
use driftguard_core::redact::{scrub as scrub_secrets, url_secrets};
use serde_json::json;

/// `url` with its credentials masked: the user information
/// (`https://user:token@host/x` → `https://***@host/x`) and the values of secret-looking
/// query and fragment parameters (`?private_token=…`). scp-like SSH addresses
/// (`git@host:path`) and local paths are returned as they are.
pub use driftguard_core::redact::redact_url;

/// The cache folder name for one remote and branch: a readable stem from the URL's last
/// path segment and a hash of the (redacted) URL and the branch, e.g. `manifests-3fa2…`.
///
/// The hash leaves credentials out, so rotating a token in the URL keeps the cache.
pub(crate) fn cache_folder_name(url: &str, branch: &str) -> String {
    let redacted = redact_url(url);
    let hash = content_hash(&json!({ "url": redacted, "branch": branch })).to_hex();
    let path = redacted
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('/');
    let stem: String = path
        .rsplit(['/', ':', '\\'])
        .next()
        .unwrap_or_default()
        .trim_end_matches(".git")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(40)
        .collect();
    let stem = stem.trim_start_matches('.');
    let stem = if stem.is_empty() { "repository" } else { stem };
    format!("{stem}-{}", &hash[..16])
}

/// `message` with `url` shown redacted and every secret removed: those of `secrets` (the
/// configured credentials) and those the URL carries, as written and percent-decoded
/// (defence in depth for messages that come from libgit2 and may quote them).
pub(crate) fn scrub(message: &str, url: &str, secrets: &[String]) -> String {
    let message = if url.is_empty() {
        message.to_owned()
    } else {
        message.replace(url, &redact_url(url))
    };
    let mut all = url_secrets(url);
    all.extend(secrets.iter().cloned());
    scrub_secrets(&message, &all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_masked_in_urls() {
        assert_eq!(
            redact_url("https://bot:s3cr3t@git.example.com/team/app.git"),
            "https://***@git.example.com/team/app.git"
        );
        assert_eq!(
            redact_url("https://git.example.com/team/app.git?private_token=s3cr3t"),
            "https://git.example.com/team/app.git?private_token=***"
        );
        assert_eq!(
            redact_url("ssh://git@host:2222/repo.git"),
            "ssh://***@host:2222/repo.git"
        );
        assert_eq!(
            redact_url("git@github.com:team/app.git"),
            "git@github.com:team/app.git"
        );
        assert_eq!(redact_url("/srv/git/app"), "/srv/git/app");
        assert_eq!(
            redact_url("git://127.0.0.1:9418/app"),
            "git://127.0.0.1:9418/app"
        );
    }

    #[test]
    fn cache_names_are_readable_stable_and_ignore_credentials() {
        let name = cache_folder_name("https://host/team/manifests.git", "main");
        assert!(name.starts_with("manifests-"), "{name}");
        assert_eq!(name.len(), "manifests-".len() + 16);
        let with_token = cache_folder_name("https://bot:token@host/team/manifests.git", "main");
        assert_eq!(
            with_token,
            cache_folder_name("https://bot:rotated@host/team/manifests.git", "main")
        );
        assert!(with_token.starts_with("manifests-"), "{with_token}");
        let in_query = cache_folder_name("https://host/team/manifests.git?private_token=a", "main");
        assert_eq!(
            in_query,
            cache_folder_name("https://host/team/manifests.git?private_token=b", "main")
        );
        assert!(in_query.starts_with("manifests-"), "{in_query}");
        assert_ne!(
            name,
            cache_folder_name("https://host/team/manifests.git", "dev")
        );
        assert!(cache_folder_name("/", "main").starts_with("repository-"));
        assert!(cache_folder_name("file:///srv/../..", "main").starts_with("repository-"));
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let url = "https://bot:s3cr3t@host/x?private_token=SEKRIT";
        let message = format!(
            "failed to connect to {url}: token s3cr3t refused; /x?private_token=SEKRIT; file-token"
        );
        let scrubbed = scrub(&message, url, &["file-token".to_owned()]);
        for secret in ["s3cr3t", "SEKRIT", "file-token"] {
            assert!(!scrubbed.contains(secret), "{scrubbed}");
        }
        assert!(
            scrubbed.contains("https://***@host/x?private_token=***"),
            "{scrubbed}"
        );
    }
}
