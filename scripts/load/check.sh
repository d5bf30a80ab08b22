#!/usr/bin/env bash
# `driftguard check` on N generated resources (one in a hundred drifted) against the parse
# floor: driftguard-sources' parse_floor example, the time to merely parse the same input on
# one thread (yaml-rust2 for the desired YAML, serde_json for the live JSON), the reference
# of the "check ≤ 2× parsing" target. Runs the floor, then the check under GNU time, then
# the floor again, and keeps the lower floor: the machine is shared and noisy, and a floor
# taken only before or only after the check is more exposed to a burst of other work.
#
#   scripts/load/check.sh [N]      (default: 100000)
#
#   OUTPUT=table|json      check's --output (default: table; written to /dev/null)
#   DRIFTGUARD_BIN=PATH    an already built driftguard (default: build driftguard-bin in
#                          release and use target/release/driftguard)
#
# Prints N, the input sizes, the floor (YAML + JSON seconds), check's wall time, CPU time
# (user + system) and cores used (CPU / wall), its peak RSS in MB and KiB per resource, and
# the ratio wall / floor. MB are 10^6 bytes. `check` exits 1 on drift, as expected here;
# any other exit status is a failure, printed with check's stderr.
#
# Needs python3 and GNU time (/usr/bin/time).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count="${1:-100000}"
output="${OUTPUT:-table}"
case "$output" in
    table | json) ;;
    *) echo "OUTPUT must be table or json, not '$output'" >&2; exit 2 ;;
esac
[[ -x /usr/bin/time ]] || { echo "needs GNU time at /usr/bin/time" >&2; exit 2; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# shellcheck source=scripts/load/lib.sh
source "$root/scripts/load/lib.sh"
use_driftguard
# Built once and run as a binary, so that the second run is not preceded by a rebuild.
cargo build --release -q -p driftguard-sources --example parse_floor --manifest-path "$root/Cargo.toml"
parse_floor="$root/target/release/examples/parse_floor"

python3 "$root/scripts/load/generate.py" "$work/data" "$count" 100
desired="$work/data/desired"
live="$work/data/live"

# The value of NAME in a parse_floor output FILE.
value() { awk -v k="$2" '$1 == k {print $2}' "$1"; }

"$parse_floor" "$desired" "$live" > "$work/floor1"

status=0
/usr/bin/time -f '%e %U %S %M' -o "$work/time" \
    "$driftguard" check --desired "$desired" --live-dir "$live" --output "$output" \
    > /dev/null 2> "$work/check.err" || status=$?
if [[ "$status" -ne 1 ]]; then
    echo "driftguard check exited $status (expected 1: drift found); its stderr:" >&2
    cat "$work/check.err" >&2
    exit 1
fi
# With a non-zero exit, GNU time writes "Command exited with non-zero status 1" first.
read -r wall user sys rss_kb < <(tail -n 1 "$work/time")

"$parse_floor" "$desired" "$live" > "$work/floor2"

floor1=$(value "$work/floor1" floor_seconds)
floor2=$(value "$work/floor2" floor_seconds)
best="$work/floor1"
awk -v a="$floor1" -v b="$floor2" 'BEGIN {exit !(b < a)}' && best="$work/floor2"

awk -v n="$count" -v output="$output" -v cores="$(nproc)" \
    -v yaml_files="$(value "$best" yaml_files)" -v yaml_bytes="$(value "$best" yaml_bytes)" \
    -v yaml_docs="$(value "$best" yaml_documents)" \
    -v json_files="$(value "$best" json_files)" -v json_bytes="$(value "$best" json_bytes)" \
    -v json_items="$(value "$best" json_items)" \
    -v yaml_s="$(value "$best" yaml_seconds)" -v json_s="$(value "$best" json_seconds)" \
    -v floor="$(value "$best" floor_seconds)" -v floor1="$floor1" -v floor2="$floor2" \
    -v wall="$wall" -v user="$user" -v sys="$sys" -v rss_kb="$rss_kb" '
BEGIN {
    cpu = user + sys
    printf "resources      %d (1%% drifted), check --output %s\n", n, output
    printf "input          YAML %.1f MB (%d files, %d documents), JSON %.1f MB (%d files, %d objects)\n",
        yaml_bytes / 1e6, yaml_files, yaml_docs, json_bytes / 1e6, json_files, json_items
    printf "parse floor    %.3f s (YAML %.3f + JSON %.3f), lower of %.3f s before and %.3f s after the check\n",
        floor, yaml_s, json_s, floor1, floor2
    printf "check wall     %.2f s\n", wall
    printf "check CPU      %.2f s (user %.2f + sys %.2f), %.2f cores used of %d\n",
        cpu, user, sys, (wall > 0 ? cpu / wall : 0), cores
    printf "peak RSS       %.1f MB, %.1f KiB per resource\n", rss_kb * 1024 / 1e6, rss_kb / n
    printf "wall / floor   %.2f\n", (floor > 0 ? wall / floor : 0)
}'
