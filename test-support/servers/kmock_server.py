"""Runs kmock 0.8 (a Kubernetes API emulator) as a Kubernetes API server for DriftGuard's tests.

Usage: python kmock_server.py [--host 127.0.0.1] [--port 0] [--seed FILE]

The server listens on loopback and prints one line, ``listening on HOST:PORT``, once it
accepts connections (with ``--port 0`` the system picks a free port). It exits when its
standard input closes: the test process that started it holds the other end of that pipe,
so no server outlives the tests, even when the test process is killed.

kmock stores objects and answers lists, gets, watches, creates, patches and deletes, but a
few of its answers differ from a real API server in ways a Kubernetes client notices. This
wrapper closes those gaps:

- every create, patch and delete gets a fresh, increasing ``metadata.resourceVersion``
  (kmock assigns none, and watch clients need one on every event); created objects also
  get a ``uid`` and a ``creationTimestamp``;
- a list answers with the current resource version, a ``<Kind>List`` kind, and items
  without ``kind``/``apiVersion``, as kube-apiserver does for built-in types;
- a watch from a resource version replays only objects changed after it, then streams
  changes (kmock replays every object on every watch);
- errors carry the reasons kube-apiserver uses (``NotFound``, ``AlreadyExists``), where
  kmock says "Object Not Found" and the like;
- ``PUT`` replaces an object, as ``kubectl replace`` and kube-rs's ``Api::replace`` expect
  (kmock answers every PUT with 404); a stale ``metadata.resourceVersion`` is a ``409
  Conflict``;
- a CustomResourceDefinition, seeded or written through the API, serves its resource type
  (each served version) in discovery, lists and watches, as kube-apiserver does;
- OpenAPI v3, as kube-apiserver publishes it: ``GET /openapi/v3`` is the index, one entry
  per group version served, ``{"paths": {"apis/apps/v1": {"serverRelativeURL":
  "/openapi/v3/apis/apps/v1?hash=<HEX>"}, ...}}``; ``GET /openapi/v3/apis/GROUP/VERSION``
  (``/openapi/v3/api/v1`` for the core group) is that group version's document. The hash
  is kube-apiserver's: SHA-512 of the document's JSON, in upper-case hex, so it changes
  whenever the document does; a request with another hash is redirected (301) to the
  current one. A custom resource's schema is published as kube-apiserver publishes CRD
  schemas: the version's ``openAPIV3Schema`` under the definition
  ``<reversed group>.<version>.<Kind>`` (``com.example.stable.v1.CronTab``), with
  ``x-kubernetes-group-version-kind`` and the ``apiVersion``/``kind``/``metadata``
  properties added, next to its ``<Kind>List``; it follows every create, replace, patch
  and delete of the CRD. Built-in group versions serve a valid document with no schemas
  (DriftGuard has its own data for built-in types);
- ``GET /_kmock/requests`` lists the requests served so far, ``{"requests": [{"method",
  "path", "query"}, ...]}``, oldest first, so tests can count what a client downloaded.

The resource types are kmock's bundled set, taken from a real cluster (core v1, apps/v1,
networking.k8s.io/v1, ...), so discovery answers like a real server. The seed file is JSON:

    {"resources": {"stable.example.com/v1/crontabs":
                       {"kind": "CronTab", "namespaced": true, "verbs": ["get", "list", "watch"]}},
     "objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {...}, "data": {...}}]}

``resources`` declares extra types (custom resources); ``objects`` are stored before the
server starts, each under the type its ``apiVersion`` and ``kind`` name. A
CustomResourceDefinition among ``objects`` (``apiextensions.k8s.io/v1``) declares its type
itself, with its schema, and may come after the objects of that type.

``openapi`` (optional) gives OpenAPI v3 documents to serve as they are, by group version
path; it replaces what the server would derive for that group version (from CRDs, or the
empty built-in document); ``"openapi": false`` turns OpenAPI v3 off, so ``/openapi/v3``
answers 404 as on a server older than Kubernetes 1.24:

    {"openapi": {"apis/stable.example.com/v1": {"openapi": "3.0.0", "info": {...},
                                                "paths": {}, "components": {"schemas": {...}}}}}
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import datetime
import email.utils
import hashlib
import json
import os
import re
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp.web
import attrs
import kmock
from kmock._internal import enums, rendering

PINNED_KMOCK = "0.8"

# The version kmock's /version reports; built-in OpenAPI documents carry it, as kube-apiserver's do.
SERVER_VERSION = "v1.26.4+k3s1"

# CustomResourceDefinitions: where they are stored, and what a custom resource type allows.
CRD_KEY = ("apiextensions.k8s.io", "v1", "customresourcedefinitions")
CRD_API_VERSION = "apiextensions.k8s.io/v1"
CRD_KIND = "CustomResourceDefinition"
CUSTOM_RESOURCE_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
WRITE_METHODS = {enums.method.POST, enums.method.PUT, enums.method.PATCH, enums.method.DELETE}

# OpenAPI v3 paths: the index, and one group version's document (``api/v1``, ``apis/GROUP/VERSION``).
OPENAPI_INDEX = "/openapi/v3"
OPENAPI_DOCUMENT = re.compile(r"/openapi/v3/(api/[^/]+|apis/[^/]+/[^/]+)")
GROUP_VERSION_PATH = re.compile(r"api/[^/]+|apis/[^/]+/[^/]+")
REQUESTS_PATH = "/_kmock/requests"

# What kube-apiserver adds to every CRD schema it publishes (texts as in its documents).
OBJECT_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
LIST_META_REF = "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta"
CONVENTIONS = "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md"
API_VERSION_PROPERTY = {
    "description": "APIVersion defines the versioned schema of this representation of an object. Servers "
    "should convert recognized schemas to the latest internal value, and may reject unrecognized values. "
    f"More info: {CONVENTIONS}#resources",
    "type": "string",
}
KIND_PROPERTY = {
    "description": "Kind is a string value representing the REST resource this object represents. Servers "
    "may infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. "
    f"More info: {CONVENTIONS}#types-kinds",
    "type": "string",
}
METADATA_PROPERTY = {
    "allOf": [{"$ref": OBJECT_META_REF}],
    "description": f"Standard object's metadata. More info: {CONVENTIONS}#metadata",
}
LIST_METADATA_PROPERTY = {
    "allOf": [{"$ref": LIST_META_REF}],
    "default": {},
    "description": f"Standard list metadata. More info: {CONVENTIONS}#types-kinds",
}

# The metadata schemas a CRD document refers to: the fields and list semantics of kube-apiserver's,
# without its descriptions.
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string", "default": ""}}
META_SCHEMAS: dict[str, Any] = {
    "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta": {
        "description": "ObjectMeta is metadata that all persisted resources must have, which includes all "
        "objects users must create.",
        "type": "object",
        "properties": {
            "annotations": _STRING_MAP,
            "creationTimestamp": {"type": "string", "format": "date-time"},
            "deletionGracePeriodSeconds": {"type": "integer", "format": "int64"},
            "deletionTimestamp": {"type": "string", "format": "date-time"},
            "finalizers": {
                "type": "array",
                "items": {"type": "string", "default": ""},
                "x-kubernetes-list-type": "set",
                "x-kubernetes-patch-strategy": "merge",
            },
            "generateName": {"type": "string"},
            "generation": {"type": "integer", "format": "int64"},
            "labels": _STRING_MAP,
            "managedFields": {
                "type": "array",
                "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                "x-kubernetes-list-type": "atomic",
            },
            "name": {"type": "string"},
            "namespace": {"type": "string"},
            "ownerReferences": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["apiVersion", "kind", "name", "uid"],
                    "properties": {
                        "apiVersion": {"type": "string", "default": ""},
                        "blockOwnerDeletion": {"type": "boolean"},
                        "controller": {"type": "boolean"},
                        "kind": {"type": "string", "default": ""},
                        "name": {"type": "string", "default": ""},
                        "uid": {"type": "string", "default": ""},
                    },
                    "x-kubernetes-map-type": "atomic",
                },
                "x-kubernetes-list-map-keys": ["uid"],
                "x-kubernetes-list-type": "map",
                "x-kubernetes-patch-merge-key": "uid",
                "x-kubernetes-patch-strategy": "merge",
            },
            "resourceVersion": {"type": "string"},
            "selfLink": {"type": "string"},
            "uid": {"type": "string"},
        },
    },
    "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta": {
        "description": "ListMeta describes metadata that synthetic resources must have, including lists and "
        "various status objects.",
        "type": "object",
        "properties": {
            "continue": {"type": "string"},
            "remainingItemCount": {"type": "integer", "format": "int64"},
            "resourceVersion": {"type": "string"},
            "selfLink": {"type": "string"},
        },
    },
}

# kube-apiserver's reasons for the statuses kmock raises with its own wording.
STATUS_REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "AlreadyExists",
    410: "Gone",
    422: "Invalid",
}
# Reasons already in kube-apiserver's words, kept as raised.
KUBE_REASONS = set(STATUS_REASONS.values()) | {"Conflict"}


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _revision_of(raw: dict[str, Any]) -> int:
    try:
        return int(raw.get("metadata", {}).get("resourceVersion", "0"))
    except (TypeError, ValueError):
        return 0


def _key_of(resource: kmock.resource | None) -> tuple[Any, Any, Any] | None:
    return None if resource is None else (resource.group, resource.version, resource.plural)


def _group_version_path(group: str, version: str) -> str:
    """Where a group version's OpenAPI v3 document lives under /openapi/v3: ``api/v1``, ``apis/apps/v1``."""
    return f"api/{version}" if group == "" else f"apis/{group}/{version}"


