"""Concept alignment on the synthetic corpus: how well do (a) a
teacher SAE's latents and (b) a CoCoMix student's predicted concepts line up with
the hidden variables that generated each validation document?

    PYTHONPATH=python $VENV/bin/python scripts/concept_alignment.py --corpus DIR --teacher RUN_OR_CKPT --sae SAE_DIR
        [--student RUN_OR_CKPT] [--documents 400] [--max-doc-tokens 0] [--json OUT] [--batch 16] [--threads N]
        [--check-with-apps BIN_DIR] [--check-windows 8]

Per validation document (split "val" of DIR/documents.jsonl, tokens from
DIR/val.bin at offset/tokens, the closing end-of-text dropped, cut into chunks
of the model's data.seq_len that are run independently):
  SAE      teacher hidden_states[L_t] (the output of block L_t - 1, before ln_f;
           L_t from SAE_DIR/sae.json), encoded as method spec §1 / concept/sae.h:
           x = (h - mu) / (std_unbiased + 1e-5), z = ReLU(TopK_k(W_enc (x - pre_bias)
           + latent_bias)); latent j is active at a token when z_j > 0.
  student  h_s = input of block L_s (blocks [0, L_s) of the student GPT), the
           concept head of concept_head.cpp: logits = (x - pre_bias) @ W_pred + b_pred
           with x the same normalisation; concept j is active when it is in the
           top-k_pred logits (signed, as the student keeps them).
Document feature of latent j = fraction of the document's tokens where j is active.

Hidden variables (synthetic_corpus.cpp draws them per document): topic (6),
register, sentiment, entity_count (2 or 3), first_gender (gender of the first
entity) as multi-class variables; profession, city, colour as multi-label ones
("some entity of the document has value X"). Every (variable, value) is a binary
label. Scores, with two folds split by the parity of the document's position in
the validation list (select on one half, score on the other, then swap; figures
are means over both folds):
  best_latent_auroc  the latent with the highest AUROC on the selection half,
                     its AUROC on the held-out half (ties count 1/2), mean over
                     the variable's values. Chance is 0.5;
                     best_latent_auroc_shuffled is the same procedure on labels
                     permuted across documents (seeded): the empirical null.
  probe_acc          L2 logistic regression (one-vs-rest, Newton; features centred,
                     not rescaled; each penalty chosen by 2-fold cross-validation
                     inside the training half) trained on one half, accuracy on
                     the other. Multi-class:
                     argmax over the classes' scores; multi-label: mean of the
                     per-value binary accuracies. probe_auroc: the held-out AUROC
                     of the probe's decision values, mean over values (chance
                     0.5; the informative figure for multi-label variables,
                     whose accuracy sits near the majority's).
  majority           the training half's majority class (per value for
                     multi-label), accuracy on the held-out half.

Output: a JSON {"documents", "sae": {variable: {...}}, "student": {...}, ...} and
a markdown table on stdout. Deterministic for a given thread count. From Python:
analyse(corpus, teacher, sae, student=None, documents=400) returns that dict
(raises InputError with the one-line message) and markdown(result) the table.

--check-with-apps BIN runs cocomix-eval (teacher validation loss) and cocomix-sae
eval (FVU) on the first --check-windows windows of val.bin and prints them beside
this script's Python forward; a relative difference above 1e-4 is an error.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

from .corpus import read_documents, read_token_file
from .files import InputError, read_json
from .model import GPT2, ConceptHead, Sae

MULTICLASS = ("topic", "register", "sentiment", "entity_count", "first_gender")
MULTILABEL = ("profession", "city", "colour")
PROBE_LAMBDAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # times the mean squared row norm
SHUFFLE_SEED = 1234
CHECK_REL_TOL = 1e-4
WIDE_VALUES = 1 << 25  # at most this many [positions, latents] floats per forward (128 MB)


# ---- documents -----------------------------------------------------------------------

def read_val_documents(corpus, limit, max_tokens=0):
    """The first `limit` documents of split val: [(index, tokens without the final EOT, hidden)],
    each cut to its first `max_tokens` tokens when max_tokens > 0."""
    listing = os.path.join(corpus, "documents.jsonl")
    tokens = read_token_file(os.path.join(corpus, "val.bin"))
    documents = []
    for line_no, row in read_documents(corpus):
        if row.get("split") != "val":
            continue
        if "hidden" not in row or "topic" not in row.get("hidden", {}):
            raise InputError(f"{listing}: line {line_no}: hidden: missing (not a synthetic corpus)")
        offset, count = row.get("offset"), row.get("tokens")
        if not isinstance(offset, int) or not isinstance(count, int) or count < 2 or offset + count > tokens.size:
            raise InputError(f"{listing}: line {line_no}: offset/tokens {offset}/{count} outside "
                             f"val.bin's {tokens.size} tokens")
        kept = count - 1 if max_tokens <= 0 else min(count - 1, max_tokens)
        documents.append((row["index"], tokens[offset:offset + kept].astype(np.int64), row["hidden"]))
        if len(documents) == limit:
            break
    if len(documents) < 4:
        raise InputError(f"{listing}: only {len(documents)} validation documents; need at least 4")
    return documents


# ---- document features ---------------------------------------------------------

def document_features(documents, seq_len, width, active_of, batch):
    """Fraction of each document's tokens where each of `width` features is active.
    active_of(inputs [B, T]) -> ([B, T, k] int64 indices, [B, T, k] bool: counts or not).
    Chunks of seq_len are right-padded to batch them (causal: padding never changes
    earlier positions) and the padded positions are dropped. Returns [n_docs, width] float64."""
    chunks = []  # (document, start, length)
    for doc, (_, tokens, _) in enumerate(documents):
        for start in range(0, tokens.size, seq_len):
            chunks.append((doc, start, min(seq_len, tokens.size - start)))
    counts = torch.zeros(len(documents), width, dtype=torch.float64)
    batch = max(1, min(batch, WIDE_VALUES // (seq_len * width)))  # bounds the [B*T, width] activations
    with torch.no_grad():
        for first in range(0, len(chunks), batch):
            group = chunks[first:first + batch]
            T = max(length for _, _, length in group)
            inputs = torch.zeros(len(group), T, dtype=torch.int64)
            valid = torch.zeros(len(group), T, dtype=torch.bool)
            for row, (doc, start, length) in enumerate(group):
                inputs[row, :length] = torch.from_numpy(documents[doc][1][start:start + length])
                valid[row, :length] = True
            indices, counted = active_of(inputs)  # [B, T, k] each
            weight = (counted & valid.unsqueeze(-1)).to(torch.float64)
            rows = torch.tensor([doc for doc, _, _ in group]).view(-1, 1, 1).expand_as(indices)
            counts.index_put_((rows.reshape(-1), indices.reshape(-1)), weight.reshape(-1), accumulate=True)
    lengths = torch.tensor([float(tokens.size) for _, tokens, _ in documents], dtype=torch.float64)
    return (counts / lengths.unsqueeze(1)).numpy()


def sae_features(teacher, sae, documents, batch):
    def active_of(inputs):
        h = teacher.hidden_after(inputs, sae.layer)  # [B, T, d]
        kept, positive = sae.active_latents(h.reshape(-1, sae.d))
        return kept.view(*inputs.shape, -1), positive.view(*inputs.shape, -1)
    return document_features(documents, teacher.sizes["seq_len"], sae.n_latents, active_of, batch)


def student_top_concepts(student, head, inputs):
    """inputs [B, T] -> the top-k_pred concept indices [B, T, k_pred] and the logits [B, T, C]."""
    h = student.hidden_after(inputs, head.insert_layer)
    logits = head.logits(h.reshape(-1, h.size(-1))).view(*inputs.shape, -1)
    return logits.topk(head.k_pred, dim=-1).indices, logits


def student_features(student, head, documents, batch):
    def active_of(inputs):
        top = student_top_concepts(student, head, inputs)[0]
        return top, torch.ones_like(top, dtype=torch.bool)
    return document_features(documents, student.sizes["seq_len"], head.n_concepts, active_of, batch)


# ---- labels ------------------------------------------------------------------------

def variable_values(hidden, variable):
    """The set of values `variable` takes in one document's hidden variables."""
    entities = hidden.get("entities", [])
    if variable == "entity_count":
        return {str(len(entities))}
    if variable == "first_gender":
        return {entities[0]["gender"]} if entities else set()
    if variable in MULTILABEL:
        return {e[variable] for e in entities}
    return {str(hidden[variable])}


