//! The Git desired source against real remotes on 127.0.0.1 (`git daemon`) and local
//! repositories: first clone, later fetches, branches, sub-paths and URL forms.

#![allow(clippy::unwrap_used)]

mod git_common;

use std::path::PathBuf;

use driftguard_core::secret::FingerprintKey;
use driftguard_sources::{Error, FolderDesiredSource};
use driftguard_test_support::git::{GitDaemon, TestRepo};
use git_common::{config, config_map, config_map_value, ids, snapshot, source, source_error};

#[tokio::test]
async fn clones_once_then_sees_a_new_commit_with_its_sha() {
    let repo = TestRepo::new();
    let first = repo.commit_file("app/web.yaml", &config_map("web", "v1"), "first");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let source = source(config(&daemon.url(repo.name()), cache.path()));
    assert_eq!(source.last_revision(), None);

    let snapshot1 = snapshot(&source).await.unwrap();
    assert_eq!(snapshot1.revision.as_deref(), Some(first.as_str()));
    assert_eq!(ids(&snapshot1), ["ConfigMap:shop:web"]);
    assert_eq!(config_map_value(&snapshot1, "web").as_deref(), Some("v1"));
    assert_eq!(source.last_revision().as_deref(), Some(first.as_str()));

    // A file dropped into the clone survives only if the next call fetches into the
    // same clone instead of cloning again.
    let marker = source.cache_path().join("kept-between-fetches");
    std::fs::write(&marker, "").unwrap();

    repo.write("app/web.yaml", &config_map("web", "v2"));
    repo.write("app/api.yaml", &config_map("api", "v1"));
    let second = repo.commit("second");
    let snapshot2 = snapshot(&source).await.unwrap();
    assert_eq!(snapshot2.revision.as_deref(), Some(second.as_str()));
    assert_eq!(
        ids(&snapshot2),
        ["ConfigMap:shop:api", "ConfigMap:shop:web"]
    );
    assert_eq!(config_map_value(&snapshot2, "web").as_deref(), Some("v2"));
    assert!(
        marker.exists(),
        "the repository was cloned again instead of fetched"
    );

    // Nothing new: same revision, same content.
    let snapshot3 = snapshot(&source).await.unwrap();
    assert_eq!(snapshot3, snapshot2);
}

#[tokio::test]
async fn a_restarted_source_reuses_the_cache() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "v1"), "first");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let url = daemon.url(repo.name());

    let before = source(config(&url, cache.path()));
    snapshot(&before).await.unwrap();
    let marker = before.cache_path().join("kept-across-restarts");
    std::fs::write(&marker, "").unwrap();
    drop(before);

    let second = repo.commit_file("web.yaml", &config_map("web", "v2"), "second");
    let after = source(config(&url, cache.path()));
    let snapshot = snapshot(&after).await.unwrap();
    assert_eq!(snapshot.revision.as_deref(), Some(second.as_str()));
    assert!(marker.exists(), "a new source instance cloned again");
}

#[tokio::test]
async fn follows_a_branch_other_than_the_default() {
    let repo = TestRepo::new();
    repo.commit_file("web.yaml", &config_map("web", "main"), "main");
    repo.switch_new("staging");
    let staging = repo.commit_file("web.yaml", &config_map("web", "staging"), "staging");
    repo.switch("main");
    let main = repo.commit_file("web.yaml", &config_map("web", "main-2"), "main 2");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();

    let mut staging_config = config(&daemon.url(repo.name()), cache.path());
    staging_config.branch = "staging".into();
    let staging_source = source(staging_config);
    let main_source = source(config(&daemon.url(repo.name()), cache.path()));

    let staging_snapshot = snapshot(&staging_source).await.unwrap();
    assert_eq!(staging_snapshot.revision.as_deref(), Some(staging.as_str()));
    assert_eq!(
        config_map_value(&staging_snapshot, "web").as_deref(),
        Some("staging")
    );
    let main_snapshot = snapshot(&main_source).await.unwrap();
    assert_eq!(main_snapshot.revision.as_deref(), Some(main.as_str()));
    assert_eq!(
        config_map_value(&main_snapshot, "web").as_deref(),
        Some("main-2")
    );
    assert_ne!(staging_source.cache_path(), main_source.cache_path());
}

#[tokio::test]
async fn reads_only_the_sub_path_and_names_files_by_repository_path() {
    let repo = TestRepo::new();
    repo.write("clusters/eu/web.yaml", &config_map("eu-web", "1"));
    repo.write("clusters/eu/nested/api.yml", &config_map("eu-api", "1"));
    repo.write("clusters/us/web.yaml", &config_map("us-web", "1"));
    repo.write("README.md", "# not a manifest\n");
    repo.commit("clusters");
    let daemon = GitDaemon::serve(repo.base_dir());
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&daemon.url(repo.name()), cache.path());
    config.path = Some(PathBuf::from("clusters/eu"));
    let source = source(config);

    let snapshot = snapshot(&source).await.unwrap();
    assert_eq!(
        ids(&snapshot),
        ["ConfigMap:shop:eu-api", "ConfigMap:shop:eu-web"]
    );
    let origin = snapshot.resources[1].origin.as_ref().unwrap();
    assert_eq!(&*origin.location, "clusters/eu/web.yaml");
    assert_eq!(origin.line, Some(1));
}

