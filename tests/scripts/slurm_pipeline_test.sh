#!/usr/bin/env bash
# scripts/slurm's pipeline on a real Slurm: a one-node cluster on this machine
# (scripts/slurm/local_cluster.sh), a small demo world and the shipped demo models.
#   1. The single-process run: recap-fit, recap-caption (with the language model), recap-score.
#   2. submit.sh with 3 embedding and 3 captioning shards; once it has run, W equals the
#      single-process W within 1e-6 and the captions and scores are the same.
#   3. Again, with embedding shard 1 cancelled (scancel) while it runs: the stages after it are
#      cancelled by Slurm, `submit.sh --resume` resubmits that shard alone and the stages after
#      it, and the results again equal the single-process run's.
# W is compared to 1e-6 although on the demo models it is ill-conditioned: Procrustes' XᵀY has
# a singular value of ~1e-7 next to ~600 (OLS: XᵀX's condition is ~1e5), so rounding in the
# inputs that is harmless elsewhere moves W by 1e-6 to 1e-3. Three things make the inputs
# identical, in both runs: the statistics are summed in float64 (--precision float64; float32
# block products differ with the split), CLIP embeds one item per call (--batch-size 1; a
# picture's embedding changes by ~1e-7 with the batch it is in, and shards batch differently)
# and every process uses the same engine for the models' products (RECAP_MODEL_GEMM=openblas,
# which the jobs inherit; each process would otherwise measure which is faster, and under
# load two can choose differently).
# Exit 77 (CTest's SKIP_RETURN_CODE) when not root or Slurm and munge are not installed
# (scripts/setup.sh --slurm --no-build installs them); the cluster is stopped on every exit.
# Usage: slurm_pipeline_test.sh SOURCE_DIR BUILD_DIR
set -euo pipefail
source_dir=$(cd "$1" && pwd) build_dir=$(cd "$2" && pwd)
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "not root (the one-node cluster runs slurmd and munged as root)"
for program in munged slurmctld slurmd sbatch squeue scancel; do
  command -v "$program" >/dev/null 2>&1 || skip "$program is not installed (scripts/setup.sh --slurm --no-build)"
done
for tool in recap-demo recap-fit recap-caption recap-score recap-embed; do
  [[ -x $build_dir/$tool ]] || fail "$build_dir/$tool is missing (build first)"
done

