"""The whole CoCoMix method at toy scale on the CPU, driven through the
apps: tokenize a corpus, train a teacher GPT (NTP), train its TopK SAE at layer L_t,
precompute the concept labels once, then train CoCoMix and the baselines on the
same windows in the same order (data.sampling "fixed"): NTP with its width raised
to match CoCoMix's parameters, KD and pause tokens at that width, and at CoCoMix's
width the hidden-state baseline and the paper's ablations. Every run is
evaluated on the whole validation file by cocomix-eval. Writes into WORK:

    summary.json   {"students": [{"run", "mode", "params", "tokens", "val_loss", "val_ppl", "wall_seconds",
                   "curve": [[tokens, val_loss], ...], "samples": [text, ...]}, ...],
                    "token_saving": share of NTP's tokens CoCoMix saves to reach NTP's last loss, or null}
    summary.md     the table, with the teacher's margin and the SAE's quality
    val_loss.png   validation loss of every student against tokens seen
    alignment.json (synthetic corpus) SAE latents / predicted concepts vs the hidden variables

Each stage is skipped when its output is complete (a second call reuses the teacher,
SAE and labels; delete WORK/<stage> to redo one). scripts/pipeline_tiny.sh is the
entry point (it sets the paths); run with --help for the knobs of the regime study.
"""
import argparse
import functools
import json
import math
import re
import subprocess
import sys
import time
from pathlib import Path

from . import alignment
from .checkpoint import checkpoint_file, is_complete, parameter_count, resolve_checkpoint, trained_steps
from .corpus import Manifest
from .files import InputError
from .model import matched_width

# ntp_same_width: NTP at CoCoMix's width (fewer parameters), to separate the concepts' effect from the
# parameters the concept head adds.
STUDENT_MODES = ("cocomix", "ntp", "kd", "pause", "ntp_same_width", "hidden_prediction", "cocomix_activation",
                 "intervention", "concept_loss_only", "insertion_only")
# The students with a concept head, each at CoCoMix's width, and the concept.mode of each: CoCoMix and the paper's
# ablations of it (§3.3): labels from the SAE's activations instead of the attribution (cocomix_activation), the
# concept vector added to h instead of interleaved, the concept loss alone, the insertion alone (no concept loss).
CONCEPT_MODES = {"cocomix": "cocomix", "cocomix_activation": "cocomix", "intervention": "intervention",
                 "concept_loss_only": "concept_loss_only", "insertion_only": "insertion_only"}
