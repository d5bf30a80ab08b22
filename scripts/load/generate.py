#!/usr/bin/env python3
"""Writes a desired folder and a live dump of N resources for load tests.

Usage: generate.py OUT_DIR [N] [DRIFT_EVERY]

OUT_DIR/desired/ holds the manifests (one YAML file per 50 resources), OUT_DIR/live/ the
objects as `kubectl get -o json` returns them (a List per 500 objects): server metadata,
status and defaults added. One resource in DRIFT_EVERY (default 100) drifted: a scaled
Deployment, a changed ConfigMap value, or a Service port.
"""

import json
import os
import sys


def desired(i):
    ns = f"team-{i % 40}"
    name = f"app-{i}"
    kind = i % 3
    if kind == 0:
        return {
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{
                                      "name": "app", "image": "registry.example.com/app:1.4.2",
                                      "ports": [{"containerPort": 8080}],
                                      "resources": {"requests": {"cpu": 0.25, "memory": "256Mi"}}}]}}},
        }
    if kind == 1:
        return {
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]},
        }
    return {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": {"LOG_LEVEL": "info", "FEATURES": "a,b,c"},
    }


def live(i, drifted):
    obj = json.loads(json.dumps(desired(i)))
    meta = obj["metadata"]
    meta.update({"uid": f"00000000-0000-4000-8000-{i:012d}", "resourceVersion": str(1000 + i),
                 "creationTimestamp": "2026-01-01T00:00:00Z"})
    if obj["kind"] == "Deployment":
        spec = obj["spec"]
        spec.update({"revisionHistoryLimit": 10, "progressDeadlineSeconds": 600,
                     "strategy": {"type": "RollingUpdate",
                                  "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}}})
        container = spec["template"]["spec"]["containers"][0]
        container.update({"imagePullPolicy": "IfNotPresent",
                          "terminationMessagePath": "/dev/termination-log",
                          "terminationMessagePolicy": "File"})
        container["ports"][0]["protocol"] = "TCP"
        container["resources"]["requests"]["cpu"] = "250m"
        spec["template"]["spec"].update({"restartPolicy": "Always", "dnsPolicy": "ClusterFirst"})
        obj["status"] = {"replicas": 2, "readyReplicas": 2}
        if drifted:
            spec["replicas"] = 4
    elif obj["kind"] == "Service":
        spec = obj["spec"]
        spec.update({"type": "ClusterIP", "clusterIP": f"10.96.{i // 250 % 250}.{i % 250}",
                     "sessionAffinity": "None"})
        spec["ports"][0]["protocol"] = "TCP"
        if drifted:
            spec["ports"][0]["port"] = 81
    elif drifted:
        obj["data"]["LOG_LEVEL"] = "debug"
    return obj


USAGE = "usage: generate.py OUT_DIR [N] [DRIFT_EVERY]"


def main():
    args = sys.argv[1:]
    # An option-like argument (`--help`, `-n`) is never an output folder: writing one
    # would create a folder named after it.
    if not args or len(args) > 3 or any(a.startswith("-") for a in args):
        sys.exit(USAGE)
    out = args[0]
    try:
        count = int(args[1]) if len(args) > 1 else 10000
        drift_every = int(args[2]) if len(args) > 2 else 100
    except ValueError:
        sys.exit(USAGE)
    if count < 1 or drift_every < 1:
        sys.exit(USAGE)
    os.makedirs(os.path.join(out, "desired"), exist_ok=True)
    os.makedirs(os.path.join(out, "live"), exist_ok=True)
    for start in range(0, count, 50):
        docs = [json.dumps(desired(i)) for i in range(start, min(start + 50, count))]
        # JSON is valid YAML: one document per object.
        with open(os.path.join(out, "desired", f"part-{start // 50:04d}.yaml"), "w") as f:
            f.write("\n---\n".join(docs) + "\n")
    for start in range(0, count, 500):
        items = [live(i, i % drift_every == 0) for i in range(start, min(start + 500, count))]
        with open(os.path.join(out, "live", f"dump-{start // 500:03d}.json"), "w") as f:
            json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f)


if __name__ == "__main__":
    main()