def labels_of(documents, variable):
    """-> (sorted values, [n_docs, n_values] bool)."""
    sets = [variable_values(hidden, variable) for _, _, hidden in documents]
    values = sorted(set().union(*sets))
    return values, np.array([[v in s for v in values] for s in sets], dtype=bool)


# ---- scores ------------------------------------------------------------------------

def average_ranks(matrix):
    """Column-wise 1-based ranks of [n, m], tied entries sharing their mean rank."""
    n = matrix.shape[0]
    order = np.argsort(matrix, axis=0, kind="stable")
    ordered = np.take_along_axis(matrix, order, axis=0)
    position = np.arange(n)[:, None].repeat(matrix.shape[1], axis=1)
    starts = np.ones_like(ordered, dtype=bool)
    starts[1:] = ordered[1:] != ordered[:-1]
    ends = np.ones_like(ordered, dtype=bool)
    ends[:-1] = starts[1:]
    low = np.maximum.accumulate(np.where(starts, position, 0), axis=0)
    high = np.minimum.accumulate(np.where(ends, position, n - 1)[::-1], axis=0)[::-1]
    ranks = np.empty_like(ordered, dtype=np.float64)
    np.put_along_axis(ranks, order, (low + high) / 2.0 + 1.0, axis=0)
    return ranks


