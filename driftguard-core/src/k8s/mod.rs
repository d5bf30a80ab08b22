//! What DriftGuard knows about Kubernetes, in one place: kinds and their scope, field
//! facts (user maps, list keys, quantities, int-or-string), the defaults the API server
//! fills in, what controllers write, the metadata nobody declares, and the field managers
//! and what their writes mean.
//!
//! Every table is data, citing the upstream source it mirrors. Where a schema is known (the
//! cluster's OpenAPI, a CustomResourceDefinition, the bundled schema of the built-in
//! kinds) it takes precedence over the tables, which decide only where it says nothing.

pub mod defaults;
pub mod fields;
pub mod kinds;
pub mod managers;
pub mod metadata;
pub mod schema;
pub mod written;
