//! The cluster's own OpenAPI v3 documents, which say how the API server treats each field
//! of each type it serves: list types and keys, quantities, int-or-string fields, and the
//! defaults of custom resources. DriftGuard compares objects with them.
//!
//! kube-apiserver (1.24 and later) publishes an index at `/openapi/v3`,
//! `{"paths": {"apis/apps/v1": {"serverRelativeURL": "/openapi/v3/apis/apps/v1?hash=…"}}}`,
//! and one document per group version. The hash changes whenever the document does, so a
//! document is downloaded again only when the index shows another hash than the one it was
//! downloaded for.
//!
//! Documents are fetched at their path, without the `?hash=` query: kube-apiserver answers a
//! hash that changed since the index was read with a redirect, which kube's client does not
//! follow, while the bare path always answers the current document. The document is then
//! kept under the hash the index gave, which is never newer than the document: at worst it
//! is downloaded once more on the next read.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use ::kube::api::GetParams;
use ::kube::core::Request;
use futures_util::{AsyncReadExt, StreamExt};
use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::kube::request::{ApiCaller, json_error};

/// Where kube-apiserver publishes the index of OpenAPI v3 documents.
const INDEX_PATH: &str = "/openapi/v3";

/// The largest index or document accepted, in bytes. kube-apiserver's largest document (core
/// `v1`) is a few MiB; a far larger answer is a broken or hostile server, and would only
/// cost memory.
const MAX_DOCUMENT_BYTES: usize = 64 * 1024 * 1024;

/// Documents downloaded at the same time.
const DOCUMENT_CONCURRENCY: usize = 4;

/// One group version's OpenAPI v3 document, as the API server publishes it.
#[derive(Debug, Clone)]
pub struct OpenApiDocument {
    /// The group version: `v1`, `apps/v1`, `stable.example.com/v1`.
    pub group_version: String,
    /// The hash the server's index gives for the document (the `hash` of its
    /// `serverRelativeURL`); `None` when the server gives none, and then the document is
    /// downloaded on every read, since nothing tells whether it changed.
    pub hash: Option<String>,
    /// The document, `{"openapi": "3.0.0", "components": {"schemas": {...}}, ...}`; each
    /// top-level kind's schema carries `x-kubernetes-group-version-kind`. Shared with the
    /// source's cache rather than copied.
    pub document: Arc<Value>,
}

/// The index at `/openapi/v3`.
#[derive(Debug, Deserialize)]
struct Index {
    paths: HashMap<String, IndexEntry>,
}

/// One group version in the index.
#[derive(Debug, Deserialize)]
struct IndexEntry {
    #[serde(rename = "serverRelativeURL")]
    server_relative_url: String,
}

/// A document kept with the hash it was downloaded for.
#[derive(Debug)]
struct Cached {
    hash: String,
    document: Arc<Value>,
}

/// The documents downloaded so far, by index path (`apis/apps/v1`).
#[derive(Debug, Default)]
pub(crate) struct OpenApiCache {
    documents: Mutex<HashMap<String, Cached>>,
}

impl OpenApiCache {
    fn documents(&self) -> MutexGuard<'_, HashMap<String, Cached>> {
        self.documents
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The documents of `group_versions` that the index lists, in the order asked (each
    /// once); from the cache when the index shows the hash they were downloaded for.
    /// Empty when the server has no `/openapi/v3`.
    pub(crate) async fn read(
        &self,
        api: &ApiCaller,
        group_versions: &[String],
    ) -> Result<Vec<OpenApiDocument>, Error> {
        let Some(index) = read_index(api).await? else {
            self.documents().clear();
            return Ok(Vec::new());
        };
        // Group versions the server stopped serving are forgotten.
        self.documents().retain(|path, _| index.contains_key(path));
        let mut asked = HashSet::new();
        let mut wanted = Vec::new();
        for group_version in group_versions {
            if !asked.insert(group_version.as_str()) {
                continue;
            }
            let Some(path) = index_path(group_version) else {
                tracing::debug!(%group_version, "not a group version; no OpenAPI document to read");
                continue;
            };
            match index.get(&path) {
                Some(hash) => wanted.push((group_version.clone(), path, hash.clone())),
                None => {
                    tracing::debug!(%group_version, "the OpenAPI v3 index does not list this group version");
                }
            }
        }
        let read: Vec<Result<Option<OpenApiDocument>, Error>> = futures_util::stream::iter(wanted)
            .map(|(group_version, path, hash)| self.document(api, group_version, path, hash))
            .buffered(DOCUMENT_CONCURRENCY)
            .collect()
            .await;
        let mut documents = Vec::with_capacity(read.len());
        for document in read {
            documents.extend(document?);
        }
        Ok(documents)
    }

    /// One group version's document: the cached one when `hash` is the hash it was
    /// downloaded for, else downloaded (and kept when the index gives a hash). `None` when
    /// the server no longer has it (removed since the index was read).
    async fn document(
        &self,
        api: &ApiCaller,
        group_version: String,
        path: String,
        hash: Option<String>,
    ) -> Result<Option<OpenApiDocument>, Error> {
        if let Some(hash) = &hash
            && let Some(cached) = self.documents().get(&path)
            && cached.hash == *hash
        {
            return Ok(Some(OpenApiDocument {
                group_version,
                hash: Some(hash.clone()),
                document: Arc::clone(&cached.document),
            }));
        }
        let what = format!("get the OpenAPI v3 document of {group_version}");
        let Some(bytes) = download(api, &format!("{INDEX_PATH}/{path}"), &what).await? else {
            tracing::debug!(%group_version, "the OpenAPI v3 document is gone since the index was read");
            self.documents().remove(&path);
            return Ok(None);
        };
        let document: Value =
            serde_json::from_slice(&bytes).map_err(|e| Error::KubeInvalidResponse {
                request: api.describe(&what),
                reason: json_error(&e),
            })?;
        if !document.is_object() {
            return Err(Error::KubeInvalidResponse {
                request: api.describe(&what),
                reason: "the answer is not a JSON object".to_owned(),
            });
        }
        let document = Arc::new(document);
        match &hash {
            Some(hash) => {
                self.documents().insert(
                    path,
                    Cached {
                        hash: hash.clone(),
                        document: Arc::clone(&document),
                    },
                );
            }
            None => {
                self.documents().remove(&path);
            }
        }
        Ok(Some(OpenApiDocument {
            group_version,
            hash,
            document,
        }))
    }
}

/// The index: each listed group version's path (`apis/apps/v1`) and hash. `None` when the
/// server has no OpenAPI v3 (it answers 404).
async fn read_index(api: &ApiCaller) -> Result<Option<HashMap<String, Option<String>>>, Error> {
    let what = "get the OpenAPI v3 index";
    let Some(bytes) = download(api, INDEX_PATH, what).await? else {
        tracing::debug!("the API server has no OpenAPI v3 index");
        return Ok(None);
    };
    let index: Index = serde_json::from_slice(&bytes).map_err(|e| Error::KubeInvalidResponse {
        request: api.describe(what),
        reason: json_error(&e),
    })?;
    Ok(Some(
        index
            .paths
            .into_iter()
            .map(|(path, entry)| (path, hash_of(&entry.server_relative_url)))
            .collect(),
    ))
}

/// The `hash` query parameter of a `serverRelativeURL`, when it has a non-empty one.
fn hash_of(url: &str) -> Option<String> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("hash="))
        .filter(|hash| !hash.is_empty())
        .map(str::to_owned)
}

