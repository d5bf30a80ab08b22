"""`helm template` for DriftGuard's tests, on Helm v4's own template engine.

Debian ships no `helm` binary, so tests run this command in its place. It renders with
the Helm Go SDK that PyPI's helm-python-sdk carries as a shared library (`libhelm_c.so`),
offline, and takes DriftGuard's real arguments:

    helm template NAME CHART --namespace NS --include-crds [--values FILE]...
        [--set K=V]... [--set-string K=V]... [--set-json K=JSON]...
        [--kube-version vX.Y.Z] [--api-versions G/V]...

What the library does itself: loading the chart, parsing `--set`-style expressions and
YAML values, enabling or dropping subcharts, coalescing the chart's defaults, checking
values.schema.json, and the template engine with Capabilities (kube version, API
versions). What this command does around it, the way the `helm` CLI does (pkg/cli/values
MergeValues, pkg/cmd/template.go, pkg/action renderResources, pkg/release/v1/util
SortManifests in Helm v4.2.3): merging values files and --set flags in Helm's order,
leaving NOTES.txt and empty documents out, telling hooks from manifests, printing CRDs
first and hooks last, documents in Helm's kind install order, and Helm's error texts.

Output goes to stdout, warnings to stderr; a failure prints `Error: ...` on stderr and
exits 1. Known differences from the real binary: numbers given with --set reach
templates as float64 (the library takes values as JSON), as numbers from values files
do in Helm, so a large integer prints as 1e+06 where Helm prints 1000000; --set into an
existing list by index (`a[1]=x`) is emulated (see `_set_into`); without --namespace the
namespace is HELM_NAMESPACE or "default" (no kubeconfig is read); remote charts, values
files by URL, --generate-name, --output-dir and --post-renderer are not supported.
"""

from __future__ import annotations

import csv
import json
import os
import re
import sys
from typing import Any, NoReturn

import helm_python
from helm_python import _native

USAGE = """\
Usage:
  helm template NAME CHART [flags]
  helm version [--short]

Renders a local chart folder as `helm template` does, with Helm v4's engine
(helm-python-sdk), for DriftGuard's tests.

Flags of `helm template`:
  -n, --namespace string          namespace of the release (default "default")
  -f, --values strings            values file (repeatable, comma-separated), merged in order
      --set stringArray           set values (key1=val1,key2=val2)
      --set-string stringArray    set STRING values
      --set-json stringArray      set JSON values (key=json, or one JSON object)
      --set-file stringArray      set values from files (key=path)
      --set-literal stringArray   set one literal STRING value
      --include-crds              print the chart's CRDs first
      --kube-version string       Kubernetes version for Capabilities.KubeVersion
  -a, --api-versions strings      API versions for Capabilities.APIVersions (repeatable)
      --is-upgrade                set .Release.IsUpgrade instead of .Release.IsInstall
      --no-hooks                  leave hooks out
      --skip-tests                leave test hooks out
  -h, --help                      this help
"""

# Kinds in the order Helm installs them (pkg/release/v1/util/kind_sorter.go InstallOrder);
# `helm template` prints manifests in this order, unknown kinds last, by kind name.
INSTALL_ORDER = [
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
]
_KIND_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}

# Hook events Helm knows (pkg/release/v1/util/manifest_sorter.go); a document whose
# helm.sh/hook annotation names any other event is skipped altogether, as Helm does.
HOOK_EVENTS = {
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
}
TEST_EVENTS = {"test", "test-success"}

