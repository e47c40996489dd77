"""The per-GPU memory table of docs/training.md (activation checkpointing): the memory
check's estimate (kernel/host/run/memory_guard.cpp: 16 bytes per parameter for float32
weights, gradients and Adam's two moments; 17 float32 values stored per token, width and
block; 12 bytes per token and palette entry for the logits), plain and checkpointed
(each block keeps its two inputs, 8 bytes per token and width, and one block's
activations are live at a time), for the paper's sizes at IR 32 (1024 tokens), k = 512.
Estimates, not measurements.

usage: python3 bench/memory_estimates.py
"""

SIZES = {"s": (24, 512), "m": (36, 1024), "l": (48, 1536), "xl": (60, 3072)}
TOKENS, VOCAB = 1024, 512
GPUS_GB = (80, 141)  # H100 80GB, H200


def main():
    print("| size | parameters | weights + Adam, GB | activations per 1024-token sequence, GB "
          "| checkpointed, GB | sequences in 80 GB | in 141 GB |")
    print("|---|---|---|---|---|---|---|")
    for name, (layers, width) in SIZES.items():
        params = 12 * layers * width**2 + width * (VOCAB + 1 + TOKENS) + VOCAB * width
        weights = 16 * params / 1e9
        logits = 12 * TOKENS * VOCAB
        plain = (68 * layers * TOKENS * width + logits) / 1e9
        checkpointed = (8 * layers * TOKENS * width + 68 * TOKENS * width + logits) / 1e9
        fit = [f"{max(0, int((gb - weights) // plain))} / "
               f"{max(0, int((gb - weights) // checkpointed))}" for gb in GPUS_GB]
        print(f"| {name} | {params / 1e6:.0f}M | {weights:.1f} | {plain:.2f} | {checkpointed:.2f} "
              f"| {fit[0]} | {fit[1]} |")


if __name__ == "__main__":
    main()
