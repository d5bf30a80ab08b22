//! YAML configuration files read with serde-saphyr (the parser DriftGuard uses for
//! manifests), handed to the `config` crate as one more file format.

use config::{FileStoredFormat, Format, Map, Value, ValueKind};

/// The YAML format for `config::File::from_str`.
#[derive(Debug, Clone, Copy)]
pub struct Yaml;

impl Format for Yaml {
    fn parse(
        &self,
        uri: Option<&String>,
        text: &str,
    ) -> Result<Map<String, Value>, Box<dyn std::error::Error + Send + Sync>> {
        let parsed: serde_json::Value = if text.trim().is_empty() {
            serde_json::Value::Object(serde_json::Map::new())
        } else {
            // Without the snippet: the offending line may hold a secret.
            serde_saphyr::from_str(text).map_err(|e| e.without_snippet().to_string())?
        };
        match convert(uri, parsed) {
            ValueKind::Table(table) => Ok(table),
            ValueKind::Nil => Ok(Map::new()),
            _ => Err(
                "the configuration file must be a mapping of sections (server:, database:, …)"
                    .into(),
            ),
        }
    }
}

impl FileStoredFormat for Yaml {
    fn file_extensions(&self) -> &'static [&'static str] {
        &["yaml", "yml"]
    }
}

fn convert(uri: Option<&String>, value: serde_json::Value) -> ValueKind {
    match value {
        serde_json::Value::Null => ValueKind::Nil,
        serde_json::Value::Bool(b) => ValueKind::Boolean(b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                ValueKind::I64(i)
            } else if let Some(u) = n.as_u64() {
                ValueKind::U64(u)
            } else {
                ValueKind::Float(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        serde_json::Value::String(s) => ValueKind::String(s),
        serde_json::Value::Array(items) => ValueKind::Array(
            items
                .into_iter()
                .map(|item| Value::new(uri, convert(uri, item)))
                .collect(),
        ),
        serde_json::Value::Object(map) => ValueKind::Table(
            map.into_iter()
                .map(|(k, v)| (k, Value::new(uri, convert(uri, v))))
                .collect(),
        ),
    }
}