# Helm splits rendered files into documents with this expression (RE2's \s is
# [\t\n\f\r ], spelt out because Python's \s also matches other characters).
_DOCUMENT_SEPARATOR = re.compile(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*")

# Shown after errors that happen while rendering, as `helm template` does.
_DEBUG_HINT = "\n\nUse --debug flag to render out invalid YAML"


class Failure(Exception):
    """An error Helm would report as `Error: <message>` with exit code 1."""


class UsageError(Failure):
    """A command line Helm would refuse before doing anything; the usage text follows."""


def fail(message: str) -> NoReturn:
    raise Failure(message)


# --- command line ----------------------------------------------------------------------

# Flag kinds follow pflag: "string" keeps the last value, "slice" splits each value as
# CSV (StringSlice), "array" keeps each value whole (StringArray), "bool" takes no value.
TEMPLATE_FLAGS: dict[str, tuple[str, str]] = {
    "namespace": ("string", "namespace"),
    "values": ("slice", "values"),
    "set": ("array", "set"),
    "set-string": ("array", "set_string"),
    "set-json": ("array", "set_json"),
    "set-file": ("array", "set_file"),
    "set-literal": ("array", "set_literal"),
    "include-crds": ("bool", "include_crds"),
    "kube-version": ("string", "kube_version"),
    "api-versions": ("slice", "api_versions"),
    "is-upgrade": ("bool", "is_upgrade"),
    "no-hooks": ("bool", "no_hooks"),
    "skip-tests": ("bool", "skip_tests"),
    "help": ("bool", "help"),
}
SHORT_FLAGS = {"n": "namespace", "f": "values", "a": "api-versions", "h": "help"}


def _parse_bool(flag: str, text: str) -> bool:
    """pflag's strconv.ParseBool."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise UsageError(
        f'invalid argument "{text}" for "--{flag}" flag: '
        f'strconv.ParseBool: parsing "{text}": invalid syntax'
    )


def _read_csv(text: str) -> list[str]:
    """pflag's StringSlice: one value may hold several, comma-separated as CSV."""
    if text == "":
        return []
    return next(csv.reader([text]), [])


def parse_template_args(args: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Flags and positional arguments of `helm template`, parsed as cobra/pflag do
    (`--flag value`, `--flag=value`, `-n value`, `-nvalue`, flags among positionals,
    `--` ending the flags)."""
    options: dict[str, Any] = {
        "namespace": None,
        "values": [],
        "set": [],
        "set_string": [],
        "set_json": [],
        "set_file": [],
        "set_literal": [],
        "include_crds": False,
        "kube_version": "",
        "api_versions": [],
        "is_upgrade": False,
        "no_hooks": False,
        "skip_tests": False,
        "help": False,
    }
    positionals: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positionals.extend(args[i:])
            break
        if not arg.startswith("-") or arg == "-":
            positionals.append(arg)
            continue
        if arg.startswith("--"):
            name, has_value, value = arg[2:].partition("=")
            if name not in TEMPLATE_FLAGS:
                raise UsageError(f"unknown flag: --{name}")
            shown = f"--{name}"
        else:
            short = arg[1]
            if short not in SHORT_FLAGS:
                raise UsageError(f"unknown shorthand flag: '{short}' in {arg}")
            name = SHORT_FLAGS[short]
            rest = arg[2:]
            has_value = "=" if rest else ""
            value = rest[1:] if rest.startswith("=") else rest
            shown = f"'{short}' in -{short}"
        kind, key = TEMPLATE_FLAGS[name]
        if kind == "bool":
            options[key] = _parse_bool(name, value) if has_value else True
            continue
        if not has_value:
            if i >= len(args):
                raise UsageError(f"flag needs an argument: {shown}")
            value = args[i]
            i += 1
        if kind == "string":
            options[key] = value
        elif kind == "slice":
            options[key].extend(_read_csv(value))
        else:
            options[key].append(value)
    return options, positionals


# --- values ----------------------------------------------------------------------------


def merge_maps(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Helm's loader.MergeMaps: maps merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in override.items():
        current = out.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            out[key] = merge_maps(current, value)
        else:
            out[key] = value
    return out


# An expression that sets a list element by index, as in `a[1]=x` or `a[0].b=y`.
_INDEXED = re.compile(r"\[[^\]=,]*\]")


def _set_into(base: dict[str, Any], parsed: dict[str, Any], indexed: bool) -> None:
    """Applies one parsed --set expression to `base` the way strvals.ParseInto writes
    into the existing map: maps are entered key by key; a list set whole (`a={x,y}`) is
    replaced; a list set by index (`a[1]=x`) keeps the existing elements it does not
    touch. The library parses each expression into an empty map, where untouched
    elements are null, so with an index in the expression a null element keeps the
    existing one (an explicit `a[1]=null` therefore does not clear it, unlike Helm)."""
    for key, value in parsed.items():
        current = base.get(key)
        if isinstance(value, dict) and isinstance(current, dict):
            merged = dict(current)
            _set_into(merged, value, indexed)
            base[key] = merged
        elif indexed and isinstance(value, list) and isinstance(current, list):
            merged_list = list(current) + [None] * (len(value) - len(current))
            for index, item in enumerate(value):
                if item is None:
                    continue
                existing = merged_list[index]
                if isinstance(item, dict) and isinstance(existing, dict):
                    element = dict(existing)
                    _set_into(element, item, indexed)
                    merged_list[index] = element
                else:
                    merged_list[index] = item
            base[key] = merged_list
        else:
            base[key] = value


def _os_error(path: str, error: OSError) -> str:
    """Go's wording for a file that cannot be read (os.ReadFile)."""
    if isinstance(error, FileNotFoundError):
        return f"open {path}: no such file or directory"
    if isinstance(error, PermissionError):
        return f"open {path}: permission denied"
    if isinstance(error, IsADirectoryError):
        return f"read {path}: is a directory"
    reason = (error.strerror or str(error)).lower()
    return f"open {path}: {reason}"


def _yaml_documents(text: str) -> list[str]:
    """Splits a values file into YAML documents as Kubernetes' YAMLReader does (which
    Helm's loader.LoadValues uses): a line starting with `---` ends a document, and only
    spaces or a comment may follow the dashes."""
    lines = text.split("\n")
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    documents: list[str] = []
    buffer = ""
    for line in lines:
        if line.startswith("---"):
            trailing = line[3:].strip()
            if trailing and not trailing.startswith("#"):
                raise ValueError(
                    f"error reading yaml document: invalid Yaml document separator: {trailing}"
                )
            if buffer:
                documents.append(buffer)
                buffer = ""
                continue
        buffer += line
    if buffer:
        documents.append(buffer)
    return documents


def read_values_file(path: str) -> dict[str, Any]:
    """One --values file: every YAML document in it, merged in order (LoadValues)."""
    try:
        if path.strip() == "-":
            data = sys.stdin.buffer.read()
        else:
            with open(path, "rb") as file:
                data = file.read()
    except OSError as error:
        fail(_os_error(path, error))
    text = data.decode("utf-8", errors="replace")
    values: dict[str, Any] = {}
    try:
        for document in _yaml_documents(text):
            try:
                current = helm_python.values_from_yaml(document)
            except helm_python.HelmError as error:
                raise ValueError(f"cannot unmarshal yaml document: {error}") from error
            values = merge_maps(values, current)
    except ValueError as error:
        fail(f"failed to parse {path}: {error}")
    return values


def merge_values(options: dict[str, Any]) -> dict[str, Any]:
    """The user's values, in the order of Helm's pkg/cli/values MergeValues: values files,
    then --set-json, --set, --set-string, --set-file, --set-literal, each in order."""
    base: dict[str, Any] = {}
    for path in options["values"]:
        base = merge_maps(base, read_values_file(path))

    for expression in options["set_json"]:
        trimmed = expression.strip()
        if trimmed.startswith("{"):
            try:
                document = json.loads(trimmed)
            except ValueError:
                document = None
            if not isinstance(document, dict):
                fail(f"failed parsing --set-json data JSON: {expression}")
            base = merge_maps(base, document)
        else:
            try:
                parsed = helm_python.parse_set_json(expression)
            except helm_python.HelmError:
                fail(f"failed parsing --set-json data {expression}")
            _set_into(base, parsed, bool(_INDEXED.search(expression)))

    parsers = [
        ("set", "--set", helm_python.parse_set_string),
        ("set_string", "--set-string", helm_python.parse_set_string_values),
        ("set_file", "--set-file", helm_python.parse_set_file),
        ("set_literal", "--set-literal", helm_python.parse_set_literal),
    ]
    for key, flag, parse in parsers:
        for expression in options[key]:
            try:
                parsed = parse(expression)
            except helm_python.HelmError as error:
                fail(f"failed parsing {flag} data: {error}")
            _set_into(base, parsed, key != "set_literal" and bool(_INDEXED.search(expression)))
    return base


# --- rendering -------------------------------------------------------------------------


def split_manifests(text: str) -> list[str]:
    """The documents of one rendered file, as Helm v4's releaseutil.SplitManifests cuts
    them: leading whitespace dropped, trailing whitespace of the last one kept."""
    documents = []
    for document in _DOCUMENT_SEPARATOR.split(text.lstrip()):
        if document.strip() == "":
            continue
        documents.append(document.lstrip())
    return documents


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "string"


def _head_error(field: str, value: Any, go_type: str) -> ValueError:
    return ValueError(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
        f"{_json_type(value)} into Go struct field SimpleHead.{field} of type {go_type}"
    )


def document_head(document: str) -> tuple[str, dict[str, str] | None]:
    """Kind and annotations of a rendered document, read as Helm's SimpleHead is: a
    document that is not YAML, or whose kind, apiVersion, name or annotations have the
    wrong type, is an error."""
    try:
        head = helm_python.values_from_yaml(document)
    except helm_python.HelmError as error:
        raise ValueError(str(error)) from error
    for field in ("apiVersion", "kind"):
        if head.get(field) is not None and not isinstance(head[field], str):
            raise _head_error(field, head[field], "string")
    metadata = head.get("metadata")
    annotations: dict[str, str] | None = None
    if metadata is not None:
        if not isinstance(metadata, dict):
            raise _head_error("metadata", metadata, "struct")
        name = metadata.get("name")
        if name is not None and not isinstance(name, str):
            raise _head_error("metadata.name", name, "string")
        raw = metadata.get("annotations")
        if raw is not None:
            if not isinstance(raw, dict):
                raise _head_error("metadata.annotations", raw, "map[string]string")
            annotations = {}
            for key, value in raw.items():
                if value is not None and not isinstance(value, str):
                    raise _head_error("metadata.annotations", value, "string")
                annotations[key] = value or ""
    return head.get("kind") or "", annotations


def _kind_key(kind: str) -> tuple[int, int, str]:
    """Helm's lessByKind as a sort key: known kinds by install order, then unknown kinds
    by name; Python's sort is stable, like Go's sort.SliceStable."""
    rank = _KIND_RANK.get(kind)
    return (0, rank, "") if rank is not None else (1, 0, kind)


def sort_manifests(
    files: dict[str, str],
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str, bool]]]:
    """Helm's SortManifests: files by path, documents in file order, split into plain
    manifests (path, kind, text) and hooks (path, kind, text, is a test hook), each list
    then sorted by kind. Partials and empty files are skipped."""
    manifests: list[tuple[str, str, str]] = []
    hooks: list[tuple[str, str, str, bool]] = []
    for path in sorted(files):
        content = files[path]
        if os.path.basename(path).startswith("_") or content.strip() == "":
            continue
        for document in split_manifests(content):
            try:
                kind, annotations = document_head(document)
            except ValueError as error:
                raise Failure(f"YAML parse error on {path}: {error}{_DEBUG_HINT}") from error
            if not annotations or "helm.sh/hook" not in annotations:
                manifests.append((path, kind, document))
                continue
            events = [event.strip().lower() for event in annotations["helm.sh/hook"].split(",")]
            if any(event not in HOOK_EVENTS for event in events):
                continue
            hooks.append((path, kind, document, any(event in TEST_EVENTS for event in events)))
    manifests.sort(key=lambda manifest: _kind_key(manifest[1]))
    hooks.sort(key=lambda hook: _kind_key(hook[1]))
    return manifests, hooks