def _crd_parts(crd: dict[str, Any]) -> tuple[str, dict[str, Any], list[dict[str, Any]]] | None:
    """A CRD's group, names and served versions; ``None`` when it lacks a group, kind or plural."""
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return None
    group, names = spec.get("group"), spec.get("names")
    if not isinstance(group, str) or not group or not isinstance(names, dict):
        return None
    if not isinstance(names.get("kind"), str) or not isinstance(names.get("plural"), str):
        return None
    versions = [
        version
        for version in spec.get("versions") or []
        if isinstance(version, dict) and isinstance(version.get("name"), str) and version.get("served", True)
    ]
    return group, names, versions


def crd_resource_types(crd: dict[str, Any]) -> dict[tuple[str, str, str], kmock.ResourceInfo]:
    """The resource type of each version a CRD serves, as discovery shows it."""
    parts = _crd_parts(crd)
    if parts is None:
        return {}
    group, names, versions = parts
    kind, plural = names["kind"], names["plural"]
    return {
        (group, version["name"], plural): kmock.ResourceInfo(
            kind=kind,
            namespaced=crd["spec"].get("scope", "Namespaced") == "Namespaced",
            singular=names.get("singular") or kind.lower(),
            verbs=CUSTOM_RESOURCE_VERBS,
            shortnames=names.get("shortNames") or [],
            categories=names.get("categories") or [],
            subresources=[name for name in version.get("subresources") or {} if name in ("status", "scale")],
        )
        for version in versions
    }


