//! How the Git source fails: remotes that refuse, never accept or never answer; a branch
//! that is force-pushed or deleted; and a cache left damaged. Every failure is an error
//! (so the detector keeps its records), never an empty snapshot.

#![allow(clippy::unwrap_used)]

mod git_common;

use std::time::Duration;

use driftguard_core::PortErrorKind;
use driftguard_sources::{Error, GitDesiredSource, GitSourceConfig};
use driftguard_test_support::git::{
    BlackholeAddress, GitDaemon, GitHttpServer, SilentServer, TestRepo, git, refused_port,
};
use git_common::{config, config_map, config_map_value, snapshot, source, source_error};

/// Short limits for the remotes that never answer.
const SHORT: Duration = Duration::from_secs(2);

fn short_config(url: &str, cache: &std::path::Path) -> GitSourceConfig {
    let mut config = config(url, cache);
    config.clone_timeout = SHORT;
    config.pull_timeout = SHORT;
    config
}

fn assert_timeout(error: &driftguard_core::PortError, expected_operation: &str) {
    assert_eq!(error.kind, PortErrorKind::Unavailable, "{error}");
    match source_error(error) {
        Error::GitTimeout {
            operation, timeout, ..
        } => {
            assert_eq!(*operation, expected_operation, "{error}");
            assert_eq!(*timeout, SHORT, "{error}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
    let message = error.to_string();
    assert!(message.contains("timed out after 2s"), "{message}");
    assert!(
        message.contains(&format!("git.{expected_operation}_timeout")),
        "{message}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_a_clear_unavailable_error() {
    let port = refused_port();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("git://127.0.0.1:{port}/manifests");
    let error = snapshot(&source(short_config(&url, cache.path())))
        .await
        .unwrap_err();
    assert_eq!(error.kind, PortErrorKind::Unavailable, "{error}");
    assert!(
        matches!(source_error(&error), Error::GitRemote { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains(&url), "{message}");
    assert!(message.contains("clone failed"), "{message}");
    assert!(message.to_lowercase().contains("refused"), "{message}");
}

#[tokio::test]
async fn a_blackholed_remote_times_out() {
    let blackhole = BlackholeAddress::new();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("git://127.0.0.1:{}/manifests", blackhole.port());
    let error = snapshot(&source(short_config(&url, cache.path())))
        .await
        .unwrap_err();
    assert_timeout(&error, "clone");
}

#[tokio::test]
async fn a_git_remote_that_never_answers_times_out() {
    let silent = SilentServer::start();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("git://127.0.0.1:{}/manifests", silent.port());
    let source = source(short_config(&url, cache.path()));
    let error = snapshot(&source).await.unwrap_err();
    assert_timeout(&error, "clone");
    assert!(silent.accepted() >= 1, "the remote was never contacted");
    assert!(
        !source.cache_path().exists(),
        "a failed clone left a cache behind"
    );
}

#[tokio::test]
async fn an_http_remote_that_never_answers_times_out() {
    let silent = SilentServer::start();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/manifests", silent.port());
    let error = snapshot(&source(short_config(&url, cache.path())))
        .await
        .unwrap_err();
    assert_timeout(&error, "clone");
    assert!(silent.accepted() >= 1, "the remote was never contacted");
}

#[tokio::test]
async fn an_ssh_remote_that_never_answers_times_out() {
    let silent = SilentServer::start();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("ssh://git@127.0.0.1:{}/manifests.git", silent.port());
    let error = snapshot(&source(short_config(&url, cache.path())))
        .await
        .unwrap_err();
    assert_timeout(&error, "clone");
    assert!(silent.accepted() >= 1, "the remote was never contacted");
}

#[tokio::test]
async fn a_fetch_from_a_remote_that_stopped_answering_times_out_with_the_pull_limit() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let silent = SilentServer::start();
    let cache = tempfile::tempdir().unwrap();
    let url = format!("git://127.0.0.1:{}/manifests", silent.port());
    let mut config = short_config(&url, cache.path());
    config.clone_timeout = Duration::from_secs(90);
    let source = source(config);
    // A clone made while the remote still answered.
    let cache_path = source.cache_path();
    git(
        cache.path(),
        &[
            "clone",
            "--quiet",
            "--bare",
            &repo.file_url(),
            &cache_path.display().to_string(),
        ],
    );

    let error = snapshot(&source).await.unwrap_err();
    assert_timeout(&error, "pull");
    assert!(cache_path.exists(), "a timed-out fetch must keep the cache");
}

#[tokio::test]
async fn a_force_push_is_refused_by_default_and_followed_when_allowed() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let before = repo.commit_file("web.yaml", &config_map("web", "v2"), "second");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let url = daemon.url(repo.name());
    let strict = source(config(&url, cache.path()));
    snapshot(&strict).await.unwrap();

    let after =
        repo.force_push_replacing_head("web.yaml", &config_map("web", "v2-rewritten"), "rewritten");
    for attempt in 1..=2 {
        let error = snapshot(&strict).await.unwrap_err();
        assert_eq!(error.kind, PortErrorKind::Conflict, "{error}");
        match source_error(&error) {
            Error::GitForcePush {
                previous, current, ..
            } => {
                assert_eq!(previous, &before);
                assert_eq!(current, &after);
            }
            other => panic!("attempt {attempt}: expected a force-push error, got {other:?}"),
        }
        let message = error.to_string();
        assert!(
            message.contains(&before) && message.contains(&after),
            "{message}"
        );
        assert!(message.contains("git.allow_force_push: true"), "{message}");
    }
    assert_eq!(strict.last_revision().as_deref(), Some(before.as_str()));

    // A restart does not forget the last good commit.
    let restarted = source(config(&url, cache.path()));
    let error = snapshot(&restarted).await.unwrap_err();
    assert!(
        matches!(source_error(&error), Error::GitForcePush { .. }),
        "{error}"
    );

    let mut lenient_config = config(&url, cache.path());
    lenient_config.allow_force_push = true;
    let lenient = source(lenient_config);
    let snapshot = snapshot(&lenient).await.unwrap();
    assert_eq!(snapshot.revision.as_deref(), Some(after.as_str()));
    assert_eq!(
        config_map_value(&snapshot, "web").as_deref(),
        Some("v2-rewritten")
    );
}

#[tokio::test]
async fn a_deleted_branch_is_an_error_every_time_never_an_empty_snapshot() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    repo.switch_new("release");
    let release = repo.commit_file("web.yaml", &config_map("web", "release"), "release");
    repo.switch("main");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&daemon.url(repo.name()), cache.path());
    config.branch = "release".into();
    let source = source(config);
    snapshot(&source).await.unwrap();

    repo.delete_branch("release");
    for attempt in 1..=2 {
        let error = snapshot(&source).await.unwrap_err();
        assert_eq!(
            error.kind,
            PortErrorKind::NotFound,
            "attempt {attempt}: {error}"
        );
        assert!(
            matches!(source_error(&error), Error::GitBranchNotFound { branch, .. } if branch == "release"),
            "attempt {attempt}: {error:?}"
        );
        assert!(
            error.to_string().contains("does not exist on the remote"),
            "{error}"
        );
    }
    assert_eq!(source.last_revision().as_deref(), Some(release.as_str()));
}

#[tokio::test]
async fn a_branch_that_never_existed_leaves_no_cache() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&repo.file_url(), cache.path());
    config.branch = "nope".into();
    let source = source(config);
    let error = snapshot(&source).await.unwrap_err();
    assert!(
        matches!(source_error(&error), Error::GitBranchNotFound { .. }),
        "{error:?}"
    );
    assert!(!source.cache_path().exists());
}

