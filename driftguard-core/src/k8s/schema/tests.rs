//! The schema layer over schema documents: CRDs, OpenAPI v3 documents and the bundled
//! built-in kinds.

use serde_json::{Value, json};

use super::*;

fn quantity_schema() -> Value {
    // What controller-gen writes for a `resource.Quantity` field.
    json!({
        "anyOf": [{"type": "integer"}, {"type": "string"}],
        "pattern": "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$",
        "x-kubernetes-int-or-string": true
    })
}

fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.io"},
        "spec": {
            "group": "example.io",
            "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced",
            "versions": [{"name": "v1", "served": true, "storage": true, "schema": {
                "openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": quantity_schema(),
                        "surge": {"anyOf": [{"type": "integer"}, {"type": "string"}],
                                  "x-kubernetes-int-or-string": true},
                        "mode": {"type": "string", "default": "Fast"},
                        "listeners": {"type": "array", "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["name"],
                            "items": {"type": "object", "properties": {
                                "name": {"type": "string"},
                                "allowedRoutes": {"type": "object",
                                    "default": {"namespaces": {"from": "Same"}}}}}},
                        "tags": {"type": "array", "x-kubernetes-list-type": "set",
                                 "items": {"type": "string"}},
                        "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
                    }}
                }}
            }}]
        }
    })
}

#[test]
fn a_crd_gives_quantities_int_or_string_list_maps_sets_and_defaults() {
    let kinds = KindSchemas::from_crd(&widget_crd()).expect("a CRD with a schema");
    let spec = kinds.cursor("example.io/v1", "Widget").field("spec");
    assert_eq!(spec.field("size").format(), Some(Format::Quantity));
    assert_eq!(spec.field("surge").format(), Some(Format::IntOrString));
    assert_eq!(spec.field("mode").default_value(), Some(&json!("Fast")));
    let listeners = spec.field("listeners");
    assert_eq!(listeners.list_type(), Some(ListType::Map));
    assert_eq!(listeners.list_map_keys(), [Box::from("name")]);
    assert_eq!(
        listeners.item().field("allowedRoutes").default_value(),
        Some(&json!({"namespaces": {"from": "Same"}}))
    );
    assert_eq!(spec.field("tags").list_type(), Some(ListType::Set));
    assert!(spec.field("extra").preserves_unknown_fields());
    assert!(!spec.field("extra").field("anything").is_known());
    assert!(!kinds.has("example.io/v2", "Widget"));
}

#[test]
fn the_catalog_prefers_the_cluster_then_live_crds_then_desired_ones_then_the_bundle() {
    let crd = widget_crd();
    let mut catalog = SchemaCatalog::new(None);
    catalog.learn_crd(&crd, false);
    assert_eq!(
        catalog
            .cursor("example.io/v1", "Widget")
            .field("spec")
            .field("mode")
            .default_value(),
        Some(&json!("Fast"))
    );
    let mut live_crd = crd.clone();
    live_crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
        ["mode"]["default"] = json!("Slow");
    catalog.learn_crd(&live_crd, true);
    catalog.learn_crd(&crd, false);
    let mode = |catalog: &SchemaCatalog| {
        catalog
            .cursor("example.io/v1", "Widget")
            .field("spec")
            .field("mode")
            .default_value()
            .cloned()
    };
    assert_eq!(mode(&catalog), Some(json!("Slow")));

    let document = json!({"components": {"schemas": {
        "io.example.v1.Widget": {
            "type": "object",
            "x-kubernetes-group-version-kind": [{"group": "example.io", "version": "v1", "kind": "Widget"}],
            "properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/io.example.v1.WidgetSpec"}]}}
        },
        "io.example.v1.WidgetSpec": {"type": "object", "properties": {
            "mode": {"type": "string", "default": "Cluster"}}}
    }}});
    let mut cluster = ClusterSchema::new();
    cluster.insert("example.io/v1", "hash-1", &document);
    let mut catalog = SchemaCatalog::new(Some(std::sync::Arc::new(cluster)));
    catalog.learn_crd(&live_crd, true);
    assert_eq!(mode(&catalog), Some(json!("Cluster")));
    // Built-in kinds the cluster document does not hold still come from the bundle.
    assert!(catalog.cursor("apps/v1", "Deployment").is_known());
}

