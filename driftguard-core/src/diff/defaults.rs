//! What the API server fills in or leaves out: the values the walk does not count as
//! differences.

use serde_json::{Map, Value};

use crate::k8s::defaults::{ObjectType, is_server_default};
use crate::k8s::fields::keeps_zero;
use crate::k8s::schema::{Format, SchemaCursor};
use crate::quantity::canonical_quantity;
use crate::scalar::{is_empty_value, is_zero_scalar, scalars_equal};

/// Whether a `false` or `0` that Git sets at `field` and live lacks is just left out of
/// the server's answer, as the zero value of a plain (not optional) field is.
pub(super) fn is_omitted_zero(field: &str, value: &Value) -> bool {
    is_zero_scalar(value) && !keeps_zero(field)
}

/// Whether `field` of the map found at `key` is an object's `metadata.finalizers`.
///
/// Controllers add finalizers to the objects they look after (volume protection, load
/// balancer clean-up, an ingress controller's own), under field managers of every name:
/// the finalizers Git declares must be there, in any order, and others are not drift.
pub(super) fn is_finalizers(field: &str, key: Option<&str>) -> bool {
    field == "finalizers" && key == Some("metadata")
}

/// Whether the list `live` holds every item of the list `desired`.
pub(super) fn contains_all(live: &Value, desired: &Value) -> bool {
    match (desired, live) {
        (Value::Array(desired), Value::Array(live)) => desired.iter().all(|d| live.contains(d)),
        _ => desired == live,
    }
}

/// Whether `field` only live has mirrors a field Git declares with the same value: the
/// API server fills in `serviceAccountName` from a manifest's deprecated `serviceAccount`.
pub(super) fn mirrors_declared_field(
    field: &str,
    desired: &Map<String, Value>,
    live: &Value,
) -> bool {
    let mirror = match field {
        "serviceAccountName" => "serviceAccount",
        "serviceAccount" => "serviceAccountName",
        _ => return false,
    };
    desired.get(mirror) == Some(live)
}

/// Whether the canonical `live` value of a field is the default its schema declares
/// (a CRD's structural default), which the server filled in because Git left it out.
pub(super) fn is_schema_default(schema: SchemaCursor<'_>, live: &Value) -> bool {
    schema
        .default_value()
        .is_some_and(|default| equals_default(schema, default, live))
}

/// Whether `live` is `default` as the server stores it: an object default may have had
/// defaults of its own fields filled in, and empty values are dropped by canonicalisation.
fn equals_default(schema: SchemaCursor<'_>, default: &Value, live: &Value) -> bool {
    match (default, live) {
        (Value::Object(default), Value::Object(live)) => {
            live.iter().all(|(field, value)| match default.get(field) {
                Some(d) => equals_default(schema.field(field), d, value),
                None => is_schema_default(schema.field(field), value),
            }) && default
                .iter()
                .all(|(field, d)| live.contains_key(field) || is_empty_value(d))
        }
        (Value::Array(default), Value::Array(live)) => {
            default.len() == live.len()
                && default
                    .iter()
                    .zip(live)
                    .all(|(d, l)| equals_default(schema.item(), d, l))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        _ if schema.format() == Some(Format::Quantity) => {
            match (canonical_quantity(default), canonical_quantity(live)) {
                (Some(d), Some(l)) => d == l,
                _ => scalars_equal(default, live),
            }
        }
        _ => scalars_equal(default, live),
    }
}

/// Whether live item `live` is desired item `desired` as the server returns it: every
/// field Git sets has the same value, and every other field is a server default. Strict
/// where the walk is lenient (no ownership, no three-way): it only decides whether items
/// of a resized list pair up, and stops at the first difference.
pub(super) fn same_item(
    object: ObjectType<'_>,
    desired: &Value,
    live: &Value,
    key: Option<&str>,
    schema: SchemaCursor<'_>,
) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => {
            d.iter().all(|(field, dv)| match l.get(field) {
                Some(lv) => same_item(object, dv, lv, Some(field), schema.field(field)),
                None => is_omitted_zero(field, dv),
            }) && l.iter().all(|(field, lv)| {
                d.contains_key(field)
                    || is_schema_default(schema.field(field), lv)
                    || is_server_default(object, field, key, lv, l)
            })
        }
        (Value::Array(d), Value::Array(l)) => {
            let item = schema.item();
            d.len() == l.len()
                && d.iter()
                    .zip(l)
                    .all(|(dv, lv)| same_item(object, dv, lv, key, item))
        }
        (Value::Object(_) | Value::Array(_), _) | (_, Value::Object(_) | Value::Array(_)) => false,
        _ => scalars_equal(desired, live),
    }
}
