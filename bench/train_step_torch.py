"""The Python reference of bench/train_bench.cpp: the iGPT model of plugins/models/igpt
(RMS norm, quick GELU, no biases, SOS shift, causal fused attention, untied zero head)
and the workbench's AR step (cross-entropy in float32, Adam 0.9/0.95, no weight decay)
in plain PyTorch 2.x, as a researcher would write it: eager, or under torch.compile
(--compile). bfloat16 is autocast around the forward and loss, float32 weights, as the
workbench runs it. --mode features times the linear probe's pass instead: forward only,
every layer's normalised hidden state averaged over positions.
Prints one line that bench/train_vs_pytorch.sh reads:
    pytorch <version> <eager|compile>: <ms> ms/step, <tokens/s> tokens/s
--profile also prints torch.profiler's table of one more step (self CPU time by
operator, to set beside train_bench --profile's; on a GPU the kernels' self time).
"""
import argparse
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

WARMUP_STEPS = 2  # as train_bench; torch.compile compiles during the first


class RmsNorm(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.g = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return F.rms_norm(x, (x.shape[-1],), self.g, 1e-5)


class Block(nn.Module):
    def __init__(self, d, heads, layers):
        super().__init__()
        self.heads = heads
        self.ln_1, self.ln_2 = RmsNorm(d), RmsNorm(d)
        self.qkv = nn.Linear(d, 3 * d, bias=False)  # q, k and v in one product
        self.proj = nn.Linear(d, d, bias=False)
        self.fc = nn.Linear(d, 4 * d, bias=False)
        self.fc_out = nn.Linear(4 * d, d, bias=False)
        nn.init.normal_(self.qkv.weight, std=1 / math.sqrt(d))
        nn.init.normal_(self.proj.weight, std=1 / math.sqrt(d * layers))
        nn.init.normal_(self.fc.weight, std=0.02)
        nn.init.normal_(self.fc_out.weight, std=0.02)

    def forward(self, x, causal=True):
        n, s, d = x.shape
        q, k, v = self.qkv(self.ln_1(x)).split(d, -1)
        split = lambda t: t.view(n, s, self.heads, d // self.heads).transpose(1, 2)
        y = F.scaled_dot_product_attention(split(q), split(k), split(v), is_causal=causal)
        x = x + self.proj(y.transpose(1, 2).reshape(n, s, d))
        h = self.fc(self.ln_2(x))
        return x + self.fc_out(h * torch.sigmoid(1.702 * h))


class Igpt(nn.Module):
    def __init__(self, layers, d, heads, vocab, context):
        super().__init__()
        self.wte = nn.Embedding(vocab, d)
        nn.init.normal_(self.wte.weight, std=0.02)
        self.wpe = nn.Parameter(torch.randn(context, d) * 0.01)
        self.sos = nn.Parameter(torch.randn(d) * 0.02)
        self.blocks = nn.ModuleList(Block(d, heads, layers) for _ in range(layers))
        self.ln_f = RmsNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)
        nn.init.zeros_(self.head.weight)

    def forward(self, tokens, features=False):
        n, s = tokens.shape
        h = self.wte(tokens)
        h = torch.cat([self.sos.view(1, 1, -1).expand(n, 1, -1), h[:, :-1]], 1)
        h = h + self.wpe[:s]
        pooled = []
        for b in self.blocks:
            if features:
                pooled.append(b.ln_1(h).mean(1))
            h = b(h)
        h = self.ln_f(h)
        if features:
            pooled.append(h.mean(1))
        return self.head(h), pooled


def main():
    p = argparse.ArgumentParser()
    for name, default in [("layers", 4), ("width", 128), ("heads", 4), ("tokens", 784),
                          ("vocab", 16), ("batch", 8), ("steps", 5), ("threads", 0)]:
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", choices=["float32", "bfloat16"], default="float32")
    p.add_argument("--mode", choices=["train", "features"], default="train")
    p.add_argument("--compile", action="store_true")
    p.add_argument("--profile", action="store_true")
    a = p.parse_args()
    device = torch.device(a.device)
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = Igpt(a.layers, a.width, a.heads, a.vocab, a.tokens).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.0)
    x = torch.randint(0, a.vocab, (a.batch, a.tokens), device=device)
    bf16 = a.precision == "bfloat16"

    def loss_fn(tokens):
        logits, _ = model(tokens)
        return F.cross_entropy(logits.reshape(-1, a.vocab).float(), tokens.reshape(-1))

    def features_fn(tokens):
        _, pooled = model(tokens, features=True)
        return [f.float() for f in pooled]

    fn = loss_fn if a.mode == "train" else features_fn
    if a.compile:
        fn = torch.compile(fn)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            if a.mode == "features":
                with torch.no_grad():
                    return [f.cpu() for f in fn(x)]
            loss = fn(x)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss.item()

    if a.mode == "features":
        model.eval()
    for _ in range(WARMUP_STEPS):
        step()
    times = []
    for _ in range(a.steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        step()
        if device.type == "cuda":
            torch.cuda.synchronize()  # the optimizer's kernels are part of the step
        times.append(time.perf_counter() - t0)
    secs = sorted(times)[len(times) // 2]  # the median step, as train_bench reports
    print(f"pytorch {torch.__version__} {'compile' if a.compile else 'eager'}: "
          f"{secs * 1e3:.1f} ms/step, {a.batch * a.tokens / secs:.0f} tokens/s")
    if a.profile:
        from torch.profiler import ProfilerActivity, profile
        # On a GPU the kernels' own time (the CPU's is their launch): where a step's
        # time goes on the device, kernel by kernel.
        cuda = device.type == "cuda"
        activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
        with profile(activities=activities) as prof:
            step()
            if cuda:
                torch.cuda.synchronize()
        key = "self_cuda_time_total" if cuda else "self_cpu_time_total"
        print(prof.key_averages().table(sort_by=key, row_limit=20 if cuda else 12))


if __name__ == "__main__":
    main()
