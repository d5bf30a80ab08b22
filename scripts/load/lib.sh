# Shared by the load scripts: sourced, not run. Expects $root (the repository) and $work
# (a scratch folder) to be set.

# A free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Writes $work/config.yaml: `driftguard serve` on PORT over the folder and dump sources
# generated in $work/data, SQLite in $work, a full analysis every INTERVAL, no watch.
write_config() {
    local port="$1" interval="$2"
    cat > "$work/config.yaml" <<YAML
server:
  host: 127.0.0.1
  port: $port
logging:
  level: warn
database:
  path: $work/drift.db
sources:
  desired: folder
  folder: $work/data/desired
  live: dump
  dump: $work/data/live
detection:
  interval: $interval
  watch: false
  fingerprint_key: load test
YAML
}

# How many full analyses the service on PORT has completed, over all its clusters.
full_analyses() {
    curl -fsS "http://127.0.0.1:$1/metrics" 2>/dev/null |
        awk '/^driftguard_analyses_total\{/ && /mode="full"/ && /outcome="success"/ {n += $2}
             END {print int(n)}'
}

# Sets $driftguard to the binary to run: $DRIFTGUARD_BIN when set, else a release build of
# the workspace, built now.
use_driftguard() {
    driftguard="${DRIFTGUARD_BIN:-}"
    if [[ -z "$driftguard" ]]; then
        echo "==> building driftguard (release)"
        cargo build --release -q -p driftguard-bin --manifest-path "$root/Cargo.toml"
        driftguard="$root/target/release/driftguard"
    fi
}
