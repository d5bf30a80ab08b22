//! Watch mode: one kube `watcher` per type and namespace keeps an in-memory copy of the
//! live objects and announces every change.
//!
//! The watcher lists, then watches from the list's resource version; when the watch breaks
//! it resumes, and when the server says the version is gone (410) it lists again. Each
//! list arrives as `Init`, `InitApply`…, `InitDone`: the objects are collected aside and
//! swap in whole at `InitDone`, so a half-finished re-list never shows as deletions. After
//! a re-list, the differences to the old copy are announced as changes.
//!
//! Objects are converted — Secret values fingerprinted — before they are stored, so the
//! cache holds no plaintext. They are kept as compact JSON text: a parsed
//! `serde_json::Value` takes about eight times the memory of its text (each small map is a
//! B-tree node), and parsing 10,000 objects for a snapshot costs less than listing them.
//! While any watcher is in trouble the cache is not trusted: snapshots go back to
//! listing, which reports an unreachable server as an error.

use std::collections::BTreeMap;
use std::pin::pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ::kube::api::Api;
use ::kube::core::DynamicObject;
use ::kube::runtime::WatchStreamExt;
use ::kube::runtime::watcher::{self, Event};
use driftguard_core::secret::FingerprintKey;
use driftguard_core::{LiveChange, LiveChangeKind, LiveChangeStream, Resource, ResourceId};
use futures_util::StreamExt;
use serde_json::Value;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::Error;
use crate::kube::convert::to_resource;
use crate::kube::discovery::ResolvedType;
use crate::kube::listing::describe_target;
use crate::kube::namespaces::{ListTarget, NamespaceScope};
use crate::kube::request::{ApiCaller, error_chain};

/// Change notifications buffered for a slow reader before the oldest are dropped (the
/// reader is told how many it missed; the next full analysis covers them).
const CHANGE_BUFFER: usize = 4096;

/// Pause before a watcher that ended or hit a 410 on a fresh watch is started again.
const RESTART_PAUSE: Duration = Duration::from_secs(1);

/// One cached object, held as compact JSON text ([`driftguard_core::ObjectText`]),
/// Secret values already fingerprinted; snapshots share the text rather than copy it.
type Cached = Resource;

/// The cached objects of one type in one target.
#[derive(Debug, Default)]
struct TargetCache {
    objects: BTreeMap<ResourceId, Cached>,
    /// Objects of a list in progress (between `Init` and `InitDone`).
    pending: Option<BTreeMap<ResourceId, Cached>>,
    /// The first list has completed.
    synced: bool,
    /// No error since the last list or event: the copy can be trusted.
    healthy: bool,
}

/// One watched type in one target, with its cache.
struct Slot {
    ty: ResolvedType,
    target: ListTarget,
    request: String,
    cache: Mutex<TargetCache>,
}

impl Slot {
    fn lock(&self) -> std::sync::MutexGuard<'_, TargetCache> {
        self.cache.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether this slot holds `id`'s type and namespace.
    fn covers(&self, id: &ResourceId) -> bool {
        self.ty.kind == id.kind()
            && (!self.ty.namespaced
                || self.target.namespace.is_none()
                || self.target.namespace.as_deref() == id.namespace())
    }
}

/// State shared by the watcher tasks and the source.
pub(crate) struct WatchShared {
    slots: Vec<Slot>,
    scope: NamespaceScope,
    key: FingerprintKey,
    changes: broadcast::Sender<LiveChange>,
    synced: tokio::sync::watch::Sender<bool>,
}

