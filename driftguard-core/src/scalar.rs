//! Comparing scalar values as Kubernetes does: a number and its string form are the same
//! value, `null`, `""`, `[]` and `{}` are absent, and `false` or `0` is a zero value.

use serde_json::Value;

/// Whether two scalars are the same value: equal JSON, or a number and its string form.
pub fn scalars_equal(a: &Value, b: &Value) -> bool {
    if a == b {
        return true;
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Number(n), Value::String(s)) | (Value::String(s), Value::Number(n)) => {
            s.parse::<f64>().ok() == n.as_f64() && !s.trim().is_empty()
        }
        (Value::Bool(v), Value::String(s)) | (Value::String(s), Value::Bool(v)) => {
            s == if *v { "true" } else { "false" }
        }
        _ => false,
    }
}

/// Whether a canonical value counts as absent.
pub fn is_empty_value(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The zero value of a scalar (`false`, `0`), which the API server leaves out of its
/// answer for plain fields.
pub fn is_zero_scalar(value: &Value) -> bool {
    match value {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        _ => false,
    }
}
