"""Runs lm-evaluation-harness (HFLM) and cocomix-eval on the same local task files
and compares every metric: accuracies identical, perplexity-type metrics within
1e-4 relative. Prints a markdown table; exits 1 on any mismatch.

The harness cannot download here, so each task is a generated YAML that
`include:`s the harness's own task YAML (its prompts, process_docs, metrics)
and only replaces the dataset with `dataset_path: json` + local `data_files`
made from the files in --data-dir (the layout of shared/data):
  lambada_openai  eval_lambada/lambada_test.jsonl, as is
  wikitext        eval_wikitext2/wiki.test.raw split into {"page"} documents by
                  the rule of the EleutherAI/wikitext_document_level dataset
                  script (a new page at each level-1 " = Title = " line)
  hellaswag       the llama.cpp text format: each task's first line L becomes
                  {"activity_label": L before its first ": ", "ctx_a": the rest,
                  "ctx_b": ""}, so the harness's process_docs builds
                  preprocess(activity_label + ": " + ctx_a + " ") = preprocess(L);
                  endings as they are (the harness preprocesses them again)
  piqa            eval_piqa/valid.jsonl + "label" from valid-labels.lst
  social_iqa      eval_siqa/dev.jsonl + "label" ("1"/"2"/"3") from dev-labels.lst
  arc_easy        eval_arc/hf_format/ARC-Easy-test.jsonl, as is
  winogrande      eval_winogrande/dev.jsonl, as is

Usage (scripts/harness_parity.sh builds the inputs):
  PYTHONPATH=python $VENV/bin/python scripts/harness_parity.py --checkpoint RUN --hf-dir HF --work DIR [--tasks a,b] [--limit N]
"""
import argparse
import bz2
import json
import math
import os
import subprocess
import sys

from .paths import apps_dir, shared_data

ALL_TASKS = ["lambada_openai", "wikitext", "hellaswag", "piqa", "arc_easy", "social_iqa", "winogrande"]
# Metrics compared exactly (counts over the same documents) and within REL_TOL.
EXACT = {"acc", "acc_norm", "acc_stderr", "acc_norm_stderr"}
REL_TOL = 1e-4
# harness task YAML (under lm_eval/tasks), split the task evaluates, local file for that split.
HARNESS_YAML = {
    "lambada_openai": ("lambada/lambada_openai.yaml", "test"),
    "wikitext": ("wikitext/wikitext.yaml", "test"),
    "hellaswag": ("hellaswag/hellaswag.yaml", "validation"),
    "piqa": ("piqa/piqa.yaml", "validation"),
    "arc_easy": ("arc/arc_easy.yaml", "test"),
    "social_iqa": ("siqa/siqa.yaml", "validation"),
    "winogrande": ("winogrande/default.yaml", "validation"),
}
LOCAL_PREFIX = "cocomix_local_"


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def with_labels(rows_path, labels_path, convert):
    rows = read_jsonl(rows_path)
    with open(labels_path, encoding="utf-8") as f:
        labels = [line.strip() for line in f if line.strip()]
    if len(labels) != len(rows):
        sys.exit(f"{labels_path}: {len(labels)} labels for {len(rows)} rows of {rows_path}")
    return [dict(row, label=convert(label)) for row, label in zip(rows, labels)]


