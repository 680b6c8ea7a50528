"""An off-the-shelf client against `cotlab serve`: OpenAI's own Python package (pinned in
tests/setup.sh) talks to the server over loopback and must get what `cotlab generate --greedy`
produced for the same prompts.

Run by tests/serve.rs (`the_openai_python_package_talks_to_the_server`), which starts the server
and writes the expected replies:

    python3 tests/serve_openai_client.py --base-url http://127.0.0.1:PORT/v1 --model tiny \
        --expected expected.json

expected.json: {"cases": [{"mode": "think" | "no-think", "prompt": str, "max_tokens": int,
"thinking": str, "answer": str, "tokens": int}]}
"""

import argparse
import json
import sys

import openai
from openai import OpenAI

TOP = 3


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def extra_for(mode):
    # Qwen3's switch, as vLLM and SGLang take it.
    return {} if mode == "think" else {"chat_template_kwargs": {"enable_thinking": False}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--expected", required=True)
    args = ap.parse_args()
    expected = json.load(open(args.expected, encoding="utf-8"))
    client = OpenAI(base_url=args.base_url, api_key="not-needed", max_retries=0, timeout=120)
    checks = 0

    models = client.models.list()
    check([m.id for m in models.data] == [args.model], f"models: {models}")
    checks += 1

    for case in expected["cases"]:
        where = f"[{case['mode']}]"
        messages = [{"role": "user", "content": case["prompt"]}]
        common = dict(model=args.model, messages=messages, temperature=0, max_tokens=case["max_tokens"],
                      extra_body=extra_for(case["mode"]))

        # Non-streaming, with log-probabilities.
        r = client.chat.completions.create(logprobs=True, top_logprobs=TOP, **common)
        check(r.object == "chat.completion" and len(r.choices) == 1, f"{where} reply shape: {r}")
        c = r.choices[0]
        check(c.message.role == "assistant", f"{where} role {c.message.role}")
        check(c.message.content == case["answer"], f"{where} content {c.message.content!r} != {case['answer']!r}")
        reasoning = getattr(c.message, "reasoning_content", None) or ""
        check(reasoning == case["thinking"], f"{where} reasoning_content {reasoning!r} != {case['thinking']!r}")
        check(c.finish_reason == "length", f"{where} finish_reason {c.finish_reason}")
        check(r.usage.completion_tokens == case["tokens"], f"{where} usage {r.usage}")
        check(r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens, f"{where} usage {r.usage}")
        lps = c.logprobs.content
        check(len(lps) == case["tokens"], f"{where} {len(lps)} logprob entries for {case['tokens']} tokens")
        for i, lp in enumerate(lps):
            check(len(lp.top_logprobs) == TOP, f"{where} token {i}: {len(lp.top_logprobs)} alternatives")
            values = [t.logprob for t in lp.top_logprobs]
            check(values == sorted(values, reverse=True), f"{where} token {i}: alternatives not sorted: {values}")
            # Greedy: the chosen token is the most likely one.
            check(lp.token == lp.top_logprobs[0].token and lp.logprob == values[0], f"{where} token {i}: {lp}")
            check(lp.bytes == list(lp.token.encode("utf-8")), f"{where} token {i}: bytes {lp.bytes}")
            check(lp.logprob <= 0.0, f"{where} token {i}: logprob {lp.logprob}")
        checks += 1

        # Streaming: the deltas add up to the same reply.
        content, reasoning, finish, roles = "", "", None, 0
        for chunk in client.chat.completions.create(stream=True, **common):
            check(chunk.object == "chat.completion.chunk", f"{where} chunk {chunk}")
            for ch in chunk.choices:
                check(ch.index == 0, f"{where} chunk index {ch.index}")
                roles += ch.delta.role == "assistant"
                content += ch.delta.content or ""
                reasoning += getattr(ch.delta, "reasoning_content", None) or ""
                finish = ch.finish_reason or finish
        check(roles == 1, f"{where} {roles} role deltas")
        check(content == case["answer"], f"{where} streamed content {content!r} != {case['answer']!r}")
        check(reasoning == case["thinking"], f"{where} streamed reasoning {reasoning!r} != {case['thinking']!r}")
        check(finish == "length", f"{where} streamed finish_reason {finish}")
        checks += 1

    # n choices and the OpenAI names of the parameters.
    r = client.chat.completions.create(model=args.model, messages=[{"role": "user", "content": "Hi"}], n=2, seed=5,
                                       temperature=0.9, top_p=0.9, max_completion_tokens=4, stop=["\n\n\n\n"])
    check([c.index for c in r.choices] == [0, 1], f"n=2: {r.choices}")
    checks += 1

    # Errors reach the client as the package's typed exceptions, with the server's message.
    try:
        client.chat.completions.create(model=args.model, messages=[{"role": "user", "content": "Hi"}], top_p=2.0)
        raise AssertionError("top_p=2 was accepted")
    except openai.BadRequestError as e:
        check("top_p" in str(e), f"400 message: {e}")
    try:
        client.chat.completions.create(model="no-such-model", messages=[{"role": "user", "content": "Hi"}])
        raise AssertionError("an unknown model was accepted")
    except openai.NotFoundError as e:
        check("no-such-model" in str(e), f"404 message: {e}")
    checks += 1

    print(f"openai {openai.__version__} client against cotlab serve: {checks} checks passed")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
