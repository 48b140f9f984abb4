"""The ground-truth steering experiment on the synthetic corpus: steer one concept
in a CoCoMix student and the same SAE latent in its teacher, and measure, with
the corpus generator's own word lists, how often the generated text shows the
hidden value that latent stands for.

    PYTHONPATH=python $VENV/bin/python scripts/steering_experiment.py --corpus DIR --teacher RUN --sae SAE_DIR
        --student RUN --bin BUILD/bin [--value auto] [--factors=-10,-5,-2,0,1,2,5,10]
        [--seeds 6] [--max-new-tokens 96] [--documents 400] [--threads 1] -o OUT_DIR

1. The latent: over the first --documents validation documents, each SAE latent's
   document feature (the share of the document's tokens where it is active,
   cocomix_tools.alignment) is scored by its AUROC for "the document's topic
   is VALUE". With --value auto every topic is scored and the one whose best
   latent scores highest is taken. The student
   is steered at the same index: its concept i is trained on the SAE's latent i.
   --latent ID steers a latent of your choice instead (its AUROC is reported).
   The student's own best-aligned concept for the value is reported beside it.
2. Prompts that do not decide the value: the corpus's openings cut before their
   place phrase, "This is an account of a SEASON day spent" (formal) and "Okay,
   so here's what happened one SEASON day" (casual), four seasons each; the
   continuation names a place, which belongs to one topic. (The openings
   decide the register, so the register is not a variable this can steer.)
3. Generations: cocomix-generate, every prompt sampled at temperature 1 with
   each of --seeds seeds (one prompts-file line per pair, its own "seed"),
   --max-new-tokens each, unsteered and with every factor: the student through
   --steer ID=FACTOR, the teacher through --sae SAE --steer-sae ID=FACTOR.
4. The measure: a generation shows the topic when it contains one of the
   topic's nouns, tools or places from DIR/vocabulary.json (the generator's
   lists; no other topic uses them). Also counted: generations that show
   another topic.

Writes OUT/steering.json (the choice of latent, every generation's text and
verdict, the shares), OUT/steering.md (the table) and OUT/steering.png (share
against factor, one curve per model, the unsteered share dotted).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch

from . import alignment as ca
from .files import InputError, read_json
from .model import GPT2, ConceptHead, Sae

SEASONS = ("spring", "summer", "autumn", "winter")
DEFAULT_FACTORS = (-10.0, -5.0, -2.0, 0.0, 1.0, 2.0, 5.0, 10.0)
VARIABLE = "topic"


def neutral_prompts():
    """The corpus's two openings cut before the place phrase, for every season."""
    prompts = []
    for season in SEASONS:
        article = "an" if season[0] in "aeiou" else "a"
        prompts.append(f"This is an account of {article} {season} day spent")
        prompts.append(f"Okay, so here's what happened one {season} day")
    return prompts


def topic_words(vocabulary, topic):
    """The phrases whose presence shows `topic` (corpus vocabulary.json): its nouns, tools and places."""
    lists = vocabulary["topics"][topic]
    return lists["nouns"] + lists["tools"] + lists["places"]


def shows(text, words):
    """True when `text` contains one of `words` as whole words (case-insensitive)."""
    lowered = text.lower()
    return any(re.search(r"(?<![a-z])" + re.escape(w.lower()) + r"(?![a-z])", lowered) for w in words)


def best_latents(features, labels, values):
    """{value: (latent, auroc)}: the column of features [n_docs, C] with the highest AUROC per value."""
    ranks = ca.average_ranks(features)
    out = {}
    for v, value in enumerate(values):
        if 0 < labels[:, v].sum() < len(labels):
            scores = ca.auroc_columns(ranks, labels[:, v])
            best = int(np.argmax(scores))
            out[value] = (best, float(scores[best]))
    return out


