#!/usr/bin/env bash
# The real-text study of docs/science.md: CoCoMix against the parameter-matched
# NTP, KD and pause students on every book and web text of the shared data
# (GPT-2 BPE), three student seeds, then the equal-compute NTP runs, the
# distribution-shift and weak-to-strong settings, the paper's ablations (in the
# main and the distribution-shift settings), CoCoMix inserting its concepts
# before the students' last block (fewer blocks on 2T positions; again in both
# settings), and CoCoMix and NTP trained twice as long. Every
# stage is a scripts/pipeline_tiny.sh call; finished runs are skipped, so the
# script resumes where it stopped. The report (tables, PNGs) is
#
#   $COCOMIX_PYTHON -m cocomix_tools.study runs/study
#
#   scripts/study_text.sh [--work DIR] [--stage all|main|lambda|baselines|compute|shift|weak|ablations|shift-ablations|late|shift-late|long] [--seeds 1,2,3]
#
# --seeds runs only those student seeds, so that two calls can share the work (one core each); a
# seed's runs that need seed 1's (the weak teacher, base/) stop with a message until those exist.
#
# Sizes (each student 200 steps x 16 x 256 tokens = 819K tokens, a sixth of an
# epoch): see docs/science.md for what they cost on a 2-core CPU.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
work="$COCOMIX_ROOT/runs/study"
STAGES="all|main|lambda|baselines|compute|shift|weak|ablations|shift-ablations|late|shift-late|long"
stage=all
seeds="1 2 3"
while [ $# -gt 0 ]; do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --stage) stage="$2"; shift 2 ;;
    --seeds) seeds="${2//,/ }"; shift 2 ;;
    *) echo "usage: scripts/study_text.sh [--work DIR] [--stage $STAGES] [--seeds 1,2,3]" >&2
       exit 2 ;;
  esac
done
if [[ "$stage" == *"|"* || "|$STAGES|" != *"|$stage|"* ]]; then  # one whole name of the list
  echo "error: --stage: unknown stage \"$stage\"" >&2; exit 2
fi
for seed in $seeds; do
  case "$seed" in
    1|2|3) ;;
    *) echo "error: --seeds: \"$seed\" is not a study seed (1, 2 or 3)" >&2; exit 2 ;;
  esac
done

STEPS=200
# Labels online: the students read a sixth of the corpus, so labelling only their windows costs less than
# a label cache of every window.
SETTINGS=(--corpus books-web --teacher-steps 500 --sae-steps 2000 --student-steps "$STEPS" --eval-points 10
          --no-alignment --samples 2 --labels online)
pipeline() { "$COCOMIX_ROOT/scripts/pipeline_tiny.sh" "${SETTINGS[@]}" "$@"; }
# The shared corpus, teacher and SAE live in base/ (seed 1, λ 0.1).
seed_dir() { if [ "$1" = 1 ]; then echo "$work/base"; else echo "$work/seed$1"; fi; }
reuse() { if [ "$1" = 1 ]; then echo; else echo "--reuse $work/base"; fi; }

# Seed by seed, so that a study stopped early has whole seeds: CoCoMix at the paper's λ 0.1 with the
# matched NTP student, then CoCoMix at λ 1.0 (the best λ of the synthetic-corpus study) on the same windows.
for seed in $seeds; do
  if [ "$stage" = all ] || [ "$stage" = main ]; then
    # shellcheck disable=SC2046
    pipeline --work "$(seed_dir $seed)" $(reuse $seed) --seed "$seed" --weight 0.1 --modes cocomix,ntp
  fi
  if [ "$stage" = all ] || [ "$stage" = lambda ]; then
    pipeline --work "$work/lambda1_seed$seed" --reuse "$work/base" --seed "$seed" --weight 1.0 --modes cocomix
  fi
done
if [ "$stage" = all ] || [ "$stage" = baselines ]; then
  for seed in $seeds; do  # KD and pause at the NTP width, in the seed's own directory
    # shellcheck disable=SC2046
    pipeline --work "$(seed_dir $seed)" $(reuse $seed) --seed "$seed" --weight 0.1 --modes cocomix,ntp,kd,pause
  done
