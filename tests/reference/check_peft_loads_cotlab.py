#!/usr/bin/env python3
"""Cross-check: an adapter trained and saved by cotlab loads in PEFT and gives cotlab's outputs.

    cargo build -p cotlab && python3 tests/reference/check_peft_loads_cotlab.py [path/to/cotlab]

Builds the "tiny" fixture checkpoint with transformers (save_pretrained), trains a LoRA adapter
on it with `cotlab train` (qta, 3 updates), loads that adapter with `PeftModel.from_pretrained`,
and compares the top-5 log-probabilities of a greedy continuation with `cotlab generate
--adapter --greedy --json --logprobs 5` (ids identical, log-probabilities within 1e-4).
Exits non-zero on any mismatch. Needs torch, transformers, peft (not needed by the Rust tests,
which check the same compatibility by construction: tests/sft_parity.rs).
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import torch
from peft import PeftModel
from transformers import AutoTokenizer

import make_fixtures as mf

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COTLAB = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "debug", "cotlab")


def main():
    tok = AutoTokenizer.from_pretrained(mf.TOK)
    spec = dict((m[0], m) for m in mf.MODELS)["tiny"]
    seed = json.load(open(os.path.join(mf.FIX, "models", "tiny", "weights.json")))["seed"]
    _, base, ckpt, _ = mf.build("tiny", spec[1], spec[2], spec[3], seed, tok)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(mf.TOK, f), ckpt)
    run = tempfile.mkdtemp()
    subprocess.run([COTLAB, "train", "--model", ckpt, "--data", os.path.join(mf.FIX, "sft", "records.jsonl"),
                    "--paradigm", "qta", "--out", os.path.join(run, "out"), "--device", "cpu", "--lora-rank", "4",
                    "--lora-alpha", "8", "--lr", "1e-2", "--max-steps", "3", "--batch-size", "2"], check=True)
    adapter = os.path.join(run, "out", "adapter")
    model = PeftModel.from_pretrained(base, adapter).eval()

    prompt = "Should I lend my car keys tonight?"
    text = tok.apply_chat_template([{"role": "user", "content": prompt}], tokenize=False, add_generation_prompt=True)
    ids = tok(text, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                             do_sample=False, max_new_tokens=8, eos_token_id=[151645, 151643], pad_token_id=151643,
                             output_logits=True, return_dict_in_generate=True)
    gen = out.sequences[0, len(ids):].tolist()
    res = subprocess.run([COTLAB, "generate", "--model", ckpt, "--adapter", adapter, "--greedy", "--json",
                          "--logprobs", "5", "--device", "cpu", "--max-new-tokens", "8", "--prompt", prompt],
                         check=True, capture_output=True, text=True)
    ours = json.loads(res.stdout.splitlines()[0])
    worst = 0.0
    assert ours["token_ids"] == gen, f"greedy ids differ: cotlab {ours['token_ids']} vs PEFT {gen}"
    for step, (logit, lp) in enumerate(zip(out.logits, ours["logprobs"])):
        ref = torch.log_softmax(logit[0].double(), -1)
        for e in lp:
            d = abs(e["logprob"] - ref[e["token_id"]].item())
            worst = max(worst, d)
            assert d <= 1e-4, f"step {step}: token {e['token_id']} logprob {e['logprob']} vs PEFT {ref[e['token_id']].item()}"
    print(f"PEFT loads cotlab's adapter: {len(gen)} greedy ids identical, max |Δ logprob| = {worst:.2e}")
    shutil.rmtree(run)
    shutil.rmtree(ckpt)


if __name__ == "__main__":
    main()
