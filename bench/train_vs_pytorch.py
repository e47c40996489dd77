"""The workbench's training step (and the linear probe's feature pass) against the same
model in Python PyTorch from the same virtual environment, eager and torch.compile, in
float32 and bfloat16, at the shapes below. The three sides run alternately, in a
rotating order, --repeats times; each figure is the median of its side's runs (each run
itself the median of --steps timed steps). A side that fails stops the benchmark.

Model FLOPs by one formula (Kaplan et al.'s, per token of a training step):
    6 N + 12 L d T,  N = 12 L d^2 + d V   (L layers, width d, T tokens, vocabulary V)
and a third of it for the forward-only feature pass. GFLOP/s are these over the measured
time; the peak is the same-precision 2048^3 matmul measured by train_bench in the same
run (the median of its runs).
    bash bench/train_vs_pytorch.sh [--shapes quickstart,S1,S2,S] [--precisions float32,bfloat16]
                                   [--modes train,features] [--repeats 3] [--steps 5]
"""
import argparse
import os
import re
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.environ.get("TRAIN_BENCH", os.path.join(ROOT, "build", "bin", "train_bench"))
REFERENCE = os.path.join(ROOT, "bench", "train_step_torch.py")

# name: layers, width, heads, tokens, vocabulary, batch of the training step
SHAPES = {
    # the quickstart's and the nightly's model (experiments/quickstart.toml)
    "quickstart": (4, 64, 4, 196, 16, 32),
    "S1": (4, 128, 4, 784, 16, 8),
    "S2": (8, 256, 8, 1024, 512, 4),
    # iGPT-S at IR 32 with k = 512; batch 2 keeps a step near 5 s on 2 cores (memory
    # would allow more: this is the shape, not the GPU's batch).
    "S": (24, 512, 8, 1024, 512, 2),
}
FEATURE_BATCH = 32  # the linear probe's feature pass (linear_probe's batch_size)


def flops_per_token(layers, width, tokens, vocab, mode):
    n = 12 * layers * width**2 + width * vocab
    train = 6 * n + 12 * layers * width * tokens
    return train if mode == "train" else train / 3


def run(cmd):
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stdout}{done.stderr}")
    return done.stdout


def rate(out):
    m = re.search(r"([0-9.]+) tokens/s", out.strip().splitlines()[-1])
    if not m:
        sys.exit(f"no tokens/s in:\n{out}")
    return float(m.group(1))


def cpu_features():
    """The CPU features the kernels dispatch on, as /proc/cpuinfo names them."""
    wanted = ["avx2", "avx512f", "avx512_bf16", "amx_bf16"]
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f
                          if line.startswith("flags")), [])
    except OSError:
        flags = []
    have = [w for w in wanted if w in flags]
    return " ".join(have) if have else "none of " + ", ".join(wanted)


def auto_precision(device):
    """What training.precision = "auto" picks here, as train_bench reports it."""
    out = run([BENCH, "--layers", "1", "--width", "32", "--heads", "2", "--tokens", "16",
               "--vocab", "16", "--batch", "2", "--steps", "1", "--device", device,
               "--precision", "auto"])
    return "bfloat16" if "bfloat16 autocast" in out.splitlines()[0] else "float32"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--shapes", default="quickstart,S1,S2,S")
    p.add_argument("--precisions", default="float32,bfloat16")
    p.add_argument("--modes", default="train,features")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--device", default="cpu")
    a = p.parse_args()
    threads = os.cpu_count()
    print(f"CPU features: {cpu_features()}; `auto` precision: {auto_precision(a.device)}; "
          f"{threads} threads")
    rows = []
    for mode in a.modes.split(","):
        for name in a.shapes.split(","):
            layers, width, heads, tokens, vocab, batch = SHAPES[name]
            if mode == "features":
                batch = FEATURE_BATCH
            for precision in a.precisions.split(","):
                shape = ["--layers", layers, "--width", width, "--heads", heads, "--tokens",
                         tokens, "--vocab", vocab, "--batch", batch, "--steps", a.steps,
                         "--device", a.device, "--precision", precision, "--mode", mode]
                shape = [str(s) for s in shape]
                sides = {
                    "workbench": [BENCH] + shape,
                    "eager": [sys.executable, REFERENCE, "--threads", str(threads)] + shape,
                    "compile": [sys.executable, REFERENCE, "--threads", str(threads),
                                "--compile"] + shape,
                }
                order = list(sides)
                rates = {side: [] for side in sides}
                peaks = []
                for r in range(a.repeats):
                    for side in order[r % 3:] + order[:r % 3]:  # rotate who goes first
                        out = run(sides[side])
                        rates[side].append(rate(out))
                        if side == "workbench":
                            peaks.append(float(re.search(r"peak: ([0-9.]+)", out).group(1)))
                med = {side: statistics.median(v) for side, v in rates.items()}
                gflops = med["workbench"] * flops_per_token(layers, width, tokens, vocab,
                                                            mode) / 1e9
                peak = statistics.median(peaks)
                row = (mode, name, precision, med["workbench"], med["eager"], med["compile"],
                       med["workbench"] / med["eager"], med["workbench"] / med["compile"],
                       gflops, 100 * gflops / peak,
                       100 * med["eager"] / med["workbench"] * gflops / peak, peak)
                rows.append(row)
                print(f"{mode} {name} {precision}: workbench {rates['workbench']}, eager "
                      f"{rates['eager']}, compile {rates['compile']} tokens/s", flush=True)
    print()
    print("| pass | shape | precision | workbench tokens/s | eager | compile | vs eager | "
          "vs compile | workbench GFLOP/s | % of peak | eager % of peak | peak GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.0f} | {r[4]:.0f} | {r[5]:.0f} | "
              f"{r[6]:.2f}x | {r[7]:.2f}x | {r[8]:.1f} | {r[9]:.1f} | {r[10]:.1f} | {r[11]:.0f} |")


if __name__ == "__main__":
    main()