fi
if [ "$stage" = all ] || [ "$stage" = compute ]; then
  # NTP given CoCoMix's training FLOPs (cocomix_tools.study --equal-flops-steps: the steps).
  ntp_width=$("$COCOMIX_PYTHON" -c "import json,sys; print(json.load(open(sys.argv[1]))['model']['n_embd'])" \
              "$work/base/student_ntp.json")
  steps=$(PYTHONPATH="$COCOMIX_ROOT/python" "$COCOMIX_PYTHON" -m cocomix_tools.study "$work" --equal-flops-steps)
  for seed in $seeds; do
    pipeline --work "$work/ntp_flops_seed$seed" --reuse "$work/base" --seed "$seed" --modes ntp \
      --ntp-width "$ntp_width" --student-steps "$steps"
  done
fi
if [ "$stage" = all ] || [ "$stage" = shift ]; then
  # Distribution shift (paper §3.1): teacher and SAE trained on the books only, students on the web text;
  # CoCoMix at λ 1.0, the best λ of the main comparison.
  pipeline --work "$work/books" --corpus books --modes ""
  for seed in $seeds; do
    pipeline --work "$work/shift_seed$seed" --corpus web --teacher-from "$work/books" --seed "$seed" --weight 1.0 \
      --modes cocomix,ntp,kd
  done
fi
if [ "$stage" = all ] || [ "$stage" = weak ]; then
  # Weak-to-strong (paper §3.1): a teacher of d 64 and 2 blocks (SAE after block 1), smaller than the students;
  # CoCoMix at λ 1.0.
  weak=(--teacher-width 64 --teacher-layers 2 --sae-layer 1 --weight 1.0 --modes cocomix,ntp,kd)
  for seed in $seeds; do
    if [ "$seed" = 1 ]; then
      pipeline --work "$work/weak_seed1" --seed 1 "${weak[@]}"
    else
      pipeline --work "$work/weak_seed$seed" --reuse "$work/weak_seed1" --seed "$seed" "${weak[@]}"
    fi
  done
fi
# The paper's ablations (§3.3) at λ 1.0, beside CoCoMix at λ 1.0 and NTP of the same seeds: activation labels,
# hidden-state prediction, intervention, concept loss only, insertion only.
ABLATIONS=cocomix_activation,hidden_prediction,intervention,concept_loss_only,insertion_only
if [ "$stage" = all ] || [ "$stage" = ablations ]; then  # the main setting: beside lambda1_seedN
  for seed in $seeds; do
    pipeline --work "$work/ablation_seed$seed" --reuse "$work/base" --seed "$seed" --weight 1.0 --modes "$ABLATIONS"
  done
fi
if [ "$stage" = all ] || [ "$stage" = shift-ablations ]; then  # the distribution shift: beside shift_seedN
  for seed in $seeds; do
    pipeline --work "$work/shift_ablation_seed$seed" --corpus web --teacher-from "$work/books" --seed "$seed" \
      --weight 1.0 --modes "$ABLATIONS"
  done
fi
# The concepts inserted before the last of the 4 blocks (L_s 3), the cheapest interleaving in FLOPs.
if [ "$stage" = all ] || [ "$stage" = late ]; then  # the main setting: beside lambda1_seedN
  for seed in $seeds; do
    pipeline --work "$work/late_seed$seed" --reuse "$work/base" --seed "$seed" --weight 1.0 --insert-layer 3 \
      --modes cocomix
  done
fi
if [ "$stage" = all ] || [ "$stage" = shift-late ]; then  # the distribution shift: beside shift_seedN
  for seed in $seeds; do
    pipeline --work "$work/shift_late_seed$seed" --corpus web --teacher-from "$work/books" --seed "$seed" \
      --weight 1.0 --insert-layer 3 --modes cocomix
  done
fi
if [ "$stage" = all ] || [ "$stage" = long ]; then  # the main setting, twice the tokens
  # CoCoMix at λ 1.0 and matched NTP for 400 steps (1.64M tokens, a third of an epoch: still no window read
  # twice), a periodic estimate every 50 steps, so that the curves pass through the 200-step students' end.
  for seed in $seeds; do
    pipeline --work "$work/long_seed$seed" --reuse "$work/base" --seed "$seed" --weight 1.0 \
      --student-steps $((2 * STEPS)) --eval-points 8 --modes cocomix,ntp
  done
fi
