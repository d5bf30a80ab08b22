#!/usr/bin/env python3
"""Many clusters on one MongoDB: agents (one `driftguard serve` per cluster, detection on)
writing into one nx-27017 server, and a hub (detection off) serving them all. Run by
scripts/load/clusters.sh, which builds the binary and cleans up; see that script for what
is measured.

Usage: clusters.py --driftguard BIN --python PY --nx-server SCRIPT --generate GENERATE_PY
                   --work DIR [--max-clusters 20] [--resources 5000] [--requests 300]
                   [--budget 60] [--edits 3] [--interval 30s]

Steps: 1, 5, 10 and 20 clusters (those up to --max-clusters, and --max-clusters itself).
Each step starts the agents it adds one after another, each waiting for the first
analysis of the one before, so that the figures of a first analysis are not those of
several sharing the two cores. Every process started is written to DIR/pids (one id a
line) so that the calling script can end them should this one die.
"""

import argparse
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time

STEPS = [1, 5, 10, 20]
DRIFT_EVERY = 100  # generate.py: one resource in a hundred drifted
DATABASE = "load"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log(message):
    print(message, flush=True)


class Processes:
    """The processes this run started, ended (by their id) on exit."""

    def __init__(self, work):
        self.pids_file = os.path.join(work, "pids")
        self.procs = []

    def start(self, argv, log_path, **kwargs):
        out = open(log_path, "ab")
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, **kwargs)
        out.close()
        self.procs.append(proc)
        with open(self.pids_file, "a") as f:
            f.write(f"{proc.pid}\n")
        return proc

    def stop_all(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                if proc.stdin:
                    try:
                        proc.stdin.close()
                    except OSError:
                        pass
                proc.terminate()
        deadline = time.monotonic() + 10
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Http:
    """One keep-alive connection to 127.0.0.1:PORT."""

    def __init__(self, port, timeout=600):
        self.port = port
        self.timeout = timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def request(self, method, path):
        try:
            self.connection.request(method, path)
            response = self.connection.getresponse()
            return response.status, response.read()
        except (ConnectionError, http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection(
                "127.0.0.1", self.port, timeout=self.timeout
            )
            raise

    def get_json(self, path):
        status, body = self.request("GET", path)
        if status != 200:
            sys.exit(f"GET :{self.port}{path}: HTTP {status}: {body[:300]!r}")
        return json.loads(body)


def try_json(port, path):
    """GET without keep-alive, None when the process does not answer (yet)."""
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        body = response.read()
        connection.close()
        return json.loads(body) if body else None
    except (OSError, http.client.HTTPException, ValueError):
        return None


def full_analyses(port):
    """(count, seconds) of the successful full analyses of the process on PORT, from
    driftguard_sync_duration_seconds."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/metrics")
    text = connection.getresponse().read().decode()
    connection.close()
    found = {"count": 0, "sum": 0.0}
    for line in text.splitlines():
        m = re.match(r"driftguard_sync_duration_seconds_(count|sum)\{([^}]*)\} (\S+)$", line)
        if m and 'mode="full"' in m.group(2) and 'outcome="success"' in m.group(2):
            found[m.group(1)] += float(m.group(3))
    return int(found["count"]), found["sum"]


def memory(pid):
    """(VmHWM, VmRSS) in MB."""
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0]) / 1024
    return values["VmHWM"], values["VmRSS"]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def median(values):
    return statistics.median(values) if values else float("nan")


class Agent:
    def __init__(self, index, work):
        self.index = index
        self.name = f"c{index}"
        self.dir = os.path.join(work, self.name)
        self.port = free_port()
        self.proc = None
        self.first_analysis = None  # seconds, from the metrics
        self.ready_after = None  # seconds from start to /ready ready
        self.hwm = self.rss = None  # MB after the first analysis


def write_agent_config(agent, mongo_port, interval):
    path = os.path.join(agent.dir, "config.yaml")
    with open(path, "w") as f:
        f.write(f"""server:
  host: 127.0.0.1
  port: {agent.port}
  analyze_rate_limit:
    per_minute: 0
logging:
  level: warn
cluster:
  name: {agent.name}
database:
  type: mongodb
  uri: "mongodb://127.0.0.1:{mongo_port}"
  name: {DATABASE}
  connect_timeout: 2m
sources:
  desired: folder
  folder: {agent.dir}/data/desired
  live: dump
  dump: {agent.dir}/data/live
detection:
  interval: {interval}
  periodic: false
  watch: false
  fingerprint_key: load test
""")
    return path


def write_hub_config(work, port, mongo_port):
    path = os.path.join(work, "hub.yaml")
    # nx-27017 computes statistics in Python over every record: past about 50,000 records
    # one takes longer than the default server.write_timeout (30 s), which would answer 503.
    # It also answers one command at a time: while it computes them, the driver's server
    # monitor waits for its `hello` too, and gives up after database.connect_timeout (10 s
    # by default), failing the request. Hence 2m there (agents and hub alike).
    with open(path, "w") as f:
        f.write(f"""server:
  host: 127.0.0.1
  port: {port}
  write_timeout: 10m
logging:
  level: warn
database:
  type: mongodb
  uri: "mongodb://127.0.0.1:{mongo_port}"
  name: {DATABASE}
  connect_timeout: 2m
detection:
  enabled: false
""")
    return path


def validate(driftguard, config):
    result = subprocess.run([driftguard, "config", "validate", "--config", config],
                            capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"invalid configuration {config}:\n{result.stdout}{result.stderr}")


def wait_ready(proc, port, log_path, timeout=900):
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if proc.poll() is not None:
            with open(log_path, errors="replace") as f:
                sys.stderr.write(f.read()[-4000:])
            sys.exit(f"process on port {port} exited with {proc.returncode}")
        body = try_json(port, "/ready")
        if body and body.get("status") == "ready":
            return time.monotonic() - began
        time.sleep(0.05)
    sys.exit(f"process on port {port} not ready after {timeout} s")


def wait_port(port, proc, timeout=60):
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if proc.poll() is not None:
            sys.exit(f"nx-27017 exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit("nx-27017 does not listen")


def time_requests(client, paths, requests, budget, minimum=5, check=None):
    """Latencies in ms of up to REQUESTS sequential GETs cycling through PATHS, after 10
    to warm up; stops early, past MINIMUM requests, once BUDGET seconds are spent."""
    for i in range(min(10, requests)):
        began = time.monotonic()
        client.get_json(paths[i % len(paths)])
        if time.monotonic() - began > budget / 20:  # a slow request: warm up with one
            break
    latencies = []
    began = time.monotonic()
    while len(latencies) < requests:
        if len(latencies) >= minimum and time.monotonic() - began > budget:
            break
        path = paths[len(latencies) % len(paths)]
        t0 = time.perf_counter()
        status, body = client.request("GET", path)
        latencies.append((time.perf_counter() - t0) * 1000)
        if status != 200:
            sys.exit(f"GET {path}: HTTP {status}: {body[:300]!r}")
        if check:
            check(path, json.loads(body))
    return latencies


def drift_in(agent, serial):
    """Rewrites one in-sync ConfigMap of AGENT's dump so that it drifts; its resource id."""
    i = 2 + 3 * serial  # i % 3 == 2: a ConfigMap in generate.py
    while i % DRIFT_EVERY == 0:
        i += 3
    path = os.path.join(agent.dir, "data", "live", f"dump-{i // 500:03d}.json")
    with open(path) as f:
        dump = json.load(f)
    for item in dump["items"]:
        if item["metadata"]["name"] == f"app-{i}":
            item["data"]["LOG_LEVEL"] = f"edit-{serial}"
            break
    else:
        sys.exit(f"app-{i} not in {path}")
    with open(path + ".tmp", "w") as f:
        json.dump(dump, f)
    os.replace(path + ".tmp", path)
    return f"ConfigMap:team-{i % 40}:app-{i}"


def edit_latency(agent, hub, serial):
    """Edits AGENT's dump, triggers an analysis, and polls the hub every 5 ms until the
    record is active there: (ms to the hub, seconds of that analysis in the agent)."""
    resource_id = drift_in(agent, serial)
    count, seconds = full_analyses(agent.port)
    client = Http(agent.port)
    path = f"/api/v1/drift-records/{resource_id}?cluster={agent.name}"
    began = time.perf_counter()
    status, body = client.request("POST", "/api/v1/analyze")
    if status != 202:
        sys.exit(f"POST /api/v1/analyze to {agent.name}: HTTP {status}: {body[:300]!r}")
    while True:
        status, body = hub.request("GET", path)
        if status == 200 and json.loads(body).get("drift_status") == "active":
            latency = (time.perf_counter() - began) * 1000
            break
        if status not in (200, 404):
            sys.exit(f"GET {path}: HTTP {status}: {body[:300]!r}")
        if time.perf_counter() - began > 600:
            sys.exit(f"{resource_id} in {agent.name} not active at the hub after 600 s")
        time.sleep(0.005)
    while True:  # the analysis ends after the record is written (events, status)
        after, total = full_analyses(agent.port)
        if after > count:
            return latency, (total - seconds) / (after - count)
        time.sleep(0.02)


def all_at_once(agents):
    """Triggers a full analysis in every agent at once: seconds until the last ended,
    and the median analysis duration as each agent measured it."""
    before = {a.name: full_analyses(a.port) for a in agents}
    began = time.monotonic()
    for agent in agents:
        status, body = Http(agent.port).request("POST", "/api/v1/analyze")
        if status != 202:
            sys.exit(f"POST /api/v1/analyze to {agent.name}: HTTP {status}")
    durations = {}
    while len(durations) < len(agents):
        for agent in agents:
            if agent.name in durations:
                continue
            count, seconds = full_analyses(agent.port)
            if count > before[agent.name][0]:
                durations[agent.name] = (seconds - before[agent.name][1]) / (
                    count - before[agent.name][0])
        if time.monotonic() - began > 1800:
            sys.exit("agents did not finish their analyses within 30 minutes")
        time.sleep(0.1)
    return time.monotonic() - began, median(list(durations.values()))


def store_figures(nx_dir):
    """Documents and bytes of the nx-27017 database file (SQLite), by table and index."""
    path = os.path.join(nx_dir, f"{DATABASE}.db")
    files = sum(os.path.getsize(p) for p in (path, path + "-wal") if os.path.exists(p))
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
    figures = {"file_bytes": files, "tables": {}, "indexes": {}}
    for table in ("drift_records", "drift_events", "cluster_status", "application_status"):
        count, size = db.execute(
            f"SELECT COUNT(*), COALESCE(AVG(LENGTH(data)), 0) FROM {table}").fetchone()
        figures[table] = (count, size)
    try:
        for name, size in db.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name"):
            kind = "indexes" if name.startswith(("idx_", "sqlite_autoindex")) else "tables"
            figures[kind][name] = size
    except sqlite3.OperationalError:  # a SQLite built without dbstat
        pass
    db.close()
    return figures


def mb(value):
    return value / 1_000_000


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--driftguard", required=True)
    parser.add_argument("--python", required=True, help="the Python that has nx-27017")
    parser.add_argument("--nx-server", required=True)
    parser.add_argument("--generate", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--max-clusters", type=int, default=20)
    parser.add_argument("--resources", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--budget", type=float, default=60,
                        help="seconds each endpoint gets per step once 5 requests are done")
    parser.add_argument("--edits", type=int, default=3)
    parser.add_argument("--interval", default="30s",
                        help="agents' detection.interval (status heartbeat; periodic off)")
    options = parser.parse_args()
    if options.max_clusters < 1 or options.resources < 1:
        sys.exit("--max-clusters and --resources must be at least 1")
    steps = sorted({s for s in STEPS if s <= options.max_clusters} | {options.max_clusters})

    work = options.work
    processes = Processes(work)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        run(options, steps, work, processes)
    finally:
        processes.stop_all()


def run(options, steps, work, processes):
    driftguard = options.driftguard
    began_all = time.monotonic()
    agents = [Agent(k, work) for k in range(1, options.max_clusters + 1)]
    log(f"==> generating {options.max_clusters} clusters x {options.resources} resources "
        f"(1 in {DRIFT_EVERY} drifted)")
    t0 = time.monotonic()
    for agent in agents:
        subprocess.run([sys.executable, options.generate, os.path.join(agent.dir, "data"),
                        str(options.resources), str(DRIFT_EVERY)], check=True)
    log(f"    {time.monotonic() - t0:.1f} s")

    mongo_port = free_port()
    nx_dir = os.path.join(work, "nx")
    nx = processes.start([options.python, options.nx_server, "--port", str(mongo_port),
                          "--data-dir", nx_dir], os.path.join(work, "nx.log"),
                         stdin=subprocess.PIPE)
    wait_port(mongo_port, nx)
    log(f"==> nx-27017 on 127.0.0.1:{mongo_port}")

    env = dict(os.environ, MIMALLOC_PURGE_DELAY="0")
    hub = None
    hub_port = free_port()
    hub_proc = None
    rows = []
    started = 0
    serial = 0
    for step in steps:
        load = " / ".join(f"{v:.1f}" for v in os.getloadavg())
        log(f"==> {step} cluster(s): starting agents c{started + 1}..c{step}, one after "
            f"another (load average {load})")
        for agent in agents[started:step]:
            config = write_agent_config(agent, mongo_port, options.interval)
            if agent.index == 1:
                validate(driftguard, config)
            log_path = os.path.join(agent.dir, "driftguard.log")
            agent.proc = processes.start([driftguard, "serve", "--config", config], log_path,
                                         env=env, stdin=subprocess.DEVNULL)
            agent.ready_after = wait_ready(agent.proc, agent.port, log_path)
            count, seconds = full_analyses(agent.port)
            while count < 1:  # ready is published before the analysis's duration
                time.sleep(0.02)
                count, seconds = full_analyses(agent.port)
            agent.first_analysis = seconds / max(count, 1)
            agent.hwm, agent.rss = memory(agent.proc.pid)
            log(f"    {agent.name}: ready after {agent.ready_after:.2f} s, first analysis "
                f"{agent.first_analysis:.2f} s, VmHWM {agent.hwm:.1f} MB, "
                f"VmRSS {agent.rss:.1f} MB")
        started = step
        live = agents[:step]

        if hub_proc is None:
            config = write_hub_config(work, hub_port, mongo_port)
            validate(driftguard, config)
            log_path = os.path.join(work, "hub.log")
            hub_proc = processes.start([driftguard, "serve", "--config", config], log_path,
                                       env=env, stdin=subprocess.DEVNULL)
            wait_ready(hub_proc, hub_port, log_path)
            hub = Http(hub_port)
            log(f"==> hub on 127.0.0.1:{hub_port}")

        known = {c["name"] for c in hub.get_json("/api/v1/clusters")["clusters"]}
        missing = {a.name for a in live} - known
        if missing:
            sys.exit(f"the hub does not list {sorted(missing)}")

        store = store_figures(nx_dir)
        records = store["drift_records"][0]
        if records != step * options.resources:
            sys.exit(f"{records} records stored, expected {step * options.resources}")

        def page_of_100(path, body):
            expected = min(100, options.resources)
            if body["count"] != expected or len(body["drift_records"]) != expected:
                sys.exit(f"{path}: {body['count']} records, expected {expected}")

        row = {"clusters": step, "records": records}
        list_paths = [f"/api/v1/drift-records?cluster={a.name}&limit=100" for a in live]
        latencies = time_requests(hub, list_paths, options.requests, options.budget,
                                  check=page_of_100)
        row["list"] = latencies
        log(f"    hub GET /api/v1/drift-records?cluster=cK&limit=100: {len(latencies)} "
            f"requests, p50 {percentile(latencies, .5):.1f} ms, "
            f"p99 {percentile(latencies, .99):.1f} ms")
        for key, paths in [("stats", ["/api/v1/statistics"]),
                           ("stats_cluster", [f"/api/v1/statistics?cluster={a.name}"
                                              for a in live]),
                           ("clusters_list", ["/api/v1/clusters"])]:
            latencies = time_requests(hub, paths, options.requests, options.budget)
            row[key] = latencies
            log(f"    hub GET {paths[0].replace('c1', 'cK')}: {len(latencies)} requests, "
                f"p50 {percentile(latencies, .5):.1f} ms, "
                f"p99 {percentile(latencies, .99):.1f} ms")

        edits = []
        for j in range(options.edits):
            agent = live[(step - 1 - j * max(1, step // options.edits)) % step]
            latency, analysis = edit_latency(agent, hub, serial)
            serial += 1
            edits.append((latency, analysis))
            log(f"    edit in {agent.name}: active at the hub after {latency:.0f} ms "
                f"(that analysis took {analysis * 1000:.0f} ms in the agent)")
        row["edits"] = edits

        wall, each = all_at_once(live)
        row["all_at_once"] = (wall, each)
        log(f"    all {step} agents analyse at once: the last ends after {wall:.1f} s "
            f"(median analysis {each:.1f} s)")

        row["agents"] = [(a.first_analysis, a.hwm, a.rss) for a in live]
        row["hub"] = memory(hub_proc.pid)
        row["store"] = store_figures(nx_dir)
        row["load"] = os.getloadavg()[0]
        rows.append(row)

    report(options, rows, time.monotonic() - began_all)


def report(options, rows, elapsed):
    def p(values, q):
        return percentile(values, q)

    log("")
    log(f"== {options.max_clusters} clusters x {options.resources} resources, agents into "
        f"one nx-27017, one hub; {elapsed / 60:.1f} min in all")
    log("")
    log("Hub latency (one client, keep-alive, sequential; ms, p50 / p99, requests):")
    log("")
    log("| clusters | records | drift-records?cluster=cK&limit=100 | statistics "
        "| statistics?cluster=cK | clusters |")
    log("|---|---|---|---|---|---|")
    for r in rows:
        cells = [f"{p(r[k], .5):.1f} / {p(r[k], .99):.1f} ({len(r[k])})"
                 for k in ("list", "stats", "stats_cluster", "clusters_list")]
        log(f"| {r['clusters']} | {r['records']:,} | " + " | ".join(cells) + " |")
    log("")
    log("Agents, edits and the store:")
    log("")
    log("| clusters | load average | first analysis, median (max) | agent VmHWM, median (max) "
        "| agent VmRSS, median (max) | edit to the hub, median (max) | that analysis "
        "| all agents at once: last done (median analysis) | store file | records + "
        "indexes | events | hub VmRSS |")
    log("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        first = [a[0] for a in r["agents"]]
        hwm = [a[1] for a in r["agents"]]
        rss = [a[2] for a in r["agents"]]
        edit = [e[0] for e in r["edits"]]
        analysis = [e[1] for e in r["edits"]]
        store = r["store"]
        tables = store["tables"].get("drift_records", 0)
        indexes = sum(v for k, v in store["indexes"].items() if "drift_records" in k)
        log(f"| {r['clusters']} | {r['load']:.1f} | {median(first):.2f} s ({max(first):.2f}) "
            f"| {median(hwm):.0f} MB ({max(hwm):.0f}) | {median(rss):.0f} MB ({max(rss):.0f}) "
            f"| {median(edit):.0f} ms ({max(edit):.0f}) | {median(analysis):.2f} s "
            f"| {r['all_at_once'][0]:.1f} s ({r['all_at_once'][1]:.1f} s) "
            f"| {mb(store['file_bytes']):.1f} MB "
            f"| {mb(tables):.1f} + {mb(indexes):.1f} MB "
            f"| {store['drift_events'][0]:,} | {r['hub'][1]:.0f} MB |")
    last = rows[-1]
    store = last["store"]
    log("")
    log(f"Documents at {last['clusters']} clusters: {store['drift_records'][0]:,} records "
        f"(mean {store['drift_records'][1]:.0f} bytes of JSON), "
        f"{store['drift_events'][0]:,} events ({store['drift_events'][1]:.0f} bytes), "
        f"{store['cluster_status'][0]} cluster status ({store['cluster_status'][1]:.0f} bytes), "
        f"{store['application_status'][0]} application status "
        f"({store['application_status'][1]:.0f} bytes)")
    if store["indexes"]:
        log("Largest tables and indexes (SQLite dbstat, MB):")
        sizes = sorted(list(store["tables"].items()) + list(store["indexes"].items()),
                       key=lambda kv: -kv[1])
        for name, size in sizes[:16]:
            log(f"    {name:58} {mb(size):7.2f}")
    if len(rows) > 1:
        first = rows[0]
        log("")
        log(f"Ratios, {last['clusters']} clusters against {first['clusters']}:")

        def ratio(name, a, b, unit=""):
            log(f"    {name:52} {b:10.2f}{unit} / {a:10.2f}{unit} = {b / a:6.2f}x")
        for key, name in [("list", "hub drift-records page p99"),
                          ("stats", "hub statistics p99"),
                          ("stats_cluster", "hub statistics?cluster p99"),
                          ("clusters_list", "hub clusters p99")]:
            ratio(name, p(first[key], .99), p(last[key], .99), " ms")
        ratio("hub drift-records page p50", p(first["list"], .5), p(last["list"], .5), " ms")
        ratio("edit to the hub, median", median([e[0] for e in first["edits"]]),
              median([e[0] for e in last["edits"]]), " ms")
        ratio("agent analysis after an edit, median", median([e[1] for e in first["edits"]]),
              median([e[1] for e in last["edits"]]), " s")
        ratio("agent first analysis, median", median([a[0] for a in first["agents"]]),
              median([a[0] for a in last["agents"]]), " s")
        ratio("agent VmHWM, median", median([a[1] for a in first["agents"]]),
              median([a[1] for a in last["agents"]]), " MB")
        ratio("store file", mb(first["store"]["file_bytes"]),
              mb(last["store"]["file_bytes"]), " MB")
    for r in rows:
        list_p99 = p(r["list"], .99)
        analysis = median([e[1] for e in r["edits"]]) * 1000
        log(f"    {r['clusters']:>2} cluster(s): hub page p99 {list_p99:.1f} ms = "
            f"{list_p99 / analysis:.3f}x an agent's full analysis ({analysis:.0f} ms)")


if __name__ == "__main__":
    main()
