//! The Kubernetes live source: discovery, paged lists, single gets, and the watch cache
//! behind DriftGuard's [`LiveSource`] port.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use driftguard_core::k8s::schema::ClusterSchema;
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{
    LiveChangeStream, LiveSnapshot, LiveSource, PortError, Resource, ResourceId,
};
use futures_util::StreamExt;
use serde_json::Value;

use crate::Error;
use crate::kube::capabilities::CapabilitiesCache;
use crate::kube::config::KubeSourceConfig;
use crate::kube::connection::{ClusterConfigOrigin, ConfigEnvironment, load_config};
use crate::kube::convert::to_resource;
use crate::kube::discovery::{Discovered, ResolvedType, discover};
use crate::kube::listing::{ListContext, Listed, list_target};
use crate::kube::namespaces::NamespaceScope;
use crate::kube::openapi::{OpenApiCache, OpenApiDocument};
use crate::kube::request::{ApiCaller, classify, json_error};
use crate::kube::resource_type::ResourceTypeSpec;
use crate::kube::schema::ClusterSchemaCache;
use crate::kube::warnings::{TypeWarning, TypeWarningReason, log_new};
use crate::kube::watch::{Watch, WatchShared};
use crate::render::{Capabilities, CapabilitiesSource};

/// Lists sent at the same time during one snapshot.
const LIST_CONCURRENCY: usize = 4;

/// Verbs every read type needs, and the ones watch mode adds.
const LIST_VERBS: &[&str] = &["list"];
const WATCH_VERBS: &[&str] = &["list", "watch"];

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Live state from a Kubernetes API server.
///
/// Without watch mode every [`snapshot`](LiveSource::snapshot) discovers the configured
/// types and lists them, page by page. After [`start_watch`](Self::start_watch), watchers
/// keep a copy of the objects in memory: snapshots and single-object lookups answer from
/// it once the first lists are in, and [`changes`](LiveSource::changes) announces every
/// create, change and delete.
///
/// A type the server does not serve or RBAC forbids is left out with a
/// [`TypeWarning`] (see [`warnings`](Self::warnings)); an API server that is down, slow or
/// failing makes the snapshot an error, never an empty or partial one. Secret values are
/// fingerprinted with the source's key before an object leaves the adapter.
pub struct KubeLiveSource {
    api: ApiCaller,
    config: KubeSourceConfig,
    specs: Vec<ResourceTypeSpec>,
    scope: NamespaceScope,
    key: FingerprintKey,
    origin: ClusterConfigOrigin,
    warnings: Mutex<Vec<TypeWarning>>,
    resolved: Mutex<Option<Vec<ResolvedType>>>,
    watch: Mutex<Option<Watch>>,
    capabilities: CapabilitiesCache,
    openapi: OpenApiCache,
    schema: ClusterSchemaCache,
}

impl std::fmt::Debug for KubeLiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeLiveSource")
            .field("origin", &self.origin)
            .field("config", &self.config)
            .field("watching", &self.is_watching())
            .finish_non_exhaustive()
    }
}

impl KubeLiveSource {
    /// A source for the cluster the configuration points at: `config.kubeconfig`, else
    /// `KUBECONFIG`, else `~/.kube/config`, else the pod's service account; in a kubeconfig,
    /// `config.context` or its current context.
    ///
    /// Reads the configuration and builds the client; it sends no request, so it succeeds
    /// while the API server is down (the first snapshot reports that).
    pub async fn connect(config: KubeSourceConfig, key: FingerprintKey) -> Result<Self, Error> {
        Self::connect_in(config, key, &ConfigEnvironment::from_process()).await
    }

