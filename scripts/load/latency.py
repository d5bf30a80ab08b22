#!/usr/bin/env python3
"""Sequential request latency of GET endpoints: one client, one keep-alive connection.

Usage: latency.py PORT PATH... [--requests N] [--warmup W] [--budget SECONDS]
                               [--minimum M] [--json FILE]

For each PATH in turn: W requests to warm up (fewer when one takes longer than a
twentieth of the budget), then N timed requests, one after another, stopping early, once
M are done, when BUDGET seconds are spent (for stores that take seconds per request).
Every answer must be 200. Prints, per path: the requests timed, the answer's size, its
`count` and `total` when it has them, p50/p90/p99/max in ms, the load average (1 min)
before and after, and whether a compiler (rustc, cc1, ld) ran at any of the samples taken
(one per second; a busy second core moves the figures). With --json, also writes the
figures as a list of objects to FILE.
"""

import argparse
import json
import os
import sys
import time

from clusters import Http, percentile

COMPILERS = {"rustc", "cc1", "cc1plus", "ld", "ld.lld", "rust-lld", "cc", "clang", "gcc"}


def compilers_running():
    """How many compiler processes run now (read from /proc, touching none)."""
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() in COMPILERS:
                    count += 1
        except OSError:
            pass
    return count


def measure(client, path, requests, warmup, budget, minimum):
    for _ in range(warmup):
        began = time.monotonic()
        status, body = client.request("GET", path)
        if status != 200:
            sys.exit(f"GET {path}: HTTP {status}: {body[:300]!r}")
        if time.monotonic() - began > budget / 20:
            break
    load_before = os.getloadavg()[0]
    compilers = compilers_running()
    sampled = time.monotonic()
    latencies = []
    began = time.monotonic()
    while len(latencies) < requests:
        if len(latencies) >= minimum and time.monotonic() - began > budget:
            break
        t0 = time.perf_counter()
        status, body = client.request("GET", path)
        latencies.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            sys.exit(f"GET {path}: HTTP {status}: {body[:300]!r}")
        if time.monotonic() - sampled >= 1:
            compilers = max(compilers, compilers_running())
            sampled = time.monotonic()
    compilers = max(compilers, compilers_running())
    answer = json.loads(body)
    ordered = sorted(latencies)
    return {
        "path": path,
        "requests": len(latencies),
        "bytes": len(body),
        "count": answer.get("count") if isinstance(answer, dict) else None,
        "total": answer.get("total") if isinstance(answer, dict) else None,
        "p50": percentile(ordered, 0.50),
        "p90": percentile(ordered, 0.90),
        "p99": percentile(ordered, 0.99),
        "max": ordered[-1],
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "compilers": compilers,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port", type=int)
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--minimum", type=int, default=20)
    parser.add_argument("--json")
    options = parser.parse_args()
    client = Http(options.port, timeout=900)
    results = []
    print(f"    {'GET':<58} {'req':>4} {'bytes':>8} {'count':>5} {'total':>7} "
          f"{'p50':>8} {'p90':>8} {'p99':>8} {'max':>8}  load  compiler", flush=True)
    for path in options.paths:
        r = measure(client, path, options.requests, options.warmup, options.budget,
                    options.minimum)
        results.append(r)
        show = lambda v: "-" if v is None else str(v)
        print(f"    {r['path']:<58} {r['requests']:>4} {r['bytes']:>8} {show(r['count']):>5} "
              f"{show(r['total']):>7} {r['p50']:>8.2f} {r['p90']:>8.2f} {r['p99']:>8.2f} "
              f"{r['max']:>8.2f}  {r['load_before']:.1f}-{r['load_after']:.1f}  "
              f"{'busy' if r['compilers'] else 'idle'}", flush=True)
    if options.json:
        with open(options.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
