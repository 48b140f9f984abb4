"""Zero-shot evaluation throughput: examples per second for each task, cocomix-eval
on a checkpoint vs lm-evaluation-harness's HFLM on the same model exported by
cocomix-convert, on the same local task files, in one run on one machine.
Prints a markdown table (target: cocomix-eval >= 3x the harness).

    PYTHONPATH=python $VENV/bin/python bench/eval_throughput.py --checkpoint RUN --hf-dir HF [--limit 200]
        [--tasks a,b,c] [--bin build/bin] [--data-dir ../shared/data] [--threads N] [--batch-size 16]

scripts/harness_parity.sh leaves a suitable pair in runs/harness_parity/{run,hf}.
Timing: cocomix-eval runs one process per task; its ex/s is the task's own
"seconds" from the JSON (reading the task, requests, forward passes, metrics;
model load excluded), the whole process's wall time shown beside. The harness's
HFLM is built once (its load not counted) and simple_evaluate is timed per task
(dataset building, requests, batching, forward passes, metrics); the speed-up
compares the two task timings. Both read the first --limit documents of each task
(wikitext: documents are whole articles, so its limit is divided by 20). Both
use --threads intra-op threads (torch.set_num_threads / OMP_NUM_THREADS) and fp32.
Do not run while other jobs load the machine.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

from cocomix_tools import harness  # task YAMLs over the local files
from cocomix_tools.paths import apps_dir, shared_data


def task_limit(task, limit):
    return max(1, limit // 20) if task == "wikitext" else limit


def time_cocomix(bin_dir, checkpoint, task, data_dir, limit, threads, work):
    command = [os.path.join(bin_dir, "cocomix-eval"), "--checkpoint", checkpoint, "--tasks", task,
               "--data-dir", data_dir, "--limit", str(limit), "--json", os.path.join(work, f"{task}.json")]
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    with open(os.path.join(work, f"{task}.json")) as f:
        reported = json.load(f)["tasks"][task].get("seconds")
    return wall, (reported if reported else wall)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--hf-dir", required=True)
    parser.add_argument("--tasks", default=",".join(harness.ALL_TASKS))
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--bin", default=apps_dir())
    parser.add_argument("--data-dir", default=shared_data())
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--batch-size", type=int, default=16, help="HFLM batch size")
    args = parser.parse_args()
    os.environ.update(HF_DATASETS_OFFLINE="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")

    import torch
    from lm_eval import simple_evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    torch.set_num_threads(args.threads)
    tasks = [t for t in args.tasks.split(",") if t]
    work = tempfile.mkdtemp(prefix="eval_throughput_")
    include_path = harness.write_task_yamls(tasks, args.data_dir, work)
    manager = TaskManager(include_path=include_path)
    lm = HFLM(pretrained=os.path.abspath(args.hf_dir), dtype="float32", device="cpu", batch_size=args.batch_size)

    rows = []
    for task in tasks:
        limit = task_limit(task, args.limit)
        cocomix_wall, cocomix_seconds = time_cocomix(args.bin, args.checkpoint, task, args.data_dir, limit,
                                                     args.threads, work)
        start = time.perf_counter()
        simple_evaluate(model=lm, tasks=[harness.LOCAL_PREFIX + task], limit=limit, bootstrap_iters=0,
                        log_samples=False, task_manager=manager)
        harness_seconds = time.perf_counter() - start
        rows.append((task, limit, limit / cocomix_seconds, limit / cocomix_wall, limit / harness_seconds,
                     harness_seconds / cocomix_seconds))
        print(json.dumps({"task": task, "examples": limit, "cocomix_s": cocomix_seconds, "cocomix_wall_s": cocomix_wall,
                          "harness_s": harness_seconds}), file=sys.stderr, flush=True)

    print(f"threads {args.threads}, fp32, model {args.hf_dir}")
    print("| task | examples | cocomix-eval ex/s | (whole process) | lm-eval HFLM ex/s | speed-up |")
    print("|---|---|---|---|---|---|")
    for task, limit, ours, ours_wall, theirs, ratio in rows:
        print(f"| {task} | {limit} | {ours:.1f} | {ours_wall:.1f} | {theirs:.1f} | {ratio:.2f}x |")


if __name__ == "__main__":
    main()
