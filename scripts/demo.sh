#!/usr/bin/env bash
# The main job on a built-in default: ReCap end to end on the demo world, with the small
# CLIP and T5 the project trained on it (models/demo; retrain with `recap-demo train`).
#
#   scripts/demo.sh [--out DIR] [--models DIR] [--skip-setup] [--fit-method M]
#                   [--candidate-choice aligned|random] [--dal-iterations N] [--threads N]
#
# Runs the same tools a user runs on COCO: recap-demo world (pictures and captions, in
# Karpathy's format), recap-fit (each closed-form method, and `none`, the unaligned
# baseline), recap-score recall, recap-caption (random baseline, nearest caption by raw
# CLIP, retrieval with each W, the language model with the HTML gallery), recap-score
# (every metric that needs no jar), recap-dal; then prints one table (recap-demo report).
# A second run reuses every output that is already there (delete DIR to start afresh).
# --fit-method and --candidate-choice replace ReCap's choices (procrustes, aligned) in the
# rows marked ReCap: the ablations that the regression test must catch.
set -euo pipefail
cd "$(dirname "$0")/.."

out=demo-output models=models/demo setup=1 fit_method=procrustes choice=aligned dal_iterations=2 threads=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --models) models="$2"; shift 2 ;;
    --skip-setup) setup=0; shift ;;
    --fit-method) fit_method="$2"; shift 2 ;;
    --candidate-choice) choice="$2"; shift 2 ;;
    --dal-iterations) dal_iterations="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [[ $setup == 1 ]]; then scripts/setup.sh; fi
bin="${RECAP_BUILD_DIR:-build}"
for tool in recap-demo recap-fit recap-caption recap-score recap-dal recap-embed; do
  [[ -x "$bin/$tool" ]] || { echo "demo.sh: $bin/$tool is missing; run scripts/setup.sh (or set RECAP_BUILD_DIR)" >&2; exit 2; }
done
[[ -f "$models/clip/config.json" && -f "$models/t5/config.json" ]] ||
  { echo "demo.sh: no demo models in $models (expected clip/ and t5/; recap-demo train --out $models makes them)" >&2; exit 2; }

config=configs/demo.json
world="$out/world"
data="$world/dataset_demo.json"
clip="$models/clip"
common=(--config "$config" --threads "$threads")
mkdir -p "$out/runs" "$out/captions" "$out/scores"
times="$out/times.tsv"
[[ -f "$times" ]] || printf 'stage\tseconds\n' > "$times"

# stage NAME OUTPUT COMMAND...: runs COMMAND unless OUTPUT exists (every tool writes its
# outputs whole or not at all), and records its wall time.
stage() {
  local name="$1" output="$2"; shift 2
  if [[ -e "$output" ]]; then echo "== $name: reusing $output"; return; fi
  echo "== $name"
  local start end
  start=$(date +%s.%N)
  "$@"
  end=$(date +%s.%N)
  awk -v n="$name" -v s="$start" -v e="$end" 'BEGIN { printf "%s\t%.3f\n", n, e - s }' >> "$times"
}

stage "world" "$world" "$bin/recap-demo" world --out "$world" --seed 0

# W by each closed-form method on the training split; `none` is W = I (raw CLIP).
for method in procrustes ols ridge none; do
  extra=()
  [[ $method == ridge ]] && extra=(--lambda 1)
  stage "fit $method" "$out/runs/$method" "$bin/recap-fit" "${common[@]}" --clip "$clip" --dataset "$data" \
    --split train --images "$world" --method "$method" "${extra[@]}" --out "$out/runs/$method"
done
recap_run="$out/runs/$fit_method"

stage "recall" "$out/recall.json" "$bin/recap-score" "${common[@]}" recall --dataset "$data" --split test \
  --images "$world" --clip "$clip" --run "$recap_run" --json "$out/recall.json"

caption() {  # caption NAME RUN [FLAGS...]
  local name="$1" run="$2"; shift 2
  stage "caption $name" "$out/captions/$name.json" "$bin/recap-caption" "${common[@]}" --run "$run" \
    --dataset "$data" --split test --images "$world" --clip "$clip" --out "$out/captions/$name.json" \
    --details "$out/captions/$name.details.jsonl" "$@"
}
caption random "$recap_run" --baseline random
caption nearest "$out/runs/none"
for method in procrustes ols ridge; do caption "retrieval-$method" "$out/runs/$method"; done
caption lm "$recap_run" --lm "$models/t5" --candidate-choice "$choice" --html "$out/gallery.html"

# Every metric that needs no jar; aCLIP-S and RefaCLIP-S with ReCap's W.
for name in random nearest retrieval-procrustes retrieval-ols retrieval-ridge lm; do
  stage "score $name" "$out/scores/$name.json" "$bin/recap-score" "${common[@]}" \
    --results "$out/captions/$name.json" --dataset "$data" --split test --clip "$clip" --images "$world" \
    --run "$recap_run" --json "$out/scores/$name.json"
done

stage "dal" "$out/dal/dal.csv" "$bin/recap-dal" "${common[@]}" --run "$recap_run" --clip "$clip" --lm "$models/t5" \
  --train "$data" --train-split train --val "$data" --val-split val --images "$world" \
  --iterations "$dal_iterations" --candidate-choice "$choice" --out "$out/dal"

echo
"$bin/recap-demo" report --out "$out"