def auroc_columns(ranks, labels):
    """AUROC of every column (its average ranks `ranks` [n, m]) for boolean labels [n]:
    P(score_pos > score_neg) + P(equal) / 2 (Mann-Whitney). NaN when a class is empty."""
    positives = int(labels.sum())
    negatives = labels.size - positives
    if positives == 0 or negatives == 0:
        return np.full(ranks.shape[1], np.nan)
    rank_sum = labels.astype(np.float64) @ ranks
    return (rank_sum - positives * (positives + 1) / 2.0) / (positives * negatives)


def auroc(scores, labels):
    """AUROC of one score vector for boolean labels (ties count 1/2)."""
    scores = np.asarray(scores, dtype=np.float64).reshape(-1, 1)
    return float(auroc_columns(average_ranks(scores), np.asarray(labels, dtype=bool))[0])


def logistic_fit(z, y, lam, start=None, iterations=50):
    """L2 logistic regression by Newton's method: minimises sum log-loss + lam/2 ||w||^2
    (intercept unpenalised). z [n, r], y [n] in {0, 1} -> theta [r + 1] (w, then the
    intercept). `start`: the initial theta (default 0)."""
    n, r = z.shape
    a = np.hstack([z, np.ones((n, 1))])
    theta = np.zeros(r + 1) if start is None else start.copy()
    penalty = np.full(r + 1, lam)
    penalty[-1] = 0.0
    for _ in range(iterations):
        p = 0.5 * (1.0 + np.tanh(0.5 * (a @ theta)))  # the logistic function, without overflow
        gradient = a.T @ (p - y) + penalty * theta
        hessian = (a * (p * (1 - p))[:, None]).T @ a + np.diag(penalty) + 1e-10 * np.eye(r + 1)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if np.abs(step).max() < 1e-7:
            break
    return theta