def choose_latent(corpus, teacher, sae, student, value, documents, batch, latent=None):
    """Step 1 of the module docstring: {"value", "latent", "auroc", "student_concept", "student_auroc", ...}.
    `latent` given: that latent instead of the best one, with its own AUROC."""
    docs = ca.read_val_documents(corpus, documents)
    values, labels = ca.labels_of(docs, VARIABLE)
    sae_model = Sae(sae)
    if latent is not None and not 0 <= latent < sae_model.n_latents:
        raise InputError(f"--latent: {latent} is outside the SAE's [0, {sae_model.n_latents})")
    features = ca.sae_features(GPT2(teacher), sae_model, docs, batch)
    teacher_best = best_latents(features, labels, values)
    if value == "auto":
        value = max(teacher_best, key=lambda v: teacher_best[v][1])
    if value not in teacher_best:
        raise InputError(f"--value: {value!r} is not a topic of the first {len(docs)} validation "
                         f"documents of {corpus} (values: {', '.join(values)})")
    student_model = GPT2(student)
    student_best = best_latents(ca.student_features(student_model, ConceptHead(student_model), docs, batch), labels,
                                values)
    if latent is None:
        latent, auroc = teacher_best[value]
    else:
        column = ca.average_ranks(features)[:, [latent]]
        auroc = float(ca.auroc_columns(column, labels[:, values.index(value)])[0])
    return {"variable": VARIABLE, "value": value, "values": values, "latent": latent, "auroc": auroc,
            "documents": len(docs), "student_concept": student_best.get(value, (-1, float("nan")))[0],
            "student_auroc": student_best.get(value, (-1, float("nan")))[1]}


