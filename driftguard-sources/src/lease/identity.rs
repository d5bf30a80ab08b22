//! Who this instance is in a lease, and in which namespace the lease lives, when
//! configuration does not say.

use std::path::Path;

/// Where a pod's service account names its namespace.
pub const SERVICE_ACCOUNT_NAMESPACE_FILE: &str =
    "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The facts of the process's surroundings that default the namespace and identity. Kept
/// apart from the process so the order can be checked without touching it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodEnvironment {
    /// `POD_NAMESPACE` (set by the Deployment through the downward API).
    pub pod_namespace: Option<String>,
    /// `POD_NAME` (likewise).
    pub pod_name: Option<String>,
    /// The content of [`SERVICE_ACCOUNT_NAMESPACE_FILE`], when the process runs in a pod.
    pub service_account_namespace: Option<String>,
    /// The host name.
    pub hostname: Option<String>,
    /// The process id.
    pub pid: u32,
}

/// `Some(trimmed)` when the text holds more than white space.
fn non_empty(text: Option<String>) -> Option<String> {
    text.map(|t| t.trim().to_owned()).filter(|t| !t.is_empty())
}

impl PodEnvironment {
    /// The surroundings of this process.
    pub fn from_process() -> Self {
        Self {
            pod_namespace: non_empty(std::env::var("POD_NAMESPACE").ok()),
            pod_name: non_empty(std::env::var("POD_NAME").ok()),
            service_account_namespace: non_empty(
                std::fs::read_to_string(Path::new(SERVICE_ACCOUNT_NAMESPACE_FILE)).ok(),
            ),
            hostname: non_empty(Some(
                rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .into_owned(),
            )),
            pid: std::process::id(),
        }
    }

    /// The lease's namespace: `configured`, else `POD_NAMESPACE`, else the service
    /// account's namespace, else `client_namespace` (the kubeconfig context's namespace,
    /// which kube sets to `default` when the context names none).
    pub fn namespace(&self, configured: Option<&str>, client_namespace: &str) -> String {
        configured
            .map(str::to_owned)
            .or_else(|| self.pod_namespace.clone())
            .or_else(|| self.service_account_namespace.clone())
            .or_else(|| non_empty(Some(client_namespace.to_owned())))
            .unwrap_or_else(|| "default".to_owned())
    }

    /// This instance's `holderIdentity`: `configured`, else `POD_NAME` or the host name
    /// followed by `-<pid>`.
    pub fn identity(&self, configured: Option<&str>) -> String {
        if let Some(identity) = configured {
            return identity.to_owned();
        }
        let base = self
            .pod_name
            .as_deref()
            .or(self.hostname.as_deref())
            .unwrap_or("driftguard");
        format!("{base}-{}", self.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn everything() -> PodEnvironment {
        PodEnvironment {
            pod_namespace: Some("from-env".to_owned()),
            pod_name: Some("driftguard-7d9f-abcde".to_owned()),
            service_account_namespace: Some("from-sa".to_owned()),
            hostname: Some("node-1".to_owned()),
            pid: 42,
        }
    }

    #[test]
    fn the_namespace_follows_the_documented_order() {
        let mut env = everything();
        assert_eq!(env.namespace(Some("given"), "ctx"), "given");
        assert_eq!(env.namespace(None, "ctx"), "from-env");
        env.pod_namespace = None;
        assert_eq!(env.namespace(None, "ctx"), "from-sa");
        env.service_account_namespace = None;
        assert_eq!(env.namespace(None, "ctx"), "ctx");
        assert_eq!(env.namespace(None, ""), "default");
    }

    #[test]
    fn the_identity_adds_the_pid_to_the_pod_or_host_name() {
        let mut env = everything();
        assert_eq!(env.identity(Some("me")), "me");
        assert_eq!(env.identity(None), "driftguard-7d9f-abcde-42");
        env.pod_name = None;
        assert_eq!(env.identity(None), "node-1-42");
        env.hostname = None;
        assert_eq!(env.identity(None), "driftguard-42");
    }

    #[test]
    fn this_process_has_a_host_name_and_two_processes_differ() {
        let env = PodEnvironment::from_process();
        assert!(env.hostname.is_some());
        let other = PodEnvironment {
            pid: env.pid + 1,
            ..env.clone()
        };
        assert_ne!(env.identity(None), other.identity(None));
    }
}
