#!/usr/bin/env bash
# What rendering costs: N Kustomize overlays of one base (each with a name prefix, a
# namespace, a patch and a ConfigMap generator), measured in one run as
#
#   1. Kustomize alone: `kubectl kustomize` (or `kustomize build`) on each overlay, one
#      after another, as a shell loop would;
#   2. `driftguard check` on the repository root, which finds the N overlays, renders them
#      (up to render.max_concurrent at once), parses and compares the result;
#   3. `driftguard serve` with the repository in Git as one application: the render count
#      and seconds (driftguard_render_duration_seconds) after the first analysis and after
#      a second one at the same revision, which must render nothing.
#
#   scripts/load/render.sh [N]      (default 50)
#
# Needs kubectl (or kustomize), git, python3 and curl.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-50}"
work="$(mktemp -d)"
trap 'if [[ -n "${server:-}" ]]; then kill "$server" 2>/dev/null || true; fi; rm -rf "$work"' EXIT

cargo build --release -q -p driftguard-bin --manifest-path "$root/Cargo.toml"
driftguard="$root/target/release/driftguard"

if command -v kustomize >/dev/null 2>&1; then
    build=(kustomize build)
else
    build=(kubectl kustomize)
fi

repo="$work/repo"
mkdir -p "$repo/base"
cat > "$repo/base/kustomization.yaml" <<'YAML'
resources: [deployment.yaml, service.yaml]
labels:
  - pairs: {app.kubernetes.io/part-of: shop}
YAML
cat > "$repo/base/deployment.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.25.3
          envFrom: [{configMapRef: {name: web-config}}]
YAML
cat > "$repo/base/service.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
YAML
for i in $(seq 1 "$count"); do
    dir="$repo/overlays/team-$i"
    mkdir -p "$dir"
    cat > "$dir/kustomization.yaml" <<YAML
namespace: team-$i
namePrefix: t$i-
resources: [../../base]
replicas: [{name: web, count: $((i % 5 + 1))}]
images: [{name: nginx, newTag: "1.27.$((i % 10))"}]
configMapGenerator:
  - name: web-config
    literals: [TEAM=team-$i, LOG_LEVEL=info]
patches:
  - path: patch.yaml
YAML
    cat > "$dir/patch.yaml" <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
        - name: web
          resources: {limits: {cpu: 500m, memory: 256Mi}}
YAML
done
mkdir -p "$work/live"

now() { date +%s.%N; }
seconds() { python3 -c "print(f'{$2 - $1:.2f}')"; }

echo "== $count overlays, ${build[*]}, $(nproc) cores"
start=$(now)
for i in $(seq 1 "$count"); do
    "${build[@]}" "$repo/overlays/team-$i" > /dev/null
done
alone=$(seconds "$start" "$(now)")
echo "Kustomize alone, one after another: ${alone} s"

start=$(now)
"$driftguard" check --desired "$repo" --live-dir "$work/live" -o json > "$work/check.json" || true
check=$(seconds "$start" "$(now)")
resources=$(python3 -c "import json; print(json.load(open('$work/check.json'))['summary']['resources'])")
echo "driftguard check (find, render, parse, compare $resources resources): ${check} s" \
    "= $(python3 -c "print(f'{$check / $alone:.2f}')")x Kustomize alone"

# The same repository in Git, served.
git -C "$repo" init -q -b main
git -C "$repo" add -A
git -C "$repo" -c user.name=load -c user.email=load@example.com commit -q -m overlays
# shellcheck source=scripts/load/lib.sh
source "$root/scripts/load/lib.sh"
port=$(free_port)
cat > "$work/config.yaml" <<YAML
server: {host: 127.0.0.1, port: $port}
logging: {level: warn}
database: {path: $work/drift.db}
sources: {live: dump, dump: $work/live}
git: {url: file://$repo, cache_dir: $work/git-cache}
applications:
  - name: teams
    git: {path: overlays}
detection: {interval: 1h, watch: false, fingerprint_key: load test}
YAML
"$driftguard" serve --config "$work/config.yaml" > "$work/driftguard.log" 2>&1 &
server=$!
wait_for() {
    for _ in $(seq 1 1200); do
        [[ "$(full_analyses "$port")" -ge "$1" ]] && return 0
        kill -0 "$server" || { cat "$work/driftguard.log"; exit 1; }
        sleep 0.25
    done
    echo "no analysis $1" >&2
    exit 1
}
render_metric() {
    curl -fsS "http://127.0.0.1:$port/metrics" |
        awk -v name="driftguard_render_duration_seconds_$1" '$1 ~ "^"name"\\{application=\"teams\"\\}" {print $2}'
}
analysis_seconds() {
    curl -fsS "http://127.0.0.1:$port/metrics" |
        awk '/^driftguard_sync_duration_seconds_sum\{mode="full",outcome="success"\}/ {print $2}'
}
wait_for 1
first=$(analysis_seconds)
echo "serve, first analysis: renders $(render_metric count), render seconds $(render_metric sum)," \
    "analysis $(python3 -c "print(f'{$first:.2f}')") s"
curl -fsS -X POST "http://127.0.0.1:$port/api/v1/analyze" > /dev/null
wait_for 2
both=$(analysis_seconds)
echo "serve, second analysis at the same revision: renders $(render_metric count) in all," \
    "analysis $(python3 -c "print(f'{$both - $first:.2f}')") s"
