//! The Git source over smart HTTP (`git http-backend` on 127.0.0.1), with and without a
//! token, and what a refused token looks like: a clear error that never shows the token.

#![allow(clippy::unwrap_used)]

mod git_common;

use std::path::{Path, PathBuf};

use driftguard_sources::{Error, GitAuth, TokenSource};
use driftguard_test_support::git::{GitHttpServer, TestRepo};
use git_common::{config, config_map, config_map_value, snapshot, source, source_error};

const TOKEN: &str = "glpat-right-7c1f9e2a";
const WRONG_TOKEN: &str = "glpat-wrong-5d3b8a61";

fn token_file(dir: &Path, token: &str) -> PathBuf {
    let path = dir.join("token");
    std::fs::write(&path, format!("{token}\n")).unwrap();
    path
}

#[tokio::test]
async fn clones_and_fetches_over_smart_http() {
    let repo = TestRepo::new();
    let first = repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let server = GitHttpServer::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let source = source(config(&server.url(repo.name()), cache.path()));

    let snapshot1 = snapshot(&source).await.unwrap();
    assert_eq!(snapshot1.revision.as_deref(), Some(first.as_str()));
    let second = repo.commit_file("web.yaml", &config_map("web", "v2"), "second");
    let snapshot2 = snapshot(&source).await.unwrap();
    assert_eq!(snapshot2.revision.as_deref(), Some(second.as_str()));
    assert_eq!(config_map_value(&snapshot2, "web").as_deref(), Some("v2"));
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/git-upload-pack") && r.status == 200),
        "the smart protocol was not used: {:?}",
        server.requests()
    );
}

#[tokio::test]
async fn a_token_from_a_file_opens_a_protected_repository() {
    let repo = TestRepo::new();
    let head = repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let server = GitHttpServer::serve_with_token(repo.base_dir(), TOKEN);
    let secrets = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&server.url(repo.name()), cache.path());
    config.auth = GitAuth::HttpsToken {
        username: Some("driftguard".into()),
        token: TokenSource::File(token_file(secrets.path(), TOKEN)),
    };

    let snapshot = snapshot(&source(config)).await.unwrap();
    assert_eq!(snapshot.revision.as_deref(), Some(head.as_str()));
    let requests = server.requests();
    assert_eq!(requests[0].status, 401, "{requests:?}");
    assert!(
        requests
            .iter()
            .any(|r| r.user.as_deref() == Some("driftguard") && r.status == 200),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_token_without_a_user_name_is_sent_as_x_access_token() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let server = GitHttpServer::serve_with_token(repo.base_dir(), TOKEN);
    let secrets = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&server.url(repo.name()), cache.path());
    config.auth = GitAuth::HttpsToken {
        username: None,
        token: TokenSource::File(token_file(secrets.path(), TOKEN)),
    };
    snapshot(&source(config)).await.unwrap();
    let requests = server.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.user.as_deref() == Some("x-access-token") && r.status == 200),
        "{requests:?}"
    );
}

#[tokio::test]
async fn a_wrong_token_is_a_clear_error_without_the_token() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let server = GitHttpServer::serve_with_token(repo.base_dir(), TOKEN);
    let secrets = tempfile::tempdir().unwrap();
    let token_path = token_file(secrets.path(), WRONG_TOKEN);
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&server.url(repo.name()), cache.path());
    config.auth = GitAuth::HttpsToken {
        username: None,
        token: TokenSource::File(token_path.clone()),
    };
    let source = source(config);

    let error = snapshot(&source).await.unwrap_err();
    assert!(
        matches!(source_error(&error), Error::GitAuth { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("refused the credentials"), "{message}");
    assert!(
        message.contains(&token_path.display().to_string()),
        "the message should say where the token came from: {message}"
    );
    for shown in [message, format!("{error:?}")] {
        assert!(!shown.contains(WRONG_TOKEN), "the token leaked: {shown}");
    }
    assert!(
        server
            .requests()
            .iter()
            .any(|r| r.sent_credentials && r.status == 401),
        "the wrong token was never sent: {:?}",
        server.requests()
    );
    assert_eq!(source.last_revision(), None);
    assert!(
        !source.cache_path().exists(),
        "a failed clone left a cache behind"
    );
}

#[tokio::test]
async fn a_protected_repository_without_credentials_says_what_to_configure() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let server = GitHttpServer::serve_with_token(repo.base_dir(), TOKEN);
    let cache = tempfile::tempdir().unwrap();
    let error = snapshot(&source(config(&server.url(repo.name()), cache.path())))
        .await
        .unwrap_err();
    assert!(
        matches!(source_error(&error), Error::GitAuth { .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("git.auth is not set"), "{error}");
}

#[tokio::test]
async fn a_token_written_into_the_url_never_appears_in_errors() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let server = GitHttpServer::serve_with_token(repo.base_dir(), TOKEN);
    let url = server
        .url(repo.name())
        .replace("http://", &format!("http://bot:{WRONG_TOKEN}@"));
    let cache = tempfile::tempdir().unwrap();
    let source = source(config(&url, cache.path()));
    assert!(!source.display_url().contains(WRONG_TOKEN));

    let error = snapshot(&source).await.unwrap_err();
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains(WRONG_TOKEN), "the token leaked: {shown}");
    }
    // The remote, its user information masked.
    let shown = server.url(repo.name()).replace("http://", "http://***@");
    assert!(
        error.to_string().contains(&shown),
        "the error should name the remote: {error}"
    );
}