def crd_definitions(crd: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The OpenAPI v3 definitions a CRD adds to each group version it serves, by group version path.

    As kube-apiserver publishes them: the version's ``openAPIV3Schema`` as
    ``<reversed group>.<version>.<Kind>`` with ``x-kubernetes-group-version-kind`` and the
    ``apiVersion``, ``kind`` and ``metadata`` properties set, and ``<Kind>List`` beside it.
    """
    parts = _crd_parts(crd)
    if parts is None:
        return {}
    group, names, versions = parts
    kind, plural = names["kind"], names["plural"]
    list_kind = names.get("listKind") or f"{kind}List"
    reversed_group = ".".join(reversed(group.split(".")))
    documents: dict[str, dict[str, Any]] = {}
    for version in versions:
        name = version["name"]
        schema = (version.get("schema") or {}).get("openAPIV3Schema")
        schema = copy.deepcopy(schema) if isinstance(schema, dict) else {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": True,
        }
        properties = schema.setdefault("properties", {})
        properties["apiVersion"] = API_VERSION_PROPERTY
        properties["kind"] = KIND_PROPERTY
        properties["metadata"] = METADATA_PROPERTY
        schema["x-kubernetes-group-version-kind"] = [{"group": group, "kind": kind, "version": name}]
        object_name = f"{reversed_group}.{name}.{kind}"
        documents[_group_version_path(group, name)] = {
            object_name: schema,
            f"{reversed_group}.{name}.{list_kind}": {
                "description": f"{list_kind} is a list of {kind}",
                "type": "object",
                "required": ["items"],
                "properties": {
                    "apiVersion": API_VERSION_PROPERTY,
                    "items": {
                        "description": f"List of {plural}. More info: {CONVENTIONS}",
                        "type": "array",
                        "items": {"allOf": [{"$ref": f"#/components/schemas/{object_name}"}], "default": {}},
                    },
                    "kind": KIND_PROPERTY,
                    "metadata": LIST_METADATA_PROPERTY,
                },
                "x-kubernetes-group-version-kind": [{"group": group, "kind": list_kind, "version": name}],
            },
        }
    return documents


def openapi_document(schemas: dict[str, Any], *, title: str, version: str) -> dict[str, Any]:
    return {
        "openapi": "3.0.0",
        "info": {"title": title, "version": version},
        "paths": {},
        "components": {"schemas": schemas},
    }


def _encode(document: Any) -> tuple[bytes, str]:
    """The document's JSON as served, and its hash: SHA-512 in upper-case hex, as kube-apiserver's."""
    body = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    return body, hashlib.sha512(body).hexdigest().upper()


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator):
    """kmock's emulator with kube-apiserver's resource versions, list, watch, replace, errors, CRDs and OpenAPI v3."""

    _revision: int = attrs.field(default=0, init=False)
    # OpenAPI v3: on or off, and the documents the seed gives by group version path.
    _openapi_enabled: bool = attrs.field(default=True, init=False)
    _openapi_given: dict[str, Any] = attrs.field(factory=dict, init=False)
    # Resource types declared by the bundled set or the seed, and those that CRDs declare now.
    _declared_types: set[tuple[Any, Any, Any]] = attrs.field(factory=set, init=False)
    _crd_types: set[tuple[str, str, str]] = attrs.field(factory=set, init=False)

    def next_revision(self) -> str:
        self._revision += 1
        return str(self._revision)

    def api_version_of(self, resource: kmock.resource) -> str:
        return resource.version if resource.group == "" else f"{resource.group}/{resource.version}"

    def resource_for(self, api_version: str, kind: str) -> kmock.resource:
        for resource in self.resources:
            info = self.resources[resource]
            if info.kind == kind and self.api_version_of(resource) == api_version:
                return resource
        raise SystemExit(f"seed: no resource type serves {api_version} {kind}; declare it under 'resources'")

    def seed(self, document: dict[str, Any]) -> None:
        for name, info in document.get("resources", {}).items():
            self.resources[name] = kmock.ResourceInfo(
                kind=info["kind"],
                namespaced=info.get("namespaced", True),
                singular=info.get("singular", info["kind"].lower()),
                verbs=info.get("verbs", ["get", "list", "watch"]),
            )
        self._declared_types = {_key_of(resource) for resource in self.resources}
        objects = document.get("objects", [])
        # CRDs first: they declare the types of the objects after them.
        crds = [raw for raw in objects if raw.get("apiVersion") == CRD_API_VERSION and raw.get("kind") == CRD_KIND]
        for raw in crds:
            self._store_seeded(raw)
        self.sync_crd_types()
        for raw in objects:
            if not any(raw is crd for crd in crds):
                self._store_seeded(raw)

        openapi = document.get("openapi", {})
        if openapi is False:
            self._openapi_enabled = False
        elif isinstance(openapi, dict):
            for path, given in openapi.items():
                if not GROUP_VERSION_PATH.fullmatch(path) or not isinstance(given, dict):
                    raise SystemExit(f"seed: openapi: {path!r} must be 'api/VERSION' or 'apis/GROUP/VERSION', "
                                     "with a document (a JSON object)")
                self._openapi_given[path] = given
        else:
            raise SystemExit("seed: 'openapi' must be an object of documents by group version path, or false")

    def _store_seeded(self, raw: dict[str, Any]) -> None:
        resource = self.resource_for(raw["apiVersion"], raw["kind"])
        metadata = raw.setdefault("metadata", {})
        metadata["resourceVersion"] = self.next_revision()
        metadata.setdefault("uid", str(uuid.uuid4()))
        metadata.setdefault("creationTimestamp", _now())
        self.objects[resource, metadata.get("namespace"), metadata["name"]] = raw

    def _live_crds(self) -> list[dict[str, Any]]:
        crds = [
            obj.raw
            for (resource, _, _), obj in self.objects.items()
            if _key_of(resource) == CRD_KEY and not obj.deleted
        ]
        return sorted(crds, key=lambda crd: str(crd.get("metadata", {}).get("name")))

    def sync_crd_types(self) -> None:
        """Serves the types the stored CRDs declare, and stops serving those no CRD declares any more."""
        wanted: dict[tuple[str, str, str], kmock.ResourceInfo] = {}
        for crd in self._live_crds():
            wanted.update(crd_resource_types(crd))
        for key in self._crd_types - wanted.keys():
            if key not in self._declared_types and kmock.resource(*key) in self.resources:
                del self.resources[kmock.resource(*key)]
        for key, info in wanted.items():
            self.resources[kmock.resource(*key)] = info
        self._crd_types = set(wanted)

    def openapi_documents(self) -> dict[str, tuple[bytes, str]]:
        """Every group version's OpenAPI v3 document, encoded, with its hash, by group version path."""
        documents: dict[str, Any] = {}
        for resource in self._get_resources():
            if isinstance(resource.group, str) and isinstance(resource.version, str) and resource.version:
                path = _group_version_path(resource.group, resource.version)
                documents[path] = openapi_document({}, title="Kubernetes", version=SERVER_VERSION)
        custom: dict[str, dict[str, Any]] = {}
        for crd in self._live_crds():
            for path, definitions in crd_definitions(crd).items():
                custom.setdefault(path, dict(META_SCHEMAS)).update(definitions)
        for path, schemas in custom.items():
            documents[path] = openapi_document(schemas, title="Kubernetes CRD Swagger", version="v0.1.0")
        documents.update(self._openapi_given)
        return {path: _encode(document) for path, document in documents.items()}

    def _serve_extra(self, request: rendering.Request) -> aiohttp.web.StreamResponse | None:
        """The GETs kmock does not know: OpenAPI v3 and the request log; ``None`` for the others.

        These are answered here rather than through kmock's DSL (``kmock['get /path'] << fn``):
        a callback there can return a body but not its own status and headers per request.
        """
        path = request.url.path
        if path == REQUESTS_PATH:
            return aiohttp.web.json_response({
                "requests": [
                    {"method": str(seen.method.value), "path": seen.url.path, "query": seen.url.query_string}
                    for seen in self._requests
                ],
            })
        if path == OPENAPI_INDEX and self._openapi_enabled:
            return aiohttp.web.json_response({
                "paths": {
                    gv_path: {"serverRelativeURL": f"{OPENAPI_INDEX}/{gv_path}?hash={digest}"}
                    for gv_path, (_, digest) in sorted(self.openapi_documents().items())
                },
            })
        match = OPENAPI_DOCUMENT.fullmatch(path)
        if match is None or not self._openapi_enabled:
            return None
        gv_path = match.group(1)
        encoded = self.openapi_documents().get(gv_path)
        if encoded is None:
            raise kmock.KubernetesError(status=404, message=f"no OpenAPI v3 document for {gv_path}")
        body, digest = encoded
        headers = {"ETag": f'"{digest}"', "Vary": "Accept", "Cache-Control": "no-cache, private"}
        wanted = request.params.get("hash")
        if wanted and wanted != digest:
            # kube-apiserver sends a stale hash to the current one.
            location = f"{OPENAPI_INDEX}/{gv_path}?hash={digest}"
            return aiohttp.web.Response(
                status=301,
                headers={**headers, "Location": location},
                content_type="text/html",
                text=f'<a href="{location}">Moved Permanently</a>.\n\n',
            )
        if wanted:
            headers["Cache-Control"] = "public, immutable"
            headers["Expires"] = email.utils.formatdate(time.time() + 365 * 24 * 3600, usegmt=True)
        return aiohttp.web.Response(body=body, headers=headers, content_type="application/json")

    async def _replace(self, request: rendering.Request) -> aiohttp.web.StreamResponse:
        """PUT: the body replaces the stored object, keeping its uid and creation time."""
        assert request.resource is not None and request.name is not None
        body = request.data
        if not isinstance(body, dict) or not isinstance(body.setdefault("metadata", {}), dict):
            raise kmock.KubernetesError(status=400, message="the body of a PUT must be an object, with metadata")
        metadata = body["metadata"]
        if metadata.setdefault("name", request.name) != request.name:
            raise kmock.KubernetesError(
                status=400,
                message=f"the name of the object ({metadata['name']}) does not match the name on the URL "
                f"({request.name})",
            )
        key = (request.resource, request.namespace, request.name)
        async with self._lock:
            if key not in self.objects or self.objects[key].deleted:
                raise kmock.KubernetesError(status=404, message=f'{request.resource.plural} "{request.name}" not found')
            stored = self.objects[key].raw.get("metadata", {})
            sent = metadata.get("resourceVersion")
            if sent and sent != stored.get("resourceVersion"):
                raise kmock.KubernetesError(
                    status=409,
                    reason="Conflict",
                    message=f'Operation cannot be fulfilled on {request.resource.plural} "{request.name}": the object '
                    "has been modified; please apply your changes to the latest version and try again",
                )
            if request.namespace is not None:
                metadata["namespace"] = request.namespace
            for field in ("uid", "creationTimestamp"):
                if field in stored:
                    metadata[field] = stored[field]
            metadata["resourceVersion"] = self.next_revision()
            self.objects[key].create(body)  # a new version of the object, replacing the last one whole
            raw = self.objects[key].raw
            await self._buses[request.resource].put({"type": "MODIFIED", "object": raw})
        return aiohttp.web.json_response(raw)

    async def _handle(self, request: rendering.Request) -> Any:
        if request.method == enums.method.GET:
            extra = self._serve_extra(request)
            if extra is not None:
                return extra
        response = await self._handle_api(request)
        if _key_of(request.resource) == CRD_KEY and request.method in WRITE_METHODS:
            self.sync_crd_types()
        return response

    async def _handle_api(self, request: rendering.Request) -> Any:
        if request.resource is not None and request.method == enums.method.PUT and request.name is not None \
                and request.subresource is None:
            return await self._replace(request)
        if request.resource is not None:
            if request.action in (enums.action.CREATE, enums.action.UPDATE) and isinstance(request.data, dict):
                metadata = request.data.setdefault("metadata", {})
                if isinstance(metadata, dict):
                    metadata["resourceVersion"] = self.next_revision()
                    if request.action == enums.action.CREATE:
                        if request.namespace is not None:
                            metadata["namespace"] = request.namespace
                        metadata.setdefault("uid", str(uuid.uuid4()))
                        metadata.setdefault("creationTimestamp", _now())
            elif request.action == enums.action.DELETE and request.name is not None:
                # A deletion is a change too: its watch event carries a new resource version.
                key = (request.resource, request.namespace, request.name)
                async with self._lock:
                    if key in self.objects and not self.objects[key].deleted:
                        self.objects[key].patch({"metadata": {"resourceVersion": self.next_revision()}})
        return await super()._handle(request)

    async def _serve_list(self, request: rendering.Request) -> rendering.Payload:
        payload = await super()._serve_list(request)
        assert request.resource is not None
        info = self.resources[request.resource] if request.resource in self.resources else None
        kind = info.kind if info is not None and info.kind else "Object"
        return {
            "apiVersion": self.api_version_of(request.resource),
            "kind": f"{kind}List",
            "metadata": {"resourceVersion": str(self._revision)},
            "items": [
                {key: value for key, value in item.items() if key not in ("apiVersion", "kind")}
                for item in payload["items"]
            ],
        }

    def _selected(self, request: rendering.Request, resource: kmock.resource, namespace: str | None, name: str) -> bool:
        return (
            resource == request.resource
            and (request.namespace is None or namespace == request.namespace)
            and (request.name is None or name == request.name)
        )

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[rendering.Payload]:
        yield b""  # send the headers now: the client waits for them before reading events
        assert request.resource is not None
        since = int(request.params.get("resourceVersion") or 0)
        bus = self._buses[request.resource]
        # Creates, patches and deletes publish under this lock, so marking the bus and
        # reading the stored objects together loses no change and repeats none.
        async with self._lock:
            mark = await bus.mark()
            replay = [
                {"type": "ADDED", "object": obj.raw}
                for (resource, namespace, name), obj in self.objects.items()
                if self._selected(request, resource, namespace, name)
                and not obj.deleted
                and _revision_of(obj.raw) > since
            ]
        try:
            for event in replay:
                yield event
            async for event in bus.stream(since=mark):
                metadata = event.get("object", {}).get("metadata", {})
                if self._selected(request, request.resource, metadata.get("namespace"), metadata.get("name")):
                    yield event
        finally:
            await bus.unmark(mark)

    async def _render_error(self, exc: Exception) -> Any:
        if isinstance(exc, kmock.KubernetesError):
            exc = kmock.KubernetesError(
                status=exc.status,
                reason=exc.reason if exc.reason in KUBE_REASONS else STATUS_REASONS.get(exc.status, exc.reason),
                message=exc.message,
                details={},
            )
        return await super()._render_error(exc)


def _exit_when_stdin_closes() -> None:
    """Blocks until the parent closes our stdin (or dies), then ends the process at once."""
    try:
        while sys.stdin.buffer.read(4096):
            pass
    finally:
        os._exit(0)


async def serve(host: str, port: int, seed: dict[str, Any]) -> None:
    server = ApiServer()
    server.resources.load_bundled()
    server.seed(seed)
    async with server, kmock.Server(server, host=host, port=port) as listener:
        print(f"listening on {listener.host}:{listener.port}", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seed", help="JSON file with extra resource types and objects to store")
    options = parser.parse_args()

    if kmock.__version__.split(".")[:2] != PINNED_KMOCK.split("."):
        raise SystemExit(f"kmock {PINNED_KMOCK} is required, found {kmock.__version__}; run scripts/test.sh")

    seed: dict[str, Any] = {}
    if options.seed:
        with open(options.seed, encoding="utf-8") as file:
            seed = json.load(file)

    threading.Thread(target=_exit_when_stdin_closes, daemon=True).start()
    asyncio.run(serve(options.host, options.port, seed))


if __name__ == "__main__":
    main()
