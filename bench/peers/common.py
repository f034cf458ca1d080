"""Shared harness of the peer benchmarks: timing, peak RSS, one child process per figure.

Output format is the one of `eyegan-bench --json`: one JSON object per line with
figure, median_s, min_s, max_s, images_per_s, peak_rss_mb, repetitions.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time

FIGURES = ["dcgan_iter_b64", "dcgan_iter_b16", "gen_b64", "gmd_step_b32", "gmd_infer_256"]


def peak_rss_mb():
    """Peak resident memory of this process (Linux ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(name, images, run, warmup, repetitions):
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(max(1, repetitions)):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    median = statistics.median(samples)
    return {
        "figure": name,
        "median_s": median,
        "min_s": min(samples),
        "max_s": max(samples),
        "images_per_s": images / median,
        "peak_rss_mb": peak_rss_mb(),
        "repetitions": len(samples),
    }


def main(prepare, framework):
    """`prepare(name) -> (images, run)`; runs each figure in a child process of this script."""
    parser = argparse.ArgumentParser(description=f"{framework} peer of eyegan-bench")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("figures", nargs="*")
    args = parser.parse_args()
    names = args.figures or FIGURES
    for name in names:
        if name not in FIGURES:
            sys.exit(f"unknown figure `{name}`; known: {', '.join(FIGURES)}")
    if args.child:
        images, run = prepare(names[0])
        print(json.dumps(measure(names[0], images, run, args.warmup, args.repetitions)))
        return
    if not args.json:
        print(f"{'figure':<16} {'median_s':>9} {'min_s':>9} {'max_s':>9} {'images/s':>10} {'peak_MiB':>10}")
    for name in names:
        out = subprocess.run(
            [sys.executable, sys.argv[0], "--child", f"--repetitions={args.repetitions}",
             f"--warmup={args.warmup}", name],
            check=True, capture_output=True, text=True,
        )
        m = json.loads(out.stdout.strip().splitlines()[-1])
        if args.json:
            print(json.dumps(m), flush=True)
        else:
            print(f"{m['figure']:<16} {m['median_s']:>9.4f} {m['min_s']:>9.4f} {m['max_s']:>9.4f} "
                  f"{m['images_per_s']:>10.1f} {m['peak_rss_mb']:>10.0f}", flush=True)
