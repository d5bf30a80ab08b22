//! `driftguard config validate|show` and `serve`'s start-up checks: every problem names
//! its key, environment overrides apply, secrets are never printed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn driftguard(args: &[&str], env: &[(&str, &str)], dir: &Path) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_driftguard"));
    command.args(args).current_dir(dir);
    for (name, _) in std::env::vars() {
        if name.starts_with("DRIFTGUARD__") {
            command.env_remove(name);
        }
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().expect("driftguard runs");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

const VALID: &str = "\
git:
  url: https://bob:ghp_t0ken-in-git-url@git.example.com/platform/manifests.git
server:
  port: 9090
database:
  type: mongodb
  uri: mongodb://driftguard:pa55w0rd-in-uri@db.internal:27017/?replicaSet=rs0
  name: drift
sources:
  desired: folder
  folder: manifests
  live: dump
  dump: live
detection:
  interval: 45s
  fingerprint_key: k3y-material-do-not-print
  severities:
    LabelChange: Medium
  ignore:
    - kinds: [Deployment]
      paths: [/spec/replicas]
";

fn with_config(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("config.yaml"), text).unwrap();
    dir
}

#[test]
fn a_valid_file_validates_and_show_prints_it_without_secrets() {
    let dir = with_config(VALID);
    let run = driftguard(&["config", "validate"], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("configuration is valid (config.yaml)"),
        "{}",
        run.stdout
    );

    let run = driftguard(&["config", "show"], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("port: 9090"), "{}", run.stdout);
    assert!(run.stdout.contains("interval: 45s"), "{}", run.stdout);
    assert!(run.stdout.contains("db.internal:27017"), "{}", run.stdout);
    for secret in [
        "pa55w0rd-in-uri",
        "k3y-material-do-not-print",
        "ghp_t0ken-in-git-url",
    ] {
        assert!(!run.stdout.contains(secret), "{}", run.stdout);
    }
}

#[test]
fn environment_variables_override_the_file() {
    let dir = with_config(VALID);
    let run = driftguard(
        &["config", "show"],
        &[
            ("DRIFTGUARD__SERVER__PORT", "7070"),
            ("DRIFTGUARD__DETECTION__INTERVAL", "2m"),
            ("DRIFTGUARD__KUBERNETES__NAMESPACES", "shop,billing"),
        ],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("port: 7070"), "{}", run.stdout);
    assert!(run.stdout.contains("interval: 2m"), "{}", run.stdout);
    assert!(run.stdout.contains("- shop\n"), "{}", run.stdout);
    assert!(run.stdout.contains("- billing\n"), "{}", run.stdout);
}