#[tokio::test]
async fn a_sub_path_naming_one_file_reads_that_file() {
    let repo = TestRepo::new();
    repo.write("deploy/all.yaml", &config_map("one", "1"));
    repo.write("deploy/other.yaml", &config_map("two", "2"));
    repo.commit("files");
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&repo.file_url(), cache.path());
    config.path = Some(PathBuf::from("deploy/all.yaml"));
    let snapshot = snapshot(&source(config)).await.unwrap();
    assert_eq!(ids(&snapshot), ["ConfigMap:shop:one"]);
}

#[tokio::test]
async fn a_missing_sub_path_is_an_error_naming_path_and_commit() {
    let repo = TestRepo::new();
    let head = repo.commit_file("deploy/web.yaml", &config_map("web", "1"), "first");
    let cache = tempfile::tempdir().unwrap();
    let mut config = config(&repo.file_url(), cache.path());
    config.path = Some(PathBuf::from("clusters/eu"));
    let error = snapshot(&source(config)).await.unwrap_err();
    assert!(
        matches!(source_error(&error), Error::GitPathNotFound { .. }),
        "{error}"
    );
    let message = error.to_string();
    assert!(message.contains("clusters/eu"), "{message}");
    assert!(message.contains(&head), "{message}");
}

#[tokio::test]
async fn parses_like_the_folder_source() {
    let repo = TestRepo::new();
    repo.write(
        "multi.yaml",
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n---\n# nothing\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  ports:\n  - port: 80\n",
    );
    repo.write(
        "list.yaml",
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n    namespace: shop\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: creds\n    namespace: shop\n  stringData:\n    password: hunter2-plaintext\n",
    );
    repo.write(
        "nested/deploy.json",
        r#"{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"replicas":2}}"#,
    );
    repo.write(".github/workflow.yaml", "name: ci\non: push\n");
    // A build-tool file that is not a kustomization of its folder is read, and skipped.
    repo.write(
        "tools/kustomize-defaults.yaml",
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n",
    );
    repo.commit("manifests");
    let cache = tempfile::tempdir().unwrap();
    let key = FingerprintKey::derive("git tests");

    let from_git = snapshot(&source(config(&repo.file_url(), cache.path())))
        .await
        .unwrap();
    let from_folder = FolderDesiredSource::new(repo.work_dir(), key)
        .and_then(|source| source.read())
        .unwrap();

    assert_eq!(ids(&from_git), ids(&from_folder));
    assert_eq!(
        ids(&from_git),
        [
            "ConfigMap:shop:a",
            "Secret:shop:creds",
            "Namespace::shop",
            "Service:shop:web",
            "Deployment:shop:web",
        ]
    );
    for (git, folder) in from_git.resources.iter().zip(&from_folder.resources) {
        assert_eq!(git.object, folder.object, "{}", git.id);
    }
    let text = serde_json::to_string(&from_git.resources[1].object).unwrap();
    assert!(
        !text.contains("hunter2-plaintext"),
        "a Secret value leaked: {text}"
    );
}

#[tokio::test]
async fn reads_file_urls_and_plain_local_paths() {
    let repo = TestRepo::new();
    let head = repo.commit_file("web.yaml", &config_map("web", "1"), "first");
    for url in [repo.file_url(), repo.work_dir().display().to_string()] {
        let cache = tempfile::tempdir().unwrap();
        let snapshot = snapshot(&source(config(&url, cache.path()))).await.unwrap();
        assert_eq!(snapshot.revision.as_deref(), Some(head.as_str()), "{url}");
        assert_eq!(ids(&snapshot), ["ConfigMap:shop:web"], "{url}");
    }
}

#[tokio::test]
async fn a_broken_manifest_is_an_error_not_a_short_snapshot() {
    let repo = TestRepo::new();
    repo.write("good.yaml", &config_map("good", "1"));
    repo.write(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n",
    );
    repo.commit("one broken file");
    let cache = tempfile::tempdir().unwrap();
    let error = snapshot(&source(config(&repo.file_url(), cache.path())))
        .await
        .unwrap_err();
    assert!(
        matches!(source_error(&error), Error::Syntax { .. }),
        "{error}"
    );
    assert!(error.to_string().starts_with("bad.yaml:"), "{error}");
}

#[tokio::test]
async fn a_local_path_that_does_not_exist_is_named() {
    let cache = tempfile::tempdir().unwrap();
    let missing = cache.path().join("no-such-repository");
    let url = missing.display().to_string();
    let error = snapshot(&source(config(&url, cache.path())))
        .await
        .unwrap_err();
    assert!(
        matches!(source_error(&error), Error::GitRemote { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("no repository at {url}")),
        "{message}"
    );
}
