# syntax=docker/dockerfile:1
#
# DriftGuard's container image: the `driftguard` binary on a distroless base, as a
# non-root user.
#
#   docker build -t registry.example.com/driftguard:0.1.0 .
#
# Build stage: the Rust toolchain image (Debian 12), the same release of Debian as the
# runtime image, so the binary finds the C library it was linked against.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# git2 talks HTTPS through OpenSSL (libssl3, linked dynamically; present at run time)
# and SSH through libssh2; libgit2 and libssh2 are built from source into the binary.
# zlib is linked statically as well, since the runtime image has no libz.
ENV LIBZ_SYS_STATIC=1
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p driftguard-bin \
 && cp target/release/driftguard /usr/local/bin/driftguard \
 && ! ldd /usr/local/bin/driftguard | grep -E 'libz\.|libgit2|libssh2'

# Renderers: Kustomize and Helm, static binaries from their releases, checked against the
# checksums each release publishes. DriftGuard runs them to render Kustomize overlays and
# Helm charts (docs/configuration.md, "Rendering"); without them only plain manifests can
# be read. Remote Kustomize bases would also need `git`, which the runtime image lacks.
FROM debian:bookworm-slim AS tools
ARG KUSTOMIZE_VERSION=5.5.0
ARG HELM_VERSION=3.16.4
ARG TARGETARCH=amd64
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /tmp/tools
RUN set -eu; \
    base="https://github.com/kubernetes-sigs/kustomize/releases/download/kustomize%2Fv${KUSTOMIZE_VERSION}"; \
    archive="kustomize_v${KUSTOMIZE_VERSION}_linux_${TARGETARCH}.tar.gz"; \
    curl -fsSLO "$base/$archive"; \
    curl -fsSL "$base/checksums.txt" | grep " ${archive}\$" | sha256sum -c -; \
    tar -xzf "$archive" kustomize; \
    install -m 0755 kustomize /usr/local/bin/kustomize; \
    archive="helm-v${HELM_VERSION}-linux-${TARGETARCH}.tar.gz"; \
    curl -fsSLO "https://get.helm.sh/$archive"; \
    echo "$(curl -fsSL "https://get.helm.sh/$archive.sha256sum" | cut -d' ' -f1)  $archive" | sha256sum -c -; \
    tar -xzf "$archive" "linux-${TARGETARCH}/helm"; \
    install -m 0755 "linux-${TARGETARCH}/helm" /usr/local/bin/helm; \
    /usr/local/bin/kustomize version; /usr/local/bin/helm version --short

# Runtime: glibc, libgcc, libssl3 and the CA certificates (for Git over HTTPS and the
# Kubernetes API), no shell, no package manager. The `nonroot` variant runs as
# uid/gid 65532, which deploy/deployment.yaml also sets.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/driftguard /usr/local/bin/driftguard
COPY --from=tools /usr/local/bin/kustomize /usr/local/bin/helm /usr/local/bin/
USER 65532:65532
EXPOSE 8080
# Freed memory goes back to the system at once (see docs/operations.md, resources).
ENV MIMALLOC_PURGE_DELAY=0
ENTRYPOINT ["/usr/local/bin/driftguard"]
CMD ["serve", "--config", "/etc/driftguard/config.yaml"]
