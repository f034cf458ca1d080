#!/usr/bin/env bash
# A CUDA 13.0 build toolchain from PyPI, for building `--features cuda` on a machine without the
# CUDA toolkit (no GPU needed to build): nvcc, headers, cuBLAS, cuRAND, NVRTC and the runtime from
# NVIDIA's wheels, unpacked into deploy/.cuda, plus a link-time stub of the driver library
# (libcuda.so with soname libcuda.so.1: the binary then loads the real one, which comes with the
# NVIDIA driver, on the GPU node). Prints the environment to build with:
#
#   eval "$(deploy/cuda-from-pypi.sh)"
#   cargo build --release -p eyegan-trainer --features cuda     # or deploy/build-images.sh --gpu
#
# At run time the binaries need libcublas.so.13, libcurand.so.10 and libcudart.so.13 (a CUDA 13
# runtime image, or LD_LIBRARY_PATH=deploy/.cuda/nvidia/cu13/lib) and a driver >= 580.
# Env: EYEGAN_CUDA_COMPUTE_CAP (default 90: Hopper; 80 Ampere, 89 Ada) for Candle's kernels.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
root="$repo/deploy/.cuda"
cuda="$root/nvidia/cu13"
wheels=(nvidia-cuda-nvcc==13.0.88 nvidia-cuda-crt==13.0.88 nvidia-nvvm==13.0.88
    nvidia-cuda-runtime==13.0.96 nvidia-cuda-cccl==13.0.85 nvidia-cuda-nvrtc==13.0.88
    nvidia-curand==10.4.0.35 nvidia-cublas==13.0.2.14)

if [[ ! -x "$cuda/bin/nvcc" ]]; then
    echo "cuda-from-pypi: downloading ${wheels[*]} (about 700 MB)" >&2
    download="$(mktemp -d)"
    trap 'rm -rf "$download"' EXIT
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$download" "${wheels[@]}" >&2
    mkdir -p "$root"
    for wheel in "$download"/*.whl; do
        python3 -m zipfile -e "$wheel" "$root" >&2
    done
    chmod +x "$cuda"/bin/* "$cuda"/nvvm/bin/*
fi

# The driver API symbols cudarc links against, from its bindings, as empty stubs.
if [[ ! -e "$cuda/lib/libcuda.so" ]]; then
    (cd "$repo" && cargo fetch --quiet)
    bindings="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/cudarc-*/src/driver/sys/mod.rs | tail -n1)"
    [[ -f "$bindings" ]] || { echo "cuda-from-pypi: cudarc's sources not found after cargo fetch" >&2; exit 1; }
    grep -ohE 'pub unsafe fn cu[A-Za-z0-9_]+' "$bindings" | awk '{print $4}' | sort -u |
        sed 's/.*/void &(void) {}/' >"$root/libcuda-stub.c"
    cc -shared -fPIC -Wl,-soname,libcuda.so.1 -o "$cuda/lib/libcuda.so" "$root/libcuda-stub.c"
fi
# Unversioned names for the linker.
for lib in libcublas.so.13 libcublasLt.so.13 libcurand.so.10 libnvrtc.so.13 libcudart.so.13; do
    ln -sf "$lib" "$cuda/lib/${lib%.so.*}.so"
done

cat <<EOF
export PATH="$cuda/bin:\$PATH" CUDA_HOME="$cuda" CUDA_PATH="$cuda"
export CUDARC_CUDA_VERSION=13000 CUDA_COMPUTE_CAP="${EYEGAN_CUDA_COMPUTE_CAP:-90}"
EOF