/// Whether two versions of an object differ in something a person could have changed:
/// `status`, `metadata.resourceVersion` and the field ownership of status updates are
/// left out, so controllers reporting status do not set off analyses.
fn significant_change(old: &Value, new: &Value) -> bool {
    fn essential(object: &Value) -> Value {
        let mut copy = object.clone();
        if let Some(map) = copy.as_object_mut() {
            map.remove("status");
            if let Some(metadata) = map.get_mut("metadata").and_then(Value::as_object_mut) {
                metadata.remove("resourceVersion");
                if let Some(Value::Array(fields)) = metadata.get_mut("managedFields") {
                    fields.retain(|entry| {
                        entry.get("subresource").and_then(Value::as_str) != Some("status")
                    });
                }
            }
        }
        copy
    }
    old != new && essential(old) != essential(new)
}

/// [`significant_change`] between two cached objects; equal texts are no change.
fn differ_significantly(old: &Resource, new: &Resource) -> bool {
    old.object != new.object && significant_change(&old.object.to_value(), &new.object.to_value())
}

impl WatchShared {
    fn new(slots: Vec<Slot>, scope: NamespaceScope, key: FingerprintKey) -> Self {
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let (synced, _) = tokio::sync::watch::channel(slots.is_empty());
        Self {
            slots,
            scope,
            key,
            changes,
            synced,
        }
    }

    /// Every cached object, or `None` while any watcher has not listed yet or is in
    /// trouble (the caller then lists).
    pub fn snapshot(&self) -> Option<Vec<Resource>> {
        let mut resources = Vec::new();
        for slot in &self.slots {
            let cache = slot.lock();
            if !(cache.synced && cache.healthy) {
                return None;
            }
            resources.reserve(cache.objects.len());
            resources.extend(cache.objects.values().cloned());
        }
        Some(resources)
    }

    /// The cached object `id`: `Some(None)` when the cache knows it does not exist, `None`
    /// when the cache cannot answer (not watched, or not trusted now).
    pub fn object(&self, id: &ResourceId) -> Option<Option<Resource>> {
        if !self.scope.admits(id.namespace()) {
            return Some(None);
        }
        let slot = self.slots.iter().find(|slot| slot.covers(id))?;
        let cache = slot.lock();
        if !(cache.synced && cache.healthy) {
            return None;
        }
        Some(cache.objects.get(id).cloned())
    }

    /// Whether `id`'s type is watched at all.
    pub fn watches_kind(&self, kind: &str) -> bool {
        self.slots.iter().any(|slot| slot.ty.kind == kind)
    }

    /// Whether every watcher has completed its first list.
    pub fn is_synced(&self) -> bool {
        *self.synced.borrow()
    }

    /// Waits until every watcher has completed its first list.
    pub async fn wait_synced(&self) {
        let mut receiver = self.synced.subscribe();
        // The sender lives as long as `self`, so this only ends when synced.
        let _ = receiver.wait_for(|synced| *synced).await;
    }

    /// A stream of change notifications from now on.
    pub fn changes(&self) -> LiveChangeStream {
        let receiver = self.changes.subscribe();
        Box::pin(futures_util::stream::unfold(
            receiver,
            |mut receiver| async move {
                loop {
                    match receiver.recv().await {
                        Ok(change) => return Some((change, receiver)),
                        Err(broadcast::error::RecvError::Lagged(missed)) => {
                            tracing::warn!(
                                missed,
                                "live change notifications were dropped because they were \
                                 not read in time; the next full analysis covers them"
                            );
                        }
                        Err(broadcast::error::RecvError::Closed) => return None,
                    }
                }
            },
        ))
    }

    fn mark_unhealthy(&self, index: usize) {
        if let Some(slot) = self.slots.get(index) {
            slot.lock().healthy = false;
        }
    }

