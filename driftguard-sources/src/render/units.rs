//! What a folder holds, as units to read or render: plain manifest files, kustomizations
//! and Helm charts.
//!
//! In `auto` mode a folder with a kustomization is one Kustomize unit and a folder with
//! a `Chart.yaml` one Helm unit. Any other folder is read as plain manifests, recursively,
//! except that a sub-folder holding a kustomization or a chart is a unit of its own whose
//! files are never read raw (as Flux treats them), and a kustomization that another
//! kustomization in the tree builds on (a base, a component) is not rendered on its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::Error;
use crate::manifest::{ManifestReader, manifest_files};
use crate::render::config::RenderMode;
use crate::render::kustomization::{self, kustomization_file, normalize};
use crate::special_file::{self, special_kind};

/// The file that makes a folder a Helm chart.
pub(crate) const CHART_FILE: &str = "Chart.yaml";

/// One thing to read or render.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Unit {
    /// Manifest files read as written.
    Plain(Vec<PathBuf>),
    /// A folder built by Kustomize.
    Kustomize(PathBuf),
    /// A chart folder rendered by Helm; `primary` is the application's own chart (its
    /// Helm settings apply), as opposed to a chart found inside a plain folder.
    Helm {
        /// The chart folder.
        folder: PathBuf,
        /// Whether the application's Helm settings apply to it.
        primary: bool,
    },
}

/// Whether `folder` is a Helm chart.
pub(crate) fn is_chart(folder: &Path) -> bool {
    folder.join(CHART_FILE).is_file()
}

/// The units of `folder` (a folder or a single file) in `mode`; `root` bounds the
/// repository (kustomizations are read only inside it).
pub(crate) fn units(folder: &Path, root: &Path, mode: RenderMode) -> Result<Vec<Unit>, Error> {
    let metadata = std::fs::metadata(folder).map_err(|source| {
        if source.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound {
                path: folder.to_owned(),
            }
        } else {
            Error::Io {
                path: folder.to_owned(),
                source,
            }
        }
    })?;
    if !metadata.is_dir() {
        return match mode {
            RenderMode::Auto | RenderMode::Plain => Ok(vec![Unit::Plain(manifest_files(folder)?)]),
            RenderMode::Kustomize | RenderMode::Helm => Err(Error::RenderRefused {
                path: folder.to_owned(),
                reason: format!("is a file; render: {} needs a folder", mode.as_str()),
            }),
        };
    }
    match mode {
        RenderMode::Plain => Ok(vec![Unit::Plain(manifest_files(folder)?)]),
        RenderMode::Kustomize => {
            if kustomization_file(folder).is_none() {
                return Err(Error::RenderRefused {
                    path: folder.to_owned(),
                    reason: "holds no kustomization.yaml, kustomization.yml or Kustomization, but render is kustomize".to_owned(),
                });
            }
            Ok(vec![Unit::Kustomize(folder.to_owned())])
        }
        RenderMode::Helm => {
            if !is_chart(folder) {
                return Err(Error::RenderRefused {
                    path: folder.to_owned(),
                    reason: "holds no Chart.yaml, but render is helm".to_owned(),
                });
            }
            Ok(vec![Unit::Helm {
                folder: folder.to_owned(),
                primary: true,
            }])
        }
        RenderMode::Auto => {
            if kustomization_file(folder).is_some() {
                Ok(vec![Unit::Kustomize(folder.to_owned())])
            } else if is_chart(folder) {
                Ok(vec![Unit::Helm {
                    folder: folder.to_owned(),
                    primary: true,
                }])
            } else {
                mixed(folder, root)
            }
        }
    }
}

/// A plain folder that may hold kustomizations and charts below it.
fn mixed(folder: &Path, root: &Path) -> Result<Vec<Unit>, Error> {
    let mut files = Vec::new();
    let mut kustomizations = Vec::new();
    let mut charts = Vec::new();
    // Depth-first in name order, without recursion: a hostile repository may nest
    // folders arbitrarily deep.
    let mut pending = vec![folder.to_owned()];
    while let Some(current) = pending.pop() {
        if current != folder {
            if kustomization_file(&current).is_some() {
                kustomizations.push(current);
                continue;
            }
            if is_chart(&current) {
                charts.push(current);
                continue;
            }
        }
        let mut folders = Vec::new();
        for entry in sorted_entries(&current)? {
            let path = entry.path();
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') {
                continue;
            }
            let file_type = entry.file_type().map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
            if file_type.is_symlink() {
                tracing::warn!(path = %path.display(), "skipped a symbolic link; links are not followed");
            } else if let Some(kind) = special_kind(&file_type) {
                return Err(special_file::refuse(&path, kind));
            } else if file_type.is_dir() {
                folders.push(path);
            } else if ManifestReader::is_manifest_file(&path) {
                files.push(path);
            }
        }
        pending.extend(folders.into_iter().rev());
    }
    let referenced = referenced_folders(&kustomizations, root)?;
    let mut units = Vec::new();
    if !files.is_empty() {
        files.sort();
        units.push(Unit::Plain(files));
    }
    for folder in kustomizations {
        if referenced.contains(&normalize(&folder)) {
            continue;
        }
        if kustomization::read(&folder, root)?.is_component {
            continue;
        }
        units.push(Unit::Kustomize(folder));
    }
    units.extend(charts.into_iter().map(|folder| Unit::Helm {
        folder,
        primary: false,
    }));
    Ok(units)
}

