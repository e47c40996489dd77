"""What a fresh 64 MiB output costs a product on the CPU: torch.mm of the feature
pass's largest shape at S2 (batch 32 x 1024 tokens, width 256 -> 1024, bfloat16) with
a new output each call (as eager PyTorch and LibTorch allocate it) against one reused
output (`out=`, as inductor's generated code does). Each timing is the median of 5
calls after one warm-up; the two sides alternate, 2 rounds. Run it with and without
THP_MEM_ALLOC_ENABLE=1 (LibTorch's transparent-huge-page allocation) to see that too:
    python3 bench/fresh_output_mm.py        (in the engine's venv: tools/torch_env.sh)
"""
import time

import torch

M, K, N = 32768, 256, 1024  # (batch x tokens) x width -> 4 x width, the fc product
REPEATS = 5


def median_seconds(fn):
    fn()
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return sorted(times)[REPEATS // 2]


def main():
    torch.manual_seed(0)
    a = torch.randn(M, K).bfloat16()
    w = torch.randn(N, K).bfloat16()
    out = torch.empty(M, N, dtype=torch.bfloat16)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"({M} x {K}) @ ({K} x {N}) bfloat16, output {M * N * 2 / 2**20:.0f} MiB")
    for _ in range(2):
        for name, fn in [("fresh output", lambda: torch.mm(a, w.t())),
                         ("reused output (out=)", lambda: torch.mm(a, w.t(), out=out))]:
            s = median_seconds(fn)
            print(f"{name:22s} {s * 1e3:7.2f} ms  {2 * M * K * N / s / 1e9:7.1f} GFLOP/s")


if __name__ == "__main__":
    main()
