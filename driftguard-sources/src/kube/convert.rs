//! API objects into DriftGuard resources: `kind` and `apiVersion` filled in, Secret values
//! fingerprinted before anything else can see them.

use driftguard_core::secret::{FingerprintKey, fingerprint_secret};
use driftguard_core::{Origin, Resource};
use serde_json::Value;

use crate::Error;
use crate::kube::discovery::ResolvedType;

/// Turns one object the API returned for `ty` into a resource.
///
/// List answers leave `kind` and `apiVersion` out of their items; they are filled in from
/// the type. Secret values are replaced by keyed fingerprints here, before the object is
/// validated, so not even an error about a malformed Secret can carry a value. Everything
/// else — `managedFields`, the last-applied annotation, `status` — is kept: the detector
/// uses them to tell hand edits from defaults.
pub(crate) fn to_resource(
    mut object: Value,
    ty: &ResolvedType,
    key: &FingerprintKey,
    request: &str,
) -> Result<Resource, Error> {
    let Some(map) = object.as_object_mut() else {
        return Err(Error::KubeInvalidResponse {
            request: request.to_owned(),
            reason: format!("an item of {} is not a JSON object", ty.describe()),
        });
    };
    for (field, value) in [("kind", &ty.kind), ("apiVersion", &ty.api_version)] {
        let missing = match map.get(field) {
            None | Some(Value::Null) => true,
            Some(Value::String(text)) => text.is_empty(),
            Some(_) => false,
        };
        if missing {
            map.insert(field.to_owned(), Value::String(value.clone()));
        }
    }
    fingerprint_secret(&mut object, key);
    build(object, ty, request)
}

/// A resource from an object that already has its `kind` and `apiVersion` and no
/// plaintext, with its API path as origin.
pub(crate) fn build(object: Value, ty: &ResolvedType, request: &str) -> Result<Resource, Error> {
    let metadata = object.get("metadata");
    let name = metadata
        .and_then(|m| m.get("name"))
        .and_then(Value::as_str)
        .unwrap_or_default();
    let namespace = metadata
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str);
    let origin = Origin {
        location: format!("{}/{name}", ty.url_path(namespace)).into(),
        line: None,
    };
    Resource::from_object(object, Some(origin)).map_err(|error| Error::KubeInvalidResponse {
        request: request.to_owned(),
        reason: error.to_string(),
    })
}

/// The namespace an API object names, if any.
pub(crate) fn namespace_of(object: &Value) -> Option<&str> {
    object
        .get("metadata")
        .and_then(|m| m.get("namespace"))
        .and_then(Value::as_str)
        .filter(|ns| !ns.is_empty())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn secrets() -> ResolvedType {
        ResolvedType {
            requested: "secrets".to_owned(),
            group: String::new(),
            version: "v1".to_owned(),
            api_version: "v1".to_owned(),
            kind: "Secret".to_owned(),
            plural: "secrets".to_owned(),
            namespaced: true,
            verbs: vec!["list".to_owned()],
        }
    }

    #[test]
    fn list_items_get_kind_and_api_version_and_secrets_are_fingerprinted() {
        let key = FingerprintKey::derive("test");
        // "hunter2-db" in base64.
        let item = json!({"metadata": {"name": "db", "namespace": "shop",
            "managedFields": [{"manager": "kubectl-edit"}]},
            "data": {"password": "aHVudGVyMi1kYg=="}});
        let resource = to_resource(item, &secrets(), &key, "list").unwrap();
        assert_eq!(resource.id.to_string(), "Secret:shop:db");
        assert_eq!(resource.api_version, "v1");
        assert_eq!(resource.object.to_value()["kind"], "Secret");
        let text = format!("{resource:?}");
        assert!(!text.contains("aHVudGVyMi1kYg=="));
        assert!(!text.contains("hunter2-db"));
        assert_eq!(
            resource.object.to_value()["data"]["password"],
            key.fingerprint(b"hunter2-db")
        );
        assert_eq!(
            resource.object.to_value()["metadata"]["managedFields"][0]["manager"],
            "kubectl-edit"
        );
        assert_eq!(
            &*resource.origin.unwrap().location,
            "/api/v1/namespaces/shop/secrets/db"
        );
    }

    #[test]
    fn a_malformed_secret_is_refused_without_its_value() {
        let key = FingerprintKey::derive("test");
        let item = json!({"metadata": {}, "data": {"token": "c2VjcmV0LXRva2Vu"}});
        let error = to_resource(item, &secrets(), &key, "list v1 secrets")
            .unwrap_err()
            .to_string();
        assert!(error.contains("list v1 secrets"), "{error}");
        assert!(!error.contains("c2VjcmV0LXRva2Vu"), "{error}");
    }
}
