//! [`DesiredReader`]: one application's folder in, its resources out: plain files read,
//! kustomizations and charts rendered, and rendered output cached by revision.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use driftguard_core::secret::FingerprintKey;
use driftguard_core::{RenderSummary, Resource};

use super::config::{HelmOptions, KustomizeOptions, RenderMode};
use super::kustomization::normalize;
use super::units::{Unit, units};
use super::{Capabilities, Rendered, Renderer};
use crate::Error;
use crate::manifest::{ManifestLimits, ManifestReader};

/// How one application's folder is rendered.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplicationRender {
    /// `auto`, `plain`, `kustomize` or `helm`.
    pub mode: RenderMode,
    /// What its kustomizations may do.
    pub kustomize: KustomizeOptions,
    /// How its chart is rendered.
    pub helm: HelmOptions,
    /// The destination namespace: Helm's release namespace (`default` when unset).
    pub namespace: Option<String>,
}

/// Rendered output kept for the revision last read.
#[derive(Debug, Default)]
struct RenderCache {
    revision: Option<String>,
    capabilities: Option<Capabilities>,
    /// Output by unit folder.
    units: HashMap<PathBuf, Rendered>,
}

/// Reads one application's desired state from a folder, rendering what needs rendering.
///
/// Rendered output is kept for the revision last read: reading the same revision again,
/// with the same cluster capabilities, runs no renderer. A folder outside Git has no
/// revision and is rendered at every read.
#[derive(Debug)]
pub struct DesiredReader {
    renderer: Arc<Renderer>,
    settings: ApplicationRender,
    manifests: ManifestReader,
    cache: Mutex<RenderCache>,
}

impl DesiredReader {
    /// A reader with these settings, running tools through `renderer` and fingerprinting
    /// Secret values with `key`.
    pub fn new(renderer: Arc<Renderer>, settings: ApplicationRender, key: FingerprintKey) -> Self {
        Self {
            renderer,
            settings,
            manifests: ManifestReader::new(key, ManifestLimits::DESIRED),
            cache: Mutex::new(RenderCache::default()),
        }
    }

    /// The renderer the reader runs tools with.
    pub fn renderer(&self) -> &Arc<Renderer> {
        &self.renderer
    }

    /// The application's render settings.
    pub fn settings(&self) -> &ApplicationRender {
        &self.settings
    }

