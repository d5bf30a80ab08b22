//! The schema layer: how the API server itself compares a field, from the schema it
//! publishes.
//!
//! For every field, a Kubernetes schema says how list items are matched
//! (`x-kubernetes-list-type`: atomic, set, or map with `x-kubernetes-list-map-keys`),
//! whether a scalar is a quantity or an int-or-string, and, in CRDs, the default the
//! server fills in. DriftGuard reads these facts from, in order of precedence:
//!
//! 1. the cluster's OpenAPI v3 ([`ClusterSchema`], read by the Kubernetes source);
//! 2. CustomResourceDefinitions in the live state or the desired state (their
//!    `openAPIV3Schema`), so that `check` on dumps knows custom resources too;
//! 3. the bundled schema of the built-in kinds ([`builtin`]), generated from a Kubernetes
//!    release by `scripts/k8s-schema/generate.py`.
//!
//! Where none says anything, the tables of [`crate::k8s::fields`] and
//! [`crate::k8s::defaults`] decide. A schema is read once per source (per cluster and
//! group-version, per CRD in an analysis), never per object; the walk then moves a
//! [`SchemaCursor`] down with it.

mod builtin;
mod catalog;
mod cursor;
mod json_schema;
mod kinds;
mod node;

pub use builtin::{BuiltinSchema, builtin};
pub use catalog::{ClusterSchema, SchemaCatalog};
pub use cursor::SchemaCursor;
pub use kinds::KindSchemas;
pub use node::{Format, ListType};

#[cfg(test)]
mod tests;
