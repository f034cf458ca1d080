#!/usr/bin/env bash
# Builds the local base image `eyegan-base:bookworm` without a registry: debootstrap a minimal
# Debian bookworm root filesystem from the apt mirror this machine uses and `docker import` it.
# Where a registry is reachable this step is unnecessary: the Dockerfiles default to
# debian:bookworm-slim. Needs root, debootstrap (apt-get install debootstrap) and Docker.
#
# Usage: deploy/build-base.sh [TAG]   (default TAG: eyegan-base:bookworm)
# Env:   EYEGAN_DEBIAN_MIRROR  mirror URL (default: first URI in /etc/apt/sources.list*)
set -euo pipefail

tag="${1:-eyegan-base:bookworm}"

if docker image inspect "$tag" >/dev/null 2>&1 && [[ -z "${EYEGAN_REBUILD_BASE:-}" ]]; then
    echo "build-base: $tag already exists (set EYEGAN_REBUILD_BASE=1 to rebuild)"
    exit 0
fi

command -v debootstrap >/dev/null || {
    echo "build-base: debootstrap not found; run: apt-get update && apt-get install -y debootstrap" >&2
    exit 1
}

mirror="${EYEGAN_DEBIAN_MIRROR:-}"
if [[ -z "$mirror" ]]; then
    mirror="$(grep -hoE '^(URIs:|deb) +[^ ]+' /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
        /etc/apt/sources.list.d/*.list 2>/dev/null | awk '{print $2}' | grep -v security | head -n1 || true)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

rootfs="$(mktemp -d /tmp/eyegan-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "build-base: debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=ca-certificates bookworm "$rootfs" "$mirror" >/dev/null
# Keep the image small: no apt lists, docs or caches.
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/usr/share/doc/* \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*

tar -C "$rootfs" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' - "$tag" >/dev/null
echo "build-base: imported $tag"