    /// Reads `folder` (a folder or a single file inside `root`, the repository, which
    /// renderers may not leave). Paths are named relative to `shown_from` when given (the
    /// repository root of a checkout), as they are otherwise.
    ///
    /// `revision` keys the render cache; `capabilities` are the cluster's, for Helm.
    /// Returns the resources and, when anything was rendered, what the renders did.
    pub fn read(
        &self,
        root: &Path,
        folder: &Path,
        shown_from: Option<&Path>,
        revision: Option<&str>,
        capabilities: Option<&Capabilities>,
    ) -> Result<(Vec<Resource>, Option<RenderSummary>), Error> {
        // Renderers run in `root`: every path they get is absolute, and without `..`.
        let absolute = |path: &Path| -> Result<PathBuf, Error> {
            std::path::absolute(path)
                .map(|p| normalize(&p))
                .map_err(|source| Error::Io {
                    path: path.to_owned(),
                    source,
                })
        };
        let root = absolute(root)?;
        let folder = absolute(folder)?;
        let shown_from = shown_from.map(absolute).transpose()?;
        let shown_from = shown_from.as_deref();
        let shown = |path: &Path| -> PathBuf {
            match shown_from.and_then(|base| path.strip_prefix(base).ok()) {
                Some(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
                Some(relative) => relative.to_owned(),
                None => path.to_owned(),
            }
        };
        let result = self.read_units(&root, &folder, &shown, revision, capabilities);
        result.map_err(|error| reroot(error, shown_from))
    }

    fn read_units(
        &self,
        root: &Path,
        folder: &Path,
        shown: &dyn Fn(&Path) -> PathBuf,
        revision: Option<&str>,
        capabilities: Option<&Capabilities>,
    ) -> Result<(Vec<Resource>, Option<RenderSummary>), Error> {
        let cached = self.cached_units(revision, capabilities);
        let units = units(folder, root, self.settings.mode)?;
        // Render what the cache does not hold, several at once (the renderer's slots
        // bound how many), then read everything in the units' order.
        let missing: Vec<&Unit> = units
            .iter()
            .filter(|unit| unit_folder(unit).is_some_and(|f| !cached.contains_key(f)))
            .collect();
        let mut fresh = self.render_all(&missing, root, capabilities);
        let mut resources = Vec::new();
        let mut summary: Option<RenderSummary> = None;
        for unit in &units {
            let Some(unit_folder) = unit_folder(unit) else {
                if let Unit::Plain(files) = unit {
                    let files: Vec<(PathBuf, PathBuf)> = files
                        .iter()
                        .map(|file| (file.clone(), shown(file)))
                        .collect();
                    resources.extend(self.manifests.read_files(&files)?);
                }
                continue;
            };
            let summary = summary.get_or_insert_with(RenderSummary::default);
            let rendered = match cached.get(unit_folder) {
                Some(rendered) => {
                    summary.cached += 1;
                    rendered.clone()
                }
                None => {
                    let rendered = fresh
                        .remove(unit_folder)
                        .unwrap_or_else(|| Err(missing_render(unit_folder)))?;
                    summary.rendered += 1;
                    if revision.is_some() {
                        self.cache
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .units
                            .insert(unit_folder.to_owned(), rendered.clone());
                    }
                    rendered
                }
            };
            summary.seconds += rendered.seconds;
            let tool = match unit {
                Unit::Helm { .. } => "Helm",
                _ => "Kustomize",
            };
            let name = PathBuf::from(format!(
                "{} (rendered by {tool})",
                shown(unit_folder).display()
            ));
            resources.extend(self.manifests.read_bytes(&name, &rendered.output)?);
        }
        Ok((resources, summary))
    }

    /// The cached output usable for `revision` and `capabilities`; the cache is emptied
    /// when either changed, and never used without a revision.
    fn cached_units(
        &self,
        revision: Option<&str>,
        capabilities: Option<&Capabilities>,
    ) -> HashMap<PathBuf, Rendered> {
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if revision.is_none()
            || cache.revision.as_deref() != revision
            || cache.capabilities.as_ref() != capabilities
        {
            *cache = RenderCache {
                revision: revision.map(str::to_owned),
                capabilities: capabilities.cloned(),
                units: HashMap::new(),
            };
        }
        cache.units.clone()
    }

    /// Renders `units` on up to `render.max_concurrent` threads; results by unit folder.
    fn render_all(
        &self,
        units: &[&Unit],
        root: &Path,
        capabilities: Option<&Capabilities>,
    ) -> HashMap<PathBuf, Result<Rendered, Error>> {
        let workers = self.renderer.config().max_concurrent.min(units.len());
        if workers <= 1 {
            return units
                .iter()
                .filter_map(|unit| {
                    let folder = unit_folder(unit)?;
                    Some((folder.to_owned(), self.render(unit, root, capabilities)))
                })
                .collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let results = Mutex::new(HashMap::new());
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| {
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(unit) = units.get(index) else {
                            break;
                        };
                        let Some(folder) = unit_folder(unit) else {
                            continue;
                        };
                        let result = self.render(unit, root, capabilities);
                        results
                            .lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .insert(folder.to_owned(), result);
                    }
                });
            }
        });
        results.into_inner().unwrap_or_else(PoisonError::into_inner)
    }

    fn render(
        &self,
        unit: &Unit,
        root: &Path,
        capabilities: Option<&Capabilities>,
    ) -> Result<Rendered, Error> {
        match unit {
            Unit::Plain(_) => Ok(Rendered {
                output: Arc::from(Vec::new()),
                seconds: 0.0,
            }),
            Unit::Kustomize(folder) => {
                self.renderer
                    .kustomize(folder, root, &self.settings.kustomize, capabilities)
            }
            Unit::Helm { folder, primary } => {
                let options = primary.then_some(&self.settings.helm);
                let release = options
                    .and_then(|o| o.release.clone())
                    .unwrap_or_else(|| default_release(folder, root));
                let namespace = self.settings.namespace.as_deref().unwrap_or("default");
                self.renderer
                    .helm(folder, root, &release, namespace, options, capabilities)
            }
        }
    }
}

