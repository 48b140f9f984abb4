"""The Python side of cocomix: readers of the files the apps write, a PyTorch
reference of the model pieces, and the analyses and runs behind scripts/ and
bench/. Put the directory holding this package on PYTHONPATH (scripts/common.sh
and the test suite do).

  files          InputError, read_json
  paths          the repository, the apps and the shared data
  corpus         token files (llm.c shards, headerless uint16), manifest.json,
                 documents.jsonl, the train/val split rule, --blocks
  checkpoint     checkpoint and run directories, their files checked against the
                 digests in COMPLETE, model sizes, parameter counts
  model          the reference forward: GPT-2 on checkpoint tensors, Hugging Face
                 GPT-2 helpers, position normalisation, TopK SAE, concept head
  alignment      concept alignment with the synthetic corpus's hidden variables
  pipeline       the tiny CoCoMix pipeline (scripts/pipeline_tiny.sh)
  harness        lm-evaluation-harness parity (scripts/harness_parity.sh)
  tiktoken_gpt2  tiktoken's gpt2 Encoding from the shared tokenizer files
"""
