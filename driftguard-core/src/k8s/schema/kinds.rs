//! The schemas of the kinds one source describes: a CustomResourceDefinition, or one
//! group-version's OpenAPI v3 document as the API server serves it at
//! `/openapi/v3/apis/<group>/<version>`.

use std::collections::HashMap;

use serde_json::Value;

use super::cursor::SchemaCursor;
use super::json_schema::Converter;
use super::node::{NodeId, Schema};

/// Kinds and their schemas, read from one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KindSchemas {
    schema: Schema,
    /// apiVersion → kind → the kind's node.
    kinds: HashMap<String, HashMap<String, NodeId>>,
}

impl KindSchemas {
    /// The schema of `kind` at `api_version`, unknown when this source does not hold it.
    pub fn cursor(&self, api_version: &str, kind: &str) -> SchemaCursor<'_> {
        match self
            .kinds
            .get(api_version)
            .and_then(|kinds| kinds.get(kind))
        {
            Some(node) => SchemaCursor::new(&self.schema, *node),
            None => SchemaCursor::UNKNOWN,
        }
    }

    /// Whether this source describes `kind` at `api_version`.
    pub fn has(&self, api_version: &str, kind: &str) -> bool {
        self.cursor(api_version, kind).is_known()
    }

    /// The `(apiVersion, kind)` pairs described, in no particular order.
    pub fn kinds(&self) -> impl Iterator<Item = (&str, &str)> {
        self.kinds.iter().flat_map(|(api_version, kinds)| {
            kinds
                .keys()
                .map(move |kind| (api_version.as_str(), kind.as_str()))
        })
    }

    /// How many schema nodes it holds, a measure of its size.
    pub fn nodes(&self) -> usize {
        self.schema.len()
    }

    /// The schemas of a CustomResourceDefinition's versions: `spec.versions[].schema
    /// .openAPIV3Schema` (`apiextensions.k8s.io/v1`), or `spec.validation
    /// .openAPIV3Schema` for every version (`v1beta1`). `None` for an object that is not a
    /// CRD or that carries no schema.
    pub fn from_crd(crd: &Value) -> Option<Self> {
        let spec = crd.get("spec")?;
        let group = spec.get("group")?.as_str()?;
        let kind = spec.get("names")?.get("kind")?.as_str()?;
        let shared = spec
            .get("validation")
            .and_then(|v| v.get("openAPIV3Schema"));
        let mut versions: Vec<(&str, &Value)> = Vec::new();
        if let Some(list) = spec.get("versions").and_then(Value::as_array) {
            for version in list {
                let Some(name) = version.get("name").and_then(Value::as_str) else {
                    continue;
                };
                let schema = version
                    .get("schema")
                    .and_then(|s| s.get("openAPIV3Schema"))
                    .or(shared);
                if let Some(schema) = schema {
                    versions.push((name, schema));
                }
            }
        }
        if let (Some(name), Some(schema)) = (spec.get("version").and_then(Value::as_str), shared)
            && !versions.iter().any(|(v, _)| *v == name)
        {
            versions.push((name, schema));
        }
        if versions.is_empty() {
            return None;
        }
        let mut converter = Converter::new(None);
        let mut kinds: HashMap<String, HashMap<String, NodeId>> = HashMap::new();
        for (version, schema) in versions {
            let node = converter.node(schema, 0);
            kinds
                .entry(format!("{group}/{version}"))
                .or_default()
                .insert(kind.to_owned(), node);
        }
        Some(Self {
            schema: converter.finish(),
            kinds,
        })
    }

    /// The kinds of `group_version` (`apps/v1`, or `v1` for the core group) in an OpenAPI
    /// v3 document: every definition in `components.schemas` whose
    /// `x-kubernetes-group-version-kind` names that group-version. Definitions are read
    /// only as far as those kinds reach.
    pub fn from_openapi(group_version: &str, document: &Value) -> Self {
        let Some(definitions) = document
            .get("components")
            .and_then(|c| c.get("schemas"))
            .and_then(Value::as_object)
        else {
            return Self::default();
        };
        let (group, version) = match group_version.split_once('/') {
            Some((group, version)) => (group, version),
            None => ("", group_version),
        };
        let mut converter = Converter::new(Some(definitions));
        let mut kinds: HashMap<String, HashMap<String, NodeId>> = HashMap::new();
        for (name, definition) in definitions {
            let Some(gvks) = definition
                .get("x-kubernetes-group-version-kind")
                .and_then(Value::as_array)
            else {
                continue;
            };
            for gvk in gvks {
                let field = |key: &str| gvk.get(key).and_then(Value::as_str).unwrap_or_default();
                if field("group") != group || field("version") != version {
                    continue;
                }
                let kind = field("kind");
                if kind.is_empty() {
                    continue;
                }
                if let Some(node) = converter.definition(name) {
                    kinds
                        .entry(group_version.to_owned())
                        .or_default()
                        .insert(kind.to_owned(), node);
                }
            }
        }
        Self {
            schema: converter.finish(),
            kinds,
        }
    }
}