def probe_basis(train_x, test_x):
    """Centres on the training rows and returns both sets in coordinates of the training
    rows' span: z_train [n, r], z_test [m, r] with z_train z_train^T = A A^T and
    z_test z_train^T = B A^T (A, B the centred rows). An L2-penalised linear model on A
    has its weights in that span, so fitting on these coordinates solves the
    full-width problem exactly. Features keep their scale (all are fractions of tokens)."""
    mean = train_x.mean(0)
    a, b = train_x - mean, test_x - mean
    gram = a @ a.T
    eigenvalues, u = np.linalg.eigh(gram)  # A A^T = U diag(s^2) U^T
    significant = eigenvalues > max(eigenvalues.max(), 1e-300) * 1e-10
    u, s = u[:, significant], np.sqrt(eigenvalues[significant])
    return u * s, (b @ a.T) @ u / s


class Probe:
    """One-vs-rest L2 logistic probes trained on `train_x` and scored on `test_x`. Each
    binary problem picks its penalty from PROBE_LAMBDAS (times the mean squared norm of
    the centred training rows, so the grid does not depend on the features' scale) by
    2-fold cross-validated log-loss inside the training rows (split by parity; ties go
    to the larger penalty)."""

    def __init__(self, train_x, test_x):
        n = train_x.shape[0]
        self.scale = max(float(((train_x - train_x.mean(0)) ** 2).sum(1).mean()), 1e-12)
        self.full = probe_basis(train_x, test_x)
        self.inner = [(rows, other, probe_basis(train_x[rows], train_x[other]))
                      for rows, other in ((np.arange(0, n, 2), np.arange(1, n, 2)),
                                          (np.arange(1, n, 2), np.arange(0, n, 2)))]

    def _penalty(self, y):
        if any(y[rows].min() == y[rows].max() for rows, _, _ in self.inner):
            return PROBE_LAMBDAS[-1] * self.scale
        losses = {}
        for rows, other, (z_rows, z_other) in self.inner:
            theta = None
            for factor in sorted(PROBE_LAMBDAS, reverse=True):  # strongest first, each warm-starts the next
                theta = logistic_fit(z_rows, y[rows], factor * self.scale, theta)
                margin = (z_other @ theta[:-1] + theta[-1]) * (2 * y[other] - 1)
                losses[factor] = losses.get(factor, 0.0) + np.logaddexp(0.0, -margin).sum()
        best = min(sorted(PROBE_LAMBDAS, reverse=True), key=lambda factor: losses[factor])  # ties: stronger
        return best * self.scale

    def scores(self, train_y):
        """train_y [n, n_values] bool -> decision values [m, n_values], NaN for a value
        that is constant on the training rows."""
        z_train, z_test = self.full
        out = np.full((z_test.shape[0], train_y.shape[1]), np.nan)
        for value in range(train_y.shape[1]):
            y = train_y[:, value].astype(np.float64)
            if y.min() == y.max():
                continue
            theta = logistic_fit(z_train, y, self._penalty(y))
            out[:, value] = z_test @ theta[:-1] + theta[-1]
        return out


def score_variable(ranks, probes, labels, multiclass, halves, shuffle):
    """Held-out scores of one variable on one feature matrix; means over the two folds.
    ranks[h] = average_ranks(features[halves[h]]); probes[f] = the Probe of fold f
    (fold 0 selects/trains on halves[0], fold 1 on halves[1])."""
    per_value = {"auroc": [], "latent": [], "shuffled": [], "probe_auroc": []}
    probe, majority = [], []
    for fold, (select, held) in enumerate((halves, halves[::-1])):
        y_select, y_held = labels[select], labels[held]
        ranks_select, ranks_held = ranks[fold], ranks[1 - fold]
        aurocs, latents, shuffled = [], [], []
        for value in range(labels.shape[1]):
            ok = 0 < y_select[:, value].sum() < len(select) and 0 < y_held[:, value].sum() < len(held)
            if not ok:
                aurocs.append(np.nan), latents.append(-1), shuffled.append(np.nan)
                continue
            best = int(np.argmax(auroc_columns(ranks_select, y_select[:, value])))
            aurocs.append(float(auroc_columns(ranks_held[:, [best]], y_held[:, value])[0]))
            latents.append(best)
            permuted = labels[shuffle][:, value]
            best_null = int(np.argmax(auroc_columns(ranks_select, permuted[select])))
            shuffled.append(float(auroc_columns(ranks_held[:, [best_null]], permuted[held])[0]))
        per_value["auroc"].append(aurocs)
        per_value["latent"].append(latents)
        per_value["shuffled"].append(shuffled)
        scores = probes[fold].scores(y_select)
        per_value["probe_auroc"].append([auroc(scores[:, v], y_held[:, v]) if not np.isnan(scores[:, v]).any()
                                         else np.nan for v in range(labels.shape[1])])
        counts = y_select.sum(0)
        if multiclass:
            truth = y_held.argmax(1)
            predicted = np.nan_to_num(scores, nan=-np.inf).argmax(1)
            probe.append(float((predicted == truth).mean()))
            majority.append(float((truth == int(counts.argmax())).mean()))
        else:
            majority_label = counts * 2 > len(select)  # [n_values]
            accuracies = [(np.where(np.isnan(scores[:, v]), majority_label[v], scores[:, v] > 0) == y_held[:, v]).mean()
                          for v in range(labels.shape[1])]
            probe.append(float(np.mean(accuracies)))
            majority.append(float((y_held == majority_label).mean()))
    return per_value, float(np.mean(probe)), float(np.mean(majority))