export RECAP_MODEL_GEMM=openblas
scratch=$(mktemp -d)
cluster=$scratch/cluster
slurm=$source_dir/scripts/slurm
started=$(date +%s)
finish() {
  local status=$?
  if [[ -e $cluster/.recap-local-cluster ]]; then "$slurm/local_cluster.sh" stop --state-dir "$cluster" || status=1; fi
  if ((status != 0)); then
    # What the jobs and the daemons said, before the folder goes.
    for log in "$scratch"/out-*/logs/*.log "$cluster"/log/slurmctld.log; do
      [[ -f $log ]] && { echo "--- $log (last lines)"; tail -n 15 "$log"; }
    done
  fi
  rm -rf "$scratch"
  exit "$status"
}
trap finish EXIT
elapsed() { echo "$(($(date +%s) - started)) s"; }

world=$scratch/world data=$scratch/world/dataset_demo.json
clip=$source_dir/models/demo/clip t5=$source_dir/models/demo/t5 config=$source_dir/configs/demo.json
"$build_dir/recap-demo" world --out "$world" --seed 0 --train 300 --val 1 --test 30 >/dev/null

cluster_env=$("$slurm/local_cluster.sh" start --state-dir "$cluster")  # fails the test if it fails
eval "$cluster_env"
echo "cluster up at $(elapsed)"

# 1. The single-process run (its own embedding cache: nothing is shared with the pipeline).
ref=$scratch/ref
mkdir -p "$ref"
export RECAP_CACHE=$scratch/cache-ref
"$build_dir/recap-fit" --config "$config" --clip "$clip" --dataset "$data" --images "$world" --split train \
  --precision float64 --batch-size 1 --out "$ref/run" --threads 1 >"$ref/fit.log" 2>&1 || { cat "$ref/fit.log"; fail "single-process recap-fit"; }
"$build_dir/recap-caption" --config "$config" --run "$ref/run" --clip "$clip" --dataset "$data" --images "$world" \
  --split test --lm "$t5" --out "$ref/captions.json" --threads 1 >"$ref/caption.log" 2>&1 ||
  { cat "$ref/caption.log"; fail "single-process recap-caption"; }
"$build_dir/recap-score" --config "$config" --results "$ref/captions.json" --refs "$data" --split test --clip "$clip" \
  --images "$world" --run "$ref/run" --json "$ref/scores.json" --threads 1 >"$ref/score.log" 2>&1 ||
  { cat "$ref/score.log"; fail "single-process recap-score"; }
unset RECAP_CACHE
echo "single-process run done at $(elapsed)"

# pipeline NAME: writes the configuration of a pipeline into OUT=$scratch/out-NAME.
pipeline() {
  cat >"$scratch/$1.conf" <<EOF
CLIP=$clip
DATASET=$data
IMAGES=$world
OUT=$scratch/out-$1
LM=$t5
SHARDS=3
RECAP_BIN=$build_dir
RECAP_CONFIG=$config
CACHE=$scratch/cache-$1
EMBED_ARGS=--precision float64 --batch-size 1
EOF
  echo "$scratch/$1.conf"
}
export RECAP_SLURM_POLL_SECONDS=1
wait_for() {  # wait_for CONF: submit.sh --wait, bounded
  timeout 240 "$slurm/submit.sh" --config "$1" --wait
}

# 2. The whole pipeline in one submission.
conf=$(pipeline clean)
"$slurm/submit.sh" --config "$conf"
wait_for "$conf" || fail "the pipeline did not complete"
/usr/bin/python3 "$source_dir/tests/scripts/slurm_compare.py" "$ref/run" "$ref/captions.json" "$ref/scores.json" \
  "$scratch/out-clean" 3
echo "pipeline done and checked at $(elapsed)"

# 3. Embedding shard 1 cancelled while it runs, then resubmitted alone.
conf=$(pipeline cancel)
out=$scratch/out-cancel
"$slurm/submit.sh" --config "$conf"
embed_job=$(awk -F'\t' '$1 == "embed" { print $2; exit }' "$out/jobs.tsv")
# Cancel once recap-fit itself has started, not when squeue first says RUNNING: Slurm 22.05
# shows a task RUNNING as soon as it is allocated, and a scancel that reaches slurmd before it
# has launched the batch script can leave the script to run to the end untracked (seen in CI:
# the shard was cancelled 0.1 s after its allocation and still wrote its statistics).
shard_log=$out/logs/embed-${embed_job}_1.log
state=""
for _ in $(seq 1200); do
  state=$(squeue --noheader --array --jobs="$embed_job" --format='%i %T' 2>/dev/null | awk -v t="${embed_job}_1" '$1 == t { print $2 }' || true)
  [[ $state == RUNNING ]] && grep -q '^recap-fit: embedding' "$shard_log" 2>/dev/null && break
  [[ -e $out/stats/shard-1-of-3 ]] && fail "embedding shard 1 finished before it could be cancelled"
  sleep 0.1
done
[[ $state == RUNNING ]] || fail "embedding shard 1 never ran (last state: ${state:-gone})"
scancel "${embed_job}_1"
echo "cancelled embedding shard 1 (${embed_job}_1) while it ran, at $(elapsed)"
if wait_for "$conf" >"$scratch/wait.out" 2>&1; then cat "$scratch/wait.out"; fail "the pipeline completed without shard 1"; fi
cat "$scratch/wait.out"
[[ ! -e $out/stats/shard-1-of-3 ]] || fail "embedding shard 1 wrote its statistics although it was cancelled while it ran"
grep -q '^embed .*missing 1$' "$scratch/wait.out" || fail "--wait does not report embedding shard 1 missing"
[[ ! -e $out/run ]] || fail "the fit ran although shard 1 was cancelled"

"$slurm/submit.sh" --config "$conf" --resume
resubmitted=$(awk -F'\t' '$1 == "embed" { shards = $3 } END { print shards }' "$out/jobs.tsv")
[[ $resubmitted == 1 ]] || fail "--resume resubmitted embedding shards '$resubmitted', not shard 1 alone"
wait_for "$conf" || fail "the resumed pipeline did not complete"
/usr/bin/python3 "$source_dir/tests/scripts/slurm_compare.py" "$ref/run" "$ref/captions.json" "$ref/scores.json" "$out" 3
echo "PASS: the Slurm pipeline reproduces the single-process run, also after a cancelled shard was resubmitted alone ($(elapsed))"
