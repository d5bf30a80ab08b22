//! Reading a desired object at the API version the live side was read at.
//!
//! The API server serves some kinds at several versions and `kubectl get` returns the
//! preferred one, so a manifest written at an older version that is still served comes
//! back in another shape. Where the conversion is a plain rewrite, the desired object is
//! converted so that both sides compare field by field.
//!
//! - `autoscaling/v1` HorizontalPodAutoscaler read as `autoscaling/v2`:
//!   `targetCPUUtilizationPercentage: N` becomes a CPU `Utilization` resource metric.

use serde_json::{Value, json};

/// Rewrites `object` (a desired object) into the shape of `live_api_version`, when the
/// two versions differ and the conversion is known; otherwise leaves it alone.
pub fn align_to(object: &mut Value, live_api_version: &str) {
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or_default();
    let version = map
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if kind == "HorizontalPodAutoscaler"
        && version == "autoscaling/v1"
        && live_api_version == "autoscaling/v2"
    {
        if let Some(spec) = map.get_mut("spec").and_then(Value::as_object_mut)
            && let Some(target) = spec.remove("targetCPUUtilizationPercentage")
            && !target.is_null()
        {
            spec.insert(
                "metrics".to_owned(),
                json!([{"type": "Resource", "resource": {"name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": target}}}]),
            );
        }
        map.insert(
            "apiVersion".to_owned(),
            Value::String(live_api_version.to_owned()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hpa_v1_cpu_target_becomes_a_v2_metric() {
        let mut hpa = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "spec": {"maxReplicas": 5, "targetCPUUtilizationPercentage": 60}});
        align_to(&mut hpa, "autoscaling/v2");
        assert_eq!(
            hpa,
            json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "spec": {"maxReplicas": 5, "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 60}}}]}})
        );
    }

    #[test]
    fn same_or_unknown_versions_are_left_alone() {
        let hpa = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "spec": {"targetCPUUtilizationPercentage": 60}});
        let mut same = hpa.clone();
        align_to(&mut same, "autoscaling/v1");
        assert_eq!(same, hpa);
        let mut deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment"});
        align_to(&mut deployment, "apps/v2");
        assert_eq!(
            deployment,
            json!({"apiVersion": "apps/v1", "kind": "Deployment"})
        );
    }
}