def _check_kube_version_constraint(
    chart_dir: str, values: dict[str, Any], options: dict[str, Any], name: str, namespace: str
) -> None:
    """Chart.yaml's kubeVersion constraint against the kube version in use. The render
    call does not check it; Helm's install action in client-only dry-run mode (what
    `helm template` runs) does, so it is asked, on a chart loaded apart since the action
    prunes disabled subcharts from the chart it is given."""
    install_options: dict[str, Any] = {"namespace": namespace, "dry_run": "client"}
    if options["kube_version"]:
        install_options["kube_version"] = options["kube_version"]
    if options["api_versions"]:
        install_options["api_versions"] = options["api_versions"]
    config = helm_python.Config(
        storage_driver="memory",
        kubeconfig_content="apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n",
    )
    try:
        with helm_python.Chart.load(chart_dir) as chart:
            _native.call_string(
                "helm_install",
                config._raw(),
                _native.HANDLE(0),
                chart._raw(),
                None,
                name,
                json.dumps(values),
                json.dumps(install_options),
            )
    except helm_python.HelmError as error:
        # Every other failure shows again, in Helm's words, when the chart is rendered.
        message = str(error)
        if message.startswith("chart requires kubeVersion"):
            fail(message + _DEBUG_HINT)
    finally:
        config.close()


