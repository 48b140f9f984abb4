"""The report of a multi-seed study made of pipeline_tiny runs (scripts/study_text.sh):
one table per setting with every student's validation loss as mean ± sd over the
student seeds, its difference from the parameter-matched NTP student of the same
seed, the token saving read off the curves, and the training FLOPs, under the
setting's corpus, its teacher's margin over NTP and its SAE's FVU and dead share;
plus one PNG of the mean validation curves, a panel per setting.

    python -m cocomix_tools.study WORK                      # writes WORK/report.md, report.json, val_loss.png
    python -m cocomix_tools.study WORK --equal-flops-steps  # prints the NTP steps of CoCoMix's training FLOPs
    python -m cocomix_tools.study WORK --panel long OUT.png # one setting's curves (its run-directory prefix)

WORK holds base/ (seed 1: corpus, teacher, SAE and its students), seedN/ (the
other seeds), lambda1_seedN/ (CoCoMix at λ 1.0), ntp_flops_seedN/ (NTP given
CoCoMix's FLOPs), shift_seedN/ (students on the web text, teacher and SAE from
books/), weak_seedN/ (a teacher smaller than the students), ablation_seedN/
(the paper's ablations at λ 1.0, beside lambda1_seedN's CoCoMix),
shift_ablation_seedN/ (the same beside shift_seedN's), late_seedN/ and shift_late_seedN/ (CoCoMix
inserting before the students' last block, beside lambda1_seedN's CoCoMix and the main NTP, or beside
shift_seedN's CoCoMix and NTP) and long_seedN/ (CoCoMix at λ 1.0 and NTP trained twice as long).
Missing runs are left out of the tables, never guessed.

Training FLOPs are counted by cocomix_tools.flops.
"""
import argparse
import json
import statistics
import sys
from pathlib import Path

from .files import read_json
from .flops import label_flops, student_flops
from .pipeline import token_saving, training_curve

MODES = ("cocomix", "ntp", "kd", "pause")
# The paper's ablations of CoCoMix (§3.3), as pipeline_tiny names their students.
ABLATIONS = ("cocomix_activation", "hidden_prediction", "intervention", "concept_loss_only", "insertion_only")
# The order of the students in every table and legend.
STUDENT_ORDER = ("cocomix", "cocomix_late", "ntp", "ntp_flops", "kd", "pause", *ABLATIONS)
CONCEPT_LOSS_MODES = ("cocomix", "intervention", "concept_loss_only")
SEEDS = (1, 2, 3)


def student(run_dir):
    """One finished student: its config, validation loss on the whole split, curve, FLOPs, wall time; None if absent."""
    if not (run_dir / "eval.json").exists():
        return None
    config = read_json(run_dir.parent / f"{run_dir.name}.json")
    steps = config["train"]["max_steps"]
    tokens = steps * config["train"]["batch_size"] * config["data"]["seq_len"]
    wall = run_dir / "wall_seconds"
    return {"val_loss": read_json(run_dir / "eval.json")["val_loss"], "curve": training_curve(run_dir),
            "d": config["model"]["n_embd"], "steps": steps, "tokens": tokens,
            "flops": student_flops(config) * tokens, "wall": float(wall.read_text()) if wall.exists() else None,
            "weight": config.get("concept", {}).get("weight"), "config": config}


def seed_dir(work, seed):
    return work / ("base" if seed == 1 else f"seed{seed}")


# The settings of scripts/study_text.sh and the run directories whose names start each of their seeds' runs.
MAIN = ("λ 0.1", "λ 1.0", "NTP at CoCoMix's FLOPs")
SHIFT = "distribution shift: teacher on the books, students on the web text"
WEAK = "weak-to-strong: teacher of d 64 and 2 blocks"
ABLATION = "ablations at λ 1.0"
SHIFT_ABLATION = "ablations at λ 1.0, distribution shift"
LATE = "CoCoMix inserting before the last block, λ 1.0"
SHIFT_LATE = "CoCoMix inserting before the last block, distribution shift"
LONG = "λ 1.0, twice the tokens"
# The settings whose summary follows CoCoMix's gap to NTP along the curves.
GAP_TREND = ("λ 0.1", "λ 1.0", LONG, SHIFT, WEAK)
# The run directories of a setting's seeds outside base/: PREFIX_seedN.
PREFIX = {SHIFT: "shift", WEAK: "weak", ABLATION: "ablation", SHIFT_ABLATION: "shift_ablation", LATE: "late",
          SHIFT_LATE: "shift_late", LONG: "long"}


