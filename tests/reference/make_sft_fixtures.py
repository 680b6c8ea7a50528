#!/usr/bin/env python3
"""Reference fixtures for LoRA SFT parity, produced with transformers + PEFT + torch AdamW.

Provenance of tests/fixtures/sft/*: this script, run after make_fixtures.py as

    python3 tests/reference/make_sft_fixtures.py        # needs torch, transformers, peft

On the "tiny" fixture checkpoint it builds a PEFT LoRA adapter (r=4, alpha=8, all seven linear
projections) whose A and B come from the same deterministic generator as the weights (both
non-zero, so both receive gradients), saves it with PEFT's `save_pretrained`, and records:

  * per paradigm (qa, qta, qt, t-only): input_ids and labels of every record of
    tests/fixtures/sft/records.jsonl, rendered with the tokenizer's `apply_chat_template` and
    labelled by this script's own reading of the paradigm rules (tokens overlapping the target
    span carry loss; labels unshifted, -100 elsewhere);
  * per paradigm, one training step on the right-padded batch of all records: transformers'
    loss (mean over supervised tokens) and every adapter tensor after one torch.optim.AdamW step
    (lr 1e-3, betas 0.9/0.999, eps 1e-8, weight decay 0.01, no clipping);
  * logits of the PEFT model for a fixed prompt (log-sum-exp, probe ids, top-5), for the
    "PEFT adapter loads in cotlab" check.
"""
import copy
import json
import os
import shutil
import tempfile

import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer

import make_fixtures as mf

OUT = os.path.join(mf.FIX, "sft")
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
RANK, ALPHA, ADAPTER_SEED = 4, 8, 7
LR, WD = 1e-3, 0.01


def base_model(tok):
    spec = dict((m[0], m) for m in mf.MODELS)["tiny"]
    weights = json.load(open(os.path.join(mf.FIX, "models", "tiny", "weights.json")))
    _, ref, out, _ = mf.build("tiny", spec[1], spec[2], spec[3], weights["seed"], tok)
    shutil.rmtree(out)
    return ref


def render(tok, rec, paradigm):
    msgs = ([{"role": "system", "content": rec["system"]}] if rec.get("system") else []) + \
        [{"role": "user", "content": rec.get("question", "")}]
    p = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    think = "<think>\n" + rec.get("thinking", "") + "\n</think>"
    if paradigm == "qa":
        return p + "<think>\n\n</think>\n\n", rec["answer"] + "<|im_end|>"
    if paradigm == "qta":
        return p, think + "\n\n" + rec["answer"] + "<|im_end|>"
    if paradigm == "qt":
        return p, think
    return "<|im_start|>assistant\n", think


def example(tok, rec, paradigm):
    context, target = render(tok, rec, paradigm)
    enc = tok(context + target, add_special_tokens=False, return_offsets_mapping=True)
    labels = [i if end > len(context) else -100 for i, (_, end) in zip(enc["input_ids"], enc["offset_mapping"])]
    return enc["input_ids"], labels


def peft_model(ref):
    cfg = LoraConfig(r=RANK, lora_alpha=ALPHA, lora_dropout=0.0, target_modules=TARGETS, task_type="CAUSAL_LM")
    model = get_peft_model(copy.deepcopy(ref), cfg)
    specs = []
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_" not in name:
                continue
            saved = name.replace(".default", "")
            scale = 0.25 if "lora_A" in name else 0.125
            p.copy_(mf.det_tensor(saved, tuple(p.shape), ADAPTER_SEED, scale, False))
            specs.append({"name": saved, "shape": list(p.shape), "norm": False, "scale": scale,
                          "file": "adapter_model.safetensors"})
    return model, specs


def main():
    tok = AutoTokenizer.from_pretrained(mf.TOK)
    ref = base_model(tok)
    records = [json.loads(l) for l in open(os.path.join(OUT, "records.jsonl"))]

    model, specs = peft_model(ref)
    tmp = tempfile.mkdtemp()
    model.save_pretrained(tmp)
    shutil.copy(os.path.join(tmp, "adapter_config.json"), OUT)
    json.dump({"generator": "detweights-v1", "seed": ADAPTER_SEED, "dtype": "float32", "tensors": specs},
              open(os.path.join(OUT, "adapter_weights.json"), "w"), indent=1)
    from safetensors.torch import load_file
    saved = load_file(os.path.join(tmp, "adapter_model.safetensors"))
    assert sorted(saved) == sorted(s["name"] for s in specs), "PEFT saved different tensor names"
    shutil.rmtree(tmp)

    # Logits of the PEFT model (adapter active) for the tiny fixture's first prompt.
    prompt_ids = json.load(open(os.path.join(mf.FIX, "models", "tiny", "reference.json")))["prompts"][0]["ids"]
    model.eval()
    logits = mf.logits_record(model, prompt_ids)

    steps = {}
    for paradigm in ["qa", "qta", "qt", "t-only"]:
        examples = [example(tok, r, paradigm) for r in records]
        m, _ = peft_model(ref)
        m.train()
        t = max(len(ids) for ids, _ in examples)
        ids = torch.tensor([i + [151643] * (t - len(i)) for i, _ in examples])
        att = torch.tensor([[1] * len(i) + [0] * (t - len(i)) for i, _ in examples])
        lab = torch.tensor([l + [-100] * (t - len(l)) for _, l in examples])
        params = [p for n, p in m.named_parameters() if p.requires_grad]
        opt = torch.optim.AdamW(params, lr=LR, betas=(0.9, 0.999), eps=1e-8, weight_decay=WD)
        loss = m(input_ids=ids, attention_mask=att, labels=lab).loss
        loss.backward()
        opt.step()
        updated = {n.replace(".default", ""): p.detach().flatten().tolist()
                   for n, p in m.named_parameters() if "lora_" in n}
        steps[paradigm] = {
            "examples": [{"id": r["id"], "input_ids": i, "labels": l} for r, (i, l) in zip(records, examples)],
            "loss": loss.item(),
            "updated": updated,
        }
        print(f"{paradigm}: loss {loss.item():.6f}, supervised {(lab[:, 1:] != -100).sum().item()}")

    json.dump({"transformers": __import__("transformers").__version__, "peft": __import__("peft").__version__,
               "torch": torch.__version__, "rank": RANK, "alpha": ALPHA, "lr": LR, "weight_decay": WD,
               "probe_ids": mf.PROBE_IDS, "peft_logits": logits, "steps": steps},
              open(os.path.join(OUT, "reference.json"), "w"))


if __name__ == "__main__":
    main()
