#!/usr/bin/env python3
"""Shares of a `perf record --call-graph dwarf` profile of eyegan-bench, by kind of work.

    perf record -e cpu-clock -F 199 --call-graph dwarf,32768 -o prof.data \
        target-bench/release/eyegan-bench --child --warmup 1 --repetitions N FIGURE
    perf script -i prof.data | bench/classify_profile.py

Each sample goes to the first of these its stack (leaf first) matches: the kernel zeroing a
fresh page; gemm's micro-kernel; any other gemm frame (packing, threading); EyeGAN's kernels by
module; Candle's ops and backprop; the C library's mem* routines; the OS scheduler; rayon.
"""
import collections
import sys

# (share name, substrings of an eyegan_nn frame), in the order they are tried
EYEGAN_MODULES = [
    ("Winograd transforms", ("winograd", "RowRun", "load_split")),
    ("col2im", ("col2im", "sum_plane", "add_taps", "interleave", "TapRuns", "PhaseLayout")),
    ("im2col", ("im2col",)),
    ("BatchNorm", ("batch_norm",)),
    ("activation, tanh", ("activation", "tanh", "zip_map")),
    ("max pool", ("pool",)),
    ("optimizer", ("adam", "sgd")),
    ("zero fill", ("parallel::filled",)),
    ("layout copies", ("conv_ops",)),
    ("loss", ("loss",)),
]


def classify(frames):
    if not frames:
        return "other"
    leaf = frames[0]
    if "clear_page" in leaf:
        return "page zeroing"
    if "gemm_f32::microkernel" in leaf or "gemm_f64::microkernel" in leaf:
        return "GEMM kernel"
    for frame in frames:
        if "gemm_" in frame and "eyegan" not in frame:
            return "GEMM packing, threads"
        if "eyegan_nn::" in frame:
            for name, keys in EYEGAN_MODULES:
                if any(key in frame for key in keys):
                    return name
            continue
        if "candle_core" in frame or "candle_nn" in frame:
            return "Candle ops, backprop"
    if any(k in f for f in frames for k in ("memset", "memmove", "memcpy")):
        return "mem*"
    if any(k in f for f in frames for k in ("schedule", "_raw_spin", "futex")):
        return "scheduler"
    if any("rayon" in f for f in frames):
        return "rayon (idle, stealing)"
    return "other"


def samples(lines):
    """Yields each sample's frames (function names, leaf first) from `perf script` output."""
    header, frames = None, []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if header is not None:
                yield frames
            header, frames = None, []
        elif header is None:
            header = line
        else:
            parts = line.strip().split(None, 1)
            frames.append(parts[-1])
    if header is not None:
        yield frames


def main():
    shares = collections.Counter(classify(frames) for frames in samples(sys.stdin))
    total = sum(shares.values())
    for name, count in shares.most_common():
        print(f"{name:24s} {100 * count / total:5.1f} %")
    print(f"{'samples':24s} {total}")


if __name__ == "__main__":
    main()
