//! What Helm's `.Capabilities` should see: the API server's version and every group
//! version it serves, with each of its kinds (`apps/v1` and `apps/v1/Deployment`, as
//! `helm install` sees them in the cluster and Argo CD passes them), read from discovery
//! and kept for a few minutes.

use std::sync::Mutex;

use futures_util::StreamExt;
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

/// How many group versions are asked for their resources at once.
const DISCOVERY_CONCURRENCY: usize = 8;

/// Reads `/version` (optional: some servers do not answer it), `/api`, `/apis`, and the
/// resources of every group version. A group version whose resources cannot be listed
/// (an aggregated API that is down) still counts, without its kinds.
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
    let group_versions: Vec<String> = core
        .versions
        .into_iter()
        .chain(
            groups
                .groups
                .into_iter()
                .flat_map(|group| group.versions.into_iter().map(|v| v.group_version)),
        )
        .collect();
    let kinds: Vec<Vec<String>> = futures_util::stream::iter(group_versions.clone())
        .map(|group_version: String| async move {
            let what = format!("discover {group_version}");
            let listed = if group_version.contains('/') {
                api.call(&what, || client.list_api_group_resources(&group_version))
                    .await
            } else {
                api.call(&what, || client.list_core_api_resources(&group_version))
                    .await
            };
            match listed {
                Ok(list) => list
                    .resources
                    .into_iter()
                    .filter(|resource| !resource.name.contains('/'))
                    .map(|resource| format!("{group_version}/{}", resource.kind))
                    .collect(),
                Err(error) => {
                    tracing::debug!(%error, %group_version, "cannot list the resources of a group version");
                    Vec::new()
                }
            }
        })
        .buffer_unordered(DISCOVERY_CONCURRENCY)
        .collect()
        .await;
    let mut api_versions: Vec<String> = group_versions
        .into_iter()
        .chain(kinds.into_iter().flatten())
        .collect();
    api_versions.sort();
    api_versions.dedup();
    Ok(Capabilities {
        kube_version,
        api_versions,
    })
}