/// Every folder that a build of one of `kustomizations` loads besides itself, however
/// deep (an overlay whose `apps/` kustomization builds on a base elsewhere in the tree).
fn referenced_folders(kustomizations: &[PathBuf], root: &Path) -> Result<BTreeSet<PathBuf>, Error> {
    let mut referenced = BTreeSet::new();
    for folder in kustomizations {
        let own = normalize(folder);
        referenced.extend(
            kustomization::loaded_folders(folder, root)?
                .into_iter()
                .filter(|loaded| *loaded != own),
        );
    }
    Ok(referenced)
}

fn sorted_entries(folder: &Path) -> Result<Vec<std::fs::DirEntry>, Error> {
    let io = |source| Error::Io {
        path: folder.to_owned(),
        source,
    };
    let mut entries = std::fs::read_dir(folder)
        .map_err(io)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(io)?;
    entries.sort_by_key(std::fs::DirEntry::file_name);
    Ok(entries)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn write(root: &Path, path: &str, text: &str) {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// The GitOps layout of Kustomize's own examples: a base, two overlays, a component.
    fn repository() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "namespace.yaml", "kind: Namespace\n");
        write(
            root,
            "base/kustomization.yaml",
            "resources: [deploy.yaml]\n",
        );
        write(root, "base/deploy.yaml", "kind: Deployment\n");
        write(
            root,
            "components/tls/kustomization.yaml",
            "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n",
        );
        write(
            root,
            "overlays/prod/kustomization.yaml",
            "resources: [../../base]\ncomponents: [../../components/tls]\npatches: [{path: patch.yaml}]\n",
        );
        write(root, "overlays/prod/patch.yaml", "kind: Deployment\n");
        write(
            root,
            "overlays/staging/kustomization.yml",
            "resources: [../../base]\n",
        );
        write(root, "charts/web/Chart.yaml", "name: web\nversion: 1.0.0\n");
        write(
            root,
            "charts/web/templates/deploy.yaml",
            "kind: {{ .Values.kind }}\n",
        );
        write(root, ".github/workflows/ci.yaml", "on: push\n");
        dir
    }

    #[test]
    fn a_repository_root_renders_the_overlays_not_the_base_nor_the_patches() {
        let dir = repository();
        let root = dir.path();
        let units = units(root, root, RenderMode::Auto).unwrap();
        assert_eq!(
            units,
            vec![
                Unit::Plain(vec![root.join("namespace.yaml")]),
                Unit::Kustomize(root.join("overlays/prod")),
                Unit::Kustomize(root.join("overlays/staging")),
                Unit::Helm {
                    folder: root.join("charts/web"),
                    primary: false
                },
            ]
        );
    }

    #[test]
    fn a_base_reached_through_a_nested_kustomization_is_not_rendered_alone() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            "base/app/kustomization.yaml",
            "resources: [cm.yaml]\n",
        );
        write(
            root,
            "clusters/prod/kustomization.yaml",
            "namespace: prod\nresources: [apps]\n",
        );
        write(
            root,
            "clusters/prod/apps/kustomization.yaml",
            "namePrefix: prod-\nresources: [../../../base/app]\n",
        );
        assert_eq!(
            units(root, root, RenderMode::Auto).unwrap(),
            vec![Unit::Kustomize(root.join("clusters/prod"))]
        );
    }

    #[test]
    fn a_folder_with_a_kustomization_or_a_chart_is_one_unit() {
        let dir = repository();
        let root = dir.path();
        assert_eq!(
            units(&root.join("overlays/prod"), root, RenderMode::Auto).unwrap(),
            vec![Unit::Kustomize(root.join("overlays/prod"))]
        );
        assert_eq!(
            units(&root.join("charts/web"), root, RenderMode::Auto).unwrap(),
            vec![Unit::Helm {
                folder: root.join("charts/web"),
                primary: true
            }]
        );
    }

    #[test]
    fn plain_mode_reads_every_manifest_file_as_written() {
        let dir = repository();
        let root = dir.path();
        let Unit::Plain(files) = &units(root, root, RenderMode::Plain).unwrap()[0] else {
            panic!("not plain");
        };
        assert!(files.contains(&root.join("overlays/prod/patch.yaml")));
        assert!(files.contains(&root.join("base/kustomization.yaml")));
    }

    #[test]
    fn a_forced_renderer_needs_its_file() {
        let dir = repository();
        let root = dir.path();
        let error = units(&root.join("base"), root, RenderMode::Helm).unwrap_err();
        assert!(error.to_string().contains("no Chart.yaml"), "{error}");
        let error = units(&root.join("charts/web"), root, RenderMode::Kustomize).unwrap_err();
        assert!(
            error.to_string().contains("no kustomization.yaml"),
            "{error}"
        );
    }
}