/// The folder a rendered unit renders; `None` for plain files.
fn unit_folder(unit: &Unit) -> Option<&Path> {
    match unit {
        Unit::Plain(_) => None,
        Unit::Kustomize(folder) | Unit::Helm { folder, .. } => Some(folder),
    }
}

/// A render result that should exist and does not (a unit rendered twice in one read).
fn missing_render(folder: &Path) -> Error {
    Error::RenderRefused {
        path: folder.to_owned(),
        reason: "appears twice among the folders to render".to_owned(),
    }
}

/// The release of a chart when none is configured: the chart folder's name, or, for a
/// chart at the repository root (whose folder is a checkout named after a commit), the
/// chart's own name from `Chart.yaml`.
fn default_release(folder: &Path, root: &Path) -> String {
    if folder != root {
        return release_name(&folder.file_name().unwrap_or_default().to_string_lossy());
    }
    let name = std::fs::read_to_string(folder.join(super::units::CHART_FILE))
        .ok()
        .and_then(|text| serde_saphyr::from_str::<serde_json::Value>(&text).ok())
        .and_then(|chart| chart.get("name")?.as_str().map(str::to_owned))
        .unwrap_or_default();
    release_name(&name)
}

/// `name` made acceptable to Helm as a release name: lowercase letters, digits, `-` and
/// `.`, at most 53 characters.
fn release_name(name: &str) -> String {
    let name: String = name
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(53)
        .collect();
    let trimmed = name.trim_matches(|c: char| c == '-' || c == '.');
    if trimmed.is_empty() {
        "release".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// `error` with the paths it names made relative to `base`, for errors about a checkout.
fn reroot(error: Error, base: Option<&Path>) -> Error {
    let Some(base) = base else {
        return error;
    };
    let strip = |path: PathBuf| match path.strip_prefix(base) {
        Ok(relative) if relative.as_os_str().is_empty() => PathBuf::from("."),
        Ok(relative) => relative.to_owned(),
        Err(_) => path,
    };
    match error {
        Error::NotFound { path } => Error::NotFound { path: strip(path) },
        Error::Io { path, source } => Error::Io {
            path: strip(path),
            source,
        },
        Error::TooLarge { path, size, limit } => Error::TooLarge {
            path: strip(path),
            size,
            limit,
        },
        Error::NotText { path } => Error::NotText { path: strip(path) },
        Error::InvalidObject { path, line, reason } => Error::InvalidObject {
            path: strip(path),
            line,
            reason,
        },
        Error::Syntax {
            path,
            format,
            line,
            column,
            message,
        } => Error::Syntax {
            path: strip(path),
            format,
            line,
            column,
            message,
        },
        Error::RenderRefused { path, reason } => Error::RenderRefused {
            path: strip(path),
            reason,
        },
        Error::Render {
            tool,
            folder,
            reason,
            stderr,
        } => Error::Render {
            tool,
            folder: strip(folder),
            reason,
            stderr: stderr.replace(&format!("{}/", base.display()), ""),
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_come_from_folder_names_or_the_chart_at_the_root() {
        let root = Path::new("/repo");
        assert_eq!(
            default_release(Path::new("/repo/charts/billing"), root),
            "billing"
        );
        assert_eq!(
            default_release(Path::new("/repo/My_Chart"), root),
            "my-chart"
        );
        assert_eq!(release_name(""), "release");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(
            dir.path().join("Chart.yaml"),
            "apiVersion: v2\nname: Billing\nversion: 1.0.0\n",
        )
        .expect("write");
        assert_eq!(default_release(dir.path(), dir.path()), "billing");
    }
}
