#!/usr/bin/env bash
# Runs DriftGuard's whole test suite on a fresh Debian machine.
#
# Installs what the build and the tests need when it is missing (C libraries for git2,
# git, promtool), creates target/test-venv with the pinned test servers (kmock,
# nx-27017), then runs every test of the workspace. Tests start their own servers on
# 127.0.0.1 from that environment. Set DRIFTGUARD_TEST_MONGODB_URI to also run the store
# contract suite against a real MongoDB.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

sudo_cmd=()
[[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
apt_updated=false

need_packages=()
command -v pkg-config >/dev/null 2>&1 || need_packages+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need_packages+=(libssl-dev)
command -v git >/dev/null 2>&1 || need_packages+=(git)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_packages+=(python3-venv)
if ((${#need_packages[@]})); then
    echo "==> installing ${need_packages[*]}"
    "${sudo_cmd[@]}" apt-get update -qq
    apt_updated=true
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
fi

# promtool checks and unit-tests the alerting rules in deploy/. It comes from Debian's
# `prometheus` package, of which only the promtool binary is unpacked into
# target/tools/bin: installing the package would also set up, enable and start a
# Prometheus server (and its post-install script fails where services cannot start).
tools="$root/target/tools/bin"
if ! command -v promtool >/dev/null 2>&1 && [[ ! -x "$tools/promtool" ]]; then
    echo "==> unpacking promtool from Debian's prometheus package into $tools"
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    apt_download=(apt-get download -qq)
    [[ $(id -u) -ne 0 ]] || apt_download+=(-o APT::Sandbox::User=root)
    if ! (cd "$download" && "${apt_download[@]}" prometheus); then
        $apt_updated || "${sudo_cmd[@]}" apt-get update -qq
        (cd "$download" && "${apt_download[@]}" prometheus)
    fi
    mkdir -p "$tools"
    dpkg-deb --fsys-tarfile "$download"/prometheus_*.deb | tar -xO ./usr/bin/promtool >"$tools/promtool.part"
    chmod +x "$tools/promtool.part"
    mv "$tools/promtool.part" "$tools/promtool"
    rm -rf "$download"
    trap - EXIT
fi
export PATH="$tools:$PATH"

venv="$root/target/test-venv"
requirements="$root/scripts/test-requirements.txt"
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$stamp"; then
    echo "==> creating $venv (kmock, nx-27017)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
fi
export DRIFTGUARD_TEST_PYTHON="$venv/bin/python"

echo "==> cargo test"
cargo test --workspace --locked "$@"
