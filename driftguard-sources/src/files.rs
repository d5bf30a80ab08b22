//! Sources over local files: a folder of manifests as desired state, and
//! `kubectl get … -o yaml|json` dumps as live state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{
    DesiredSnapshot, DesiredSource, LiveSnapshot, LiveSource, PortError, PortErrorKind, Resource,
    ResourceId,
};

use crate::Error;
use crate::dump_coverage::dump_coverage;
use crate::manifest::{ManifestLimits, ManifestReader, manifest_files};
use crate::render::kustomization::normalize;
use crate::render::{ApplicationRender, Capabilities, DesiredReader, RenderConfig, Renderer};

fn read_tree(reader: &ManifestReader, root: &Path) -> Result<Vec<Resource>, Error> {
    let files: Vec<(PathBuf, PathBuf)> = manifest_files(root)?
        .into_iter()
        .map(|file| (file.clone(), file))
        .collect();
    reader.read_files(&files)
}

/// Desired state from a folder: manifests as written, or rendered when the folder holds
/// a kustomization or a chart (see [`crate::render`]).
#[derive(Debug, Clone)]
pub struct FolderDesiredSource {
    root: PathBuf,
    reader: Arc<DesiredReader>,
}

impl FolderDesiredSource {
    /// A source over `root` (a folder or a single file), read by what it holds, with the
    /// default render settings.
    pub fn new(root: impl Into<PathBuf>, key: FingerprintKey) -> Result<Self, Error> {
        let renderer = Arc::new(Renderer::new(RenderConfig::default())?);
        Ok(Self::with_reader(
            root,
            DesiredReader::new(renderer, ApplicationRender::default(), key),
        ))
    }

    /// A source over `root` read by `reader` (an application's render settings).
    pub fn with_reader(root: impl Into<PathBuf>, reader: DesiredReader) -> Self {
        Self {
            root: root.into(),
            reader: Arc::new(reader),
        }
    }

    /// The folder (or file) read.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Reads the folder now, blocking; renders without cluster capabilities.
    pub fn read(&self) -> Result<DesiredSnapshot, Error> {
        self.read_with(None)
    }

    fn read_with(&self, capabilities: Option<&Capabilities>) -> Result<DesiredSnapshot, Error> {
        // Renderers get absolute paths; files are still named as given, relative to the
        // working directory when they lie under it.
        let folder = std::path::absolute(&self.root)
            .map(|path| normalize(&path))
            .map_err(|source| Error::Io {
                path: self.root.clone(),
                source,
            })?;
        let boundary = repository_root(&folder);
        let shown_from = std::env::current_dir().ok();
        let (resources, render) = self.reader.read(
            &boundary,
            &folder,
            shown_from.as_deref(),
            None,
            capabilities,
        )?;
        Ok(DesiredSnapshot {
            resources,
            revision: None,
            render,
        })
    }
}

/// What renderers reading `folder` may not leave: the top of the Git working copy that
/// holds it, or the whole file system for a folder outside any (the folder is the user's
/// own, not a fetched repository).
fn repository_root(folder: &Path) -> PathBuf {
    folder
        .ancestors()
        .find(|dir| dir.join(".git").exists())
        .map_or_else(|| PathBuf::from("/"), Path::to_owned)
}

#[async_trait]
impl DesiredSource for FolderDesiredSource {
    async fn snapshot(&self) -> Result<DesiredSnapshot, PortError> {
        let capabilities = self.reader.renderer().capabilities().await;
        let source = self.clone();
        tokio::task::spawn_blocking(move || {
            source
                .read_with(capabilities.as_ref())
                .map_err(PortError::from)
        })
        .await
        .map_err(|join_error| {
            PortError::new(
                PortErrorKind::Other,
                format!(
                    "{}: reading the folder failed unexpectedly: {join_error}",
                    self.root.display()
                ),
            )
        })?
    }
}

/// Live state from `kubectl get … -o yaml|json` output saved in a folder or one file.
#[derive(Debug, Clone)]
pub struct DumpLiveSource {
    root: PathBuf,
    reader: ManifestReader,
    declared_types: Vec<String>,
}

impl DumpLiveSource {
    /// A source over `root` (a folder of dumps or a single dump file).
    pub fn new(root: impl Into<PathBuf>, key: FingerprintKey) -> Self {
        Self {
            root: root.into(),
            reader: ManifestReader::new(key, ManifestLimits::LIVE_DUMP),
            declared_types: Vec::new(),
        }
    }

    /// Declares the resource types the dump holds in full (`sources.dump_types`): a
    /// desired object of such a type that the dump lacks is missing. Without it, only the
    /// kinds the dump holds objects of are covered, and objects of other kinds are not
    /// observed.
    pub fn with_declared_types(mut self, types: Vec<String>) -> Self {
        self.declared_types = types;
        self
    }

    /// Reads the dumps now.
    pub fn read(&self) -> Result<LiveSnapshot, Error> {
        let resources = read_tree(&self.reader, &self.root)?;
        warn_about_differing_copies(&resources);
        let coverage = dump_coverage(&resources, &self.declared_types)?;
        Ok(LiveSnapshot {
            coverage: Some(coverage),
            ..LiveSnapshot::complete(resources)
        })
    }
}

/// Dumps concatenated from several `kubectl get` runs may hold one object twice; the later
/// copy is the one compared. Two copies that differ mean the dumps were taken at different
/// times, which the user should know.
fn warn_about_differing_copies(resources: &[Resource]) {
    let mut seen: HashMap<&ResourceId, &Resource> = HashMap::with_capacity(resources.len());
    for resource in resources {
        if let Some(earlier) = seen.insert(&resource.id, resource)
            && earlier.object != resource.object
        {
            tracing::warn!(
                resource = %resource.id,
                first = %earlier.origin.as_ref().map(ToString::to_string).unwrap_or_default(),
                second = %resource.origin.as_ref().map(ToString::to_string).unwrap_or_default(),
                "the live dumps hold two different copies of one object; the second is compared"
            );
        }
    }
}

#[async_trait]
impl LiveSource for DumpLiveSource {
    async fn snapshot(&self) -> Result<LiveSnapshot, PortError> {
        Ok(self.read()?)
    }
}