    /// Applies one watcher event to slot `index` and announces what changed.
    fn apply(&self, index: usize, event: Event<DynamicObject>) {
        let Some(slot) = self.slots.get(index) else {
            return;
        };
        let mut announce = Vec::new();
        let mut newly_synced = false;
        {
            let mut cache = slot.lock();
            match event {
                Event::Init => cache.pending = Some(BTreeMap::new()),
                Event::InitApply(object) => {
                    if let Some(resource) = self.convert(slot, object, &mut cache) {
                        cache
                            .pending
                            .get_or_insert_with(BTreeMap::new)
                            .insert(resource.id.clone(), resource);
                    }
                }
                Event::InitDone => {
                    let listed = cache.pending.take().unwrap_or_default();
                    let previous = std::mem::replace(&mut cache.objects, listed);
                    if cache.synced {
                        for (id, object) in &cache.objects {
                            match previous.get(id) {
                                Some(old) if !differ_significantly(old, object) => {}
                                _ => announce.push(LiveChange {
                                    id: id.clone(),
                                    kind: LiveChangeKind::Applied,
                                }),
                            }
                        }
                        for id in previous.keys() {
                            if !cache.objects.contains_key(id) {
                                announce.push(LiveChange {
                                    id: id.clone(),
                                    kind: LiveChangeKind::Deleted,
                                });
                            }
                        }
                    } else {
                        newly_synced = true;
                    }
                    cache.synced = true;
                    cache.healthy = true;
                }
                Event::Apply(object) => {
                    if let Some(resource) = self.convert(slot, object, &mut cache) {
                        let id = resource.id.clone();
                        let changed = cache
                            .objects
                            .get(&id)
                            .is_none_or(|old| differ_significantly(old, &resource));
                        cache.objects.insert(id.clone(), resource);
                        cache.healthy = true;
                        if changed {
                            announce.push(LiveChange {
                                id,
                                kind: LiveChangeKind::Applied,
                            });
                        }
                    }
                }
                Event::Delete(object) => {
                    if let Some(resource) = self.convert(slot, object, &mut cache) {
                        cache.objects.remove(&resource.id);
                        cache.healthy = true;
                        announce.push(LiveChange {
                            id: resource.id,
                            kind: LiveChangeKind::Deleted,
                        });
                    }
                }
            }
        }
        if newly_synced && self.slots.iter().all(|s| s.lock().synced) {
            self.synced.send_replace(true);
        }
        for change in announce {
            tracing::debug!(resource_id = %change.id, kind = ?change.kind, "live change");
            // No receiver is fine: nobody asked for notifications.
            let _ = self.changes.send(change);
        }
    }

    /// Converts a watched object; `None` (with the slot marked untrusted) when it cannot
    /// be used, or when it lies in a namespace the source does not read.
    fn convert(
        &self,
        slot: &Slot,
        object: DynamicObject,
        cache: &mut TargetCache,
    ) -> Option<Resource> {
        if !self.scope.admits(object.metadata.namespace.as_deref()) {
            return None;
        }
        let unreadable = |e: serde_json::Error| Error::KubeInvalidResponse {
            request: slot.request.clone(),
            reason: format!("a watched object cannot be read: {}", e.classify_name()),
        };
        let converted = serde_json::to_value(object)
            .map_err(unreadable)
            .and_then(|value| to_resource(value, &slot.ty, &self.key, &slot.request));
        match converted {
            Ok(converted) => Some(converted),
            Err(error) => {
                cache.healthy = false;
                tracing::warn!(error = %error, "❌ a watched object was unusable");
                None
            }
        }
    }
}

/// The name of a JSON error's category, for messages that must not quote content.
trait ClassifyName {
    fn classify_name(&self) -> &'static str;
}

impl ClassifyName for serde_json::Error {
    fn classify_name(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "I/O error",
            serde_json::error::Category::Syntax => "syntax error",
            serde_json::error::Category::Data => "unexpected shape",
            serde_json::error::Category::Eof => "unexpected end",
        }
    }
}

