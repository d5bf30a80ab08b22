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
  kmock says "Object Not Found" and the like.

The resource types are kmock's bundled set, taken from a real cluster (core v1, apps/v1,
networking.k8s.io/v1, ...), so discovery answers like a real server. The seed file is JSON:

    {"resources": {"stable.example.com/v1/crontabs":
                       {"kind": "CronTab", "namespaced": true, "verbs": ["get", "list", "watch"]}},
     "objects": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {...}, "data": {...}}]}

``resources`` declares extra types (custom resources); ``objects`` are stored before the
server starts, each under the type its ``apiVersion`` and ``kind`` name.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import threading
import uuid
from collections.abc import AsyncIterator
from typing import Any

import attrs
import kmock
from kmock._internal import enums, rendering

PINNED_KMOCK = "0.8"

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


def _now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _revision_of(raw: dict[str, Any]) -> int:
    try:
        return int(raw.get("metadata", {}).get("resourceVersion", "0"))
    except (TypeError, ValueError):
        return 0


@attrs.define(kw_only=True)
class ApiServer(kmock.KubernetesEmulator):
    """kmock's emulator with resource versions and kube-apiserver's list, watch and errors."""

    _revision: int = attrs.field(default=0, init=False)

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
        for raw in document.get("objects", []):
            resource = self.resource_for(raw["apiVersion"], raw["kind"])
            metadata = raw.setdefault("metadata", {})
            metadata["resourceVersion"] = self.next_revision()
            metadata.setdefault("uid", str(uuid.uuid4()))
            metadata.setdefault("creationTimestamp", _now())
            self.objects[resource, metadata.get("namespace"), metadata["name"]] = raw

    async def _handle(self, request: rendering.Request) -> Any:
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
                reason=STATUS_REASONS.get(exc.status, exc.reason),
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
