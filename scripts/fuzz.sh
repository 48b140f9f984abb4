#!/usr/bin/env bash
# Builds the fuzz targets (tests/fuzz: libFuzzer with AddressSanitizer and
# UndefinedBehaviorSanitizer, clang) and runs them on seed corpora made from
# the real files of the shared data.
#
#   scripts/fuzz.sh [--seconds N | --runs N] [--seed N] [--build-only] [--skip-build] [TARGET...]
#
# TARGET is a target's name (token_file, safetensors, config, ...) or every
# target when none is given. Each runs for N seconds (default 60) or N
# executions, keeping what it learns in BUILD/corpus/TARGET, and prints its
# execution count. Its mutations are drawn from a random seed, or from --seed N
# (the test suite's: a fresh build then tries the same inputs in the same
# order). A finding stops its target: the input lands in BUILD/findings/ and
# the script exits 1. BUILD is $COCOMIX_FUZZ_BUILD
# (default build-fuzz); the shared data is $COCOMIX_SHARED_DATA (default ../shared/data).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

seconds=60 runs="" seed="" build=true run=true targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds="$2"; shift 2 ;;
    --runs) runs="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --build-only) run=false; shift ;;
    --skip-build) build=false; shift ;;
    -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: fuzz.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("${1%_fuzz}"); shift ;;
  esac
done
build_dir="${COCOMIX_FUZZ_BUILD:-$COCOMIX_ROOT/build-fuzz}"
data="${COCOMIX_SHARED_DATA:-$COCOMIX_ROOT/../shared/data}"

if $build; then
  launcher=()
  command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  cmake -S "$COCOMIX_ROOT/tests/fuzz" -B "$build_dir" -G Ninja -DCMAKE_CXX_COMPILER=clang++ "${launcher[@]}" >/dev/null
  cmake --build "$build_dir"
  python3 "$COCOMIX_ROOT/tests/fuzz/make_seeds.py" --data "$data" --out "$build_dir/seeds"
fi
$run || exit 0

if [ ${#targets[@]} -eq 0 ]; then
  for source in "$COCOMIX_ROOT"/tests/fuzz/*_fuzz.cpp; do
    name="$(basename "$source" .cpp)"
    targets+=("${name%_fuzz}")
  done
fi
limit=(-max_total_time="$seconds")
[ -n "$runs" ] && limit=(-runs="$runs")
[ -n "$seed" ] && limit+=(-seed="$seed")
status=0
for target in "${targets[@]}"; do
  binary="$build_dir/${target}_fuzz"
  [ -x "$binary" ] || { echo "error: fuzz.sh: no target $target ($binary is not built)" >&2; exit 2; }
  mkdir -p "$build_dir/corpus/$target" "$build_dir/findings"
  log="$build_dir/findings/$target.log"
  start=$SECONDS
  if "$binary" "${limit[@]}" -print_final_stats=1 -timeout=20 -rss_limit_mb=4096 \
       -artifact_prefix="$build_dir/findings/${target}-" \
       "$build_dir/corpus/$target" "$build_dir/seeds/${target}_fuzz" >"$log" 2>&1; then
    executions="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    printf 'fuzz %-16s %12s executions in %4d s, clean\n' "$target" "$executions" $((SECONDS - start))
  else
    echo "fuzz $target: FINDING (the input is in $build_dir/findings/; the log:)"
    grep -E "fuzz finding|ERROR: |SUMMARY|runtime error|Test unit written" "$log" | head -8 | sed 's/^/  /'
    status=1
  fi
done
exit $status