/// Clones `repo` through a fresh source, damages the cache with `damage`, commits again,
/// and checks the next snapshot recovers by cloning again and reads the new commit.
async fn recovers_from(damage: impl FnOnce(&GitDesiredSource)) {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let source = source(config(&daemon.url(repo.name()), cache.path()));
    snapshot(&source).await.unwrap();
    let marker = source.cache_path().join("from-the-first-clone");
    std::fs::write(&marker, "").unwrap();

    damage(&source);
    let head = repo.commit_file("web.yaml", &config_map("web", "v2"), "second");
    let snapshot = snapshot(&source).await.unwrap();
    assert_eq!(snapshot.revision.as_deref(), Some(head.as_str()));
    assert_eq!(config_map_value(&snapshot, "web").as_deref(), Some("v2"));
    assert!(!marker.exists(), "the damaged cache was not replaced");
    // And the repaired cache is fetched into, not cloned again.
    std::fs::write(&marker, "").unwrap();
    let again = source.read().unwrap();
    assert_eq!(again.revision.as_deref(), Some(head.as_str()));
    assert!(marker.exists());
}

#[tokio::test]
async fn a_truncated_head_is_recloned() {
    recovers_from(|source| {
        std::fs::write(source.cache_path().join("HEAD"), "").unwrap();
    })
    .await;
}

#[tokio::test]
async fn missing_objects_are_recloned() {
    recovers_from(|source| {
        let objects = source.cache_path().join("objects");
        for folder in std::fs::read_dir(&objects).unwrap() {
            let folder = folder.unwrap().path();
            if folder.is_dir() && folder.file_name().unwrap() != "info" {
                std::fs::remove_dir_all(&folder).unwrap();
                std::fs::create_dir(&folder).unwrap();
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_garbage_branch_reference_is_recloned() {
    recovers_from(|source| {
        std::fs::write(source.cache_path().join("refs/heads/main"), "not a sha\n").unwrap();
    })
    .await;
}

#[tokio::test]
async fn a_half_written_clone_is_discarded() {
    let repo = TestRepo::new();
    let head = repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let server = GitHttpServer::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let source = source(config(&server.url(repo.name()), cache.path()));
    // What a crash in the middle of a first clone leaves behind.
    let partial = source.cache_path().with_extension("partial");
    std::fs::create_dir_all(partial.join("objects/pack")).unwrap();
    std::fs::write(partial.join("objects/pack/tmp_pack_x"), "half a pack").unwrap();
    std::fs::write(partial.join("HEAD"), "ref: refs/heads/ma").unwrap();

    let snapshot = snapshot(&source).await.unwrap();
    assert_eq!(snapshot.revision.as_deref(), Some(head.as_str()));
    assert!(!partial.exists(), "the partial clone was left behind");
}
