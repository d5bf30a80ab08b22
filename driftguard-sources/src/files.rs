//! Sources over local files: a folder of manifests as desired state, and
//! `kubectl get … -o yaml|json` dumps as live state.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{
    DesiredSnapshot, DesiredSource, LiveSnapshot, LiveSource, PortError, Resource, ResourceId,
};

use crate::Error;
use crate::manifest::{ManifestLimits, ManifestReader, manifest_files};

fn read_tree(reader: &ManifestReader, root: &Path) -> Result<Vec<Resource>, Error> {
    let mut resources = Vec::new();
    for file in manifest_files(root)? {
        resources.extend(reader.read_file(&file)?);
    }
    Ok(resources)
}

/// Desired state from a folder of manifests (`*.yaml`, `*.yml`, `*.json`, recursively).
#[derive(Debug, Clone)]
pub struct FolderDesiredSource {
    root: PathBuf,
    reader: ManifestReader,
}

impl FolderDesiredSource {
    /// A source over `root` (a folder or a single file).
    pub fn new(root: impl Into<PathBuf>, key: FingerprintKey) -> Self {
        Self {
            root: root.into(),
            reader: ManifestReader::new(key, ManifestLimits::DESIRED),
        }
    }

    /// Reads the folder now.
    pub fn read(&self) -> Result<DesiredSnapshot, Error> {
        Ok(DesiredSnapshot {
            resources: read_tree(&self.reader, &self.root)?,
            revision: None,
        })
    }
}

#[async_trait]
impl DesiredSource for FolderDesiredSource {
    async fn snapshot(&self) -> Result<DesiredSnapshot, PortError> {
        Ok(self.read()?)
    }
}

/// Live state from `kubectl get … -o yaml|json` output saved in a folder or one file.
#[derive(Debug, Clone)]
pub struct DumpLiveSource {
    root: PathBuf,
    reader: ManifestReader,
}

impl DumpLiveSource {
    /// A source over `root` (a folder of dumps or a single dump file).
    pub fn new(root: impl Into<PathBuf>, key: FingerprintKey) -> Self {
        Self {
            root: root.into(),
            reader: ManifestReader::new(key, ManifestLimits::LIVE_DUMP),
        }
    }

    /// Reads the dumps now.
    pub fn read(&self) -> Result<LiveSnapshot, Error> {
        let resources = read_tree(&self.reader, &self.root)?;
        warn_about_differing_copies(&resources);
        Ok(LiveSnapshot::complete(resources))
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
