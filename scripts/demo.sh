#!/usr/bin/env bash
# The main job on a built-in default: set up, then run ReCap's pipeline end to end on a
# synthetic embedding set with a known answer (recap-synth): fit W in closed form,
# caption held-out images by retrieval, and show the first captions. Outputs go to
# demo-output/ (replaced on every run).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
bin="${RECAP_BUILD_DIR:-build}"
out=demo-output
config=configs/demo.json
mkdir -p "$out"

"$bin/recap-synth" --config "$config" --out "$out/data" --force
"$bin/recap-fit" --config "$config" --image-embeddings "$out/data/image_embeddings.npy" \
  --text-embeddings "$out/data/text_embeddings.npy" --pairs "$out/data/pairs.npy" \
  --captions "$out/data/captions.jsonl" --out "$out/run" --force
"$bin/recap-caption" --config "$config" --run "$out/run" --image-embeddings "$out/data/queries.npy" \
  --ids "$out/data/query_ids.json" --out "$out/results.json" --details "$out/details.jsonl" --force

echo
echo "First captions (results in $out/results.json, retrieved captions in $out/details.jsonl):"
grep -o -m 5 '"caption": *"[^"]*"' "$out/results.json" | sed 's/"caption": */  /'