#[test]
fn an_openapi_document_resolves_references_to_quantity_and_int_or_string() {
    let int_or_string = json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.util.intstr.IntOrString"}]});
    let quantity = json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.api.resource.Quantity"}]});
    let containers = json!({
        "type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
        "x-kubernetes-patch-merge-key": "name",
        "items": {"properties": {"resources": {"properties": {"limits": {"additionalProperties": quantity}}}}}
    });
    let document = json!({"components": {"schemas": {
        "io.k8s.api.apps.v1.Deployment": {
            "x-kubernetes-group-version-kind": [{"group": "apps", "version": "v1", "kind": "Deployment"}],
            "properties": {"spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec"}], "default": {}}}
        },
        "io.k8s.api.apps.v1.DeploymentSpec": {"properties": {
            "strategy": {"properties": {"rollingUpdate": {"properties": {"maxSurge": int_or_string}}}},
            "template": {"properties": {"spec": {"properties": {"containers": containers}}}}
        }},
        "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {"type": "string", "format": "int-or-string"},
        "io.k8s.apimachinery.pkg.api.resource.Quantity": {"type": "string"},
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions": {
            "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "DeleteOptions"}]}
    }}});
    let kinds = KindSchemas::from_openapi("apps/v1", &document);
    let spec = kinds.cursor("apps/v1", "Deployment").field("spec");
    assert_eq!(
        spec.field("strategy")
            .field("rollingUpdate")
            .field("maxSurge")
            .format(),
        Some(Format::IntOrString)
    );
    let containers = spec.field("template").field("spec").field("containers");
    assert_eq!(containers.list_type(), Some(ListType::Map));
    assert_eq!(containers.merge_key(), Some("name"));
    assert_eq!(
        containers
            .item()
            .field("resources")
            .field("limits")
            .field("memory")
            .format(),
        Some(Format::Quantity)
    );
    // Kinds of other group-versions in the same document are not this one's.
    assert_eq!(kinds.kinds().count(), 1);
}

#[test]
fn a_cluster_schema_keeps_unchanged_group_versions() {
    let document = json!({"components": {"schemas": {}}});
    let mut first = ClusterSchema::new();
    first.insert("apps/v1", "h1", &document);
    let mut second = ClusterSchema::new();
    second.keep("apps/v1", &first);
    assert_eq!(second.hash("apps/v1"), Some("h1"));
    assert_eq!(second.group_versions().count(), 1);
}

/// A published operator CRD, trimmed to the fields these tests read (see
/// `tests/data/crds/README.md` for where each comes from).
fn published(name: &str) -> KindSchemas {
    let text = match name {
        "kueue" => include_str!("../../../tests/data/crds/kueue-clusterqueue.json"),
        "gateway" => include_str!("../../../tests/data/crds/gateway-api-gateway.json"),
        "cnpg" => include_str!("../../../tests/data/crds/cloudnative-pg-cluster.json"),
        "rollouts" => include_str!("../../../tests/data/crds/argo-rollouts-rollout.json"),
        "external-secrets" => {
            include_str!("../../../tests/data/crds/external-secrets-externalsecret.json")
        }
        "keda" => include_str!("../../../tests/data/crds/keda-scaledobject.json"),
        "cert-manager" => include_str!("../../../tests/data/crds/cert-manager-certificate.json"),
        other => panic!("no CRD {other}"),
    };
    let crd: Value = serde_json::from_str(text).expect("the CRD is JSON");
    KindSchemas::from_crd(&crd).expect("the CRD has a schema")
}

#[test]
fn kueue_quotas_are_quantities_in_an_atomic_list_of_list_maps() {
    let kinds = published("kueue");
    let spec = kinds
        .cursor("kueue.x-k8s.io/v1beta1", "ClusterQueue")
        .field("spec");
    let groups = spec.field("resourceGroups");
    assert_eq!(groups.list_type(), Some(ListType::Atomic));
    let flavors = groups.item().field("flavors");
    assert_eq!(flavors.list_type(), Some(ListType::Map));
    assert_eq!(flavors.list_map_keys(), [Box::from("name")]);
    let resource = flavors.item().field("resources").item();
    for quota in ["nominalQuota", "borrowingLimit", "lendingLimit"] {
        assert_eq!(
            resource.field(quota).format(),
            Some(Format::Quantity),
            "{quota}"
        );
    }
    let weight = spec.field("fairSharing").field("weight");
    assert_eq!(weight.format(), Some(Format::Quantity));
    assert_eq!(weight.default_value(), Some(&json!(1)));
    assert_eq!(
        spec.field("excludeResourcePrefixes").list_type(),
        Some(ListType::Set)
    );
    assert_eq!(
        spec.field("queueingStrategy").default_value(),
        Some(&json!("BestEffortFIFO"))
    );
}