    /// [`connect`](Self::connect) with the environment given instead of read from the
    /// process.
    pub async fn connect_in(
        config: KubeSourceConfig,
        key: FingerprintKey,
        environment: &ConfigEnvironment,
    ) -> Result<Self, Error> {
        let specs = config.validate()?;
        let origin = if config.in_cluster {
            ClusterConfigOrigin::InCluster
        } else {
            environment.resolve(config.kubeconfig.as_deref())?
        };
        let mut client_config = load_config(&origin, config.context.as_deref()).await?;
        client_config.connect_timeout = Some(config.request_timeout);
        // Retries of 429/503 happen in the source, bounded by the request timeout, so a
        // struggling server shows as its own answer rather than as a timeout.
        client_config.default_retry = false;
        // Shown in messages only: without any credentials the URL may carry.
        let server = driftguard_core::redact::redact_url(
            client_config.cluster_url.to_string().trim_end_matches('/'),
        );
        let client = ::kube::Client::try_from(client_config)
            .map_err(|e| classify(e, format!("connect to {server}")))?;
        Ok(Self::build(
            client,
            config,
            specs,
            key,
            origin,
            Some(server),
        ))
    }

    /// A source over a client built by the caller (a custom transport, a test server).
    /// `config.kubeconfig` and `config.context` are not used.
    pub fn from_client(
        client: ::kube::Client,
        config: KubeSourceConfig,
        key: FingerprintKey,
    ) -> Result<Self, Error> {
        let specs = config.validate()?;
        Ok(Self::build(
            client,
            config,
            specs,
            key,
            ClusterConfigOrigin::Client,
            None,
        ))
    }

    fn build(
        client: ::kube::Client,
        config: KubeSourceConfig,
        specs: Vec<ResourceTypeSpec>,
        key: FingerprintKey,
        origin: ClusterConfigOrigin,
        server: Option<String>,
    ) -> Self {
        Self {
            api: ApiCaller::new(client, config.request_timeout, server),
            scope: NamespaceScope::from_config(&config),
            config,
            specs,
            key,
            origin,
            warnings: Mutex::new(Vec::new()),
            resolved: Mutex::new(None),
            watch: Mutex::new(None),
            capabilities: CapabilitiesCache::default(),
            openapi: OpenApiCache::default(),
            schema: ClusterSchemaCache::default(),
        }
    }

    /// The settings the source was built with.
    pub fn config(&self) -> &KubeSourceConfig {
        &self.config
    }

    /// Where the cluster configuration came from, for logs and `check` output.
    pub fn origin(&self) -> &ClusterConfigOrigin {
        &self.origin
    }

    /// The types left out of the most recent discovery and lists, and why.
    pub fn warnings(&self) -> Vec<TypeWarning> {
        lock(&self.warnings).clone()
    }

    fn record(&self, warnings: Vec<TypeWarning>) {
        let mut current = lock(&self.warnings);
        log_new(&current, &warnings);
        *current = warnings;
    }

    /// Asks the API server which of the configured types it serves, and how.
    /// Types it does not serve, or will not show, are left out and listed in
    /// [`warnings`](Self::warnings).
    pub async fn resolve_types(&self) -> Result<Vec<ResolvedType>, Error> {
        let Discovered { types, warnings } = discover(&self.api, &self.specs, LIST_VERBS).await?;
        self.record(warnings);
        *lock(&self.resolved) = Some(types.clone());
        Ok(types)
    }

