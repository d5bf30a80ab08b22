//! The sources' error type. Messages name the file (and line where there is one) and
//! never quote file content, so a Secret value cannot leak through an error.

use std::path::PathBuf;

use driftguard_core::{PortError, PortErrorKind};

/// Everything that can go wrong while reading desired or live state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The path does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The path.
        path: PathBuf,
    },
    /// Reading failed.
    #[error("{}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the configured limit.
    #[error("{}: the file is {size} bytes, larger than the {limit}-byte limit for manifest files", path.display())]
    TooLarge {
        /// The path.
        path: PathBuf,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The file is not UTF-8 text.
    #[error("{}: not a text file (binary or not UTF-8)", path.display())]
    NotText {
        /// The path.
        path: PathBuf,
    },
    /// A named pipe, socket or device where manifests are read: reading it could block or
    /// never end, so it is refused rather than skipped.
    #[error(
        "{}: not a regular file or a folder ({kind}); manifests are read only from regular files and folders, so remove it or move it elsewhere",
        path.display()
    )]
    NotRegularFile {
        /// The path.
        path: PathBuf,
        /// What it is: `a named pipe`, `a socket`, `a device`.
        kind: &'static str,
    },
    /// The file is not valid YAML or JSON.
    #[error("{}:{line}:{column}: invalid {format}: {message}", path.display())]
    Syntax {
        /// The path.
        path: PathBuf,
        /// `YAML` or `JSON`.
        format: &'static str,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What the parser reported.
        message: String,
    },
    /// A document parses but is not a usable Kubernetes object.
    #[error("{}:{line}: {reason}", path.display())]
    InvalidObject {
        /// The path.
        path: PathBuf,
        /// 1-based line where the document starts.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The Git source's configuration is unusable (bad URL, branch, sub-path or auth).
    #[error("git configuration: {reason}")]
    GitConfig {
        /// What is wrong.
        reason: String,
    },
    /// Credentials for a Git remote could not be read, or the remote refused them.
    /// Never holds the token, password or passphrase itself.
    #[error("git remote {url}: {reason}")]
    GitAuth {
        /// The remote URL, without user information.
        url: String,
        /// What failed.
        reason: String,
    },
    /// A clone or fetch did not finish within its configured time.
    #[error(
        "git remote {url}: {operation} timed out after {}s (no answer from the remote in time; raise git.{operation}_timeout if the remote is just slow)",
        timeout.as_secs_f64()
    )]
    GitTimeout {
        /// The remote URL, without user information.
        url: String,
        /// `clone` or `pull`.
        operation: &'static str,
        /// The limit that was reached.
        timeout: std::time::Duration,
    },
    /// The Git remote could not be reached, or broke off the transfer.
    #[error("git remote {url}: {operation} failed: {message}")]
    GitRemote {
        /// The remote URL, without user information.
        url: String,
        /// `clone` or `pull`.
        operation: &'static str,
        /// What the transport reported, with credentials removed.
        message: String,
    },
    /// The configured branch does not exist on the remote.
    #[error(
        "git remote {url}: branch `{branch}` does not exist on the remote (deleted or renamed?)"
    )]
    GitBranchNotFound {
        /// The remote URL, without user information.
        url: String,
        /// The branch.
        branch: String,
    },
    /// The branch was rewritten: its new tip does not descend from the last analysed commit.
    #[error(
        "git remote {url}: branch `{branch}` was force-pushed: the new tip {current} does not descend from the last analysed commit {previous}; set `git.allow_force_push: true` to follow rewritten history"
    )]
    GitForcePush {
        /// The remote URL, without user information.
        url: String,
        /// The branch.
        branch: String,
        /// The last commit analysed.
        previous: String,
        /// The branch's new tip.
        current: String,
    },
    /// The configured sub-path does not exist in the commit.
    #[error("git remote {url}: path `{}` does not exist in commit {revision}", path.display())]
    GitPathNotFound {
        /// The remote URL, without user information.
        url: String,
        /// The sub-path inside the repository.
        path: PathBuf,
        /// The commit read.
        revision: String,
    },
    /// The local clone cache cannot be used (cannot be created, locked, or repaired).
    #[error("git cache {}: {message}", path.display())]
    GitCache {
        /// The cache folder.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The repository content could not be read (objects missing even after a fresh clone).
    #[error("git remote {url}: {message}")]
    GitRepository {
        /// The remote URL, without user information.
        url: String,
        /// What failed.
        message: String,
    },
    /// Another application's read of the same repository and branch failed just now; the
    /// reads share one fetch, so they share its failure.
    #[error("{message}")]
    GitShared {
        /// The kind of the original failure.
        kind: PortErrorKind,
        /// The original failure's message.
        message: String,
    },
    /// The sources or applications of the configuration are unusable.
    #[error("{reason}")]
    ApplicationConfig {
        /// What is wrong, naming the key.
        reason: String,
    },
    /// The render settings are unusable.
    #[error("{reason}")]
    RenderConfig {
        /// What is wrong, naming the key.
        reason: String,
    },
    /// A folder asks a renderer for something DriftGuard refuses: a remote base that the
    /// application does not allow, a path that leaves the repository, a missing chart or
    /// kustomization.
    #[error("{}: {reason}", path.display())]
    RenderRefused {
        /// The file or folder that asks for it.
        path: PathBuf,
        /// What is refused, and how to allow it when it can be allowed.
        reason: String,
    },
    /// A renderer could not start, failed, ran out of time or printed too much.
    #[error("{tool} failed on {}: {reason}{}", folder.display(), stderr_lines(stderr))]
    Render {
        /// `kustomize build`, `kubectl kustomize` or `helm template`.
        tool: &'static str,
        /// The folder rendered.
        folder: PathBuf,
        /// What happened (`exited with status 1`, `did not finish within 90 s`).
        reason: String,
        /// What the renderer printed on stderr.
        stderr: String,
    },
    /// A resource type declared for a live dump names no kind DriftGuard knows.
    #[error(
        "resource type `{resource_type}` declared for the live dump (--resource-type with --live-dir, or sources.dump_types) {reason}"
    )]
    DumpType {
        /// The type as written.
        resource_type: String,
        /// Why it cannot be resolved, and what to write instead.
        reason: String,
    },
    /// A setting of the Kubernetes source is invalid.
    #[error("kubernetes.{setting}: {reason}")]
    KubeSetting {
        /// The setting, as named under `kubernetes.` in the configuration file.
        setting: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// No usable cluster configuration: no kubeconfig, a broken one, an unknown context,
    /// or no in-cluster service account. Never holds a token or password.
    #[error("kubernetes configuration: {reason}")]
    KubeConfig {
        /// What is wrong, naming the file or context.
        reason: String,
    },
    /// The Kubernetes API server could not be reached or broke the connection.
    #[error("{request}: the Kubernetes API server is unreachable: {reason}")]
    KubeUnreachable {
        /// The request, e.g. `list apps/v1 deployments in namespace shop`.
        request: String,
        /// What the connection reported.
        reason: String,
    },
    /// The Kubernetes API server did not answer within the request timeout.
    #[error(
        "{request}: the Kubernetes API server did not answer within {}s (raise kubernetes.request_timeout if it is just slow)",
        timeout.as_secs_f64()
    )]
    KubeTimeout {
        /// The request.
        request: String,
        /// The limit that was reached.
        timeout: std::time::Duration,
    },
    /// The Kubernetes API server refused or failed a request.
    #[error("{request}: the Kubernetes API server answered {code} {reason}: {message}")]
    KubeStatus {
        /// The request.
        request: String,
        /// The HTTP status code.
        code: u16,
        /// The machine-readable reason, e.g. `ServiceUnavailable`.
        reason: String,
        /// The server's message.
        message: String,
    },
    /// An answer of the Kubernetes API server is not what the API promises.
    #[error("{request}: unusable answer from the Kubernetes API server: {reason}")]
    KubeInvalidResponse {
        /// The request.
        request: String,
        /// What is wrong with the answer (never its content).
        reason: String,
    },
}

