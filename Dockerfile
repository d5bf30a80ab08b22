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

# Runtime: glibc, libgcc, libssl3 and the CA certificates (for Git over HTTPS and the
# Kubernetes API), no shell, no package manager. The `nonroot` variant runs as
# uid/gid 65532, which deploy/deployment.yaml also sets.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/driftguard /usr/local/bin/driftguard
USER 65532:65532
EXPOSE 8080
# Freed memory goes back to the system at once (see docs/operations.md, resources).
ENV MIMALLOC_PURGE_DELAY=0
ENTRYPOINT ["/usr/local/bin/driftguard"]
CMD ["serve", "--config", "/etc/driftguard/config.yaml"]