#[test]
fn problems_name_their_key() {
    for (text, env, expected) in [
        ("server:\n  prot: 9090\n", None, "unknown field `prot`"),
        ("detection:\n  interval: soon\n", None, "detection.interval"),
        ("server:\n  port: 99999\n", None, "server.port"),
        ("database:\n  type: postgres\n", None, "database.type"),
        ("logging:\n  format: xml\n", None, "logging.format"),
        ("sources:\n  desired: git\n", None, "git.url"),
        ("server:\n  host: localhost:80\n", None, "server.host"),
        (
            "git:\n  url: https://git.example.com/m.git\n  branch: bad..branch\n",
            None,
            "git.branch",
        ),
        (
            "git:\n  url: https://git.example.com/m.git\nkubernetes:\n  resource_types: [\"Deploy ments\"]\n",
            None,
            "kubernetes.resource_types",
        ),
        (
            "sources: {desired: folder, folder: m, live: dump, dump: l}\ndetection:\n  severities:\n    LabelChange: High\n",
            Some(("DRIFTGUARD__DETECTION__SEVERITIES__LABELCHANGE", "Low")),
            "given twice",
        ),
        (
            "sources: {desired: folder, folder: m, live: dump, dump: l}\ndetection:\n  severities:\n    LabelChange: Urgent\n",
            None,
            "detection.severities.LabelChange",
        ),
        (
            "sources: {desired: folder, folder: m, live: dump, dump: l}\ndetection:\n  classification:\n    - {drift_type: Sideways, severity: High, paths: [spec.paused]}\n",
            None,
            "detection.classification[0].drift_type",
        ),
        (
            "sources: {desired: folder, folder: m, live: dump, dump: l}\n",
            Some(("DRIFTGUARD__SERVER__PORT", "eighty")),
            "server.port",
        ),
        (
            "sources: {desired: folder, folder: m, live: dump, dump: l}\nserver:\n  port: [80\n",
            None,
            "line 3",
        ),
        // Applications and rendering.
        (
            "git:\n  url: https://git.example.com/m.git\n  path: apps\napplications:\n  - {name: shop, git: {path: apps/shop}}\n",
            None,
            "also sets git.path; remove it",
        ),
        (
            "sources: {folder: m}\napplications:\n  - {name: shop, folder: apps/shop}\n",
            None,
            "sources.folder",
        ),
        (
            "applications:\n  - {name: shop, folder: a}\n  - {name: shop, folder: b}\n",
            None,
            "used twice",
        ),
        (
            "applications:\n  - {name: shop, folder: a, rendr: helm}\n",
            None,
            "unknown field `rendr`",
        ),
        (
            "applications:\n  - {name: shop, git: {path: apps/shop}}\n",
            None,
            "git.url is not set",
        ),
        (
            "applications:\n  - {name: shop, folder: a, render: kustomize, helm: {release: shop}}\n",
            None,
            "helm settings are given but render is kustomize",
        ),
        (
            "applications:\n  - {name: shop, folder: a, helm: {values: [/etc/passwd]}}\n",
            None,
            "applications[0] (shop): helm.values[0]",
        ),
        (
            "applications:\n  - {name: shop, folder: a, namespace: Shop}\n",
            None,
            "namespace `Shop`",
        ),
        (
            "sources: {desired: folder, folder: m}\nrender:\n  timeout: 0s\n",
            None,
            "render.timeout",
        ),
        (
            "git:\n  url: https://git.example.com/m.git\n  auth: {type: none, token_env: GIT_TOKEN}\n",
            None,
            "auth.type is none but auth.token_env is set, which only auth.type: token uses; remove auth.token_env, or set auth.type: token for key `git.auth`",
        ),
        (
            "git:\n  url: https://git.example.com/m.git\n  auth: {token_env: GIT_TOKEN, ssh_key: /etc/ssh/key}\n",
            None,
            "auth sets both a token (auth.token_env) and an SSH key (auth.ssh_key)",
        ),
        (
            "applications:\n  - {name: shop, git: {url: https://git.example.com/m.git, path: a, auth: {type: token, token_file: /t, ssh_key: /k}}}\n",
            None,
            "auth.type is token but auth.ssh_key is set, which only auth.type: ssh uses; remove auth.ssh_key, or set auth.type: ssh and remove auth.token_file for key `applications[0].git.auth`",
        ),
        // Values of a fixed set.
        ("logging:\n  level: inof\n", None, "logging.level `inof`"),
        (
            "sources: {desired: folder, folder: m, live: dump, dump: l}\n",
            Some(("DRIFTGUARD__LOGGING__LEVEL", "warning")),
            "did you mean `warn`?",
        ),
        (
            "sources:\n  live: Dump\n",
            None,
            "unknown value `Dump`, expected `kubernetes` or `dump` for key `sources.live`",
        ),
        (
            "applications:\n  - {name: shop, folder: a, render: helmm}\n",
            None,
            "unknown value `helmm`, expected one of `auto`, `plain`, `kustomize`, `helm` for key `applications[0].render`",
        ),
    ] {
        let dir = with_config(text);
        let env: Vec<(&str, &str)> = env.into_iter().collect();
        let run = driftguard(&["config", "validate"], &env, dir.path());
        assert_eq!(run.code, 2, "{text}: {}", run.stdout);
        assert!(
            run.stderr.contains(expected),
            "{text}: expected {expected:?} in {}",
            run.stderr
        );
        // serve refuses to start on the same problem.
        let run = driftguard(&["serve"], &env, dir.path());
        assert_eq!(run.code, 2, "{text}");
        assert!(run.stderr.contains(expected), "{text}: {}", run.stderr);
    }
}

const APPLICATIONS: &str = "\
git:
  url: https://git.example.com/platform/apps.git
  cache_dir: cache
  auth: {token_env: GIT_TOKEN}
