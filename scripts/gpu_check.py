"""The checks and figures of scripts/gpu_check.sh, run against a built tree; writes
OUT/report.json. Each check records its verdict, its figures and its seconds, and
a failing check does not stop the others:

  unit     the CUDA instances of the device-parity unit tests (CUDA vs CPU on the
           same weights, the step's single wait for the device, one-rank NCCL)
  resume   a tiny CoCoMix run on the device (teacher in the loop, bf16, dropout):
           straight to step 8, and killed after its step-4 checkpoint then resumed;
           the final weights and every logged loss must be bitwise equal
  eval     cocomix-eval of that run on the device and on the CPU (fp32): validation
           loss and the concept head's scores must agree
  bench    cocomix-bench of the paper configs on the device (random weights, a
           random GPT-2-small teacher and a random SAE of 32768 latents): tokens/s,
           step time, MFU against the bf16 8192^3 matmul measured in the same run,
           peak GPU memory per micro-batch, the labels' share of the CoCoMix step,
           the teacher at fp32 / tf32 / bf16

  python scripts/gpu_check.py --root REPO --bin BUILD/bin --out DIR [--device cuda] [--quick]
                             [--checks unit,resume,eval,bench]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import traceback

REPORT = {}
REPORT_DIR = [None]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--bin", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"],
                        help="cpu rehearses the checks on a machine without a GPU")
    parser.add_argument("--quick", action="store_true", help="the 69M configs only, fewer micro-batch sizes")
    parser.add_argument("--checks", default="unit,resume,eval,bench", help="which checks, comma-separated")
    parser.add_argument("--build-seconds", type=float, default=0)
    args = parser.parse_args()
    os.environ["COCOMIX_BIN"] = args.bin  # read by cocomix_testlib at import
    sys.path[:0] = [os.path.join(args.root, "python"), os.path.join(args.root, "tests", "integration")]
    work = tempfile.mkdtemp(prefix="cocomix-gpu-check-")
    REPORT_DIR[0] = args.out
    REPORT.update({"device": args.device, "build_seconds": args.build_seconds, "machine": machine(args.device),
                   "checks": {}})
    checks = args.checks.split(",")
    if "unit" in checks:
        run_check("unit", lambda: unit_tests(args))
    if "resume" in checks or "eval" in checks:
        resumed = run_check("resume", lambda: resume(args, work))
        if resumed is not None and "eval" in checks:
            run_check("eval", lambda: eval_parity(args, resumed))
    if "bench" in checks:
        run_check("bench", lambda: bench(args, work))
    REPORT["passed"] = all(check["passed"] for check in REPORT["checks"].values())
    write_report(args.out)
    print(json.dumps({name: check["passed"] for name, check in REPORT["checks"].items()}))
    return 0 if REPORT["passed"] else 1


def machine(device):
    import torch
    info = {"torch": torch.__version__, "cuda": torch.version.cuda}
    if device == "cuda" and torch.cuda.is_available():
        properties = torch.cuda.get_device_properties(0)
        info.update({"gpu": properties.name, "gpu_memory_bytes": properties.total_memory,
                     "multiprocessors": properties.multi_processor_count})
    return info


def write_report(out):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "report.json")
    with open(path + ".tmp", "w") as f:
        json.dump(REPORT, f, indent=2)
    os.replace(path + ".tmp", path)


def run_check(name, body):
    """Runs one check: its dict of figures, with "passed"; an exception fails it with the error's last line."""
    start = time.time()
    print(f"== {name}", flush=True)
    try:
        result = body()
    except Exception as error:  # a check that breaks is reported, and the others still run
        traceback.print_exc()
        result = {"passed": False, "error": f"{type(error).__name__}: {error}".splitlines()[0]}
    handover = result.pop("handover", None)
    result["seconds"] = round(time.time() - start, 1)
    REPORT["checks"][name] = result
    write_report(REPORT_DIR[0])  # after every check: a run cut short still reports what it did
    print(f"== {name}: {'passed' if result['passed'] else 'FAILED'} ({result['seconds']} s)", flush=True)
    return handover if result["passed"] else None


