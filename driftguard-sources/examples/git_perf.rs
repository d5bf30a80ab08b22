//! Measures the Git desired source on a repository of realistic size, served by
//! `git daemon` on 127.0.0.1: 5,000 manifests across 200 files, built in 50 commits.
//!
//! Prints the time of a first clone, of fetches that find nothing new, of a fetch after a
//! one-file commit (each including the parse of every manifest), and of the parse alone
//! (the folder source over the same tree), as medians over several runs. The same clone
//! and fetch with `git.path` on one small file show the Git work without the parse.
//!
//! ```text
//! cargo run --release -p driftguard-sources --example git_perf [-- RUNS]
//! ```

use std::time::{Duration, Instant};

use driftguard_core::DesiredSource;
use driftguard_core::secret::FingerprintKey;
use driftguard_sources::{FolderDesiredSource, GitDesiredSource, GitSourceConfig};
use driftguard_test_support::git::{GitDaemon, TestRepo};

const FILES: usize = 200;
const MANIFESTS_PER_FILE: usize = 25;
const COMMITS: usize = 50;

/// One Deployment, Service or ConfigMap of about 40 lines.
fn manifest(file: usize, index: usize, image_tag: usize) -> String {
    let name = format!("app-{file:03}-{index:02}");
    match index % 3 {
        0 => format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\n  namespace: team-{ns}\n  labels:\n    app: {name}\n    tier: backend\nspec:\n  replicas: 3\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      containers:\n      - name: app\n        image: registry.example.com/{name}:1.{image_tag}.0\n        ports:\n        - containerPort: 8080\n        env:\n        - name: LOG_LEVEL\n          value: info\n        - name: DATABASE_URL\n          valueFrom:\n            secretKeyRef:\n              name: {name}-db\n              key: url\n        resources:\n          requests:\n            cpu: 250m\n            memory: 256Mi\n          limits:\n            cpu: \"1\"\n            memory: 512Mi\n",
            ns = file % 20
        ),
        1 => format!(
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\n  namespace: team-{ns}\nspec:\n  selector:\n    app: {name}\n  ports:\n  - name: http\n    port: 80\n    targetPort: 8080\n",
            ns = file % 20
        ),
        _ => format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: team-{ns}\ndata:\n  feature.flags: \"a=1,b=0,c=1\"\n  max.connections: \"100\"\n  greeting: hello from {name}\n",
            ns = file % 20
        ),
    }
}

fn file_content(file: usize, image_tag: usize) -> String {
    (0..MANIFESTS_PER_FILE)
        .map(|i| manifest(file, i, image_tag))
        .collect::<Vec<_>>()
        .join("---\n")
}

fn file_path(file: usize) -> String {
    format!("teams/team-{:02}/app-{file:03}.yaml", file % 20)
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runs: usize = std::env::args()
        .nth(1)
        .map(|r| r.parse())
        .transpose()?
        .unwrap_or(5);
    let key = FingerprintKey::derive("git perf");

    let started = Instant::now();
    let repo = TestRepo::new();
    let files_per_commit = FILES / COMMITS;
    for commit in 0..COMMITS {
        for file in commit * files_per_commit..(commit + 1) * files_per_commit {
            repo.write(&file_path(file), &file_content(file, 0));
        }
        if commit > 0 {
            // Later commits also bump an image in an earlier file, as teams do.
            let earlier = (commit * 7) % (commit * files_per_commit);
            repo.write(&file_path(earlier), &file_content(earlier, commit));
        }
        repo.commit(&format!("commit {commit}"));
    }
    let pack_size = repo.git(&["count-objects", "-vH"]);
    println!(
        "repository: {FILES} files, {} manifests, {COMMITS} commits, built in {}",
        FILES * MANIFESTS_PER_FILE,
        ms(started.elapsed())
    );
    println!("{}", pack_size.replace('\n', "; "));

    let daemon = GitDaemon::serve(repo.base_dir());
    let url = daemon.url(repo.name());

    let mut clones = Vec::new();
    let mut no_change = Vec::new();
    let mut one_commit = Vec::new();
    let mut parses = Vec::new();
    let mut small_clones = Vec::new();
    let mut small_no_change = Vec::new();
    for run in 0..runs {
        let cache = tempfile::tempdir()?;
        let source = GitDesiredSource::new(GitSourceConfig::new(&url, cache.path()), key.clone())?;

        let t = Instant::now();
        let snapshot = source.snapshot().await?;
        clones.push(t.elapsed());
        assert_eq!(snapshot.resources.len(), FILES * MANIFESTS_PER_FILE);

        for _ in 0..3 {
            let t = Instant::now();
            let again = source.snapshot().await?;
            no_change.push(t.elapsed());
            assert_eq!(again.revision, snapshot.revision);
        }

        repo.write(&file_path(run), &file_content(run, 1000 + run));
        let head = repo.commit(&format!("bump {run}"));
        let t = Instant::now();
        let changed = source.snapshot().await?;
        one_commit.push(t.elapsed());
        assert_eq!(changed.revision.as_deref(), Some(head.as_str()));

        let small_cache = tempfile::tempdir()?;
        let mut small_config = GitSourceConfig::new(&url, small_cache.path());
        small_config.path = Some(file_path(FILES - 1).into());
        let small = GitDesiredSource::new(small_config, key.clone())?;
        let t = Instant::now();
        let one_file = small.snapshot().await?;
        small_clones.push(t.elapsed());
        assert_eq!(one_file.resources.len(), MANIFESTS_PER_FILE);
        for _ in 0..3 {
            let t = Instant::now();
            small.snapshot().await?;
            small_no_change.push(t.elapsed());
        }

        let folder = FolderDesiredSource::new(repo.work_dir(), key.clone())?;
        let t = Instant::now();
        let parsed = folder.read()?;
        parses.push(t.elapsed());
        assert_eq!(parsed.resources.len(), FILES * MANIFESTS_PER_FILE);
    }

    println!("runs: {runs} (medians)");
    println!(
        "first clone + parse (git://, loopback): {}",
        ms(median(clones))
    );
    println!(
        "no-change fetch + parse:                {}",
        ms(median(no_change))
    );
    println!(
        "one-commit fetch + parse:               {}",
        ms(median(one_commit))
    );
    println!(
        "parse only (folder source, same tree):  {}",
        ms(median(parses))
    );
    println!(
        "first clone, one-file path:             {}",
        ms(median(small_clones))
    );
    println!(
        "no-change fetch, one-file path:         {}",
        ms(median(small_no_change))
    );
    Ok(())
}