#[test]
fn gateway_listeners_are_keyed_by_name_with_defaults_inside() {
    let kinds = published("gateway");
    let listeners = kinds
        .cursor("gateway.networking.k8s.io/v1", "Gateway")
        .field("spec")
        .field("listeners");
    assert_eq!(listeners.list_type(), Some(ListType::Map));
    assert_eq!(listeners.list_map_keys(), [Box::from("name")]);
    let listener = listeners.item();
    assert_eq!(
        listener.field("allowedRoutes").default_value(),
        Some(&json!({"namespaces": {"from": "Same"}}))
    );
    assert_eq!(
        listener.field("tls").field("mode").default_value(),
        Some(&json!("Terminate"))
    );
    // A port is a plain integer there, not an int-or-string.
    assert!(listener.field("port").is_known());
    assert_eq!(listener.field("port").format(), None);
    assert!(!kinds.has("gateway.networking.k8s.io/v1beta1", "Gateway"));
}

#[test]
fn cnpg_resources_are_quantities_and_the_storage_size_a_plain_string() {
    let kinds = published("cnpg");
    let spec = kinds
        .cursor("postgresql.cnpg.io/v1", "Cluster")
        .field("spec");
    assert_eq!(
        spec.field("resources")
            .field("limits")
            .field("memory")
            .format(),
        Some(Format::Quantity)
    );
    assert_eq!(spec.field("storage").field("size").format(), None);
    assert_eq!(spec.field("instances").default_value(), Some(&json!(1)));
    assert_eq!(
        spec.field("replicationSlots").default_value(),
        Some(&json!({"highAvailability": {"enabled": true}}))
    );
}

#[test]
fn rollouts_surge_is_int_or_string_and_container_resources_are_free_form() {
    let kinds = published("rollouts");
    let spec = kinds
        .cursor("argoproj.io/v1alpha1", "Rollout")
        .field("spec");
    let canary = spec.field("strategy").field("canary");
    assert_eq!(canary.field("maxSurge").format(), Some(Format::IntOrString));
    assert_eq!(
        canary.field("maxUnavailable").format(),
        Some(Format::IntOrString)
    );
    let container = spec
        .field("template")
        .field("spec")
        .field("containers")
        .item();
    let ports = container.field("ports");
    assert_eq!(
        ports.list_map_keys(),
        [Box::from("containerPort"), Box::from("protocol")]
    );
    assert_eq!(
        ports.item().field("protocol").default_value(),
        Some(&json!("TCP"))
    );
    let limits = container.field("resources").field("limits");
    assert!(limits.preserves_unknown_fields());
    // Below a free-form map nothing is known, so the tables decide.
    assert!(!limits.field("cpu").is_known());
    // The containers list states no list type: the tables pair its items by name.
    assert_eq!(
        spec.field("template")
            .field("spec")
            .field("containers")
            .list_type(),
        None
    );
}

#[test]
fn external_secrets_defaults_nest() {
    let kinds = published("external-secrets");
    let spec = kinds
        .cursor("external-secrets.io/v1beta1", "ExternalSecret")
        .field("spec");
    assert_eq!(
        spec.field("refreshInterval").default_value(),
        Some(&json!("1h"))
    );
    assert_eq!(
        spec.field("target").default_value(),
        Some(&json!({"creationPolicy": "Owner", "deletionPolicy": "Retain"}))
    );
    let remote_ref = spec.field("data").item().field("remoteRef");
    assert_eq!(
        remote_ref.field("decryptingStrategy").default_value(),
        Some(&json!({"scheme": "None"}))
    );
    assert_eq!(
        remote_ref
            .field("decryptingStrategy")
            .field("hash")
            .default_value(),
        Some(&json!("SHA1"))
    );
}

#[test]
fn crds_without_defaults_or_list_types_leave_the_tables_to_decide() {
    for (name, api_version, kind) in [
        ("keda", "keda.sh/v1alpha1", "ScaledObject"),
        ("cert-manager", "cert-manager.io/v1", "Certificate"),
    ] {
        let kinds = published(name);
        let spec = kinds.cursor(api_version, kind).field("spec");
        assert!(spec.is_known(), "{name}");
        assert_eq!(spec.default_value(), None, "{name}");
    }
}
