"""Golden test of the igpt plugin against an independent implementation: Hugging Face
transformers' ImageGPT, built with the same shape and given the plugin's weights (its
biases zero, the plugin's SOS vector as its token V), must return the same logits and
per-layer features, for AR input (causal, SOS shift) and for BERT-style unmasked input
(bidirectional: ImageGPT's causal mask buffer set to all ones, no shift).

usage: python hf_imagegpt.py DUMP_DIR   (written by tests/golden/golden_test.cpp)
Exit status 0 when every tensor matches within tolerance.
"""
import os
import sys

import torch
import transformers
from transformers import ImageGPTConfig, ImageGPTForCausalImageModeling

TOLERANCE = 1e-4  # absolute, float32, logits of order 1


def load(folder):
    tensors = {}
    with open(os.path.join(folder, "manifest.txt")) as f:
        for line in f:
            name, dtype, *shape = line.split()
            raw = bytearray(open(os.path.join(folder, name + ".bin"), "rb").read())
            t = torch.frombuffer(raw, dtype=getattr(torch, dtype)) if raw else torch.empty(0)
            tensors[name] = t.reshape([int(s) for s in shape])
    return tensors


def main():
    t = load(sys.argv[1])
    layers = sum(1 for k in t if k.endswith(".ln_1.g"))
    vocab, width = t["wte.weight"].shape
    context = t["wpe"].shape[0]
    heads = int(t["heads"].item())
    cfg = ImageGPTConfig(vocab_size=vocab + 1, n_positions=context, n_embd=width, n_layer=layers,
                         n_head=heads, activation_function="quick_gelu", layer_norm_epsilon=1e-5,
                         attn_pdrop=0.0, resid_pdrop=0.0, embd_pdrop=0.0)
    hf = ImageGPTForCausalImageModeling(cfg).eval()
    with torch.no_grad():
        for p in hf.parameters():
            p.zero_()
        tr = hf.transformer
        tr.wte.weight[:vocab] = t["wte.weight"]
        tr.wte.weight[vocab] = t["sos"]
        tr.wpe.weight.copy_(t["wpe"])
        for i, block in enumerate(tr.h):
            w = lambda n: t[f"blocks.{i}.{n}"]  # noqa: E731
            block.ln_1.weight.copy_(w("ln_1.g"))
            block.ln_2.weight.copy_(w("ln_2.g"))
            # Conv1D holds (in, out): the transpose of a Linear's weight.
            block.attn.c_attn.weight.copy_(
                torch.cat([w("q.weight").T, w("k.weight").T, w("v.weight").T], dim=1))
            block.attn.c_proj.weight.copy_(w("proj.weight").T)
            block.mlp.c_fc.weight.copy_(w("fc.weight").T)
            block.mlp.c_proj.weight.copy_(w("fc_out.weight").T)
        tr.ln_f.weight.copy_(t["ln_f.g"])
        hf.lm_head.weight.copy_(t["head.weight"])

    def features(hidden):
        # Layer l < L: block l's input norm of its input, averaged over positions;
        # layer L: ImageGPT's last hidden state is already after ln_f.
        out = [tr.h[l].ln_1(hidden[l]).mean(1) for l in range(layers)]
        return out + [hidden[layers].mean(1)]

    x = t["tokens"]
    n = x.shape[0]
    worst = 0.0
    with torch.no_grad():
        sos = torch.full((n, 1), vocab, dtype=torch.long)
        ar = hf(torch.cat([sos, x[:, :-1]], 1), output_hidden_states=True)
        got = {"ar_logits": ar.logits}
        for l, f in enumerate(features(ar.hidden_states)):
            got[f"ar_feature{l}"] = f
        for block in tr.h:
            block.attn.bias.fill_(True)  # bidirectional
        bert = hf(x, output_hidden_states=True)
        got["bert_logits"] = bert.logits
        for l, f in enumerate(features(bert.hidden_states)):
            got[f"bert_feature{l}"] = f
    ok = True
    for name, value in got.items():
        err = (value - t[name]).abs().max().item()
        worst = max(worst, err)
        if not err <= TOLERANCE:
            print(f"MISMATCH {name}: max |difference| {err:.3g} > {TOLERANCE}")
            ok = False
    print(f"transformers ImageGPT vs igpt: {len(got)} tensors, largest difference {worst:.3g} "
          f"(transformers {transformers.__version__}, torch {torch.__version__})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
