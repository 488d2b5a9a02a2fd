#!/usr/bin/env bash
# One job of the Slurm pipeline; scripts/slurm/submit.sh submits it with sbatch, never by hand:
#
#   job.sh STAGE PIPELINE_ENV     STAGE: embed | fit | caption | score
#
# PIPELINE_ENV is OUT/pipeline.env, written by submit.sh from the user's configuration (every
# path absolute, every value quoted). sbatch copies this script into Slurm's spool, so it
# finds nothing beside itself: everything it needs comes from that file and from Slurm's
# variables (SLURM_ARRAY_TASK_ID is the shard of an array task). Each stage writes its output
# whole or not at all (the tools write to a temporary name and rename), so a cancelled or
# failed task leaves nothing behind that a resubmission would trip over.
set -euo pipefail

die() { echo "job.sh: $*" >&2; exit 2; }
[[ $# -eq 2 ]] || die "usage: job.sh embed|fit|caption|score PIPELINE_ENV (submitted by scripts/slurm/submit.sh)"
stage=$1
[[ -r $2 ]] || die "cannot read $2 (the pipeline's settings, written by submit.sh)"
# shellcheck source=/dev/null  # written by submit.sh with printf %q
source "$2"

# The tools use as many threads as the job has CPUs, not all of the node's cores.
threads=${SLURM_CPUS_PER_TASK:-1}
[[ -n $CACHE ]] && export RECAP_CACHE=$CACHE
# Word-split on purpose: *_ARGS hold several flags (documented as whitespace-separated).
read -r -a embed_args <<<"$EMBED_ARGS"
read -r -a fit_args <<<"$FIT_ARGS"
read -r -a caption_args <<<"$CAPTION_ARGS"
read -r -a score_args <<<"$SCORE_ARGS"
config=()
[[ -n $RECAP_CONFIG ]] && config=(--config "$RECAP_CONFIG")
force=()
[[ $FORCE == 1 ]] && force=(--force)

shard_id() {
  [[ ${SLURM_ARRAY_TASK_ID:-} =~ ^[0-9]+$ ]] || die "stage $stage runs as an array task (SLURM_ARRAY_TASK_ID is not set)"
  echo "$SLURM_ARRAY_TASK_ID"
}

job=${SLURM_JOB_ID:-?}
[[ -n ${SLURM_ARRAY_TASK_ID:-} ]] && job=${SLURM_ARRAY_JOB_ID}_$SLURM_ARRAY_TASK_ID
echo "job.sh: stage $stage${SLURM_ARRAY_TASK_ID:+, shard $SLURM_ARRAY_TASK_ID}, job $job on $(uname -n), $threads threads, $(date -u +%FT%TZ)"
run() { echo "+ $(printf '%q ' "$@")"; "$@"; }
case "$stage" in
embed)
  # recap-fit chooses the method when the statistics are combined, so the shards take no
  # --config (whose "fit" section may name one) and no --method.
  i=$(shard_id)
  run "$RECAP_BIN/recap-fit" --clip "$CLIP" --dataset "$DATASET" --images "$IMAGES" --split "$TRAIN_SPLIT" \
    --shard "$i/$SHARDS" --stats-out "$OUT/stats/shard-$i-of-$SHARDS" --threads "$threads" \
    "${force[@]}" "${embed_args[@]}"
  ;;
fit)
  stats=()
  for ((i = 0; i < SHARDS; i++)); do stats+=("$OUT/stats/shard-$i-of-$SHARDS"); done
  method=()
  [[ -n $METHOD ]] && method=(--method "$METHOD")
  run "$RECAP_BIN/recap-fit" "${config[@]}" --from-stats "${stats[@]}" "${method[@]}" --out "$OUT/run" \
    --threads "$threads" "${force[@]}" "${fit_args[@]}"
  ;;
caption)
  i=$(shard_id)
  lm=()
  [[ -n $LM ]] && lm=(--lm "$LM")
  run "$RECAP_BIN/recap-caption" "${config[@]}" --run "$OUT/run" --clip "$CLIP" --dataset "$DATASET" \
    --images "$IMAGES" --split "$TEST_SPLIT" --shard "$i/$CAPTION_SHARDS" "${lm[@]}" \
    --out "$OUT/captions/captions-$i-of-$CAPTION_SHARDS.json" --threads "$threads" "${force[@]}" "${caption_args[@]}"
  ;;
score)
  results=()
  for ((i = 0; i < CAPTION_SHARDS; i++)); do results+=("$OUT/captions/captions-$i-of-$CAPTION_SHARDS.json"); done
  # --clip, --images and --run let the CLIP metrics (CLIP-S, aCLIP-S, ...) run when the
  # metrics asked for (--metrics, or the config's "score" section) include them.
  run "$RECAP_BIN/recap-score" "${config[@]}" --results "${results[@]}" --refs "$DATASET" --split "$TEST_SPLIT" \
    --clip "$CLIP" --images "$IMAGES" --run "$OUT/run" --json "$OUT/scores.json" --threads "$threads" \
    "${force[@]}" "${score_args[@]}"
  ;;
*) die "unknown stage '$stage' (embed, fit, caption or score)" ;;
esac