    /// Reads every configured object from the API server now, ignoring the watch cache.
    pub async fn read(&self) -> Result<LiveSnapshot, Error> {
        let Discovered {
            types,
            mut warnings,
        } = discover(&self.api, &self.specs, LIST_VERBS).await?;
        let context = ListContext {
            api: &self.api,
            scope: &self.scope,
            key: &self.key,
            page_size: self.config.page_size,
        };
        let jobs: Vec<_> = types
            .iter()
            .flat_map(|ty| {
                self.scope
                    .targets(ty.namespaced)
                    .into_iter()
                    .map(move |target| (ty.clone(), target))
            })
            .collect();
        let context = &context;
        let results: Vec<(String, Option<String>, Result<Listed, Error>)> =
            futures_util::stream::iter(jobs)
                .map(|(ty, target)| async move {
                    let listed = list_target(context, &ty, &target).await;
                    (ty.kind.clone(), target.namespace.clone(), listed)
                })
                .buffered(LIST_CONCURRENCY)
                .collect()
                .await;
        let mut resources = Vec::new();
        let mut unread_kinds = Vec::new();
        let mut refused_kinds = Vec::new();
        let mut gaps = Vec::new();
        for (kind, namespace, result) in results {
            match result? {
                Listed::Objects(objects) => resources.extend(objects),
                Listed::LeftOut(warning) => {
                    let refused = warning.reason == TypeWarningReason::Forbidden;
                    warnings.push(warning);
                    match namespace {
                        Some(namespace) => gaps.push((kind, namespace)),
                        None if refused => refused_kinds.push(kind),
                        None => unread_kinds.push(kind),
                    }
                }
            }
        }
        resources.sort_by(|a, b| a.id.cmp(&b.id));
        let mut coverage = self.scope.coverage(
            types
                .iter()
                .map(|t| t.kind.clone())
                .filter(|kind| !unread_kinds.contains(kind)),
        );
        for kind in refused_kinds {
            coverage.add_refused_kind(kind);
        }
        for (kind, namespace) in gaps {
            coverage.add_gap(kind, namespace);
        }
        for ty in &types {
            coverage.set_scope(ty.kind.clone(), !ty.namespaced);
        }
        self.record(warnings);
        let schema = self.cluster_schema(&types).await;
        *lock(&self.resolved) = Some(types);
        Ok(LiveSnapshot {
            resources,
            coverage: Some(coverage),
            schema,
        })
    }

    /// The cluster's schema of the group-versions of `types`, read again only where the
    /// index shows a changed document. When the documents cannot be read, the schema read
    /// last (or none) is used and a warning logged: objects are then compared by the CRDs
    /// in the desired and live state and the bundled schema, as `check` does on dumps.
    async fn cluster_schema(&self, types: &[ResolvedType]) -> Option<Arc<ClusterSchema>> {
        let mut group_versions: Vec<String> = types.iter().map(|t| t.api_version.clone()).collect();
        group_versions.sort();
        group_versions.dedup();
        match self.openapi_v3(&group_versions).await {
            Ok(documents) if documents.is_empty() => None,
            Ok(documents) => Some(self.schema.update(&documents)),
            Err(error) => {
                tracing::warn!(
                    %error,
                    "cannot read the cluster's OpenAPI schema; comparing by the last one read, CRDs and the bundled schema"
                );
                self.schema.last()
            }
        }
    }

    /// Reads one object from the API server now; `None` when it does not exist, lies in a
    /// namespace the source does not read, or is of a type the source does not read.
    pub async fn get(&self, id: &ResourceId) -> Result<Option<Resource>, Error> {
        if !self.scope.admits(id.namespace()) {
            return Ok(None);
        }
        let cached = lock(&self.resolved).clone();
        let types = match cached {
            Some(types) => types,
            None => self.resolve_types().await?,
        };
        let Some(ty) = types.iter().find(|t| t.kind == id.kind()) else {
            return Ok(None);
        };
        let namespace = match (ty.namespaced, id.namespace()) {
            (true, Some(namespace)) => Some(namespace),
            (false, None) => None,
            _ => return Ok(None),
        };
        let what = match namespace {
            Some(ns) => format!("get {} {ns}/{}", ty.describe(), id.name()),
            None => format!("get {} {}", ty.describe(), id.name()),
        };
        let request = self.api.describe(&what);
        let Some(text) = self
            .api
            .get_object(&ty.url_path(namespace), id.name(), &what)
            .await?
        else {
            return Ok(None);
        };
        let object: Value =
            serde_json::from_str(&text).map_err(|e| Error::KubeInvalidResponse {
                request: request.clone(),
                reason: json_error(&e),
            })?;
        to_resource(object, ty, &self.key, &request).map(Some)
    }