PROGRESS_SECONDS = 5
LOG_PREFIX = re.compile(r"^\[[^]]*\] \[\w+\] ")  # "[2026-12-05 19:41:32] [info] "
# Prompts of the generated samples: the start of a synthetic document, and of a text block (every text corpus).
SAMPLE_PROMPTS = {"synthetic": ["The ", "Yesterday "], "text": ["The ", "It was "]}
# The real-text corpora: the shared data's files (relative to --data-dir) and the validation split
# (cocomix-tokenize options). Documents are blank-line-separated blocks (paragraphs).
BOOKS = ["text_tinyshakespeare", "text_gutenberg_nltk", "text_gutenberg_pg"]
WEB = ["text_web"]
TEXT_CORPORA = {
    "text": (["text_tinyshakespeare/input.txt", "text_gutenberg_pg/1342-0.txt", "text_gutenberg_pg/84-0.txt",
              "text_gutenberg_pg/1661-0.txt"], ["--val-documents", 200]),
    "books-web": (BOOKS + WEB, ["--val-fraction", 0.05]),
    "books": (BOOKS, ["--val-fraction", 0.05]),
    "web": (WEB, ["--val-fraction", 0.05]),
}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", required=True, help="output directory")
    p.add_argument("--bin", required=True, help="directory of the cocomix apps")
    p.add_argument("--data-dir", required=True, help="the shared data directory (text corpus and GPT-2 tokenizer)")
    p.add_argument("--corpus", choices=tuple(TEXT_CORPORA) + ("synthetic",), default="synthetic",
                   help="synthetic: the hidden-variable corpus, byte tokens; text: tinyshakespeare + three "
                        "Gutenberg novels; books-web: every book and web text of the shared data (text_*/), "
                        "5%% of its blank-line blocks for validation; books / web: its two halves (GPT-2 BPE)")
    p.add_argument("--documents", type=int, default=1500, help="synthetic documents")
    p.add_argument("--seq-len", type=int, default=256)
    p.add_argument("--batch", type=int, default=16, help="windows per step (every run)")
    p.add_argument("--threads", type=int, default=0, help="0 = every core")
    p.add_argument("--seed", type=int, default=1)
    # Teacher.
    p.add_argument("--teacher-width", type=int, default=128)
    p.add_argument("--teacher-layers", type=int, default=4)
    p.add_argument("--teacher-steps", type=int, default=800)
    # SAE.
    p.add_argument("--sae-layer", type=int, default=2, help="L_t: the SAE reads the teacher after this block")
    p.add_argument("--latents", type=int, default=512, help="C")
    p.add_argument("--sae-k", type=int, default=16)
    p.add_argument("--sae-steps", type=int, default=2000)
    p.add_argument("--sae-lr", type=float, default=1e-3)
    # Students.
    p.add_argument("--student-width", type=int, default=96, help="CoCoMix's d (NTP's is raised to match params)")
    p.add_argument("--student-layers", type=int, default=4)
    p.add_argument("--student-heads", type=int, default=4)
    p.add_argument("--student-steps", type=int, default=500)
    p.add_argument("--ntp-width", type=int, default=0,
                   help="the NTP student's d (0: matched to CoCoMix's parameters when CoCoMix is trained in the same "
                        "call, else --student-width); for NTP runs of another length beside a finished comparison")
    p.add_argument("--insert-layer", type=int, default=1, help="L_s")
    p.add_argument("--k-pred", type=int, default=16)
    p.add_argument("--k-attr", type=int, default=4)
    p.add_argument("--weight", type=float, default=0.1, help="λ")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--labels", choices=("cache", "online"), default="cache",
                   help="CoCoMix's concept labels: cache (cocomix-sae label over every training window once, shared "
                        "by every CoCoMix run of the corpus) or online (the teacher in the loop: each run labels "
                        "only the windows it reads, cheaper when the runs read a small part of a large corpus)")
    p.add_argument("--kd-weight", type=float, default=0.5)
    p.add_argument("--pause-position", choices=("token", "none"), default="token",
                   help="concept.pause_position of the pause student")
    p.add_argument("--modes", default=",".join(STUDENT_MODES[:4]), help="students to train, from " + ",".join(STUDENT_MODES))
    p.add_argument("--eval-points", type=int, default=10, help="validation points on each student's curve")
    p.add_argument("--teacher-from", help="another work directory whose teacher and SAE this run uses on its own "
                                          "corpus (distribution shift: the same tokenizer, another text); they are "
                                          "evaluated on this corpus into WORK/teacher_eval.json and sae_eval.json")
    p.add_argument("--reuse", help="another work directory whose corpus, teacher, SAE and labels this run shares "
                                    "(symlinked; for regime studies that change only the students)")
    p.add_argument("--no-alignment", action="store_true", help="skip the hidden-variable alignment (synthetic)")
    p.add_argument("--samples", type=int, default=0, choices=(0, 1, 2),
                   help="text generated by each student from this many fixed prompts (sampled, temperature 0.8, "
                        "seed 1)")
    return p.parse_args(argv)