def unit_tests(args):
    binary = os.path.join(args.bin, "cocomix_unit_tests")
    output = os.path.join(args.out, "unit.json")
    result = subprocess.run([binary, f"--gtest_filter=Devices/DeviceParity.*/{args.device}",
                             f"--gtest_output=json:{output}"], capture_output=True, text=True, timeout=600)
    with open(os.path.join(args.out, "unit.log"), "w") as f:
        f.write(result.stdout + result.stderr)
    with open(output) as f:
        suites = json.load(f)
    tests, failed, skipped = 0, [], []
    for suite in suites["testsuites"]:
        for test in suite["testsuite"]:
            tests += 1
            name = suite["name"] + "." + test["name"]
            if test.get("failures"):
                failed.append({"test": name, "failure": test["failures"][0]["failure"].splitlines()[:4]})
            elif test.get("result") == "SKIPPED":
                skipped.append(name)
    # On the CPU rehearsal the one CUDA-only test skips; on the device nothing may.
    allowed_skips = 1 if args.device == "cpu" else 0
    return {"passed": result.returncode == 0 and not failed and len(skipped) <= allowed_skips and tests > 0,
            "tests": tests, "failed": failed, "skipped": skipped}


def resume(args, work):
    from cocomix_testlib import app, make_corpus, read_metrics, run, train_teacher, wait_for_checkpoint, write_config
    from cocomix_testlib import write_sae
    root = os.path.join(work, "resume")
    os.makedirs(root)
    train, val = make_corpus(os.path.join(root, "data"), documents=200)
    on_device = {"device": args.device, "threads": 4}
    teacher = train_teacher(root, train, val, train=dict(on_device, max_steps=4, checkpoint_every=0))
    sae = write_sae(os.path.join(root, "sae"), d=64, layer=1)
    concept = {"mode": "cocomix", "teacher_path": teacher, "sae_path": sae, "n_concepts": 96, "insert_layer": 1,
               "k_pred": 8, "k_attr": 4, "weight": 0.1, "teacher_precision": "fp32"}
    config = write_config(os.path.join(root, "cocomix.json"), train, val, concept=concept, eval={"every": 4},
                          train=dict(on_device, max_steps=8, checkpoint_every=4, precision="bf16"))
    straight = os.path.join(root, "straight")
    run([app("cocomix-train"), "--config", config, "--out", straight])
    killed = os.path.join(root, "killed")
    process = subprocess.Popen([app("cocomix-train"), "--config", config, "--out", killed],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_checkpoint([process], killed, 4)
    finally:
        process.kill()
        process.wait()
    run([app("cocomix-train"), "--config", config, "--out", killed, "--resume"])
    final = os.path.join("checkpoints", "step_00000008", "model.safetensors")
    with open(os.path.join(straight, final), "rb") as a, open(os.path.join(killed, final), "rb") as b:
        weights_equal = a.read() == b.read()
    losses = lambda run_dir: [(r["step"], r.get("loss"), r.get("val_loss")) for r in read_metrics(run_dir)]
    metrics_equal = losses(straight) == losses(killed)
    result = {"passed": weights_equal and metrics_equal, "final_weights_bitwise": weights_equal,
              "losses_bitwise": metrics_equal, "losses": losses(straight)}
    if not weights_equal:
        result["max_weight_difference"] = max_weight_difference(os.path.join(straight, final),
                                                                os.path.join(killed, final))
    result["handover"] = {"run": straight, "val": val}
    return result


def max_weight_difference(a, b):
    from safetensors.torch import load_file
    first, second = load_file(a), load_file(b)
    return max(float((first[name].double() - second[name].double()).abs().max()) for name in first)


def eval_parity(args, resumed):
    from cocomix_testlib import app, run
    scores = {}
    for device in dict.fromkeys([args.device, "cpu"]):
        result = run([app("cocomix-eval"), "--checkpoint", resumed["run"], "--val", resumed["val"], "--device",
                      device, "--precision", "fp32", "--concepts", "--batch-size", "4"])
        scores[device] = json.loads(result.stdout)
    device, cpu = scores[args.device], scores["cpu"]
    relative = lambda key, a, b: abs(a[key] - b[key]) / abs(b[key])
    val_difference = relative("val_loss", device, cpu)
    concept_difference = relative("concept_loss", device["concept_quality"], cpu["concept_quality"])
    # fp32 on both with TF32 off: the sums differ in order only.
    return {"passed": val_difference <= 1e-5 and concept_difference <= 1e-4,
            "val_loss": {args.device: device["val_loss"], "cpu": cpu["val_loss"]},
            "val_loss_relative_difference": val_difference,
            "concept_loss_relative_difference": concept_difference,
            "label_recall": {args.device: device["concept_quality"]["label_recall"],
                             "cpu": cpu["concept_quality"]["label_recall"]}}


def bench(args, work):
    from cocomix_tools.random_models import random_gpt2_teacher_and_sae
    teacher, sae = random_gpt2_teacher_and_sae(work)
    configs = os.path.join(args.root, "configs")
    common = ["--set", f"train.device={args.device}", "--set", "train.grad_accum_steps=1"]
    concept = ["--set", f"concept.teacher_path={teacher}", "--set", f"concept.sae_path={sae}"]
    if args.device == "cpu":  # the rehearsal: the same runs at a size a CPU gets through
        common += ["--set", "data.seq_len=128"]
    sizes = ["69m"] if args.quick else ["69m", "386m"]
    batches = {"69m": [16] if args.quick else [16, 32], "386m": [8, 16, 32]}
    if args.device == "cpu":
        batches = {"69m": [1]}
    runs = []
    for size in sizes:
        for batch in batches[size]:
            runs.append((f"ntp_{size}", f"ntp_{size}.json", batch, []))
            runs.append((f"cocomix_{size}", f"cocomix_{size}.json", batch, concept))
        middle = batches[size][len(batches[size]) // 2]
        for precision in ["fp32", "bf16"]:  # tf32, the default, is in the runs above
            runs.append((f"cocomix_{size}_teacher_{precision}", f"cocomix_{size}.json", middle,
                         concept + ["--set", f"concept.teacher_precision={precision}"]))
    figures = []
    for name, config, batch, extra in runs:
        command = [os.path.join(args.bin, "cocomix-bench"), "--config", os.path.join(configs, config),
                   "--steps", "3", "--warmup", "1", "--set", f"train.batch_size={batch}"] + common + extra
        result = subprocess.run(command, capture_output=True, text=True, timeout=300)
        entry = {"name": name, "batch_size": batch}
        if result.returncode != 0:
            lines = result.stderr.strip().splitlines()
            entry["error"] = lines[-1] if lines else f"exit {result.returncode}"
        else:
            out = json.loads(result.stdout.strip().splitlines()[-1])
            entry.update({key: out[key] for key in ("step_seconds", "tokens_per_second", "mfu", "matmul_peak_flops",
                                                    "peak_gpu_bytes", "labeler_seconds", "teacher_lower_seconds",
                                                    "sae_encode_seconds", "optimizer_seconds", "precision",
                                                    "teacher_precision", "parameters", "loss")})
            entry["label_share"] = out["labeler_seconds"] / out["step_seconds"] if out["labeler_seconds"] else 0
        print(json.dumps(entry), flush=True)
        figures.append(entry)
    summary = bench_summary(figures)
    # Every run that failed for another reason than memory is a failure of the check.
    broken = [f for f in figures if "error" in f and "out of memory" not in f["error"].lower()]
    return {"passed": not broken and bool(figures), "runs": figures, "summary": summary}


def bench_summary(figures):
    """The issue's goals, read off the runs: the best 386M NTP MFU (>= 45%) and the CoCoMix step over the NTP
    step at the same micro-batch (<= 2.0), for each size."""
    summary = {}
    done = [f for f in figures if "error" not in f]
    for size in ("69m", "386m"):
        ntp = {f["batch_size"]: f for f in done if f["name"] == f"ntp_{size}"}
        cocomix = {f["batch_size"]: f for f in done if f["name"] == f"cocomix_{size}"}
        if not ntp:
            continue
        best = max(ntp.values(), key=lambda f: f["mfu"])
        ratios = {b: cocomix[b]["step_seconds"] / ntp[b]["step_seconds"] for b in cocomix if b in ntp}
        summary[size] = {"ntp_best_mfu": best["mfu"], "ntp_best_batch": best["batch_size"],
                         "cocomix_over_ntp_step": ratios,
                         "peak_gpu_bytes": {f"{f['name']}@{f['batch_size']}": f["peak_gpu_bytes"] for f in done
                                            if f["name"] in (f"ntp_{size}", f"cocomix_{size}")}}
    return summary


if __name__ == "__main__":
    sys.exit(main())