impl Error {
    /// The port error kind this maps to.
    pub fn kind(&self) -> PortErrorKind {
        match self {
            Self::NotFound { .. } => PortErrorKind::NotFound,
            Self::Io { .. } => PortErrorKind::Unavailable,
            Self::TooLarge { .. }
            | Self::NotText { .. }
            | Self::NotRegularFile { .. }
            | Self::Syntax { .. }
            | Self::InvalidObject { .. } => PortErrorKind::InvalidData,
            Self::GitTimeout { .. } | Self::GitRemote { .. } | Self::GitCache { .. } => {
                PortErrorKind::Unavailable
            }
            Self::GitBranchNotFound { .. } | Self::GitPathNotFound { .. } => {
                PortErrorKind::NotFound
            }
            Self::GitForcePush { .. } => PortErrorKind::Conflict,
            Self::GitRepository { .. } => PortErrorKind::InvalidData,
            Self::GitConfig { .. } | Self::GitAuth { .. } => PortErrorKind::Other,
            Self::GitShared { kind, .. } => *kind,
            Self::ApplicationConfig { .. } => PortErrorKind::Other,
            Self::RenderConfig { .. } | Self::RenderRefused { .. } => PortErrorKind::InvalidData,
            Self::Render { .. } => PortErrorKind::Unavailable,
            Self::KubeUnreachable { .. } | Self::KubeTimeout { .. } => PortErrorKind::Unavailable,
            Self::KubeStatus { code, .. } => match code {
                404 => PortErrorKind::NotFound,
                409 => PortErrorKind::Conflict,
                410 | 429 | 500..=599 => PortErrorKind::Unavailable,
                _ => PortErrorKind::Other,
            },
            Self::KubeInvalidResponse { .. } => PortErrorKind::InvalidData,
            Self::KubeSetting { .. } | Self::KubeConfig { .. } | Self::DumpType { .. } => {
                PortErrorKind::Other
            }
        }
    }
}

