#!/usr/bin/env python3
"""transformers' side of `cotlab bench generate`: the same measurement on the same machine.

    python3 tests/reference/bench_transformers.py --layers 28 --prompt-len 128 --new-tokens 32

A randomly initialised Qwen3-0.6B-shaped model (float32, eager CPU, torch's default threads);
prefill = forward of the prompt plus the first token, decode = the remaining tokens with the KV
cache (greedy, no stop token). Best of 3 timed runs after 1 warm-up, as cotlab's bench does.
"""
import argparse
import json
import time

import torch
from transformers import Qwen3Config, Qwen3ForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, default=28)
p.add_argument("--prompt-len", type=int, default=128)
p.add_argument("--new-tokens", type=int, default=32)
p.add_argument("--batch", type=int, default=1)
p.add_argument("--dtype", default="float32")
a = p.parse_args()

cfg = Qwen3Config(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=a.layers,
                  num_attention_heads=16, num_key_value_heads=8, head_dim=128, tie_word_embeddings=True,
                  rms_norm_eps=1e-6, rope_theta=1e6, max_position_embeddings=40960)
torch.manual_seed(0)
model = Qwen3ForCausalLM(cfg).to(getattr(torch, a.dtype)).eval()
ids = torch.tensor([[(i * 7919 + b * 104729) % 150000 for i in range(a.prompt_len)] for b in range(a.batch)])

best_prefill, best_decode = float("inf"), float("inf")
with torch.inference_mode():
    for run in range(4):
        t0 = time.perf_counter()
        out = model(ids, use_cache=True)
        nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        prefill = time.perf_counter() - t0
        past = out.past_key_values
        t1 = time.perf_counter()
        for _ in range(a.new_tokens - 1):
            out = model(nxt, past_key_values=past, use_cache=True)
            past = out.past_key_values
            nxt = out.logits[:, -1].argmax(-1, keepdim=True)
        decode = time.perf_counter() - t1
        if run >= 1:
            best_prefill, best_decode = min(best_prefill, prefill), min(best_decode, decode)

print(json.dumps({
    "bench": "generate", "impl": "transformers", "transformers": __import__("transformers").__version__,
    "torch": torch.__version__, "threads": torch.get_num_threads(), "layers": a.layers, "dtype": a.dtype,
    "batch": a.batch, "prompt_len": a.prompt_len, "new_tokens": a.new_tokens, "prefill_s": best_prefill,
    "prefill_tokens_per_s": a.prompt_len * a.batch / best_prefill,
    "decode_tokens_per_s": (a.new_tokens - 1) * a.batch / best_decode,
}))
