"""The Python reference of the training-step benchmark: the iGPT model of
plugins/models/igpt (RMS norm, quick GELU, no biases, SOS shift, causal attention)
and the workbench's AR step (cross-entropy, Adam 0.9/0.95, no weight decay) in plain
PyTorch, as a researcher would write it. Same shapes, same step, same machine as
train_bench; prints one line that bench/train_vs_pytorch.sh parses. On "cuda" the
forward and loss run under bfloat16 autocast, as the workbench's trainer does there.
    python3 train_step_torch.py LAYERS WIDTH HEADS TOKENS VOCAB BATCH STEPS THREADS [DEVICE]
"""
import math
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class RmsNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.g = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.g


class Block(nn.Module):
    def __init__(self, d, heads, layers):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = RmsNorm(d), RmsNorm(d)
        self.q, self.k, self.v, self.proj = (nn.Linear(d, d, bias=False) for _ in range(4))
        self.fc = nn.Linear(d, 4 * d, bias=False)
        self.fc_out = nn.Linear(4 * d, d, bias=False)
        for lin in (self.q, self.k, self.v):
            nn.init.normal_(lin.weight, std=1 / math.sqrt(d))
        nn.init.normal_(self.proj.weight, std=1 / math.sqrt(d * layers))

    def forward(self, x):
        n, s, d = x.shape
        h = self.ln_1(x)
        split = lambda t: t.view(n, s, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q(h)), split(self.k(h)), split(self.v(h))  # (N, H, S, dh)
        if hasattr(F, "scaled_dot_product_attention"):  # PyTorch 2.x: the fused kernel
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            att = q @ k.transpose(-2, -1) / math.sqrt(d // self.heads)
            mask = torch.ones(s, s, dtype=torch.bool).triu(1)
            att = att.masked_fill(mask, float("-inf"))
            y = torch.softmax(att, -1) @ v
        x = x + self.proj(y.transpose(1, 2).reshape(n, s, d))
        h = self.fc(self.ln_2(x))
        return x + self.fc_out(h * torch.sigmoid(1.702 * h))


class Igpt(nn.Module):
    def __init__(self, layers, d, heads, vocab, context):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        self.wpe = nn.Parameter(torch.randn(context, d) * 0.01)
        self.sos = nn.Parameter(torch.randn(d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads, layers) for _ in range(layers))
        self.ln_f = RmsNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        nn.init.zeros_(self.head.weight)

    def forward(self, tokens):
        n, s = tokens.shape
        h = self.wte(tokens)
        h = torch.cat([self.sos.view(1, 1, -1).expand(n, 1, -1), h[:, :-1]], 1)
        h = h + self.wpe[:s]
        for b in self.blocks:
            h = b(h)
        return self.head(self.ln_f(h))


def main():
    layers, width, heads, tokens, vocab, batch, steps, threads = map(int, sys.argv[1:9])
    device = torch.device(sys.argv[9] if len(sys.argv) > 9 else "cpu")
    cuda = device.type == "cuda"
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Igpt(layers, width, heads, vocab, tokens).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.0)
    x = torch.randint(0, vocab, (batch, tokens), device=device)

    def step():
        opt.zero_grad()
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            logits = model(x)
            loss = F.cross_entropy(logits.reshape(-1, vocab).float(), x.reshape(-1))
        loss.backward()
        opt.step()
        value = loss.item()
        if cuda:
            torch.cuda.synchronize()  # the optimizer's kernels are part of the step
        return value

    warmup = 2
    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    secs = sorted(times)[len(times) // 2]  # the median step, as train_bench reports
    print(f"pytorch {torch.__version__}: {secs * 1e3:.1f} ms/step, "
          f"{batch * tokens / secs:.0f} tokens/s")


if __name__ == "__main__":
    main()