/// How many lines of a renderer's stderr an error shows: the first ones hold the cause.
const STDERR_LINES_SHOWN: usize = 5;
/// The longest stderr line an error shows.
const STDERR_LINE_CHARS: usize = 400;

/// A stderr line without the log header kubectl puts in front of its errors
/// (`E1206 08:22:48.876548   26898 run.go:72] "command failed" err="…"`): the message.
fn tidy(line: &str) -> String {
    let mut text = line;
    let klog = text.len() > 22
        && text.starts_with(['E', 'W', 'I', 'F'])
        && text[1..5].bytes().all(|b| b.is_ascii_digit());
    if klog && let Some((_, rest)) = text.split_once("] ") {
        text = rest;
    }
    if let Some(rest) = text.strip_prefix("\"command failed\" err=\"") {
        return rest.strip_suffix('"').unwrap_or(rest).replace("\\\"", "\"");
    }
    text.to_owned()
}

/// Whether a stderr line is a warning (Kustomize's `# Warning: 'bases' is deprecated`,
/// Helm's `walk.go:… warning:`, a klog `W…` line) rather than the cause of a failure.
fn is_warning(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    lower.starts_with("# warning")
        || lower.starts_with("warning")
        || lower.contains(" warning: ")
        || (line.starts_with('W') && line[1..].starts_with(|c: char| c.is_ascii_digit()))
}

/// The first lines of a renderer's stderr, on one line: `: line | line`. Warnings come
/// after the other lines, so that the cause of a failure is shown even when a renderer
/// prints many deprecation notices before it.
fn stderr_lines(stderr: &str) -> String {
    let mut ordered: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    ordered.sort_by_key(|line| is_warning(line));
    let lines: Vec<String> = ordered
        .into_iter()
        .take(STDERR_LINES_SHOWN)
        .map(|line| {
            let clean: String = tidy(line)
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            if clean.chars().count() > STDERR_LINE_CHARS {
                let mut cut: String = clean.chars().take(STDERR_LINE_CHARS).collect();
                cut.push('…');
                cut
            } else {
                clean
            }
        })
        .collect();
    if lines.is_empty() {
        String::new()
    } else {
        format!(": {}", lines.join(" | "))
    }
}

impl From<Error> for PortError {
    fn from(error: Error) -> Self {
        PortError::from_error(error.kind(), error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_log_headers_are_left_out_of_render_errors() {
        let stderr = "E1206 08:22:48.876548   26898 run.go:72] \"command failed\" err=\"accumulating resources: 'a.yaml' \\\"missing\\\"\"\n";
        assert_eq!(
            stderr_lines(stderr),
            ": accumulating resources: 'a.yaml' \"missing\""
        );
        assert_eq!(
            stderr_lines("Error: no matches for Id Deployment.v1.apps/web\n\n"),
            ": Error: no matches for Id Deployment.v1.apps/web"
        );
        let noisy = "# Warning: 'bases' is deprecated. Please use 'resources' instead.\n\
                     # Warning: 'commonLabels' is deprecated.\n\
                     # Warning: 'vars' is deprecated.\n\
                     # Warning: 'imageTags' is deprecated.\n\
                     # Warning: 'patchesJson6902' is deprecated.\n\
                     Error: accumulating resources: missing.yaml\n";
        assert!(
            stderr_lines(noisy)
                .starts_with(": Error: accumulating resources: missing.yaml | # Warning"),
            "{}",
            stderr_lines(noisy)
        );
    }
}
