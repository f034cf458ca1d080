"""Ratio table of eyegan-bench against the PyTorch and TensorFlow peers (see compare.sh and
gpu-compare.sh). Usage: compare.py RESULTS_DIR SETTING (SETTING: e.g. "2 threads each")."""

import json
import sys
from pathlib import Path

# Which peer each figure must match (issue 5).
TARGET = {
    "dcgan_iter_b64": "PyTorch",
    "dcgan_iter_b16": "PyTorch",
    "gen_b64": "TensorFlow",
    "gmd_step_b32": "TensorFlow",
    "gmd_infer_256": "TensorFlow",
}


def load(path):
    return {m["figure"]: m for m in map(json.loads, Path(path).read_text().splitlines())}


def main():
    results, setting = Path(sys.argv[1]), sys.argv[2]
    ours, torch, tf = (load(results / f) for f in ("eyegan.jsonl", "torch.jsonl", "tf.jsonl"))
    print(f"Median seconds per repetition, {setting}; ratio = EyeGAN / peer "
          "(≤ 1.0: EyeGAN is as fast or faster). RSS = peak resident MiB of the process.\n")
    print("| figure | EyeGAN s | PyTorch s | TF s | EyeGAN/PyTorch | EyeGAN/TF | target | "
          "RSS EyeGAN | RSS PyTorch | RSS TF | RSS EyeGAN/PyTorch |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for figure, target in TARGET.items():
        if figure not in ours:
            continue
        if not tf:
            target = "PyTorch"  # the GPU comparison has no TensorFlow peer
        e, p, t = ours[figure], torch.get(figure), tf.get(figure)
        def s(m, key="median_s", fmt="{:.3f}"):
            return fmt.format(m[key]) if m else "–"
        def ratio(m, key="median_s"):
            return f"{e[key] / m[key]:.2f}" if m else "–"
        target_ratio = ratio(p if target == "PyTorch" else t)
        print(f"| `{figure}` | {s(e)} | {s(p)} | {s(t)} | {ratio(p)} | {ratio(t)} | "
              f"**{target_ratio}** vs {target} | {s(e, 'peak_rss_mb', '{:.0f}')} | "
              f"{s(p, 'peak_rss_mb', '{:.0f}')} | {s(t, 'peak_rss_mb', '{:.0f}')} | "
              f"{ratio(p, 'peak_rss_mb')} |")


if __name__ == "__main__":
    main()