def template(args: list[str]) -> int:
    options, positionals = parse_template_args(args)
    if options["help"]:
        sys.stdout.write(USAGE)
        return 0
    if not positionals:
        raise UsageError('"helm template" requires at least 1 argument')
    if len(positionals) == 1:
        fail("must either provide a name or specify --generate-name")
    if len(positionals) > 2:
        fail(f"expected at most two arguments, unexpected arguments: {', '.join(positionals[2:])}")
    name, chart_dir = positionals
    namespace = options["namespace"] or os.environ.get("HELM_NAMESPACE") or "default"

    if not os.path.exists(chart_dir):
        fail(f'path "{chart_dir}" not found')
    values = merge_values(options)

    try:
        chart = helm_python.Chart.load(chart_dir)
    except helm_python.HelmError as error:
        fail(str(error))
    with chart:
        metadata = chart.metadata
        if metadata.get("type") == "library":
            fail("library charts are not installable")
        if metadata.get("deprecated"):
            sys.stderr.write("WARNING: This chart is deprecated\n")
        required = [dependency.get("name", "") for dependency in metadata.get("dependencies") or []]
        present = {dependency.get("name") for dependency in chart.dependencies}
        missing = [dependency for dependency in required if dependency not in present]
        if missing:
            fail(
                "An error occurred while checking for chart dependencies. You may need to run "
                "`helm dependency build` to fetch missing dependencies: found in Chart.yaml, "
                f"but missing in charts/ directory: {', '.join(missing)}"
            )
        try:
            helm_python.validate_release_name(name)
        except helm_python.HelmError as error:
            fail(f'release name "{name}": {error}')
        if metadata.get("kubeVersion"):
            _check_kube_version_constraint(chart_dir, values, options, name, namespace)

        render_options: dict[str, Any] = {
            "name": name,
            "namespace": namespace,
            "revision": 1,
            "is_install": not options["is_upgrade"],
            "is_upgrade": options["is_upgrade"],
        }
        if options["kube_version"]:
            render_options["kube_version"] = options["kube_version"]
        if options["api_versions"]:
            render_options["api_versions"] = options["api_versions"]
        try:
            files: dict[str, str] = json.loads(
                _native.call_string(
                    "helm_render", chart._raw(), json.dumps(values), json.dumps(render_options)
                )
            )
        except helm_python.HelmInvalidArgError as error:
            if options["kube_version"]:
                fail(f"invalid kube version '{options['kube_version']}': {error}")
            fail(str(error))
        except helm_python.HelmRenderError as error:
            fail(f"{error}{_DEBUG_HINT}")
        except helm_python.HelmError as error:
            fail(str(error))
        # Read after rendering: the render drops disabled subcharts, and their CRDs with them.
        crds = chart.crds if options["include_crds"] else []

    # NOTES.txt (the chart's and its subcharts') is text for the user, not a manifest.
    files = {path: text for path, text in files.items() if not path.endswith("NOTES.txt")}
    manifests, hooks = sort_manifests(files)

    manifest = "".join(f"---\n# Source: {crd['filename']}\n{crd['data']}\n" for crd in crds)
    manifest += "".join(f"---\n# Source: {path}\n{text}\n" for path, _, text in manifests)
    out = manifest.strip() + "\n"
    if not options["no_hooks"]:
        for path, _, text, is_test in hooks:
            if options["skip_tests"] and is_test:
                continue
            out += f"---\n# Source: {path}\n{text}\n"
    sys.stdout.buffer.write(out.encode("utf-8"))
    sys.stdout.buffer.flush()
    return 0


def version(args: list[str]) -> int:
    """`helm version [--short] [-c]`: the Helm SDK version the library was built from."""
    sdk = helm_python.helm_sdk_version()
    for arg in args:
        if arg not in ("--short", "-c", "--client", "--short=true", "-c=true"):
            raise UsageError(f"unknown flag: {arg}")
    if "--short" in args or "--short=true" in args:
        sys.stdout.write(f"{sdk}\n")
    else:
        sys.stdout.write(
            f'version.BuildInfo{{Version:"{sdk}", GitCommit:"", GitTreeState:"", GoVersion:""}}\n'
        )
    return 0


def main(argv: list[str]) -> int:
    try:
        if not argv or argv[0] in ("-h", "--help", "help"):
            (sys.stdout if argv else sys.stderr).write(USAGE)
            return 0 if argv else 1
        command, rest = argv[0], argv[1:]
        if command == "template":
            return template(rest)
        if command == "version":
            return version(rest)
        raise UsageError(f'unknown command "{command}" for "helm"')
    except UsageError as error:
        sys.stderr.write(f"Error: {error}\n\n{USAGE}")
        return 1
    except Failure as error:
        sys.stderr.write(f"Error: {error}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
