//! Rendering: a checked-out tree in, manifests out, the way GitOps tools deploy it.
//!
//! A folder is read by what it holds ([`RenderMode::Auto`]): a kustomization is built
//! with Kustomize, a chart rendered with Helm, anything else read as plain manifests,
//! with kustomizations and charts inside rendered as units of their own. [`DesiredReader`]
//! does that for one application, for the folder and Git sources alike; [`Renderer`]
//! runs the tools, shared by every application.
//!
//! The repository is untrusted. So the tools run without a shell, with an empty
//! environment (a private home, no plugins, no network unless an application allows
//! remote bases), a timeout that kills their whole process group, a cap on their output,
//! and a limit on how many run at once; Kustomize keeps its load restrictor, and every
//! folder a kustomization builds on must lie inside the repository. What runs comes from
//! DriftGuard's configuration ([`RenderConfig`]), never from the repository.

mod config;
pub(crate) mod kustomization;
mod process;
mod reader;
mod units;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, PoisonError};

use async_trait::async_trait;

pub use config::{HelmOptions, KustomizeOptions, RenderConfig, RenderMode};
pub use reader::{ApplicationRender, DesiredReader};

use crate::Error;
use crate::render::kustomization::{inside, normalize};
use crate::render::process::{CommandSpec, Limits, RunFailure, run};

/// What the cluster tells Helm through `.Capabilities`: its version and the API versions it
/// serves (`apps/v1`, `monitoring.coreos.com/v1`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// The API server's version (`v1.31.2`).
    pub kube_version: Option<String>,
    /// The group versions it serves, sorted.
    pub api_versions: Vec<String>,
}

/// Where [`Capabilities`] come from: the live cluster's discovery.
#[async_trait]
pub trait CapabilitiesSource: Send + Sync {
    /// The cluster's capabilities now (sources may cache them for a while).
    async fn capabilities(&self) -> Result<Capabilities, Error>;
}

/// Environment variables handed to renderers when an application allows remote bases, so
/// that a proxy or private certificates configured for DriftGuard apply to them too.
const NETWORK_VARIABLES: &[&str] = &[
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GIT_SSL_CAINFO",
];

/// A proxy nobody listens on (the discard port on loopback): with it, a renderer's HTTP
/// fetch fails at once instead of reaching the network.
const NO_NETWORK_PROXY: &str = "http://127.0.0.1:9";

/// A counting limit on renders running at once.
#[derive(Debug)]
struct Slots {
    free: Mutex<usize>,
    released: Condvar,
}

/// One slot, given back when dropped.
struct Slot<'a>(&'a Slots);

impl Slots {
    fn new(count: usize) -> Self {
        Self {
            free: Mutex::new(count.max(1)),
            released: Condvar::new(),
        }
    }

    fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        while *free == 0 {
            free = self
                .released
                .wait(free)
                .unwrap_or_else(PoisonError::into_inner);
        }
        *free -= 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.released.notify_one();
    }
}

/// How Kustomize is run.
#[derive(Debug, Clone)]
enum KustomizeTool {
    /// `kustomize build`.
    Standalone(PathBuf),
    /// `kubectl kustomize`.
    Kubectl(PathBuf),
}

/// What one render printed.
#[derive(Debug, Clone)]
pub(crate) struct Rendered {
    /// The manifests, as YAML documents.
    pub(crate) output: Arc<[u8]>,
    /// How long the tool ran.
    pub(crate) seconds: f64,
}

/// Runs Kustomize and Helm for every application, under the limits of [`RenderConfig`].
pub struct Renderer {
    config: RenderConfig,
    slots: Slots,
    /// The tools' private home (`HOME`, caches, plugin folders), empty and removed on drop.
    home: tempfile::TempDir,
    capabilities: Option<Arc<dyn CapabilitiesSource>>,
    /// The last capabilities the source gave, used while it cannot answer.
    last_capabilities: Mutex<Option<Capabilities>>,
    /// Why the source cannot answer, while no capabilities were ever read.
    capabilities_error: Mutex<Option<String>>,
}

