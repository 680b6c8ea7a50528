#!/usr/bin/env python3
"""transformers + PEFT side of `cotlab bench train`: the same measurement on the same machine.

    python3 tests/reference/bench_train_transformers.py --seq 256 --rank 16

A randomly initialised Qwen3-0.6B-shaped model (float32, CPU, torch's default threads) with a
PEFT LoRA adapter (rank r, alpha 2r, all seven linear projections); one update = forward with
labels on every position, backward, torch.optim.AdamW step. Best of --steps timed updates after
one warm-up; peak resident memory of the process (ru_maxrss).
"""
import argparse
import json
import resource
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import Qwen3Config, Qwen3ForCausalLM

p = argparse.ArgumentParser()
p.add_argument("--layers", type=int, default=28)
p.add_argument("--seq", type=int, default=256)
p.add_argument("--rank", type=int, default=16)
p.add_argument("--steps", type=int, default=2)
a = p.parse_args()

cfg = Qwen3Config(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=a.layers,
                  num_attention_heads=16, num_key_value_heads=8, head_dim=128, tie_word_embeddings=True,
                  rms_norm_eps=1e-6, rope_theta=1e6, max_position_embeddings=40960)
torch.manual_seed(0)
model = Qwen3ForCausalLM(cfg)
model = get_peft_model(model, LoraConfig(r=a.rank, lora_alpha=2 * a.rank, lora_dropout=0.0, task_type="CAUSAL_LM",
                                         target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]))
model.train()
opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
rss_init = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
ids = torch.tensor([[(i * 7919) % 150000 for i in range(a.seq)]])
best = float("inf")
for run in range(1 + a.steps):
    t0 = time.perf_counter()
    loss = model(input_ids=ids, labels=ids).loss
    loss.backward()
    opt.step()
    opt.zero_grad()
    dt = time.perf_counter() - t0
    if run >= 1:
        best = min(best, dt)
print(json.dumps({"bench": "train", "impl": "transformers+peft", "transformers": __import__("transformers").__version__,
                  "peft": __import__("peft").__version__, "torch": torch.__version__, "threads": torch.get_num_threads(),
                  "layers": a.layers, "seq": a.seq, "lora_rank": a.rank, "step_s": best, "tokens_per_s": a.seq / best,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, "rss_after_init_bytes": rss_init}))
