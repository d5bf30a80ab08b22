//! What Helm's `.Capabilities` should see: the API server's version and every group
//! version it serves, read from discovery and kept for a few minutes.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::Error;
use crate::kube::request::ApiCaller;
use crate::render::Capabilities;

/// How long capabilities are reused before discovery is asked again: API groups change
/// when CRDs or aggregated APIs are installed, which is rare.
const CAPABILITIES_TTL: Duration = Duration::from_secs(300);

/// Capabilities read from the API server, with the time they were read.
#[derive(Debug, Default)]
pub(crate) struct CapabilitiesCache {
    read: Mutex<Option<(Instant, Capabilities)>>,
}

impl CapabilitiesCache {
    /// The capabilities, from the cache while fresh, else from the API server.
    pub(crate) async fn get(&self, api: &ApiCaller) -> Result<Capabilities, Error> {
        if let Some((at, capabilities)) = self
            .read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
            && at.elapsed() < CAPABILITIES_TTL
        {
            return Ok(capabilities.clone());
        }
        let capabilities = discover(api).await?;
        *self
            .read
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some((Instant::now(), capabilities.clone()));
        Ok(capabilities)
    }
}

/// Reads `/version` (optional: some servers do not answer it), `/api` and `/apis`.
async fn discover(api: &ApiCaller) -> Result<Capabilities, Error> {
    let client = api.client();
    let kube_version = match api
        .call("get /version", || client.apiserver_version())
        .await
    {
        Ok(info) => Some(info.git_version),
        Err(error) => {
            tracing::debug!(%error, "the API server does not tell its version");
            None
        }
    };
    let core = api
        .call("discover /api", || client.list_core_api_versions())
        .await?;
    let groups = api
        .call("discover /apis", || client.list_api_groups())
        .await?;
    let mut api_versions: Vec<String> = core
        .versions
        .into_iter()
        .chain(
            groups
                .groups
                .into_iter()
                .flat_map(|group| group.versions.into_iter().map(|v| v.group_version)),
        )
        .collect();
    api_versions.sort();
    api_versions.dedup();
    Ok(Capabilities {
        kube_version,
        api_versions,
    })
}
