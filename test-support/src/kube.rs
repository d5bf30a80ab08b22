//! Kubernetes API servers for tests, on 127.0.0.1:
//!
//! - [`KmockServer`]: kmock 0.8 (PyPI), a Kubernetes API emulator that stores objects and
//!   answers lists, gets, watches, creates, patches and deletes, behind the wrapper in
//!   `servers/kmock_server.py` that makes it answer like kube-apiserver (resource
//!   versions, error reasons, list shape);
//! - [`ScriptedApiServer`]: an HTTP server that answers each request with what the test's
//!   script says, for what kmock cannot do: paged lists, `410 Gone`, `403`, `500`, silence;
//! - [`write_kubeconfig`]: a kubeconfig file pointing at either.

mod kmock;
mod scripted;

use std::path::{Path, PathBuf};

pub use kmock::KmockServer;
pub use scripted::{ApiRequest, Reply, ScriptedApiServer};

/// The bearer token written into test kubeconfigs. Tests search logs and errors for it to
/// check that credentials never leak.
pub const TEST_TOKEN: &str = "driftguard-test-token-0f1e2d3c";

/// Writes `<dir>/<file>`, a kubeconfig with one context per `(context, server URL)` pair,
/// the first one current, all using the user `tester` with [`TEST_TOKEN`]. Returns its
/// path.
pub fn write_kubeconfig(dir: &Path, file: &str, contexts: &[(&str, &str)]) -> PathBuf {
    let mut clusters = String::new();
    let mut context_entries = String::new();
    for (name, server) in contexts {
        clusters.push_str(&format!(
            "- name: {name}\n  cluster:\n    server: {server}\n"
        ));
        context_entries.push_str(&format!(
            "- name: {name}\n  context:\n    cluster: {name}\n    user: tester\n"
        ));
    }
    let current = contexts.first().map(|(name, _)| *name).unwrap_or("none");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: {current}\nclusters:\n{clusters}\
         contexts:\n{context_entries}users:\n- name: tester\n  user:\n    token: {TEST_TOKEN}\n"
    );
    let path = dir.join(file);
    std::fs::write(&path, text)
        .unwrap_or_else(|e| panic!("cannot write kubeconfig {}: {e}", path.display()));
    path
}