def score_features(features, documents):
    """{variable: {"best_latent_auroc", "best_latent_auroc_shuffled", "probe_acc", "probe_auroc",
    "majority", "kind", "values_scored", "values": {value: {"auroc", "latents" (the best latent
    of each fold), "positives"}}}} for one feature matrix [n_docs, n_latents]."""
    n = len(documents)
    halves = (np.arange(0, n, 2), np.arange(1, n, 2))
    ranks = [average_ranks(features[half]) for half in halves]  # within each half
    probes = [Probe(features[halves[f]], features[halves[1 - f]]) for f in range(2)]
    shuffle = np.random.default_rng(SHUFFLE_SEED).permutation(n)
    result = {}
    for variable in MULTICLASS + MULTILABEL:
        values, labels = labels_of(documents, variable)
        if len(values) < 2 and variable in MULTICLASS:
            continue
        per_value, probe, majority = score_variable(ranks, probes, labels, variable in MULTICLASS, halves, shuffle)
        aurocs = np.array(per_value["auroc"])     # [2 folds, n_values]
        shuffled = np.array(per_value["shuffled"])
        scored = ~np.isnan(aurocs).any(0)
        null_scored = ~np.isnan(shuffled).any(0)  # permuted labels can leave a half without positives
        probe_aurocs = np.array(per_value["probe_auroc"])
        probe_scored = ~np.isnan(probe_aurocs).any(0)
        entry = {"best_latent_auroc": float(aurocs[:, scored].mean()) if scored.any() else None,
                 "best_latent_auroc_shuffled": float(shuffled[:, null_scored].mean()) if null_scored.any() else None,
                 "probe_acc": probe, "majority": majority,
                 "probe_auroc": float(probe_aurocs[:, probe_scored].mean()) if probe_scored.any() else None,
                 "kind": "multiclass" if variable in MULTICLASS else "multilabel",
                 "values_scored": int(scored.sum()), "values": {}}
        for v, value in enumerate(values):
            entry["values"][value] = {"auroc": float(aurocs[:, v].mean()) if scored[v] else None,
                                      "latents": [int(per_value["latent"][f][v]) for f in range(2)],
                                      "positives": int(labels[:, v].sum())}
        result[variable] = entry
    return result


# ---- checks against the C++ apps ------------------------------------------------------

def validation_windows(tokens, seq_len, max_windows):
    """eval/perplexity's windows: starts 0, T, 2T, ... with start + T + 1 <= N, the first max_windows."""
    starts = list(range(0, tokens.size - seq_len, seq_len))
    return starts[:max_windows] if max_windows > 0 else starts