class Pipeline:
    def __init__(self, args):
        self.args = args
        self.work = Path(args.work).resolve()
        self.bin = Path(args.bin).resolve()
        self.data = self.work / "data"
        self.work.mkdir(parents=True, exist_ok=True)
        if args.reuse or args.teacher_from:
            option, shared = ("--reuse", args.reuse) if args.reuse else ("--teacher-from", args.teacher_from)
            shared = Path(shared).resolve()
            stages = ("data", "teacher", "sae", "labels") if args.reuse else ("teacher", "sae")
            for stage in stages:
                if stage == "labels" and args.labels == "online":
                    continue
                if not (shared / stage).exists():
                    sys.exit(f"error: pipeline_tiny: {option} {shared}: no {stage}/ there (run the pipeline in it first)")
                if not (self.work / stage).exists():
                    (self.work / stage).symlink_to(shared / stage)

    # -- helpers -------------------------------------------------------------------------------------

    def run(self, command, log_name):
        """Runs an app, its output into WORK/logs/<log_name>.log; its progress lines (the ones with an
        eta) are echoed to the terminal, at most one every PROGRESS_SECONDS. Returns the wall time."""
        logs = self.work / "logs"
        logs.mkdir(exist_ok=True)
        started = time.monotonic()
        shown = -PROGRESS_SECONDS
        with open(logs / f"{log_name}.log", "w") as log:
            with subprocess.Popen([str(c) for c in command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True, errors="replace") as process:
                for line in process.stdout:
                    log.write(line)
                    now = time.monotonic()
                    if re.search(r"\beta\b", line, re.IGNORECASE) and now - shown >= PROGRESS_SECONDS:
                        print(f"    {log_name}: {LOG_PREFIX.sub('', line.strip())}", flush=True)
                        shown = now
            code = process.returncode
        if code != 0:
            tail = (logs / f"{log_name}.log").read_text().strip().splitlines()[-1:]
            sys.exit(f"error: pipeline_tiny: {log_name} failed (exit {code}): {' '.join(tail)} "
                     f"(full log: {logs / log_name}.log)")
        return time.monotonic() - started

    @functools.cached_property
    def manifest(self):
        """The corpus manifest (read once, after tokenize())."""
        return Manifest(self.data)

    def corpus(self):
        """The tokenized corpus directory: its train shards for training, its val shards for validation."""
        return str(self.data)

    def run_config(self, name, width, layers, heads, steps, concept=None, eval_every=None):
        """The training config of one run (every run shares data, batch, schedule and seed)."""
        a = self.args
        warmup = max(1, steps // 30)
        config = {
            "model": {"vocab_size": self.manifest.vocab_size, "n_positions": a.seq_len, "n_embd": width,
                      "n_layer": layers, "n_head": heads, "dropout": 0.0},
            "data": {"train_path": self.corpus(), "val_path": self.corpus(),
                     "seq_len": a.seq_len, "sampling": "fixed"},
            "optim": {"lr": a.lr, "min_lr": a.lr / 10, "warmup_steps": warmup, "weight_decay": 0.1,
                      "grad_clip": 1.0},
            "train": {"batch_size": a.batch, "max_steps": steps, "seed": a.seed, "precision": "fp32",
                      "threads": a.threads, "checkpoint_every": 0, "keep_checkpoints": 1},
            "eval": {"every": eval_every or 0, "max_batches": 8, "batch_size": a.batch},
            "log": {"every": max(1, steps // 20), "tensorboard": False},
        }
        if concept:
            config["concept"] = concept
        path = self.work / f"{name}.json"
        path.write_text(json.dumps(config, indent=2) + "\n")
        return path

    def train(self, config, steps, run_dir, log_name):
        """cocomix-train of `config` (`steps` its max_steps) into run_dir, resumed when a run stopped short left a
        checkpoint there (a signal saves one; the callers skip runs that reached their steps). Returns the wall
        time."""
        resume = ["--resume"] if is_complete(run_dir) else []
        wall = self.run([self.bin / "cocomix-train", "--config", config, "--out", run_dir, *resume], log_name)
        # A trainer stopped by a signal saves a checkpoint and exits 0: what it trained must not be evaluated as
        # the finished run.
        trained = trained_steps(run_dir)
        if trained < steps:
            sys.exit(f"error: pipeline_tiny: {log_name} stopped at step {trained} of {steps} "
                     f"(a signal?); the same command resumes it")
        return wall

    def quality_path(self, stage):
        """Where the teacher's or SAE's score on this corpus goes: their own directory's eval.json, or, for a
        teacher and SAE from another corpus (--teacher-from), WORK/<stage>_eval.json beside them."""
        return self.work / f"{stage}_eval.json" if self.args.teacher_from else self.work / stage / "eval.json"

    def evaluate(self, run_dir, out=None):
        """cocomix-eval of run_dir on this corpus's validation split, into `out` (default run_dir/eval.json)."""
        out = out or run_dir / "eval.json"
        if not out.exists():
            self.run([self.bin / "cocomix-eval", "--checkpoint", run_dir, "--val", self.corpus(),
                      "--json", out], f"eval_{run_dir.name}")
        return json.loads(out.read_text())

    # -- stages --------------------------------------------------------------------------------------

    def tokenize(self):
        if Manifest.complete(self.data):
            return
        a = self.args
        if a.corpus == "synthetic":
            # A tenth of the documents for validation: enough for the alignment's per-document statistics.
            command = [self.bin / "cocomix-tokenize", "--synthetic", "--documents", a.documents, "--seed", a.seed,
                       "--val-fraction", 0.1, "-o", self.data]
        else:
            texts = Path(a.data_dir)
            files, split = TEXT_CORPORA[a.corpus]
            command = [self.bin / "cocomix-tokenize", "--tokenizer", texts / "gpt2_tokenizer", "--blocks", *split,
                       "-o", self.data, *(texts / f for f in files)]
        self.run(command, "tokenize")

    def teacher(self):
        a = self.args
        run_dir = self.work / "teacher"
        if trained_steps(run_dir) < a.teacher_steps and not a.reuse and not a.teacher_from:
            config = self.run_config("teacher", a.teacher_width, a.teacher_layers, max(1, a.teacher_width // 32),
                                     a.teacher_steps)
            self.train(config, a.teacher_steps, run_dir, "teacher")
        return run_dir

    def sae(self, teacher_dir):
        a = self.args
        out = self.work / "sae"
        if not (out / "sae.safetensors").exists():
            self.run([self.bin / "cocomix-sae", "train", "--teacher", teacher_dir, "--layer", a.sae_layer,
                      "--latents", a.latents, "--k", a.sae_k, "--data", self.corpus(), "--val", self.corpus(),
                      "--steps", a.sae_steps, "--lr", a.sae_lr, "--seed", a.seed, "--threads", a.threads,
                      "--seq-len", min(64, a.seq_len), "--dead-tokens", 1_000_000, "-o", out], "sae")
        quality = self.quality_path("sae")
        if not quality.exists():
            self.run([self.bin / "cocomix-sae", "eval", "--sae", out, "--teacher", teacher_dir, "--data",
                      self.corpus(), "--seq-len", a.seq_len, "--json", quality], "sae_eval")
        return out, json.loads(quality.read_text())

    def concept_section(self, mode, teacher_dir, sae_dir):
        a = self.args
        section = {"mode": CONCEPT_MODES.get(mode, mode), "insert_layer": a.insert_layer,
                   "teacher_path": str(teacher_dir)}
        if mode in CONCEPT_MODES:
            n_concepts = json.loads((sae_dir / "sae.json").read_text())["n_latents"]
            section.update({"sae_path": str(sae_dir), "n_concepts": n_concepts, "k_pred": a.k_pred,
                            "k_attr": a.k_attr, "weight": a.weight})
            if mode == "insertion_only":  # no concept loss: no labels, so no teacher or SAE
                del section["teacher_path"], section["sae_path"], section["k_attr"], section["weight"]
            elif mode == "cocomix_activation":  # labelled online: the label cache holds attribution labels
                section["selection"] = "activation"
            elif a.labels == "cache":
                section["label_cache"] = str(self.work / "labels" / "train.labels")
        if mode == "kd":
            section["kd_weight"] = a.kd_weight
        if mode == "pause":
            del section["teacher_path"]
            section["pause_position"] = a.pause_position
        if mode == "hidden_prediction":  # the teacher's raw h after block L_t as the target, weight λ
            section.update({"teacher_layer": a.sae_layer, "teacher_n_embd": a.teacher_width, "weight": a.weight})
        return section

    def matched_width(self, cocomix_params):
        """The NTP width whose parameter count is closest to CoCoMix's."""
        a = self.args
        return matched_width(cocomix_params, self.manifest.vocab_size, a.seq_len, a.student_layers,
                             a.student_heads, a.student_width)

    def student(self, mode, teacher_dir, sae_dir, width):
        a = self.args
        name = f"student_{mode}"
        run_dir = self.work / name
        seconds = 0.0
        if trained_steps(run_dir) < a.student_steps:
            concept = None if mode.startswith("ntp") else self.concept_section(mode, teacher_dir, sae_dir)
            config = self.run_config(name, width, a.student_layers, a.student_heads, a.student_steps, concept,
                                     eval_every=max(1, a.student_steps // a.eval_points))
            if "label_cache" in (concept or {}) and not (self.work / "labels" / "train.labels").exists():
                (self.work / "labels").mkdir(exist_ok=True)
                self.run([self.bin / "cocomix-sae", "label", "--config", config], "labels")
            seconds = self.train(config, a.student_steps, run_dir, name)  # a resumed run: this call's time
            (run_dir / "wall_seconds").write_text(f"{seconds:.1f}\n")
        elif (run_dir / "wall_seconds").exists():
            seconds = float((run_dir / "wall_seconds").read_text())
        return run_dir, seconds

    def samples(self, run_dir):
        """The --samples texts a student generates from SAMPLE_PROMPTS, prompt included."""
        a = self.args
        if a.samples == 0:
            return []
        out = run_dir / "samples.json"
        if not out.exists():
            prompts = run_dir / "sample_prompts.jsonl"
            prompts.write_text("".join(json.dumps({"prompt": p}) + "\n"
                                       for p in SAMPLE_PROMPTS.get(a.corpus, SAMPLE_PROMPTS["text"])[:a.samples]))
            self.run([self.bin / "cocomix-generate", "--checkpoint", run_dir, "--prompts", prompts,
                      "--max-new-tokens", 60, "--temperature", 0.8, "--seed", 1, "--json", out],
                     f"generate_{run_dir.name}")
        return [r["prompt"] + r["completion"] for r in json.loads(out.read_text())["results"]]


def token_saving(cocomix_curve, ntp_curve):
    """The paper's figure of merit read off two validation curves: 1 - t / T, where T is the tokens of NTP's
    last point and t the tokens at which CoCoMix's curve first reaches NTP's last loss (linear between its
    points). None when CoCoMix's curve never gets there."""
    if not cocomix_curve or not ntp_curve:
        return None
    ntp_tokens, target = ntp_curve[-1]
    previous = None
    for tokens, loss in cocomix_curve:
        if loss <= target:
            if previous is not None:
                before_tokens, before_loss = previous
                tokens = before_tokens + (tokens - before_tokens) * (before_loss - target) / (before_loss - loss)
            return 1 - tokens / ntp_tokens
        previous = (tokens, loss)
    return None


def training_curve(run_dir):
    """(tokens, val_loss) points of the trainer's periodic validation (tokens = step x tokens per step)."""
    records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    per_step = next((r["tokens"] / r["step"] for r in records if "tokens" in r and r.get("step", 0) > 0), None)
    return [(r["step"] * per_step, r["val_loss"]) for r in records if "val_loss" in r and per_step]


def plot(curves, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, points in curves.items():
        if points:
            xs, ys = zip(*points)
            ax.plot(xs, ys, marker="o", markersize=3, label=name)
    ax.set_xlabel("tokens seen")
    ax.set_ylabel("validation loss (nats/token, trainer's periodic estimate)")
    ax.set_title("tiny pipeline: students on the same windows")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    args = parse_args(argv)
    modes = [m for m in args.modes.split(",") if m]
    for m in modes:
        if m not in STUDENT_MODES:
            sys.exit(f"error: pipeline_tiny: --modes: unknown mode {m!r} (choose from {', '.join(STUDENT_MODES)})")
    if args.reuse and args.teacher_from:
        sys.exit("error: pipeline_tiny: --reuse and --teacher-from: give one (--reuse shares the corpus too)")
    if args.insert_layer >= args.student_layers:
        sys.exit(f"error: pipeline_tiny: --insert-layer {args.insert_layer} must be below --student-layers "
                 f"{args.student_layers}")
    p = Pipeline(args)
    print(f"pipeline_tiny: work directory {p.work}", flush=True)
    p.tokenize()
    teacher_dir = p.teacher()
    teacher_eval = p.evaluate(teacher_dir, p.quality_path("teacher"))
    print(f"  teacher: val loss {teacher_eval['val_loss']:.4f}", flush=True)
    sae_dir, sae_quality = p.sae(teacher_dir)
    print(f"  SAE: fvu {sae_quality['fvu']:.4f}, dead {sae_quality['dead_fraction']:.3f}", flush=True)

    rows, curves = [], {}
    cocomix_params = None
    # CoCoMix first: its parameter count sets the matched baselines' width.
    ordered = (["cocomix"] if "cocomix" in modes else []) + [m for m in modes if m != "cocomix"]
    for mode in ordered:
        matched = mode in ("ntp", "kd", "pause") and cocomix_params is not None
        width = p.matched_width(cocomix_params) if matched else args.student_width
        if mode == "ntp" and args.ntp_width:
            width = args.ntp_width
        run_dir, seconds = p.student(mode, teacher_dir, sae_dir, width)
        params = parameter_count(run_dir)
        if mode == "cocomix":
            cocomix_params = params
        result = p.evaluate(run_dir)
        points = training_curve(run_dir)
        curves[f"{mode} (d={width})"] = points
        rows.append({"run": run_dir.name, "mode": mode, "params": params,
                     "tokens": args.student_steps * args.batch * args.seq_len,
                     "val_loss": result["val_loss"], "val_ppl": result["val_ppl"],
                     "wall_seconds": round(seconds, 1), "width": width, "curve": points,
                     "samples": p.samples(run_dir)})
        print(f"  {mode}: d={width}, {params} params, val loss {result['val_loss']:.4f}", flush=True)

    by_mode = {r["mode"]: r for r in rows}
    saving = (token_saving(by_mode["cocomix"]["curve"], by_mode["ntp"]["curve"])
              if "cocomix" in by_mode and "ntp" in by_mode else None)
    (p.work / "summary.json").write_text(json.dumps(
        {"students": [{k: r[k] for k in ("run", "mode", "params", "tokens", "val_loss", "val_ppl", "wall_seconds",
                                         "curve", "samples")} for r in rows],
         "token_saving": saving}, indent=2) + "\n")
    plot(curves, p.work / "val_loss.png")

    ntp = next((r for r in rows if r["mode"] == "ntp"), None)
    # What the teacher and SAE are, from their own files (with --reuse they come from another call).
    teacher_config = json.loads(Path(checkpoint_file(resolve_checkpoint(teacher_dir), "config.json")).read_text())
    teacher_model = teacher_config["model"]
    sae_info = json.loads((sae_dir / "sae.json").read_text())
    lines = [
        f"corpus {args.corpus}; students {args.student_layers} layers, {args.student_steps} steps x {args.batch} x "
        f"{args.seq_len} tokens; L_s={args.insert_layer}, k_pred={args.k_pred}, "
        f"K_attr={args.k_attr}, λ={args.weight}, lr={args.lr}, seed {args.seed}",
        f"teacher: d={teacher_model['n_embd']}, {teacher_model['n_layer']} layers, "
        f"{teacher_config['train']['max_steps']} steps, "
        f"val loss {teacher_eval['val_loss']:.4f}"
        + (f", margin over the NTP student {ntp['val_loss'] - teacher_eval['val_loss']:.4f} nats" if ntp else ""),
        f"SAE (layer {sae_info['layer']}, C={sae_info['n_latents']}, k={sae_info['k']}): "
        f"validation fvu {sae_quality['fvu']:.4f}, "
        f"nmse {sae_quality['nmse']:.4f}, dead latents {sae_quality['dead_fraction']:.3f}",
        "",
        "| run | mode | d | params | tokens | val loss | val ppl | vs ntp (nats) | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        delta = f"{r['val_loss'] - ntp['val_loss']:+.4f}" if ntp else "-"
        lines.append(f"| {r['run']} | {r['mode']} | {r['width']} | {r['params']:,} | {r['tokens']:,} | "
                     f"{r['val_loss']:.4f} | {r['val_ppl']:.3f} | {delta} | {r['wall_seconds']:.0f} |")

    if "cocomix" in by_mode and "ntp" in by_mode:
        lines += ["", "Token saving (the trainer's periodic validation curves, val_loss.png): "
                  + (f"CoCoMix reaches NTP's last validation loss with {100 * saving:.0f}% fewer tokens"
                     if saving is not None else "none: CoCoMix's curve does not reach NTP's last loss")]
    if any(r["samples"] for r in rows):
        lines += ["", "Generated (sampled, temperature 0.8, seed 1):", ""]
        for r in rows:
            lines += [f"- {r['mode']}: {json.dumps(text, ensure_ascii=False)}" for text in r["samples"]]

    if args.corpus == "synthetic" and not args.no_alignment and "cocomix" in modes:
        try:
            result = alignment.analyse(corpus=str(p.data), teacher=str(teacher_dir), sae=str(sae_dir),
                                       student=str(p.work / "student_cocomix"))
        except InputError as error:
            sys.exit(f"error: pipeline_tiny: concept alignment: {error}")
        (p.work / "alignment.json").write_text(json.dumps(result, indent=2) + "\n")
        lines += ["", "Alignment with the synthetic corpus's hidden variables (validation documents):", "",
                  alignment.markdown(result)]

    table = "\n".join(lines) + "\n"
    (p.work / "summary.md").write_text(table)
    print()
    print(table)
    print(f"summary.json, summary.md and val_loss.png in {p.work}")