def wikitext_pages(raw_path):
    """The documents of EleutherAI/wikitext_document_level: split at level-1 headings."""
    with open(raw_path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    pages, current = [], []
    for line in lines:
        heading = line.replace("= = =", "===").replace("= =", "==").strip()
        if heading.startswith("= ") and heading.endswith(" ="):
            page = "\n".join(current)
            if page.strip():
                pages.append({"page": page})
            current = []
        current.append(line)
    pages.append({"page": "\n".join(current)})
    return pages


def hellaswag_docs(bz2_path):
    """llama.cpp's 6-line HellaSwag tasks in the harness's field layout (see the module doc)."""
    with bz2.open(bz2_path, "rt", encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if len(lines) % 6:
        sys.exit(f"{bz2_path}: {len(lines)} lines is not a multiple of 6")
    docs = []
    for i in range(0, len(lines), 6):
        query = lines[i]
        label, separator, context = query.partition(": ")
        if not separator:
            sys.exit(f"{bz2_path}:{i + 1}: no ': ' between activity label and context")
        docs.append({"ind": i // 6, "activity_label": label, "ctx_a": context, "ctx_b": "",
                     "endings": lines[i + 2:i + 6], "label": lines[i + 1].strip()})
    return docs


def local_data_file(task, data_dir, out_dir):
    d = lambda *parts: os.path.join(data_dir, *parts)  # noqa: E731
    o = lambda name: os.path.join(out_dir, name)  # noqa: E731
    if task == "lambada_openai":
        return d("eval_lambada", "lambada_test.jsonl")
    if task == "wikitext":
        return write_jsonl(o("wikitext_test_pages.jsonl"), wikitext_pages(d("eval_wikitext2", "wiki.test.raw")))
    if task == "hellaswag":
        return write_jsonl(o("hellaswag_val.jsonl"), hellaswag_docs(d("eval_hellaswag", "hellaswag_val_full.txt.bz2")))
    if task == "piqa":
        return write_jsonl(o("piqa_valid.jsonl"), with_labels(d("eval_piqa", "valid.jsonl"),
                                                              d("eval_piqa", "valid-labels.lst"), int))
    if task == "social_iqa":
        return write_jsonl(o("siqa_dev.jsonl"), with_labels(d("eval_siqa", "dev.jsonl"),
                                                            d("eval_siqa", "dev-labels.lst"), str))
    if task == "arc_easy":
        return d("eval_arc", "hf_format", "ARC-Easy-test.jsonl")
    if task == "winogrande":
        return d("eval_winogrande", "dev.jsonl")
    sys.exit(f"--tasks: unknown task {task} (known: {','.join(ALL_TASKS)})")


def write_task_yamls(tasks, data_dir, work):
    """One YAML per task in WORK/harness_tasks (the --include_path); returns that directory."""
    import lm_eval.tasks
    harness_tasks = os.path.dirname(lm_eval.tasks.__file__)
    yaml_dir = os.path.join(work, "harness_tasks")
    data_out = os.path.join(work, "harness_data")
    os.makedirs(yaml_dir, exist_ok=True)
    os.makedirs(data_out, exist_ok=True)
    for task in tasks:
        relative, split = HARNESS_YAML[task]
        data_file = os.path.abspath(local_data_file(task, data_dir, data_out))
        splits = {"training_split": None, "validation_split": None, "test_split": None, "fewshot_split": None}
        splits["test_split" if split == "test" else "validation_split"] = split
        lines = [f"include: {json.dumps(os.path.join(harness_tasks, relative))}",
                 f"task: {LOCAL_PREFIX}{task}", "tag: []", "dataset_path: json", "dataset_name: null",
                 "dataset_kwargs:", "  data_files:", f"    {split}: {json.dumps(data_file)}"]
        lines += [f"{key}: {'null' if value is None else value}" for key, value in splits.items()]
        with open(os.path.join(yaml_dir, f"{LOCAL_PREFIX}{task}.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return yaml_dir


def run_harness(hf_dir, tasks, include_path, limit, batch_size):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    results = simple_evaluate(
        model="hf", model_args={"pretrained": hf_dir, "dtype": "float32"},
        tasks=[LOCAL_PREFIX + t for t in tasks], batch_size=batch_size, device="cpu", limit=limit,
        bootstrap_iters=100, log_samples=False, task_manager=TaskManager(include_path=include_path))
    out = {}
    for task in tasks:
        metrics = {}
        for key, value in results["results"][LOCAL_PREFIX + task].items():
            name, _, filt = key.partition(",")
            if filt == "none" and isinstance(value, (int, float)):
                metrics[name] = float(value)
        out[task] = metrics
    return out


def run_cocomix(bin_dir, checkpoint, tasks, data_dir, limit, json_path, extra):
    command = [os.path.join(bin_dir, "cocomix-eval"), "--checkpoint", checkpoint, "--tasks", ",".join(tasks),
               "--data-dir", data_dir, "--json", json_path] + extra
    if limit:
        command += ["--limit", str(limit)]
    print("+ " + " ".join(command), flush=True)
    subprocess.run(command, check=True)
    with open(json_path) as f:
        return json.load(f)["tasks"]


def compare(harness, cocomix):
    """Rows (task, metric, harness, cocomix, verdict) and whether all agree."""
    rows, ok = [], True
    for task, metrics in harness.items():
        for metric, expected in sorted(metrics.items()):
            actual = cocomix.get(task, {}).get(metric)
            if metric.endswith("_stderr") and metric not in EXACT:
                verdict = "not compared (harness bootstrap)"
            elif actual is None:
                verdict, ok = "MISSING", False
            elif metric in EXACT:
                same = actual == expected or abs(actual - expected) <= 1e-12 * max(1.0, abs(expected))
                verdict = "identical" if same else "MISMATCH"
                ok &= same
            else:
                rel = abs(actual - expected) / max(abs(expected), 1e-300)
                good = math.isfinite(actual) and rel <= REL_TOL
                verdict = f"rel {rel:.1e}" if good else f"MISMATCH (rel {rel:.1e})"
                ok &= good
            rows.append((task, metric, expected, actual, verdict))
    return rows, ok


def fmt(value):
    return "-" if value is None else f"{value:.6f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True, help="cocomix checkpoint or run directory")
    parser.add_argument("--hf-dir", required=True, help="the same model exported by cocomix-convert export")
    parser.add_argument("--work", required=True, help="directory for the generated task files and results")
    parser.add_argument("--data-dir", default=shared_data(), help="the shared data directory")
    parser.add_argument("--bin", default=apps_dir(), help="directory of the apps")
    parser.add_argument("--tasks", default=",".join(ALL_TASKS))
    parser.add_argument("--limit", type=int, default=0, help="first N documents of each task (0: all)")
    parser.add_argument("--batch-size", type=int, default=16, help="HFLM batch size")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument("--cocomix-arg", action="append", default=[], help="extra cocomix-eval argument")
    args = parser.parse_args(argv)

    tasks = [t for t in args.tasks.split(",") if t]
    for task in tasks:
        if task not in HARNESS_YAML:
            sys.exit(f"--tasks: unknown task {task} (known: {','.join(ALL_TASKS)})")
    os.makedirs(args.work, exist_ok=True)
    include_path = write_task_yamls(tasks, args.data_dir, args.work)
    limit = args.limit or None
    cocomix = run_cocomix(args.bin, args.checkpoint, tasks, args.data_dir, args.limit,
                          os.path.join(args.work, "cocomix_eval.json"), args.cocomix_arg)
    harness = run_harness(os.path.abspath(args.hf_dir), tasks, include_path, limit, args.batch_size)
    with open(os.path.join(args.work, "harness.json"), "w") as f:
        json.dump(harness, f, indent=2)

    rows, ok = compare(harness, cocomix)
    table = ["| task | metric | lm-eval (HFLM) | cocomix-eval | agreement |", "|---|---|---|---|---|"]
    table += [f"| {t} | {m} | {fmt(h)} | {fmt(c)} | {v} |" for t, m, h, c, v in rows]
    text = "\n".join(table)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    print("harness parity: " + ("every metric agrees" if ok else "MISMATCH"))
    return 0 if ok else 1