/// A running watch: the shared cache and the tasks feeding it, stopped when dropped.
pub(crate) struct Watch {
    shared: Arc<WatchShared>,
    tasks: Vec<AbortHandle>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Watch {
    /// Starts one watcher per type and target. Must run inside a tokio runtime.
    pub fn start(
        api: &ApiCaller,
        types: Vec<ResolvedType>,
        scope: NamespaceScope,
        key: FingerprintKey,
        page_size: u32,
    ) -> Self {
        let mut slots = Vec::new();
        for ty in types {
            for target in scope.targets(ty.namespaced) {
                let request = api.describe(format!("watch: {}", describe_target(&ty, &target)));
                slots.push(Slot {
                    ty: ty.clone(),
                    target,
                    request,
                    cache: Mutex::new(TargetCache::default()),
                });
            }
        }
        let shared = Arc::new(WatchShared::new(slots, scope, key));
        let tasks = (0..shared.slots.len())
            .map(|index| {
                let slot = &shared.slots[index];
                let resource = slot.ty.api_resource();
                let client = api.client().clone();
                let watched: Api<DynamicObject> = match &slot.target.namespace {
                    Some(namespace) => Api::namespaced_with(client, namespace, &resource),
                    None => Api::all_with(client, &resource),
                };
                let mut config = watcher::Config::default().page_size(page_size);
                if let Some(selector) = &slot.target.field_selector {
                    config = config.fields(selector);
                }
                tokio::spawn(run_watcher(Arc::clone(&shared), index, watched, config))
                    .abort_handle()
            })
            .collect();
        Self { shared, tasks }
    }

    /// The shared cache.
    pub fn shared(&self) -> Arc<WatchShared> {
        Arc::clone(&self.shared)
    }
}

/// Whether a watcher error means the resource version to resume from is gone for good,
/// so only a fresh list helps. (A 410 inside the stream makes kube re-list by itself; a
/// 410 answering the watch request would make it retry the same version forever.)
fn needs_fresh_list(error: &watcher::Error) -> bool {
    matches!(
        error,
        watcher::Error::WatchStartFailed(::kube::Error::Api(status)) if status.code == 410
    )
}

/// Feeds slot `index` from a watcher until the task is aborted.
async fn run_watcher(
    shared: Arc<WatchShared>,
    index: usize,
    api: Api<DynamicObject>,
    config: watcher::Config,
) {
    let request = shared
        .slots
        .get(index)
        .map(|slot| slot.request.clone())
        .unwrap_or_default();
    loop {
        let mut events = pin!(watcher::watcher(api.clone(), config.clone()).default_backoff());
        while let Some(event) = events.next().await {
            match event {
                Ok(event) => shared.apply(index, event),
                Err(error) => {
                    shared.mark_unhealthy(index);
                    tracing::warn!(
                        request = %request,
                        error = %error_chain(&error),
                        "❌ watch failed; retrying, and listing instead of using the cache until it recovers"
                    );
                    if needs_fresh_list(&error) {
                        break;
                    }
                }
            }
        }
        shared.mark_unhealthy(index);
        tokio::time::sleep(RESTART_PAUSE).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_and_resource_version_changes_are_not_significant() {
        let old = json!({"metadata": {"name": "web", "resourceVersion": "1",
            "managedFields": [{"manager": "kube-controller-manager", "subresource": "status", "time": "1"}]},
            "spec": {"replicas": 3}, "status": {"readyReplicas": 1}});
        let status_only = json!({"metadata": {"name": "web", "resourceVersion": "2",
            "managedFields": [{"manager": "kube-controller-manager", "subresource": "status", "time": "2"}]},
            "spec": {"replicas": 3}, "status": {"readyReplicas": 3}});
        let scaled = json!({"metadata": {"name": "web", "resourceVersion": "3",
            "managedFields": [{"manager": "kube-controller-manager", "subresource": "status", "time": "2"},
                              {"manager": "kubectl-edit", "time": "3"}]},
            "spec": {"replicas": 5}, "status": {"readyReplicas": 3}});
        assert!(!significant_change(&old, &status_only));
        assert!(significant_change(&status_only, &scaled));
    }
}