def validation_loss(model, tokens, seq_len, max_windows=0, batch=16):
    """Mean next-token cross-entropy over the validation windows (cocomix-eval --val)."""
    starts = validation_windows(tokens, seq_len, max_windows)
    total, count = 0.0, 0
    with torch.no_grad():
        for first in range(0, len(starts), batch):
            rows = np.stack([tokens[s:s + seq_len + 1].astype(np.int64) for s in starts[first:first + batch]])
            window = torch.from_numpy(rows)
            logits = model.logits(window[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, logits.size(-1)), window[:, 1:].reshape(-1),
                                     reduction="sum").double().item()
            count += window[:, 1:].numel()
    return total / count


def sae_fvu(teacher, sae, tokens, seq_len, max_windows=0, batch=16):
    """Pooled E(h_hat, h) = sum (h_hat - h)^2 / sum (h - mean over tokens)^2 (cocomix-sae eval's fvu)."""
    starts = validation_windows(tokens, seq_len, max_windows)
    error, squares, column_sum, rows = 0.0, 0.0, torch.zeros(sae.d, dtype=torch.float64), 0
    with torch.no_grad():
        for first in range(0, len(starts), batch):
            inputs = torch.from_numpy(np.stack([tokens[s:s + seq_len].astype(np.int64)
                                                for s in starts[first:first + batch]]))
            h = teacher.hidden_after(inputs, sae.layer).reshape(-1, sae.d)
            z, _, _, mu, sigma = sae.encode(h)
            target = h.double()
            error += (sae.reconstruct(z, mu, sigma).double() - target).square().sum().item()
            squares += target.square().sum().item()
            column_sum += target.sum(0)
            rows += target.size(0)
    return error / (squares - column_sum.square().sum().item() / rows)


def last_line(text):
    lines = text.strip().splitlines()
    return lines[-1] if lines else "(no output)"


