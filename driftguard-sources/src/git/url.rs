//! Remote URLs as they may be shown: user information removed, so a token written into
//! `https://user:token@host/…` never reaches a log line or an error; and the name of a
//! remote's folder in the clone cache.

use driftguard_core::hash::content_hash;
use serde_json::json;

/// `url` without its user information (`https://user:token@host/x` → `https://host/x`).
///
/// scp-like SSH addresses (`git@host:path`) keep their user name: it is not a secret and
/// says which account is used. Anything that is not a URL is returned as it is.
pub fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let authority_start = scheme_end + 3;
    let rest = &url[authority_start..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}{}", &url[..authority_start], &rest[at + 1..]),
        None => url.to_owned(),
    }
}

/// The password (or token) written into `url`'s user information, if any.
pub(crate) fn url_password(url: &str) -> Option<String> {
    let scheme_end = url.find("://")?;
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let userinfo = &authority[..authority.rfind('@')?];
    let (_, password) = userinfo.split_once(':')?;
    (!password.is_empty()).then(|| password.to_owned())
}

/// The cache folder name for one remote and branch: a readable stem from the URL's last
/// segment and a hash of the (redacted) URL and the branch, e.g. `manifests-3fa2…`.
///
/// The hash leaves credentials out, so rotating a token in the URL keeps the cache.
pub(crate) fn cache_folder_name(url: &str, branch: &str) -> String {
    let redacted = redact_url(url);
    let hash = content_hash(&json!({ "url": redacted, "branch": branch })).to_hex();
    let stem: String = redacted
        .trim_end_matches('/')
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

/// Removes every secret in `secrets` from `message` (defence in depth for messages that
/// come from libgit2 and may quote a URL).
pub(crate) fn scrub(message: &str, url: &str, secrets: &[String]) -> String {
    let mut message = message.replace(url, &redact_url(url));
    for secret in secrets.iter().filter(|s| !s.is_empty()) {
        message = message.replace(secret.as_str(), "***");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_information_is_removed_from_urls() {
        assert_eq!(
            redact_url("https://bot:s3cr3t@git.example.com/team/app.git"),
            "https://git.example.com/team/app.git"
        );
        assert_eq!(
            redact_url("https://s3cr3t@git.example.com/a@b"),
            "https://git.example.com/a@b"
        );
        assert_eq!(
            redact_url("ssh://git@host:2222/repo.git"),
            "ssh://host:2222/repo.git"
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
    fn the_password_is_found_for_scrubbing() {
        assert_eq!(
            url_password("https://bot:s3cr3t@host/x").as_deref(),
            Some("s3cr3t")
        );
        assert_eq!(url_password("https://bot@host/x"), None);
        assert_eq!(url_password("/srv/git/app"), None);
    }

    #[test]
    fn cache_names_are_readable_stable_and_ignore_credentials() {
        let name = cache_folder_name("https://host/team/manifests.git", "main");
        assert!(name.starts_with("manifests-"), "{name}");
        assert_eq!(name.len(), "manifests-".len() + 16);
        assert_eq!(
            name,
            cache_folder_name("https://bot:token@host/team/manifests.git", "main")
        );
        assert_ne!(
            name,
            cache_folder_name("https://host/team/manifests.git", "dev")
        );
        assert!(cache_folder_name("/", "main").starts_with("repository-"));
        assert!(cache_folder_name("file:///srv/../..", "main").starts_with("repository-"));
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let url = "https://bot:s3cr3t@host/x";
        let message = format!("failed to connect to {url}: token s3cr3t refused");
        let scrubbed = scrub(&message, url, &["s3cr3t".to_owned()]);
        assert!(!scrubbed.contains("s3cr3t"), "{scrubbed}");
        assert!(scrubbed.contains("https://host/x"), "{scrubbed}");
    }
}