applications:
  - name: shop
    git: {path: apps/shop/overlays/prod}
    namespace: shop
  - name: billing
    git:
      url: https://alice:s3cret-app-token@git.example.com/platform/charts.git
      path: charts/billing
    helm:
      release: billing
      values: [values-prod.yaml]
      set: {image.tag: \"2.4.1\", replicaCount: 3}
    namespace: billing
  - name: tools
    folder: /srv/manifests/tools
    render: plain
render:
  timeout: 2m
  max_concurrent: 2
";

#[test]
fn applications_validate_and_show_without_credentials() {
    let dir = with_config(APPLICATIONS);
    let run = driftguard(&["config", "validate"], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = driftguard(&["config", "show"], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("s3cret-app-token"), "{}", run.stdout);
    for expected in [
        "name: billing",
        "path: charts/billing",
        "release: billing",
        "image.tag: \"2.4.1\"",
        "render: plain",
        "timeout: 2m",
        "type: token",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected} in {}",
            run.stdout
        );
    }
    // What config show prints reads back as the same configuration.
    std::fs::write(dir.path().join("shown.yaml"), &run.stdout).unwrap();
    let again = driftguard(
        &["config", "validate", "--config", "shown.yaml"],
        &[],
        dir.path(),
    );
    assert_eq!(again.code, 0, "{}\n{}", again.stderr, run.stdout);
}

#[test]
fn a_missing_explicit_file_is_an_error_and_no_file_means_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let run = driftguard(
        &["config", "validate", "--config", "nope.yaml"],
        &[],
        dir.path(),
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nope.yaml"), "{}", run.stderr);

    // serve says where the settings came from when they are incomplete.
    let run = driftguard(&["serve"], &[], dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no config.yaml"), "{}", run.stderr);
    assert!(run.stderr.contains("git.url"), "{}", run.stderr);

    // Built-in defaults plus the environment make a whole configuration.
    let run = driftguard(
        &["config", "show"],
        &[(
            "DRIFTGUARD__GIT__URL",
            "https://git.example.com/platform/manifests.git",
        )],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("port: 8080"), "{}", run.stdout);
    assert!(run.stdout.contains("type: sqlite"), "{}", run.stdout);
    assert!(run.stdout.contains("interval: 30s"), "{}", run.stdout);
}

#[test]
fn the_bundled_example_configurations_are_valid() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for config in ["examples/config.yaml", "examples/gitops/config.yaml"] {
        let run = driftguard(&["config", "validate", "--config", config], &[], &root);
        assert_eq!(run.code, 0, "{config}: {}", run.stderr);
    }
}

#[test]
fn a_misspelt_log_level_is_refused_and_a_tracing_filter_validates() {
    let dir = with_config(&format!("{VALID}logging:\n  level: inof\n"));
    let run = driftguard(&["config", "validate"], &[], dir.path());
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "logging.level `inof`: `inof` is not a level (error, warn, info, debug, trace or off); did you mean `info`?"
        ),
        "{}",
        run.stderr
    );

    let dir = with_config(&format!(
        "{VALID}logging:\n  level: info,driftguard_sources=debug\n"
    ));
    let run = driftguard(&["config", "validate"], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);

    // A bare target name is what EnvFilter would have taken `inof` for.
    let dir = with_config(&format!("{VALID}logging:\n  level: driftguard_sources\n"));
    let run = driftguard(&["config", "validate"], &[], dir.path());
    assert_eq!(run.code, 2, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("to set the level of a target, write `driftguard_sources=<level>`"),
        "{}",
        run.stderr
    );
}

#[test]
fn git_auth_takes_its_type_from_the_keys_set() {
    for (auth, shown) in [
        ("{token_env: GIT_TOKEN}", "type: token"),
        ("{token_file: /var/run/secrets/git/token}", "type: token"),
        ("{ssh_key: /etc/driftguard/ssh/id_ed25519}", "type: ssh"),
    ] {
        let dir = with_config(&format!(
            "git:\n  url: https://git.example.com/platform/manifests.git\n  auth: {auth}\n"
        ));
        let run = driftguard(&["config", "validate"], &[], dir.path());
        assert_eq!(run.code, 0, "{auth}: {}", run.stderr);
        let run = driftguard(&["config", "show"], &[], dir.path());
        assert_eq!(run.code, 0, "{auth}: {}", run.stderr);
        assert!(run.stdout.contains(shown), "{auth}: {}", run.stdout);
        // What config show prints reads back the same.
        std::fs::write(dir.path().join("shown.yaml"), &run.stdout).unwrap();
        let again = driftguard(
            &["config", "validate", "--config", "shown.yaml"],
            &[],
            dir.path(),
        );
        assert_eq!(again.code, 0, "{}\n{}", again.stderr, run.stdout);
    }
    // The same from the environment.
    let dir = with_config("git:\n  url: https://git.example.com/platform/manifests.git\n");
    let run = driftguard(
        &["config", "show"],
        &[("DRIFTGUARD__GIT__AUTH__TOKEN_ENV", "GL_TOKEN")],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("type: token") && run.stdout.contains("token_env: GL_TOKEN"),
        "{}",
        run.stdout
    );
}