def setting_root(work, setting):
    """The run directory whose corpus, teacher and SAE a setting's students use (its first seed's), or None."""
    if setting in MAIN or setting in (ABLATION, LATE, LONG):
        candidates = [work / "base"]
    else:
        candidates = [work / f"{PREFIX[setting]}_seed{seed}" for seed in SEEDS]
    return next((root for root in candidates if (root / "data" / "manifest.json").exists()), None)


def quality(root):
    """The corpus of a run directory and its teacher's and SAE's scores on that corpus's validation split: a
    teacher and SAE from another corpus (--teacher-from) are scored into <stage>_eval.json beside them."""
    def score(stage):
        elsewhere = root / f"{stage}_eval.json"
        return read_json(elsewhere if elsewhere.exists() else root / stage / "eval.json")
    splits = read_json(root / "data" / "manifest.json")["splits"]
    sae = score("sae")
    return {"train_tokens": splits["train"]["tokens"], "val_tokens": splits["val"]["tokens"],
            "teacher_loss": score("teacher")["val_loss"], "sae_fvu": sae["fvu"], "sae_dead": sae["dead_fraction"]}


def collect(work):
    """{setting: {seed: {mode: student}}} for the settings of scripts/study_text.sh."""
    settings = {setting: {} for setting in (*MAIN, LONG, SHIFT, WEAK, ABLATION, SHIFT_ABLATION, LATE, SHIFT_LATE)}
    for seed in SEEDS:
        main = {m: student(seed_dir(work, seed) / f"student_{m}") for m in MODES}
        if any(main.values()):
            settings["λ 0.1"][seed] = {m: s for m, s in main.items() if s}
        lam = student(work / f"lambda1_seed{seed}" / "student_cocomix")
        if lam:
            settings["λ 1.0"][seed] = {"cocomix": lam, **({"ntp": main["ntp"]} if main["ntp"] else {})}
        flops = student(work / f"ntp_flops_seed{seed}" / "student_ntp")
        if flops:
            settings["NTP at CoCoMix's FLOPs"][seed] = {"ntp_flops": flops,
                                                        **({"cocomix": main["cocomix"]} if main["cocomix"] else {})}
        for setting in (LONG, SHIFT, WEAK):
            runs = {m: student(work / f"{PREFIX[setting]}_seed{seed}" / f"student_{m}") for m in MODES}
            if any(runs.values()):
                settings[setting][seed] = {m: s for m, s in runs.items() if s}
        # The ablations and the later insertion, each beside the CoCoMix (λ 1.0) and NTP students of its
        # setting and seed.
        main_pair = {m: s for m, s in (("cocomix", lam), ("ntp", main["ntp"])) if s}
        shift = settings[SHIFT].get(seed, {})
        shift_pair = {m: shift[m] for m in ("cocomix", "ntp") if m in shift}
        beside = {ABLATION: main_pair, LATE: main_pair, SHIFT_ABLATION: shift_pair, SHIFT_LATE: shift_pair}
        for setting in (ABLATION, SHIFT_ABLATION):
            ablations = {m: student(work / f"{PREFIX[setting]}_seed{seed}" / f"student_{m}") for m in ABLATIONS}
            if any(ablations.values()):
                settings[setting][seed] = {**{m: s for m, s in ablations.items() if s}, **beside[setting]}
        for setting in (LATE, SHIFT_LATE):
            late = student(work / f"{PREFIX[setting]}_seed{seed}" / "student_cocomix")
            if late:
                settings[setting][seed] = {"cocomix_late": late, **beside[setting]}
    return settings


def gap_cell(gaps):
    """mean ± sd of the equal-FLOPs gaps, or why there is none."""
    if not gaps:
        return "-"
    if any(g is None for g in gaps):
        return "outside the curve"
    return mean_sd(gaps, signed=True)


def mean_sd(values, signed=False):
    if not values:
        return "-"
    sign = "+" if signed else ""
    if len(values) == 1:
        return f"{values[0]:{sign}.4f} (n=1)"
    return f"{statistics.mean(values):{sign}.4f} ± {statistics.stdev(values):.4f} (n={len(values)})"


def loss_at(curve, tokens):
    """The periodic validation loss at `tokens`, linear between the curve's points; None outside them."""
    for (t0, l0), (t1, l1) in zip(curve, curve[1:]):
        if t0 <= tokens <= t1:
            return l0 + (l1 - l0) * (tokens - t0) / (t1 - t0)
    return None


