"""Log-likelihood scores of lm-evaluation-harness's HFLM on a tiny random GPT-2,
for tests/unit/eval_scorer_test.cpp.

A small random transformers.GPT2LMHeadModel with GPT-2's vocabulary (fp32,
n_positions 64 so that long requests are truncated from the left) is wrapped in
lm_eval's own HFLM (batch size 3) and scores, the harness's way:
  - loglikelihood: the requests of the first documents of every task, built by
    make_eval_requests.py's functions (lm_eval's task code);
  - loglikelihood_rolling: the first two wikitext documents, cut to their first
    300 tokens' worth of text.
The metric aggregation reference applies lm_eval.api.metrics to fixed per-example
numbers. Writes OUT/eval_scores/: model.safetensors + config.json (the cocomix
model section), scores.json {"requests": [{"context", "continuation",
"logprob", "greedy"}], "rolling": [{"text", "logprob"}], "metrics": {...}}.
"""
import argparse
import json
import math
import os

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch  # noqa: E402
from lm_eval.api import metrics  # noqa: E402
from lm_eval.api.instance import Instance  # noqa: E402
from lm_eval.models.huggingface import HFLM  # noqa: E402
from make_eval_requests import HfEncoder, task_records, wikitext_records, wikitext_test_pages  # noqa: E402
from safetensors.torch import save_file  # noqa: E402

from cocomix_tools.model import random_hf_gpt2  # noqa: E402

MODEL = dict(vocab_size=50257, n_positions=64, n_embd=32, n_layer=2, n_head=4)
PER_TASK = 6  # requests of each task


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="reference directory (COCOMIX_REFERENCE_DIR)")
    args = parser.parse_args()
    out = os.path.join(args.out, "eval_scores")
    os.makedirs(out, exist_ok=True)
    encoder = HfEncoder(out)

    torch.manual_seed(4321)
    torch.set_num_threads(1)
    model = random_hf_gpt2(MODEL, weight_std=0.1, end_of_text=50256).eval()
    state = {name: t.detach().clone().contiguous() for name, t in model.state_dict().items()}
    save_file(state, os.path.join(out, "model.safetensors"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump({"model": dict(MODEL, dropout=0.0, layer_norm_epsilon=1e-5), "data": {"seq_len": 64}}, f)

    tokenizer = encoder.tok
    lm = HFLM(pretrained=model, tokenizer=tokenizer, batch_size=3, max_length=MODEL["n_positions"])
    assert lm.max_length == MODEL["n_positions"] and lm.prefix_token_id == 50256

    records = task_records(encoder, 2) + wikitext_records(encoder, wikitext_test_pages(), 2)
    picked, rolling_texts, per_task = [], [], {}
    for r in records:
        if r["task"] == "wikitext":
            if len(rolling_texts) < 2:
                ids = lm.tok_encode(r["text"])
                rolling_texts.append(lm.tok_decode(ids[:300]))
            continue
        if per_task.get(r["task"], 0) < PER_TASK:
            per_task[r["task"]] = per_task.get(r["task"], 0) + 1
            picked.append((r["context"], r["continuation"]))
    picked.append(("", " An empty context scores after end-of-text."))
    # Continuations the model itself would produce greedily (a random model's
    # scores are otherwise never greedy): 1 and 3 argmax tokens after short contexts.
    with torch.no_grad():
        for context in ("The quick brown fox", "Question: What is the sun?\nAnswer:", "She said"):
            ids = lm.tok_encode(context)
            for steps in (1, 3):
                generated = list(ids)
                for _ in range(steps):
                    generated.append(int(model(torch.tensor([generated])).logits[0, -1].argmax()))
                picked.append((context, tokenizer.decode(generated[len(ids):])))

    def instance(kind, arguments):
        return Instance(request_type=kind, doc={}, arguments=arguments, idx=0)

    with torch.no_grad():
        scores = lm.loglikelihood([instance("loglikelihood", a) for a in picked], disable_tqdm=True)
        rolling = lm.loglikelihood_rolling([instance("loglikelihood_rolling", (t,)) for t in rolling_texts],
                                           disable_tqdm=True)

    assert sum(greedy for _, greedy in scores) >= 3, "the greedy continuations must score as greedy"

    # Metric aggregation on fixed per-example numbers, by lm_eval.api.metrics.
    acc = [1, 0, 1, 1, 0, 1, 1]
    lls = [-2.5, -0.75, -3.0, -1.25, -4.5]
    weighted = [(-120.5, 40), (-33.25, 9), (-410.0, 151)]
    aggregation = {
        "acc": metrics.mean(acc), "acc_stderr": metrics.mean_stderr(acc),
        "perplexity": metrics.perplexity(lls),
        "weighted_perplexity": metrics.weighted_perplexity(weighted), "bits_per_byte": metrics.bits_per_byte(weighted),
    }
    assert math.isclose(aggregation["bits_per_byte"], -sum(a for a, _ in weighted) / sum(b for _, b in weighted)
                        / math.log(2))
    with open(os.path.join(out, "scores.json"), "w") as f:
        json.dump({"requests": [{"context": c, "continuation": k, "logprob": s[0], "greedy": s[1]}
                                for (c, k), s in zip(picked, scores)],
                   "rolling": [{"text": t, "logprob": s} for t, s in zip(rolling_texts, rolling)],
                   "metrics_input": {"acc": acc, "lls": lls, "weighted": weighted},
                   "metrics": aggregation}, f)


if __name__ == "__main__":
    main()