/// A Git URL and a MongoDB URI with secrets in their user information and queries.
fn secrets_in_urls(port: u16) -> String {
    format!(
        "\
git:
  url: https://127.0.0.1:{port}/r.git?private_token=SEKRIT
database:
  type: mongodb
  uri: mongodb://admin:SEKRIT@127.0.0.1:{port}/?authMechanismProperties=SERVICE_NAME:mongodb,AWS_SESSION_TOKEN:SEKRIT&tlsCertificateKeyFilePassword=SEKRIT
  name: drift
applications:
  - name: shop
    git:
      url: https://bot:SEKRIT@127.0.0.1:{port}/shop.git?ref=main&X-Amz-Signature=SEKRIT
      path: shop
"
    )
}

#[test]
fn config_show_masks_secrets_in_url_queries() {
    let port = driftguard_test_support::process::free_port();
    let dir = with_config(&secrets_in_urls(port));
    let run = driftguard(&["config", "validate"], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("SEKRIT"), "{}", run.stdout);
    let run = driftguard(&["config", "show"], &[], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(!run.stdout.contains("SEKRIT"), "{}", run.stdout);
    assert!(!run.stderr.contains("SEKRIT"), "{}", run.stderr);
    for shown in [
        format!("https://127.0.0.1:{port}/r.git?private_token=***"),
        format!("https://***@127.0.0.1:{port}/shop.git?ref=main&X-Amz-Signature=***"),
        "AWS_SESSION_TOKEN:***".to_owned(),
        "SERVICE_NAME:mongodb".to_owned(),
        "tlsCertificateKeyFilePassword=***".to_owned(),
    ] {
        assert!(run.stdout.contains(&shown), "{shown} in {}", run.stdout);
    }
    // What config show prints reads back as a valid configuration.
    std::fs::write(dir.path().join("shown.yaml"), &run.stdout).unwrap();
    let again = driftguard(
        &["config", "validate", "--config", "shown.yaml"],
        &[],
        dir.path(),
    );
    assert_eq!(again.code, 0, "{}\n{}", again.stderr, run.stdout);
}

#[test]
fn a_service_whose_git_url_holds_a_token_never_shows_it() {
    // Nothing listens on the port, so every clone fails with an error that names the
    // remote: in the log, in /ready and in the application's description.
    let port = driftguard_test_support::process::free_port();
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    std::fs::write(
        live.join("cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: shop\n",
    )
    .unwrap();
    let config = dir.path().join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "\
logging:
  level: debug
database:
  type: sqlite
  path: {data}/driftguard.db
sources:
  desired: git
  live: dump
  dump: {live}
git:
  url: https://bot:SEKRIT@127.0.0.1:{port}/r.git?private_token=SEKRIT&ref=main
  cache_dir: {data}/git
detection:
  interval: 1s
  watch: false
  fingerprint_key_file: {data}/fingerprint.key
",
            data = dir.path().display(),
            live = live.display(),
        ),
    )
    .unwrap();
    let mut service = driftguard_test_support::service::ServiceProcess::start(
        Path::new(env!("CARGO_BIN_EXE_driftguard")),
        &config,
        &[],
    );
    let remote = format!("127.0.0.1:{port}/r.git?private_token=***");
    service.wait_for("/ready to name the failing remote", |s| {
        s.get("/ready").1.to_string().contains(&remote)
    });
    // A few more failed analyses.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let (status, ready) = service.get("/ready");
    assert_eq!(status, 200, "{ready}");
    assert_eq!(ready["status"], "degraded", "{ready}");
    let (_, applications) = service.get("/api/v1/applications");
    assert!(
        applications.to_string().contains(&remote),
        "the application's source names the remote: {applications}"
    );
    let log = service.log();
    assert!(log.contains(&remote), "the log names the remote: {log}");
    for (what, text) in [
        ("/ready", ready.to_string()),
        ("/api/v1/applications", applications.to_string()),
        ("the log", log),
    ] {
        assert!(!text.contains("SEKRIT"), "{what}: {text}");
    }
    service.terminate();
}

