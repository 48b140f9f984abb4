"""Zero-shot task requests built by lm-evaluation-harness's OWN task code, for
tests/unit/eval_tasks_test.cpp.

Each task's YAML (lm_eval/tasks/...) is loaded with lm_eval's YAML loader
(!function utils resolved), its dataset replaced by the local files of
COCOMIX_SHARED_DATA mapped to the Hugging Face fields the YAML expects, and
ConfigurableTask builds the requests (fewshot_context + construct_requests,
0-shot). HFLM's tokenization of each pair (TemplateLM.loglikelihood /
_encode_pair) is applied with transformers' GPT-2 tokenizer built from the
shared encoder.json + vocab.bpe. Writes OUT/eval_requests/:
  requests.jsonl   one line per request of the first DOCS documents of each task:
                   {"task", "doc", "context", "continuation", "gold", "choices",
                    "context_ids", "continuation_ids"}; wikitext rows have
                   "text" (the detokenized page), "ids", "words", "bytes"
  wikitext_split.json  {"documents": N, "sha256": [sha256 of each page]} over the
                   whole test file (the EleutherAI/wikitext_document_level split)
  hellaswag_original.jsonl  a few documents in HellaSwag's original jsonl format
                   (brackets, [title], lower-case ctx_b) and, in requests.jsonl under
                   task "hellaswag_jsonl", the harness's requests for them.
"""
import argparse
import hashlib
import json
import os

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import bz2  # noqa: E402

import datasets  # noqa: E402
import lm_eval  # noqa: E402
from lm_eval.api.task import ConfigurableTask  # noqa: E402
from lm_eval.tasks._yaml_loader import load_yaml  # noqa: E402
from transformers import GPT2TokenizerFast  # noqa: E402

DOCS = 50
TASK_DIR = os.path.join(os.path.dirname(lm_eval.__file__), "tasks")


def shared(*parts):
    root = os.environ.get("COCOMIX_SHARED_DATA") or os.path.join(os.path.dirname(__file__), "..", "..", "..",
                                                                 "shared", "data")
    return os.path.join(root, *parts)


def jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def lines(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


def wikitext_pages(raw):
    """EleutherAI/wikitext_document_level's _generate_examples, written out again."""
    pages, ret = [], []
    for line in raw.split("\n"):
        rline = line.replace("= = =", "===").replace("= =", "==").strip()
        if rline.startswith("= ") and rline.strip().endswith(" ="):
            page = "\n".join(ret)
            if page.strip():
                pages.append(page)
            ret = []
        ret.append(line)
    pages.append("\n".join(ret))
    return pages


def hellaswag_llamacpp_docs(docs):
    """llama.cpp's 6-line format: the query is used as is, as the task's already-processed doc."""
    with bz2.open(shared("eval_hellaswag", "hellaswag_val_full.txt.bz2"), "rt", encoding="utf-8") as f:
        text = f.read().split("\n")
    rows = []
    for i in range(docs):
        block = text[6 * i: 6 * i + 6]
        rows.append({"query": block[0], "choices": block[2:6], "gold": int(block[1]), "label": block[1]})
    return rows


HELLASWAG_ORIGINAL = [
    {"ind": 1, "activity_label": "Removing ice from car", "ctx_a": "Then, the man writes over the snow covering the "
     "window of a car, and a woman wearing winter clothes smiles.", "ctx_b": "then", "label": 3,
     "endings": [", the man adds wax to the windshield and cuts it.", ", a person board a ski lift, while two men "
                 "supporting the head of the person wearing winter clothes snow as the we girls sled.",
                 ", the man puts on a christmas coat, knitted with netting.",
                 ", the man continues removing the snow on his car."]},
    {"ind": 2, "activity_label": "Home and Garden", "ctx_a": "[header] How to grow tomatoes [title] Pick a sunny "
     "spot. [step] Tomatoes need at least six hours of sun.", "ctx_b": "WATER them  [substeps] deeply", "label": "1",
     "endings": ["[title] Water daily. [step] Keep  the soil moist.", "Use stakes [title] Tie the stems.",
                 " Mulch the bed [step] in spring. ", "[title]Prune suckers.[header] Done"]},
    {"ind": 3, "activity_label": "Cafe\u0301 life", "ctx_a": "A barista \u00e9tudie the cr\u00e8me.",
     "ctx_b": "\u00c9LAN and [broken bracket\nnext", "label": 0,
     "endings": ["pours milk [step] slowly.", "  smiles ", "[x]", "leaves [the] shop [title] now"]},
]


def task_docs(name, docs):
    """The local files as the Hugging Face rows the task's YAML reads."""
    if name == "lambada_openai":
        return jsonl(shared("eval_lambada", "lambada_test.jsonl"))[:docs]
    if name == "piqa":
        rows = jsonl(shared("eval_piqa", "valid.jsonl"))[:docs]
        for row, label in zip(rows, lines(shared("eval_piqa", "valid-labels.lst"))):
            row["label"] = int(label)
        return rows
    if name == "social_iqa":
        rows = jsonl(shared("eval_siqa", "dev.jsonl"))[:docs]
        for row, label in zip(rows, lines(shared("eval_siqa", "dev-labels.lst"))):
            row["label"] = label
        return rows
    if name == "winogrande":
        return jsonl(shared("eval_winogrande", "dev.jsonl"))[:docs]
    if name in ("arc_easy", "arc_challenge"):
        file = "ARC-Easy-test.jsonl" if name == "arc_easy" else "ARC-Challenge-test.jsonl"
        return jsonl(shared("eval_arc", "hf_format", file))[:docs]
    if name == "hellaswag_jsonl":
        return [dict(doc, ctx=doc["ctx_a"] + " " + doc["ctx_b"], source_id="x", split="val", split_type="indomain",
                     label=str(doc["label"])) for doc in HELLASWAG_ORIGINAL]
    raise KeyError(name)


YAMLS = {"lambada_openai": "lambada/lambada_openai.yaml", "piqa": "piqa/piqa.yaml", "social_iqa": "siqa/siqa.yaml",
         "winogrande": "winogrande/default.yaml", "arc_easy": "arc/arc_easy.yaml",
         "arc_challenge": "arc/arc_challenge.yaml", "hellaswag": "hellaswag/hellaswag.yaml",
         "hellaswag_jsonl": "hellaswag/hellaswag.yaml", "wikitext": "wikitext/wikitext.yaml"}


def build_task(name, rows, drop_process_docs=False):
    config = load_yaml(os.path.join(TASK_DIR, YAMLS[name]))
    splits = [config[key] for key in ("training_split", "validation_split", "test_split") if config.get(key)]
    if drop_process_docs:
        config.pop("process_docs", None)
    # Every split the YAML names holds the rows; 0-shot reads only the evaluation split.
    config["custom_dataset"] = lambda **kwargs: datasets.DatasetDict(
        {split: datasets.Dataset.from_list(rows) for split in splits})
    config.pop("dataset_path", None)
    config.pop("dataset_name", None)
    return ConfigurableTask(config=config)


class HfEncoder:
    """HFLM's tok_encode / _encode_pair / empty-context rule (lm_eval.api.model.TemplateLM)."""

    def __init__(self, out_dir):
        with open(shared("gpt2_tokenizer", "encoder.json"), encoding="utf-8") as f:
            vocab = json.load(f)
        merges = os.path.join(out_dir, "merges.txt")
        with open(shared("gpt2_tokenizer", "vocab.bpe"), encoding="utf-8") as f, open(merges, "w") as g:
            g.write(f.read())
        vocab_path = os.path.join(out_dir, "vocab.json")
        with open(vocab_path, "w", encoding="utf-8") as f:
            json.dump(vocab, f)
        self.tok = GPT2TokenizerFast(vocab=vocab_path, merges=merges, add_prefix_space=False)
        assert self.tok.encode("Hello world", add_special_tokens=False) == [15496, 995]
        self.eot = vocab["<|endoftext|>"]

    def encode(self, text):
        return self.tok.encode(text, add_special_tokens=False)

    def pair(self, context, continuation):
        if context == "":
            cont = self.encode(continuation)
            return ([self.eot], cont) if cont[0] != self.eot else (cont[:1], cont[1:])
        n_spaces = len(context) - len(context.rstrip())
        if n_spaces > 0:
            continuation = context[-n_spaces:] + continuation
            context = context[:-n_spaces]
        whole = self.encode(context + continuation)
        context_enc = self.encode(context)
        return context_enc, whole[len(context_enc):]


def task_records(encoder, docs):
    """The requests of the first `docs` documents of every loglikelihood / multiple-choice task."""
    records = []
    for name in ("lambada_openai", "piqa", "social_iqa", "winogrande", "arc_easy", "arc_challenge", "hellaswag",
                 "hellaswag_jsonl"):
        if name == "hellaswag":  # the llama.cpp rows are processed docs already: skip process_docs
            task = build_task(name, hellaswag_llamacpp_docs(docs), drop_process_docs=True)
        else:
            task = build_task(name, task_docs(name, docs))
        for d, doc in enumerate(task.eval_docs):
            ctx = task.fewshot_context(doc, 0)
            instances = task.construct_requests(doc, ctx, metadata=(name, d, 0))
            if not isinstance(instances, list):
                instances = [instances]
            choices = task.doc_to_choice(doc) if task.OUTPUT_TYPE == "multiple_choice" else []
            gold = (task.doc_to_text(doc) if task.multiple_input else task.doc_to_target(doc)) \
                if task.OUTPUT_TYPE == "multiple_choice" else 0
            for instance in instances:
                context, continuation = instance.arguments[:2]
                context_ids, continuation_ids = encoder.pair(context, continuation)
                records.append({"task": name, "doc": d, "context": context, "continuation": continuation,
                                "gold": gold, "choices": choices, "context_ids": context_ids,
                                "continuation_ids": continuation_ids})
    return records


def wikitext_records(encoder, pages, docs):
    """The rolling texts (detokenized by the harness) of the first `docs` wikitext pages."""
    records = []
    task = build_task("wikitext", [{"page": p} for p in pages[:docs]])
    for d, doc in enumerate(task.eval_docs):
        instance = task.construct_requests(doc, task.fewshot_context(doc, 0), metadata=("wikitext", d, 0))
        (text,) = instance.arguments
        scored = task.process_results(doc, [0.0])
        records.append({"task": "wikitext", "doc": d, "text": text, "ids": encoder.encode(text),
                        "words": scored["word_perplexity"][1], "bytes": scored["byte_perplexity"][1]})
    return records


def wikitext_test_pages():
    with open(shared("eval_wikitext2", "wiki.test.raw"), encoding="utf-8") as f:
        return wikitext_pages(f.read())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="reference directory (COCOMIX_REFERENCE_DIR)")
    args = parser.parse_args()
    out = os.path.join(args.out, "eval_requests")
    os.makedirs(out, exist_ok=True)
    encoder = HfEncoder(out)
    pages = wikitext_test_pages()
    records = task_records(encoder, DOCS) + wikitext_records(encoder, pages, DOCS)
    with open(os.path.join(out, "wikitext_split.json"), "w") as f:
        json.dump({"documents": len(pages),
                   "sha256": [hashlib.sha256(p.encode("utf-8")).hexdigest() for p in pages]}, f)
    with open(os.path.join(out, "hellaswag_original.jsonl"), "w", encoding="utf-8") as f:
        for doc in HELLASWAG_ORIGINAL:
            f.write(json.dumps(doc) + "\n")
    with open(os.path.join(out, "requests.jsonl"), "w", encoding="utf-8") as f:
        for record in records:
            f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