    /// Starts watch mode: discovers the types (those that cannot be watched are left out
    /// with a warning) and starts one watcher per type and namespace. Returns once they
    /// are started; [`wait_until_synced`](Self::wait_until_synced) waits for their first
    /// lists. Calling it again does nothing. Must run inside a tokio runtime; the watchers
    /// stop when the source is dropped.
    ///
    /// Call it before handing the source to the service, which asks for
    /// [`changes`](LiveSource::changes) once when it starts.
    pub async fn start_watch(&self) -> Result<(), Error> {
        if self.is_watching() {
            return Ok(());
        }
        let Discovered { types, warnings } = discover(&self.api, &self.specs, WATCH_VERBS).await?;
        self.record(warnings);
        *lock(&self.resolved) = Some(types.clone());
        let mut watch = lock(&self.watch);
        if watch.is_none() {
            *watch = Some(Watch::start(
                &self.api,
                types,
                self.scope.clone(),
                self.key.clone(),
                self.config.page_size,
            ));
        }
        Ok(())
    }

    /// The cluster's OpenAPI v3 documents of `group_versions` (`v1`, `apps/v1`,
    /// `stable.example.com/v1`): how the API server treats each field of each type (list
    /// types and keys, quantities, int-or-string, the defaults of custom resources), so
    /// that objects can be compared as the server sees them.
    ///
    /// Reads the index `/openapi/v3` once, then the listed documents, a few at a time, in
    /// the order asked. A document already read is reused while the index shows the same
    /// hash for it, and downloaded again when the hash changes (a CRD's schema changed).
    /// Group versions the index does not list are left out; a server without OpenAPI v3
    /// (it answers 404, as before Kubernetes 1.24) gives an empty list. A server that is
    /// down, slow or failing, or an answer larger than 64 MiB, is an error.
    pub async fn openapi_v3(
        &self,
        group_versions: &[String],
    ) -> Result<Vec<OpenApiDocument>, Error> {
        self.openapi.read(&self.api, group_versions).await
    }

    /// Whether watch mode runs.
    pub fn is_watching(&self) -> bool {
        lock(&self.watch).is_some()
    }

    /// Whether every watcher has completed its first list (false without watch mode).
    pub fn is_synced(&self) -> bool {
        self.shared().is_some_and(|shared| shared.is_synced())
    }

    /// Waits until every watcher has completed its first list; returns at once without
    /// watch mode.
    pub async fn wait_until_synced(&self) {
        if let Some(shared) = self.shared() {
            shared.wait_synced().await;
        }
    }

    fn shared(&self) -> Option<Arc<WatchShared>> {
        lock(&self.watch).as_ref().map(Watch::shared)
    }
}

/// The cluster's version and API versions, for Helm's `.Capabilities`; read from
/// discovery and kept for five minutes.
#[async_trait]
impl CapabilitiesSource for KubeLiveSource {
    async fn capabilities(&self) -> Result<Capabilities, Error> {
        self.capabilities.get(&self.api).await
    }
}

#[async_trait]
impl LiveSource for KubeLiveSource {
    async fn snapshot(&self) -> Result<LiveSnapshot, PortError> {
        if let Some(resources) = self.shared().and_then(|shared| shared.snapshot()) {
            let mut resources = resources;
            resources.sort_by(|a, b| a.id.cmp(&b.id));
            // Every watcher has listed its type in full: the watched types are covered.
            let types = lock(&self.resolved).clone().unwrap_or_default();
            let mut coverage = self.scope.coverage(types.iter().map(|t| t.kind.clone()));
            for ty in &types {
                coverage.set_scope(ty.kind.clone(), !ty.namespaced);
            }
            let schema = self.cluster_schema(&types).await;
            return Ok(LiveSnapshot {
                resources,
                coverage: Some(coverage),
                schema,
            });
        }
        Ok(self.read().await?)
    }

    async fn object(&self, id: &ResourceId) -> Result<Option<Resource>, PortError> {
        if let Some(shared) = self.shared() {
            if let Some(answer) = shared.object(id) {
                return Ok(answer);
            }
            if !shared.watches_kind(id.kind()) {
                return Ok(None);
            }
        }
        Ok(self.get(id).await?)
    }

    fn changes(&self) -> Option<LiveChangeStream> {
        self.shared().map(|shared| shared.changes())
    }
}