#[test]
fn retention_is_read_checked_and_shown() {
    let dir = with_config(&format!(
        "{VALID}retention:\n  events: 30d\n  resolved_records: 1w\n"
    ));
    let run = driftguard(
        &["config", "show"],
        &[("DRIFTGUARD__RETENTION__INTERVAL", "15m")],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    for shown in ["events: 30days", "resolved_records: 7days", "interval: 15m"] {
        assert!(run.stdout.contains(shown), "{shown}: {}", run.stdout);
    }

    for (section, expected) in [
        (
            "retention:\n  events: 0\n",
            "retention.events must be longer than zero",
        ),
        ("retention:\n  event: 30d\n", "event"),
        (
            "retention:\n  resolved_records: soon\n",
            "`soon` is not a duration",
        ),
    ] {
        let dir = with_config(&format!("{VALID}{section}"));
        let run = driftguard(&["config", "validate"], &[], dir.path());
        assert_eq!(run.code, 2, "{section}: {}", run.stdout);
        assert!(run.stderr.contains(expected), "{section}: {}", run.stderr);
    }
}

/// The two forms of "which clusters", and what fits with leader election.
#[test]
fn cluster_forms_and_leader_election_are_checked_naming_their_keys() {
    const TWO: &str = "sources:\n  live: kubernetes\nclusters:\n  - {name: east, kubeconfig: /k/east}\n  - {name: west, in_cluster: true}\n";
    const MONGO: &str =
        "database:\n  type: mongodb\n  uri: mongodb://127.0.0.1:1/\n  name: drift\n";
    for (text, expected) in [
        (
            format!("{TWO}cluster:\n  name: prod\napplications:\n  - {{name: a, folder: m, cluster: east}}\n"),
            "also sets cluster.name",
        ),
        (
            format!("{TWO}kubernetes:\n  context: prod\napplications:\n  - {{name: a, folder: m, cluster: east}}\n"),
            "also sets kubernetes.context",
        ),
        (
            format!("{TWO}applications:\n  - {{name: a, folder: m}}\n"),
            "`a` names no cluster",
        ),
        (
            format!("{TWO}applications:\n  - {{name: a, folder: m, cluster: north}}\n  - {{name: b, folder: m, cluster: west}}\n"),
            "names cluster `north`, which `clusters` does not list (east, west)",
        ),
        (
            format!("{TWO}applications:\n  - {{name: a, folder: m, cluster: east}}\n"),
            "clusters: `west` has no application",
        ),
        (
            format!("{}applications:\n  - {{name: a, folder: m, cluster: east}}\n", TWO.replace("live: kubernetes", "live: dump\n  dump: l")),
            "set sources.live: kubernetes",
        ),
        (
            "sources: {live: kubernetes}\nclusters:\n  - {name: east}\n  - {name: east}\napplications:\n  - {name: a, folder: m}\n".to_owned(),
            "`east` is listed twice",
        ),
        (
            "sources: {live: kubernetes}\nclusters:\n  - {name: \"a b\"}\napplications:\n  - {name: a, folder: m}\n".to_owned(),
            "clusters[0]",
        ),
        (
            format!("{TWO}{MONGO}leader_election:\n  enabled: true\n  lease_name: shared\napplications:\n  - {{name: a, folder: m, cluster: east}}\n  - {{name: b, folder: m, cluster: west}}\n"),
            "leader_election.lease_name",
        ),
        (
            "sources: {desired: folder, folder: m, live: dump, dump: l}\nleader_election:\n  enabled: true\n".to_owned(),
            "database.type: mongodb",
        ),
        (
            format!("{MONGO}detection:\n  enabled: false\nleader_election:\n  enabled: true\n"),
            "a hub analyses nothing",
        ),
        (
            "sources: {live: dump, dump: l}\ncluster:\n  name: prod\napplications:\n  - {name: a, folder: m, cluster: east}\n".to_owned(),
            "names cluster `east`, but this instance analyses only `prod`",
        ),
        (
            "kubernetes:\n  in_cluster: true\n  kubeconfig: /k\nsources: {desired: folder, folder: m, live: kubernetes}\n".to_owned(),
            "in_cluster",
        ),
    ] {
        let dir = with_config(&text);
        let run = driftguard(&["config", "validate"], &[], dir.path());
        assert_eq!(run.code, 2, "{text}\n{}", run.stderr);
        assert!(run.stderr.contains(expected), "{text}\n{}", run.stderr);
    }
    // Both forms that are fine: the list with a cluster per application, and a hub that
    // needs no source at all.
    for text in [
        format!(
            "{TWO}applications:\n  - {{name: a, folder: m, cluster: east}}\n  - {{name: b, folder: m, cluster: west}}\n"
        ),
        format!("{MONGO}detection:\n  enabled: false\n"),
    ] {
        let dir = with_config(&text);
        let run = driftguard(&["config", "validate"], &[], dir.path());
        assert_eq!(run.code, 0, "{text}\n{}", run.stderr);
    }
}