impl std::fmt::Debug for Renderer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Renderer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Renderer {
    /// A renderer with these settings; checks them and creates the tools' private home.
    pub fn new(config: RenderConfig) -> Result<Self, Error> {
        config.validate()?;
        let home = tempfile::Builder::new()
            .prefix("driftguard-render-")
            .tempdir()
            .map_err(|source| Error::Io {
                path: std::env::temp_dir(),
                source,
            })?;
        std::fs::create_dir_all(home.path().join("tmp")).map_err(|source| Error::Io {
            path: home.path().join("tmp"),
            source,
        })?;
        Ok(Self {
            slots: Slots::new(config.max_concurrent),
            config,
            home,
            capabilities: None,
            last_capabilities: Mutex::new(None),
            capabilities_error: Mutex::new(None),
        })
    }

    /// The same renderer, giving Helm the capabilities `source` reports.
    pub fn with_capabilities(mut self, source: Arc<dyn CapabilitiesSource>) -> Self {
        self.capabilities = Some(source);
        self
    }

    /// The settings in use.
    pub fn config(&self) -> &RenderConfig {
        &self.config
    }

    /// The cluster's capabilities: `None` without a source (Helm then uses its built-in
    /// defaults). When the source cannot answer, the last capabilities it gave; when it
    /// never answered, `None`, and charts are not rendered until it does: rendered with
    /// Helm's defaults instead, the objects a chart keeps for APIs the cluster serves would
    /// vanish from the desired state and their records be resolved.
    pub async fn capabilities(&self) -> Option<Capabilities> {
        let source = self.capabilities.as_ref()?;
        match source.capabilities().await {
            Ok(capabilities) => {
                *lock(&self.last_capabilities) = Some(capabilities.clone());
                *lock(&self.capabilities_error) = None;
                Some(capabilities)
            }
            Err(error) => {
                let last = lock(&self.last_capabilities).clone();
                match last {
                    Some(last) => {
                        tracing::warn!(%error, "cannot read the cluster's version and API versions for Helm; using the last ones read");
                        Some(last)
                    }
                    None => {
                        tracing::warn!(%error, "cannot read the cluster's version and API versions for Helm; charts are not rendered until they can be read");
                        *lock(&self.capabilities_error) = Some(error.to_string());
                        None
                    }
                }
            }
        }
    }

    /// Refuses a Helm render without capabilities while the cluster cannot tell them.
    fn check_capabilities(
        &self,
        tool: &'static str,
        folder: &Path,
        capabilities: Option<&Capabilities>,
    ) -> Result<(), Error> {
        if capabilities.is_some() {
            return Ok(());
        }
        let problem = lock(&self.capabilities_error).clone();
        match problem {
            Some(problem) => Err(Error::Render {
                tool,
                folder: folder.to_owned(),
                reason: format!(
                    "not rendered: the cluster's version and API versions (Helm's .Capabilities) cannot be read: {problem}"
                ),
                stderr: String::new(),
            }),
            None => Ok(()),
        }
    }

    fn kustomize_tool(&self) -> Result<KustomizeTool, Error> {
        if let Some(command) = &self.config.kustomize_command {
            return find_program(command)
                .map(KustomizeTool::Standalone)
                .ok_or_else(|| Error::RenderConfig {
                    reason: format!(
                        "render.kustomize_command `{}` was not found",
                        command.display()
                    ),
                });
        }
        if let Some(kustomize) = find_program(Path::new("kustomize")) {
            return Ok(KustomizeTool::Standalone(kustomize));
        }
        find_program(&self.config.kubectl_command)
            .map(KustomizeTool::Kubectl)
            .ok_or_else(|| Error::RenderConfig {
                reason: format!(
                    "Kustomize is needed, but neither `kustomize` nor `{}` was found on PATH; install one, or set render.kustomize_command",
                    self.config.kubectl_command.display()
                ),
            })
    }