def gap_trend(runs):
    """CoCoMix − NTP on the periodic curves at each of NTP's points, paired by seed: [(tokens, [gaps])]."""
    pairs = [(r["cocomix"]["curve"], r["ntp"]["curve"]) for r in runs.values() if "cocomix" in r and "ntp" in r]
    if not pairs:
        return []
    trend = []
    for tokens, _ in pairs[0][1]:
        losses = [(loss_at(cocomix, tokens), loss_at(ntp, tokens)) for cocomix, ntp in pairs]
        gaps = [c - n for c, n in losses if c is not None and n is not None]
        if gaps:
            trend.append((tokens, gaps))
    return trend


def equal_flops_gap(run, ntp, extra_flops_per_token=0.0):
    """run's periodic validation loss where its training FLOPs (plus `extra_flops_per_token` per token) equal
    NTP's whole run, minus NTP's last periodic loss; None when that point is outside run's curve."""
    per_token = run["flops"] / run["tokens"] + extra_flops_per_token
    loss = loss_at(run["curve"], ntp["flops"] / per_token)
    return None if loss is None else loss - ntp["curve"][-1][1]


def table(setting, runs):
    """The markdown table of one setting: every mode's loss, its paired difference from NTP at equal tokens and
    at equal FLOPs (the latter read off the periodic curves), the token savings."""
    modes = [m for m in STUDENT_ORDER if any(m in r for r in runs.values())]
    lines = ["| student | d | tokens | train GFLOP | val loss, mean ± sd | − matched NTP, same seed | "
             "at NTP's FLOPs, − NTP | the same, labels counted | token saving vs NTP | wall (s) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for mode in modes:
        rows = [r[mode] for r in runs.values() if mode in r]
        walls = [r["wall"] for r in rows if r["wall"]]
        wall = f"{statistics.mean(walls):.0f}" if walls else "-"
        # This student beside the NTP student of the same seed; none for NTP itself.
        pairs = [(r[mode], r["ntp"]) for r in runs.values() if mode in r and "ntp" in r and mode != "ntp"]
        deltas = [run["val_loss"] - ntp["val_loss"] for run, ntp in pairs]
        savings = [token_saving(run["curve"], ntp["curve"]) for run, ntp in pairs]
        saving = ", ".join("none" if s is None else f"{100 * s:.0f}%" for s in savings) or "-"
        gaps = [equal_flops_gap(run, ntp) for run, ntp in pairs]
        labelled = [equal_flops_gap(run, ntp, label_flops(run["config"])) for run, ntp in pairs
                    if run["config"].get("concept", {}).get("mode") in CONCEPT_LOSS_MODES]
        name = {"ntp_flops": "NTP, CoCoMix's FLOPs"}.get(mode, mode)
        if mode == "cocomix_late":
            name = f"cocomix, L_s {rows[0]['config']['concept']['insert_layer']}"
        lines.append(f"| {name} | {rows[0]['d']} | {rows[0]['tokens']:,} | {rows[0]['flops'] / 1e9:,.0f} | "
                     f"{mean_sd([r['val_loss'] for r in rows])} | {'0' if mode == 'ntp' else mean_sd(deltas, signed=True)} | "
                     f"{gap_cell(gaps)} | {gap_cell(labelled)} | {saving} | {wall} |")
    return "\n".join(lines)


def plot(settings, path):
    """The mean validation curves over seeds (± one sd), a panel per setting that has students."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    shown = [(setting, runs) for setting, runs in settings.items() if runs]
    columns = min(2, len(shown))
    rows = (len(shown) + columns - 1) // columns
    fig, axes = plt.subplots(rows, columns, figsize=(6 * columns, 4.5 * rows), squeeze=False)
    for ax, (setting, runs) in zip(axes.flat, shown):
        for mode in STUDENT_ORDER:
            curves = [r[mode]["curve"] for r in runs.values() if mode in r]
            if not curves:
                continue
            length = min(len(c) for c in curves)
            xs = [curves[0][i][0] for i in range(length)]
            means = [statistics.mean(c[i][1] for c in curves) for i in range(length)]
            seeds = f"mean of {len(curves)} seeds" if len(curves) > 1 else "1 seed"
            ax.plot(xs, means, marker="o", markersize=3, label=f"{mode} ({seeds})")
            if len(curves) > 1:
                sds = [statistics.stdev(c[i][1] for c in curves) for i in range(length)]
                ax.fill_between(xs, [m - s for m, s in zip(means, sds)], [m + s for m, s in zip(means, sds)],
                                alpha=0.2)
        ax.set_title(setting if setting not in ("λ 0.1", "λ 1.0") else f"books + web text: CoCoMix at {setting}",
                     fontsize=10)
        ax.set_xlabel("tokens seen")
        ax.set_ylabel("validation loss (nats/token, periodic estimate)")
        ax.grid(alpha=0.3)
        ax.legend()
    for ax in list(axes.flat)[len(shown):]:
        ax.set_visible(False)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def equal_flops_steps(work):
    """NTP steps whose training FLOPs equal the seed-1 CoCoMix student's (labels not counted)."""
    cocomix = read_json(work / "base" / "student_cocomix.json")
    ntp = read_json(work / "base" / "student_ntp.json")
    return round(cocomix["train"]["max_steps"] * student_flops(cocomix) / student_flops(ntp))


def setting_summary(work, setting, runs):
    """The lines above a setting's table: its corpus, the teacher's margin over the matched NTP students and the
    SAE's quality on that corpus, and the training FLOPs per token of CoCoMix and NTP."""
    lines = []
    root = setting_root(work, setting)
    if root:
        q = quality(root)
        ntp_losses = [r["ntp"]["val_loss"] for r in runs.values() if "ntp" in r]
        margin = statistics.mean(ntp_losses) - q["teacher_loss"] if ntp_losses else None
        lines.append(f"Corpus: {q['train_tokens']:,} training and {q['val_tokens']:,} validation tokens (GPT-2 BPE). "
                     f"Teacher validation loss {q['teacher_loss']:.4f}"
                     + (f", {abs(margin):.3f} nats {'below' if margin >= 0 else 'above'} the matched NTP students"
                        if margin is not None else "")
                     + f". SAE: FVU {q['sae_fvu']:.4f}, dead latents {q['sae_dead']:.3f}.")
    pair = next((r for r in runs.values() if "cocomix" in r and "ntp" in r), None)
    if pair:
        cocomix, ntp = pair["cocomix"], pair["ntp"]
        lines.append(f"Training FLOPs per token: CoCoMix {cocomix['flops'] / cocomix['tokens'] / 1e6:.1f}M, matched NTP "
                     f"{ntp['flops'] / ntp['tokens'] / 1e6:.1f}M; concept labels with the teacher in the loop "
                     f"{label_flops(cocomix['config']) / 1e6:.1f}M more (a label cache pays them once per corpus).")
    if setting in GAP_TREND:
        trend = gap_trend(runs)
        if trend:
            points = [f"{statistics.mean(g):+.3f}" + (f" ± {statistics.stdev(g):.3f}" if len(g) > 1 else "")
                      + f" at {t:,.0f}" for t, g in trend]
            lines.append(f"CoCoMix − NTP on the periodic curves, paired by seed (n={len(trend[-1][1])}): "
                         + ", ".join(points) + " tokens.")
    return lines


def report(work, settings):
    """Writes WORK/report.md, report.json and val_loss.png of the collected `settings` and prints the report."""
    lines = [f"# Study report: {work}"]
    for setting, runs in settings.items():
        if runs:
            lines += ["", f"## {setting}", "", *setting_summary(work, setting, runs), "", table(setting, runs)]
    (work / "report.md").write_text("\n".join(lines) + "\n")
    (work / "report.json").write_text(json.dumps(
        {s: {str(seed): {m: {k: v for k, v in r.items() if k != "config"} for m, r in modes.items()}
             for seed, modes in runs.items()} for s, runs in settings.items()}, indent=1) + "\n")
    plot(settings, work / "val_loss.png")
    print("\n".join(lines))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("work", help="the study directory (scripts/study_text.sh --work)")
    p.add_argument("--equal-flops-steps", action="store_true",
                   help="print the NTP steps whose training FLOPs equal CoCoMix's and exit")
    p.add_argument("--panel", nargs=2, metavar=("PREFIX", "PNG"),
                   help="write only the curves of the setting whose run directories are PREFIX_seedN to PNG")
    args = p.parse_args(argv)
    work = Path(args.work).resolve()
    if args.equal_flops_steps:
        if not (work / "base" / "student_cocomix.json").exists():
            sys.exit(f"error: study: {work}/base/student_cocomix.json: missing (run scripts/study_text.sh "
                     "--stage main first)")
        print(equal_flops_steps(work))
        return
    settings = collect(work)
    if args.panel:
        prefix, png = args.panel
        setting = next((s for s, p in PREFIX.items() if p == prefix), None)
        if setting is None:
            sys.exit(f"error: study: --panel: unknown prefix {prefix!r} (choose from {', '.join(PREFIX.values())})")
        if not settings[setting]:
            sys.exit(f"error: study: --panel {prefix}: no finished student in {work}/{prefix}_seedN")
        plot({setting: settings[setting]}, Path(png))
        return
    if not any(settings.values()):
        sys.exit(f"error: study: {work}: no finished student (run scripts/study_text.sh first)")
    report(work, settings)


if __name__ == "__main__":
    main()
