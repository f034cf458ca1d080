#!/usr/bin/env bash
# GPU figures: eyegan-bench built with `--features cuda` on cuda:0 against the PyTorch peer on
# the same GPU, figure by figure back to back, and the ratio table (no TensorFlow peer here).
#
#   bench/gpu-compare.sh [FIGURE...]
#   env: EYEGAN_BENCH_BIN    prebuilt binary (default: cargo build --release -p eyegan-bench --features cuda)
#        BENCH_REPETITIONS   timed repetitions per figure (default 10)
#        PYTHON              a Python with CUDA PyTorch (default python3)
#        BENCH_RESULTS       output folder (default bench/results-gpu)
# Every repetition ends with the device synchronised, in both frameworks.
set -euo pipefail
cd "$(dirname "$0")/.."

repetitions="${BENCH_REPETITIONS:-10}"
python="${PYTHON:-python3}"
results="${BENCH_RESULTS:-bench/results-gpu}"
bin="${EYEGAN_BENCH_BIN:-}"
if [ -z "$bin" ]; then
    cargo build --release -p eyegan-bench --features cuda
    bin="${CARGO_TARGET_DIR:-target}/release/eyegan-bench"
fi
"$python" -c 'import torch; assert torch.cuda.is_available(), "PyTorch sees no CUDA device"'

mkdir -p "$results"
: >"$results/eyegan.jsonl"
: >"$results/torch.jsonl"
: >"$results/tf.jsonl"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$results/gpu.txt"
figures=("$@")
if [ ${#figures[@]} -eq 0 ]; then
    figures=(dcgan_iter_b64 dcgan_iter_b16 gen_b64 gmd_step_b32 gmd_infer_256)
fi
for figure in "${figures[@]}"; do
    echo "== $figure" >&2
    "$bin" --json --device cuda:0 --repetitions "$repetitions" "$figure" | tee -a "$results/eyegan.jsonl" >&2
    BENCH_DEVICE=cuda "$python" bench/peers/torch_bench.py --json --repetitions "$repetitions" "$figure" \
        | tee -a "$results/torch.jsonl" >&2
done
"$python" bench/compare.py "$results" "on $(cut -d, -f1 "$results/gpu.txt")" | tee "$results/table.md"