    fn helm_program(&self) -> Result<PathBuf, Error> {
        find_program(&self.config.helm_command).ok_or_else(|| Error::RenderConfig {
            reason: format!(
                "Helm is needed, but `{}` was not found; install helm, or set render.helm_command",
                self.config.helm_command.display()
            ),
        })
    }

    /// Builds the kustomization in `folder`; `root` is the repository, which no folder the
    /// build loads may leave.
    pub(crate) fn kustomize(
        &self,
        folder: &Path,
        root: &Path,
        options: &KustomizeOptions,
        capabilities: Option<&Capabilities>,
    ) -> Result<Rendered, Error> {
        kustomization::check_build(folder, root, options.allow_remote_bases)?;
        let (program, mut args, tool) = match self.kustomize_tool()? {
            KustomizeTool::Standalone(program) => {
                (program, vec![OsString::from("build")], "kustomize build")
            }
            KustomizeTool::Kubectl(program) => (
                program,
                vec![OsString::from("kustomize")],
                "kubectl kustomize",
            ),
        };
        args.push(folder.as_os_str().to_owned());
        args.push("--load-restrictor=LoadRestrictionsRootOnly".into());
        if options.enable_helm {
            self.check_capabilities(tool, folder, capabilities)?;
            args.push("--enable-helm".into());
            args.push("--helm-command".into());
            args.push(self.helm_program()?.into_os_string());
            if let Some(capabilities) = capabilities {
                if let Some(version) = &capabilities.kube_version {
                    args.push(format!("--helm-kube-version={version}").into());
                }
                for api_version in &capabilities.api_versions {
                    args.push(format!("--helm-api-versions={api_version}").into());
                }
            }
        }
        self.run(
            tool,
            folder,
            root,
            program,
            args,
            options.allow_remote_bases,
        )
    }

    /// Renders the chart in `folder` as release `release` in `namespace`; `options` are the
    /// application's Helm settings, `None` for a chart found inside a plain folder.
    pub(crate) fn helm(
        &self,
        folder: &Path,
        root: &Path,
        release: &str,
        namespace: &str,
        options: Option<&HelmOptions>,
        capabilities: Option<&Capabilities>,
    ) -> Result<Rendered, Error> {
        self.check_capabilities("helm template", folder, capabilities)?;
        let program = self.helm_program()?;
        let mut args: Vec<OsString> = vec![
            "template".into(),
            release.into(),
            folder.as_os_str().to_owned(),
            "--namespace".into(),
            namespace.into(),
            "--include-crds".into(),
        ];
        if let Some(options) = options {
            for (i, values) in options.values.iter().enumerate() {
                let path = normalize(&folder.join(values));
                let refuse = |reason: String| Error::RenderRefused {
                    path: folder.join(units::CHART_FILE),
                    reason,
                };
                if !inside(&path, root) {
                    return Err(refuse(format!(
                        "values file {} (`{}`) leaves the repository",
                        i + 1,
                        values.display()
                    )));
                }
                if !path.is_file() {
                    return Err(refuse(format!(
                        "values file `{}` does not exist (values files are relative to the chart folder)",
                        values.display()
                    )));
                }
                args.push("--values".into());
                args.push(path.into_os_string());
            }
            for values in &options.local_values {
                args.push("--values".into());
                args.push(values.as_os_str().to_owned());
            }
            for (key, value) in &options.set {
                args.push("--set-json".into());
                args.push(format!("{key}={value}").into());
            }
            for expression in &options.set_expressions {
                args.push("--set".into());
                args.push(expression.into());
            }
        }
        if let Some(capabilities) = capabilities {
            if let Some(version) = &capabilities.kube_version {
                args.push("--kube-version".into());
                args.push(version.into());
            }
            for api_version in &capabilities.api_versions {
                args.push("--api-versions".into());
                args.push(api_version.into());
            }
        }
        self.run("helm template", folder, root, program, args, false)
    }

