#!/usr/bin/env bash
# Runs eyegan-bench, the PyTorch peer and the TensorFlow peer at the same thread count, figure by
# figure (all three back to back, so they share the machine's load), and prints the ratio table.
#
#   bench/compare.sh [FIGURE...]   (env: BENCH_THREADS=2, BENCH_REPETITIONS=5,
#                                   EYEGAN_BENCH_BIN=prebuilt binary instead of cargo build)
#
# The peers live in a virtualenv at bench/.venv, created on the first run (PyPI torch and
# tensorflow-cpu; torch is large). Results: bench/results/{eyegan,torch,tf}.jsonl, table.md.
set -euo pipefail
cd "$(dirname "$0")/.."

threads="${BENCH_THREADS:-2}"
repetitions="${BENCH_REPETITIONS:-5}"
venv=bench/.venv
if ! "$venv/bin/python" -c 'import torch, tensorflow' >/dev/null 2>&1; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --upgrade pip
    "$venv/bin/pip" install numpy torch tensorflow-cpu
fi

export BENCH_THREADS="$threads" RAYON_NUM_THREADS="$threads" OMP_NUM_THREADS="$threads" \
    MKL_NUM_THREADS="$threads" TF_NUM_INTRAOP_THREADS="$threads" TF_NUM_INTEROP_THREADS=1
bin="${EYEGAN_BENCH_BIN:-}"
if [ -z "$bin" ]; then
    cargo build --release -p eyegan-bench
    bin="${CARGO_TARGET_DIR:-target}/release/eyegan-bench"
fi

results=bench/results
mkdir -p "$results"
: >"$results/eyegan.jsonl"
: >"$results/torch.jsonl"
: >"$results/tf.jsonl"
uptime | tee "$results/load-before.txt"
figures=("$@")
if [ ${#figures[@]} -eq 0 ]; then
    figures=(dcgan_iter_b64 dcgan_iter_b16 gen_b64 gmd_step_b32 gmd_infer_256)
fi
for figure in "${figures[@]}"; do
    echo "== $figure" >&2
    "$bin" --json --repetitions "$repetitions" "$figure" | tee -a "$results/eyegan.jsonl" >&2
    "$venv/bin/python" bench/peers/torch_bench.py --json --repetitions "$repetitions" "$figure" \
        | tee -a "$results/torch.jsonl" >&2
    "$venv/bin/python" bench/peers/tf_bench.py --json --repetitions "$repetitions" "$figure" \
        | tee -a "$results/tf.jsonl" >&2
done
uptime | tee "$results/load-after.txt"
"$venv/bin/python" bench/compare.py "$results" "$threads threads each" | tee "$results/table.md"