/// Where the index lists a group version: `v1` is `api/v1`, `apps/v1` is `apis/apps/v1`.
/// `None` for what is not a group version.
fn index_path(group_version: &str) -> Option<String> {
    match group_version.split_once('/') {
        None if !group_version.is_empty() => Some(format!("api/{group_version}")),
        Some((group, version))
            if !group.is_empty() && !version.is_empty() && !version.contains('/') =>
        {
            Some(format!("apis/{group}/{version}"))
        }
        _ => None,
    }
}

/// GETs `path` under the request timeout (with the source's retries), reading at most
/// [`MAX_DOCUMENT_BYTES`]; `None` when the server answers 404.
async fn download(api: &ApiCaller, path: &str, what: &str) -> Result<Option<Vec<u8>>, Error> {
    // kube's builder addresses "an object in a collection": split the path that way, and
    // it joins them back unchanged.
    let (collection, name) = path.rsplit_once('/').unwrap_or(("", path));
    let collection = Request::new(collection);
    let client = api.client();
    let limit = u64::try_from(MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX);
    let fetch = || async {
        let request = collection
            .get(name, &GetParams::default())
            .map_err(::kube::Error::BuildRequest)?;
        let body = client.request_stream(request).await?;
        let mut bytes = Vec::new();
        // One byte past the limit tells a document of exactly the limit from a larger one.
        body.take(limit.saturating_add(1))
            .read_to_end(&mut bytes)
            .await
            .map_err(::kube::Error::ReadEvents)?;
        Ok(bytes)
    };
    let bytes = match api.call(what, fetch).await {
        Ok(bytes) => bytes,
        Err(Error::KubeStatus { code: 404, .. }) => return Ok(None),
        Err(error) => return Err(error),
    };
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(Error::KubeInvalidResponse {
            request: api.describe(what),
            reason: format!(
                "the answer is larger than {} MiB, the limit for OpenAPI documents",
                MAX_DOCUMENT_BYTES / (1024 * 1024)
            ),
        });
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_versions_map_to_index_paths() {
        assert_eq!(index_path("v1").as_deref(), Some("api/v1"));
        assert_eq!(index_path("apps/v1").as_deref(), Some("apis/apps/v1"));
        assert_eq!(
            index_path("stable.example.com/v1beta1").as_deref(),
            Some("apis/stable.example.com/v1beta1")
        );
        for not_one in ["", "/v1", "apps/", "apps/v1/deployments"] {
            assert_eq!(index_path(not_one), None, "{not_one:?}");
        }
    }

    #[test]
    fn the_hash_comes_from_the_server_relative_url() {
        assert_eq!(
            hash_of("/openapi/v3/apis/apps/v1?hash=014FBFF9A07C").as_deref(),
            Some("014FBFF9A07C")
        );
        assert_eq!(
            hash_of("/openapi/v3/api/v1?x=1&hash=AB&y=2").as_deref(),
            Some("AB")
        );
        assert_eq!(hash_of("/openapi/v3/api/v1"), None);
        assert_eq!(hash_of("/openapi/v3/api/v1?hash="), None);
    }
}
