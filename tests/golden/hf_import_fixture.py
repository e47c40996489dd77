"""A small released-style ImageGPT folder made by transformers, for the import test
(tests/golden/hf_import_test.cpp): random weights with zero biases, saved as
model.safetensors (safe/) and as pytorch_model.bin (bin/, torch.save of a dict), a 16-colour palette in
preprocessor_config.json, and what transformers computes with them: AR logits and
per-layer features for some token sequences, and ImageGPTImageProcessor's tokens for
some RGB images. Three more folders are refused by the import: biased/ (one non-zero
bias), missing/ (no lm_head.weight) and evil/ (a pickle that calls os.system).

usage: python hf_import_fixture.py OUT_DIR
"""
import os
import sys

import numpy as np
import torch
from transformers import ImageGPTConfig, ImageGPTForCausalImageModeling, ImageGPTImageProcessor

LAYERS, WIDTH, HEADS, COLOURS, SIDE = 2, 32, 4, 16, 4


def dump(folder, tensors):
    with open(os.path.join(folder, "manifest.txt"), "w") as manifest:
        for name, t in tensors.items():
            t = t.contiguous()
            manifest.write(f"{name} {str(t.dtype).replace('torch.', '')} "
                           f"{' '.join(str(s) for s in t.shape)}\n")
            t.numpy().tofile(os.path.join(folder, name + ".bin"))


def main():
    out = sys.argv[1]
    torch.manual_seed(5)
    cfg = ImageGPTConfig(vocab_size=COLOURS + 1, n_positions=SIDE * SIDE, n_embd=WIDTH,
                         n_layer=LAYERS, n_head=HEADS, activation_function="quick_gelu",
                         layer_norm_epsilon=1e-5, attn_pdrop=0.0, resid_pdrop=0.0,
                         embd_pdrop=0.0)
    hf = ImageGPTForCausalImageModeling(cfg).eval()
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if name.endswith(".bias"):
                p.zero_()
            else:
                p.add_(torch.randn_like(p) * 0.3)
    clusters = np.random.default_rng(3).uniform(-1, 1, size=(COLOURS, 3)).astype(np.float32)
    processor = ImageGPTImageProcessor(clusters=clusters, do_resize=False)
    for sub in ("safe", "bin"):
        hf.save_pretrained(os.path.join(out, sub))
        processor.save_pretrained(os.path.join(out, sub))
    # The older format of the released folders: torch.save of the weights (recent
    # transformers saves only safetensors). bin/ holds a plain dict, bin_ordered/ the
    # OrderedDict that state_dict() returns (how released .bin files are, with its
    # _metadata).
    os.remove(os.path.join(out, "bin", "model.safetensors"))
    torch.save(dict(hf.state_dict()), os.path.join(out, "bin", "pytorch_model.bin"))
    ordered = os.path.join(out, "bin_ordered")
    hf.config.save_pretrained(ordered)
    torch.save(hf.state_dict(), os.path.join(ordered, "pytorch_model.bin"))
    with torch.no_grad():
        hf.transformer.h[1].attn.c_attn.bias[5] = 0.25
        hf.save_pretrained(os.path.join(out, "biased"))
        hf.transformer.h[1].attn.c_attn.bias[5] = 0.0

    # A pickle that calls os.system: the reader must refuse it, not run it.
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo should-not-run",))
    evil = os.path.join(out, "evil")
    hf.config.save_pretrained(evil)
    torch.save({"lm_head.weight": Evil()}, os.path.join(evil, "pytorch_model.bin"))

    # One tensor short: lm_head.weight left out.
    from safetensors.torch import save_file
    missing = os.path.join(out, "missing")
    hf.config.save_pretrained(missing)
    save_file({k: v.contiguous() for k, v in hf.state_dict().items() if k != "lm_head.weight"},
              os.path.join(missing, "model.safetensors"))

    tensors = {}
    tokens = torch.randint(0, COLOURS, (3, SIDE * SIDE), generator=torch.Generator().manual_seed(9))
    tensors["tokens"] = tokens
    tr = hf.transformer
    with torch.no_grad():
        sos = torch.full((tokens.shape[0], 1), COLOURS, dtype=torch.long)
        ar = hf(torch.cat([sos, tokens[:, :-1]], 1), output_hidden_states=True)
        tensors["ar_logits"] = ar.logits
        # Layer l < L: block l's input norm of its input, averaged over positions;
        # layer L: the last hidden state is already after ln_f.
        for l in range(LAYERS):
            tensors[f"ar_feature{l}"] = tr.h[l].ln_1(ar.hidden_states[l]).mean(1)
        tensors[f"ar_feature{LAYERS}"] = ar.hidden_states[LAYERS].mean(1)
    images = np.random.default_rng(4).integers(0, 256, size=(5, 8, 8, 3), dtype=np.uint8)
    tensors["images"] = torch.from_numpy(images)
    ids = processor(images=list(images), return_tensors="pt")["input_ids"]
    tensors["image_tokens"] = ids.to(torch.long)
    dump(out, tensors)
    import transformers
    print(f"hf_import_fixture: transformers {transformers.__version__}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