    fn run(
        &self,
        tool: &'static str,
        folder: &Path,
        root: &Path,
        program: PathBuf,
        args: Vec<OsString>,
        network: bool,
    ) -> Result<Rendered, Error> {
        let spec = CommandSpec {
            program,
            args,
            current_dir: root.to_owned(),
            env: self.environment(network),
        };
        let limits = Limits {
            timeout: self.config.timeout,
            max_output_bytes: self.config.max_output_bytes,
        };
        let failed = |reason: String, stderr: String| Error::Render {
            tool,
            folder: folder.to_owned(),
            reason,
            stderr,
        };
        let _slot = self.slots.take();
        tracing::debug!(tool, folder = %folder.display(), "rendering");
        match run(&spec, &limits) {
            Ok(finished) => {
                let warnings = finished.stderr.trim();
                if !warnings.is_empty() {
                    tracing::warn!(tool, folder = %folder.display(), warnings, "the renderer printed warnings");
                }
                Ok(Rendered {
                    output: finished.stdout.into(),
                    seconds: finished.duration.as_secs_f64(),
                })
            }
            Err(RunFailure::Spawn(error)) => Err(failed(
                format!("cannot start {}: {error}", spec.program.display()),
                String::new(),
            )),
            Err(failure) => {
                let stderr = failure.stderr().unwrap_or_default().to_owned();
                Err(failed(driftguard_core::error_chain(&failure), stderr))
            }
        }
    }

    /// The renderers' whole environment: `PATH` (to find the tools they call, such as
    /// `helm` from Kustomize), a private home, no plugins, and no network unless allowed.
    fn environment(&self, network: bool) -> Vec<(OsString, OsString)> {
        let home = self.home.path();
        let at = |name: &str| home.join(name).into_os_string();
        let mut env: Vec<(OsString, OsString)> = vec![
            ("HOME".into(), home.as_os_str().to_owned()),
            ("TMPDIR".into(), at("tmp")),
            ("XDG_CONFIG_HOME".into(), at("config")),
            ("XDG_CACHE_HOME".into(), at("cache")),
            ("XDG_DATA_HOME".into(), at("data")),
            ("HELM_CONFIG_HOME".into(), at("helm/config")),
            ("HELM_CACHE_HOME".into(), at("helm/cache")),
            ("HELM_DATA_HOME".into(), at("helm/data")),
            ("HELM_PLUGINS".into(), at("helm/plugins")),
            ("KUSTOMIZE_PLUGIN_HOME".into(), at("kustomize/plugins")),
            ("LANG".into(), "C.UTF-8".into()),
        ];
        if let Some(path) = std::env::var_os("PATH") {
            env.push(("PATH".into(), path));
        }
        if network {
            for name in NETWORK_VARIABLES {
                if let Some(value) = std::env::var_os(name) {
                    env.push(((*name).into(), value));
                }
            }
        } else {
            for name in ["HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"] {
                env.push((name.into(), NO_NETWORK_PROXY.into()));
            }
            // Git, which Kustomize runs for remote bases, may then use local files only.
            env.push(("GIT_ALLOW_PROTOCOL".into(), "file".into()));
        }
        env
    }
}

/// `mutex`, also after a panic elsewhere (what it guards stays usable).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The program `command` names, as an absolute path (renderers run in another folder):
/// itself when it holds a `/`, else the first match on `PATH`. `None` when there is no
/// such executable file.
fn find_program(command: &Path) -> Option<PathBuf> {
    find_on_path(command).and_then(|found| std::path::absolute(found).ok())
}

/// `command` itself when it names a path, else its first match on `PATH`.
fn find_on_path(command: &Path) -> Option<PathBuf> {
    let executable = |path: &Path| {
        use std::os::unix::fs::PermissionsExt as _;
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if command.components().count() > 1 || command.is_absolute() {
        return executable(command).then(|| command.to_owned());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(command))
        .find(|candidate| executable(candidate))
}
