"""The closing report of scripts/quickstart.sh: the CoCoMix student against the
parameter-matched NTP student, read from the pipeline's summary.json, after
checking that the figures are consistent (finite, perplexity = exp(loss), both
students trained on the same number of tokens).

    python -m cocomix_tools.quickstart WORK SECONDS
"""
import json
import math
import sys
from pathlib import Path

from .files import InputError


def comparison(work):
    """(cocomix, ntp, token_saving) from WORK/summary.json; InputError when a figure is inconsistent."""
    summary = json.loads((Path(work) / "summary.json").read_text())
    students = {s["mode"]: s for s in summary["students"]}
    for mode in ("cocomix", "ntp"):
        if mode not in students:
            raise InputError(f"{work}/summary.json: no {mode} student")
        s = students[mode]
        if not (math.isfinite(s["val_loss"]) and math.isfinite(s["val_ppl"])):
            raise InputError(f"{work}/summary.json: {mode}: validation loss {s['val_loss']} is not finite")
        if abs(s["val_ppl"] - math.exp(s["val_loss"])) > 1e-9 * s["val_ppl"]:
            raise InputError(f"{work}/summary.json: {mode}: perplexity {s['val_ppl']} is not exp(loss)")
    cocomix, ntp = students["cocomix"], students["ntp"]
    if cocomix["tokens"] != ntp["tokens"]:
        raise InputError(f"{work}/summary.json: the students saw {cocomix['tokens']} and {ntp['tokens']} tokens")
    return cocomix, ntp, summary["token_saving"]


def report(work, seconds):
    """The text the quickstart ends with."""
    cocomix, ntp, saving = comparison(work)
    lines = [
        f"quickstart done in {seconds // 60} min {seconds % 60} s: both students saw the same "
        f"{ntp['tokens']:,} tokens",
        f"  CoCoMix (λ 1.0, {cocomix['params']:,} parameters)  validation loss {cocomix['val_loss']:.4f}  "
        f"perplexity {cocomix['val_ppl']:.3f}",
        f"  NTP (matched, {ntp['params']:,} parameters)    validation loss {ntp['val_loss']:.4f}  "
        f"perplexity {ntp['val_ppl']:.3f}",
        f"  CoCoMix − NTP: {cocomix['val_loss'] - ntp['val_loss']:+.4f} nats/byte; "
        + (f"CoCoMix reaches NTP's final loss with {100 * saving:.0f}% fewer tokens" if saving is not None
           else "CoCoMix does not reach NTP's final loss in this run"),
    ]
    for name, student in (("CoCoMix", cocomix), ("NTP", ntp)):
        lines += [f"  {name} writes: {json.dumps(text, ensure_ascii=False)}" for text in student["samples"]]
    lines += [
        "",
        f"  table        {work}/summary.md (teacher margin, SAE quality)",
        f"  curves       {work}/val_loss.png",
        f"  runs         {work}/student_cocomix, {work}/student_ntp, {work}/teacher, {work}/sae "
        "(checkpoints, metrics.jsonl)",
        f"  labels       {work}/labels/train.labels (the concept-label cache)",
        f"  corpus       {work}/data (documents.jsonl holds each document's hidden variables)",
        f"  log          {work}/quickstart.log; each stage's own log in {work}/logs/",
    ]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.exit("usage: python -m cocomix_tools.quickstart WORK SECONDS")
    try:
        print("\n" + report(argv[0], int(argv[1])))
    except InputError as error:
        sys.exit(f"error: quickstart: {error}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
