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

need_packages=()
command -v pkg-config >/dev/null 2>&1 || need_packages+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need_packages+=(libssl-dev)
command -v git >/dev/null 2>&1 || need_packages+=(git)
command -v promtool >/dev/null 2>&1 || need_packages+=(prometheus)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_packages+=(python3-venv)
if ((${#need_packages[@]})); then
    echo "==> installing ${need_packages[*]}"
    sudo_cmd=()
    [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${need_packages[@]}"
fi

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