def generate(bin_dir, checkpoint, prompts_file, max_new_tokens, threads, steer_args):
    """One cocomix-generate call: the completions of every line of the prompts file, in order."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "out.json")
        command = [os.path.join(bin_dir, "cocomix-generate"), "--checkpoint", checkpoint, "--prompts", prompts_file,
                   "--temperature", "1", "--max-new-tokens", str(max_new_tokens), "--batch-size", "64",
                   "--threads", str(threads), "--json", out] + steer_args
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise InputError(f"{' '.join(command)}: {result.stderr.strip()}")
        with open(out) as f:
            return [r["completion"] for r in json.load(f)["results"]]


def run(args):
    vocabulary_file = os.path.join(args.corpus, "vocabulary.json")
    if not os.path.exists(vocabulary_file):
        raise InputError(f"{vocabulary_file}: missing (write it with cocomix-tokenize --synthetic)")
    vocabulary = read_json(vocabulary_file)
    choice = choose_latent(args.corpus, args.teacher, args.sae, args.student, args.value, args.documents, args.batch,
                           args.latent)
    targets = topic_words(vocabulary, choice["value"])
    others = [w for v in choice["values"] if v != choice["value"] for w in topic_words(vocabulary, v)]
    os.makedirs(args.out, exist_ok=True)
    prompts = neutral_prompts()
    runs = [(prompt, seed) for seed in range(args.seeds) for prompt in prompts]  # one line of the file each
    prompts_file = os.path.join(args.out, "prompts.jsonl")
    with open(prompts_file, "w") as f:
        f.writelines(json.dumps({"prompt": p, "seed": s}) + "\n" for p, s in runs)

    latent = choice["latent"]
    models = {"student": (args.student, lambda factor: ["--steer", f"{latent}={factor:g}"]),
              "teacher": (args.teacher, lambda factor: ["--sae", args.sae, "--steer-sae", f"{latent}={factor:g}"])}
    settings = [None] + list(args.factors)  # None: unsteered
    rows, generations = [], []
    for model, (checkpoint, steer_args) in models.items():
        for factor in settings:
            shown = other = total = 0
            completions = generate(args.bin, checkpoint, prompts_file, args.max_new_tokens, args.threads,
                                   [] if factor is None else steer_args(factor))
            for (prompt, seed), completion in zip(runs, completions):
                verdict = shows(completion, targets)
                shown += verdict
                other += shows(completion, others)
                total += 1
                generations.append({"model": model, "factor": factor, "seed": seed, "prompt": prompt,
                                    "completion": completion, "shows": verdict})
            rows.append({"model": model, "factor": factor, "generations": total, "share": shown / total,
                         "other_share": other / total})
            print(f"steering: {model} factor {'none' if factor is None else f'{factor:g}'}: "
                  f"{shown}/{total} show {choice['value']}", file=sys.stderr)
    result = {"choice": choice, "words": targets, "prompts": prompts, "seeds": args.seeds,
              "max_new_tokens": args.max_new_tokens, "rows": rows, "generations": generations}
    write_atomically(os.path.join(args.out, "steering.json"), json.dumps(result, indent=2) + "\n")
    write_atomically(os.path.join(args.out, "steering.md"), markdown(result))
    plot(result, os.path.join(args.out, "steering.png"))
    return result


def markdown(result):
    c = result["choice"]
    lines = [f"Latent {c['latent']} (SAE AUROC {c['auroc']:.3f} for topic = {c['value']}, over "
             f"{c['documents']} validation documents; the student's own best concept for it: "
             f"{c['student_concept']}, AUROC {c['student_auroc']:.3f}).",
             "",
             f"Share of generations showing topic {c['value']} ({result['seeds']} seeds x {len(result['prompts'])} "
             f"prompts, {result['max_new_tokens']} new tokens, temperature 1):",
             "",
             "| factor | student | teacher | student: another topic | teacher: another topic |",
             "|---|---|---|---|---|"]
    by = {(r["model"], r["factor"]): r for r in result["rows"]}
    for factor in [None] + sorted({r["factor"] for r in result["rows"] if r["factor"] is not None}):
        s, t = by[("student", factor)], by[("teacher", factor)]
        name = "none" if factor is None else f"{factor:g}"
        lines.append(f"| {name} | {s['share']:.3f} | {t['share']:.3f} | {s['other_share']:.3f} | "
                     f"{t['other_share']:.3f} |")
    return "\n".join(lines) + "\n"


def plot(result, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    c = result["choice"]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for model, colour in (("student", "tab:blue"), ("teacher", "tab:orange")):
        rows = sorted((r for r in result["rows"] if r["model"] == model and r["factor"] is not None),
                      key=lambda r: r["factor"])
        ax.plot([r["factor"] for r in rows], [r["share"] for r in rows], "o-", color=colour,
                label=f"{model} (steered)")
        base = next(r for r in result["rows"] if r["model"] == model and r["factor"] is None)
        ax.axhline(base["share"], color=colour, linestyle=":", label=f"{model} (unsteered)")
    ax.set_xlabel(f"steering factor of latent {c['latent']}")
    ax.set_ylabel(f"share of generations showing {c['value']}")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"Steering towards topic {c['value']} from neutral prompts")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path + ".tmp.png", dpi=120)
    plt.close(fig)
    os.replace(path + ".tmp.png", path)


def write_atomically(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def parse_factors(text):
    try:
        factors = [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected numbers like -10,-5,0,5,10, got {text!r}")
    if any(abs(f) > 100 for f in factors):
        raise argparse.ArgumentTypeError("factors must lie in [-100, 100]")
    return factors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="cocomix-tokenize --synthetic output directory")
    parser.add_argument("--teacher", required=True, help="teacher run or checkpoint directory")
    parser.add_argument("--sae", required=True, help="the teacher's SAE directory")
    parser.add_argument("--student", required=True, help="CoCoMix student run or checkpoint directory (its "
                        "concepts are the SAE's latents)")
    parser.add_argument("--bin", required=True, help="directory of the cocomix apps")
    parser.add_argument("--value", default="auto", help="the topic to steer towards (auto: the best-aligned one)")
    parser.add_argument("--latent", type=int, help="steer this latent instead of the best-aligned one (e.g. one "
                        "whose top contexts in cocomix-sae explain's dashboard are the topic's words)")
    parser.add_argument("--factors", type=parse_factors, default=list(DEFAULT_FACTORS))
    parser.add_argument("--seeds", type=int, default=6, help="sampling seeds per prompt")
    parser.add_argument("--max-new-tokens", type=int, default=96)
    parser.add_argument("--documents", type=int, default=400, help="validation documents that choose the latent")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="threads of torch here and of cocomix-generate")
    parser.add_argument("-o", "--out", required=True, help="output directory")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.max_new_tokens < 1:
        parser.error("--seeds and --max-new-tokens must be positive")
    torch.set_num_threads(args.threads)
    try:
        result = run(args)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(markdown(result), end="")
    return 0
