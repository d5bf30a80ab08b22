//! The field walk (DESIGN.md §4, rules 3 and 4): every field Git sets must match live, and
//! a field only in live is drift when somebody put it there.
//!
//! A field Git declares is always compared: a changed value is drift, whoever wrote it.
//! How list items pair up comes from the schema ([`crate::k8s::schema`]): by the keys of
//! a list-map, without order for a set, as one value for an atomic list; the tables of
//! [`crate::k8s::fields`] decide where no schema says.
//!
//! A field or list item only live has is drift when:
//! - the last-applied configuration has it (removed from Git, still live: three-way);
//! - a server-side applier owns it (it was in the manifest last applied, and Git no longer
//!   declares it: the same three-way rule, read from `managedFields`);
//! - a hand-edit tool owns it (`kubectl edit`, `kubectl patch`, a dashboard; see
//!   [`crate::k8s::managers`]).
//!
//! Fields other managers wrote (controllers, operators) are theirs, and so are fields no
//! manager owns on an object that records ownership: admission (a mutating webhook, a
//! policy) wrote those. Only on an object without `managedFields` (a dump taken without
//! them) is ownership unknown, and then a field only live has is also drift when:
//! - it is a key of a user map or an item of a keyed list (labels, annotations, ConfigMap
//!   and Secret data, env vars, ports, volumes, containers, …), including a whole user map
//!   or keyed list that Git does not have at all;
//! - it is a field the server defaults, holding a value the server never fills in (a
//!   `targetPort` other than the port, `suspend: true`), or a field of a workload's pod
//!   template that the server never fills in at all (`command`, `resources`,
//!   `hostNetwork`).
//!
//! A map only live has is looked into with the same rules, so that a user map or keyed
//! list inside it still counts. A field whose live value is the one the API server fills
//! in (a CRD's structural default, or one of [`crate::k8s::defaults`]) is never drift,
//! since applying Git would leave it unchanged. A desired `false` or `0` that live lacks
//! is the zero value the API server omits, not a difference.
//!
//! Both objects must already be canonical (see [`crate::normalize`]).

mod defaults;
mod last_applied;
mod lists;
mod walker;

use serde_json::Value;

use crate::k8s::schema::SchemaCursor;
use crate::managed::{ManagerPolicy, Owners};
use crate::path::FieldPath;

pub use last_applied::LastApplied;

/// One difference found by the walk, before classification.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDiff {
    /// Where the values differ.
    pub path: FieldPath,
    /// The desired value, `None` when Git does not set the field.
    pub desired: Option<Value>,
    /// The live value, `None` when the field is absent in the cluster.
    pub live: Option<Value>,
    /// The manager that wrote the live value, if `managedFields` names one: a hand-edit
    /// tool first, else any owner.
    pub owner: Option<String>,
    /// The owner when it is a hand-edit tool.
    pub hand_editor: Option<String>,
    /// Whether the object records ownership and no manager owns the live value: admission
    /// wrote it, or nobody did (the field is missing).
    pub unowned: bool,
}

/// What the walk knows besides the two objects.
#[derive(Debug, Clone, Copy)]
pub struct WalkContext<'a> {
    /// The object's kind; some rules depend on it.
    pub kind: &'a str,
    /// The `apiVersion` the live object was read at (empty when unknown): some defaults
    /// differ between versions.
    pub api_version: &'a str,
    /// The last-applied configuration, for the three-way rule.
    pub last_applied: &'a LastApplied<'a>,
    /// Who is an applier, a controller or a hand-edit tool.
    pub policy: &'a ManagerPolicy,
    /// Whether an admission webhook says it filled in the pod template's container
    /// resources (GKE Autopilot's `autopilot.gke.io/resource-adjustment`): resources Git
    /// leaves out are then the platform's, not somebody's edit.
    pub resources_set_by_admission: bool,
    /// The schema of the object at its root; unknown when none describes it.
    pub schema: SchemaCursor<'a>,
    /// Whether the live object records field ownership (`metadata.managedFields`). When
    /// it does, a field Git never declares is drift only when a person put it there or
    /// Git dropped it.
    pub ownership_recorded: bool,
}

/// Compares canonical `desired` against canonical `live`; `owners` is the
/// `managedFields` cursor at the root.
pub fn diff_objects(
    desired: &Value,
    live: &Value,
    owners: &Owners<'_>,
    context: &WalkContext<'_>,
) -> Vec<FieldDiff> {
    walker::walk(desired, live, owners, context)
}

#[cfg(test)]
mod tests;