def check_with_apps(bin_dir, teacher_path, teacher, sae_dir, sae, val_file, tokens, windows):
    """Runs cocomix-eval and cocomix-sae eval; returns {"teacher_val_loss": [cpp, python], "sae_fvu": [cpp, python]}."""
    with tempfile.TemporaryDirectory() as work:
        out = os.path.join(work, "eval.json")
        seq_len = teacher.sizes["seq_len"]
        command = [os.path.join(bin_dir, "cocomix-eval"), "--checkpoint", teacher_path, "--val", val_file,
                   "--json", out, "--max-windows", str(windows), "--seq-len", str(seq_len)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise InputError(f"{command[0]} exited {done.returncode}: {last_line(done.stderr)}")
        cpp_loss = read_json(out)["val_loss"]
        command = [os.path.join(bin_dir, "cocomix-sae"), "eval", "--sae", sae_dir, "--teacher", teacher_path,
                   "--data", val_file, "--seq-len", str(seq_len), "--windows", str(windows), "--json", out]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise InputError(f"{command[0]} eval exited {done.returncode}: {last_line(done.stderr)}")
        cpp_fvu = read_json(out)["fvu"]
    checks = {"teacher_val_loss": [cpp_loss, validation_loss(teacher, tokens, seq_len, windows)],
              "sae_fvu": [cpp_fvu, sae_fvu(teacher, sae, tokens, seq_len, windows)]}
    for name, (cpp, python) in checks.items():
        print(f"check {name}: C++ {cpp:.6f}  Python {python:.6f}", file=sys.stderr)
        if abs(cpp - python) > CHECK_REL_TOL * abs(cpp):
            raise InputError(f"--check-with-apps: {name}: the C++ apps give {cpp}, this script {python} "
                                 f"(relative tolerance {CHECK_REL_TOL}): the Python forward is not the C++ one")
    return checks


# ---- report ------------------------------------------------------------------------

def markdown(result):
    """Per variable and feature set: best-latent AUROC (its shuffled-label null), probe
    accuracy and probe AUROC; the majority baseline last. Chance AUROC is 0.5."""
    sections = [s for s in ("sae", "student") if s in result]
    header = "| variable | kind | " + " | ".join(
        f"{s} best-latent AUROC (null) | {s} probe acc | {s} probe AUROC" for s in sections) + " | majority acc |"
    lines = [header, "|" + "---|" * (3 + 3 * len(sections))]

    def cell(x):
        return "n/a" if x is None else f"{x:.3f}"
    for variable, entry in result[sections[0]].items():
        row = f"| {variable} | {entry['kind']} ({entry['values_scored']} values) | "
        for s in sections:
            e = result[s][variable]
            row += (f"{cell(e['best_latent_auroc'])} ({cell(e['best_latent_auroc_shuffled'])}) | "
                    f"{cell(e['probe_acc'])} | {cell(e['probe_auroc'])} | ")
        lines.append(row + f"{cell(entry['majority'])} |")
    return "\n".join(lines)


def analyse(corpus, teacher, sae, student=None, documents=400, batch=16, max_doc_tokens=0):
    """The analysis; returns the JSON-able result (see the module docstring)."""
    docs = read_val_documents(corpus, documents, max_doc_tokens)
    teacher_model = GPT2(teacher)
    sae_model = Sae(sae)
    if sae_model.d != teacher_model.sizes["n_embd"]:
        raise InputError(f"{sae}/sae.json: d {sae_model.d} differs from the teacher's n_embd "
                             f"{teacher_model.sizes['n_embd']}")
    if sae_model.layer > teacher_model.sizes["n_layer"]:
        raise InputError(f"{sae}/sae.json: layer {sae_model.layer} exceeds the teacher's n_layer "
                             f"{teacher_model.sizes['n_layer']}")
    result = {"documents": len(docs), "tokens": int(sum(d[1].size for d in docs)), "corpus": corpus,
              "teacher": teacher_model.checkpoint, "sae_dir": sae, "sae_layer": sae_model.layer,
              "sae_k": sae_model.k, "n_latents": sae_model.n_latents,
              "chance": {"best_latent_auroc": 0.5, "note": "majority = majority-class accuracy of the training half; "
                         "best_latent_auroc_shuffled = the same selection on permuted labels"}}
    result["sae"] = score_features(sae_features(teacher_model, sae_model, docs, batch), docs)
    if student:
        student_model = GPT2(student)
        head = ConceptHead(student_model)
        result.update(student_checkpoint=student_model.checkpoint, k_pred=head.k_pred,
                      insert_layer=head.insert_layer, n_concepts=head.n_concepts)
        result["student"] = score_features(student_features(student_model, head, docs, batch), docs)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", required=True, help="cocomix-tokenize --synthetic output directory")
    parser.add_argument("--teacher", required=True, help="teacher run or checkpoint directory")
    parser.add_argument("--sae", required=True, help="the teacher's SAE directory (sae.json + sae.safetensors)")
    parser.add_argument("--student", help="CoCoMix student run or checkpoint directory")
    parser.add_argument("--documents", type=int, default=400, help="at most this many validation documents")
    parser.add_argument("--json", help="write the result here")
    parser.add_argument("--max-doc-tokens", type=int, default=0,
                        help="use only each document's first N tokens (0: all; the cost is linear in tokens x latents)")
    parser.add_argument("--batch", type=int, default=16, help="chunks per forward pass")
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    parser.add_argument("--check-with-apps", metavar="BIN", help="compare the teacher's val loss and the SAE's FVU "
                        "with cocomix-eval and cocomix-sae eval from BIN")
    parser.add_argument("--check-windows", type=int, default=8, help="validation windows for --check-with-apps")
    args = parser.parse_args(argv)
    if args.documents < 4:
        parser.error("--documents: must be at least 4")
    if args.batch < 1:
        parser.error("--batch: must be positive")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    try:
        result = analyse(args.corpus, args.teacher, args.sae, args.student, args.documents, args.batch,
                         args.max_doc_tokens)
        if args.check_with_apps:
            val_file = os.path.join(args.corpus, "val.bin")
            result["checks"] = check_with_apps(args.check_with_apps, args.teacher, GPT2(args.teacher), args.sae,
                                               Sae(args.sae), val_file, read_token_file(val_file), args.check_windows)
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(markdown(result))
    if args.json:
        with open(args.json + ".tmp", "w") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
        os.replace(args.json + ".tmp", args.json)
    return 0
