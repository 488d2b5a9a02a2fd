#!/usr/bin/env bash
# Submits recap's pipeline to Slurm as job arrays chained by dependencies, on any cluster
# (sbatch, squeue and scancel on the PATH; scripts/slurm/local_cluster.sh starts a one-node
# cluster to try it on):
#
#   1. embed    array of SHARDS tasks: recap-fit --shard I/N --stats-out  (CLIP embeddings of
#               the training images and captions whose image id hashes to shard I, and their
#               sufficient statistics: the tasks run anywhere, in any order)
#   2. fit      one job after every embedding task succeeded (--dependency=afterok):
#               recap-fit --from-stats (W and the merged datastore: OUT/run)
#   3. caption  array of CAPTION_SHARDS tasks after the fit: recap-caption --shard I/N
#   4. score    one job after every captioning task: recap-score --results (all shards)
#
#   scripts/slurm/submit.sh --config FILE            the whole pipeline
#   scripts/slurm/submit.sh --config FILE --resume   only what is not done: a failed or
#                                 cancelled shard alone (--array=I), then the stages after it
#   scripts/slurm/submit.sh --config FILE --only STAGE [--shard I]   one stage, or one shard
#                                 of it, without dependencies (its inputs must be done)
#   scripts/slurm/submit.sh --config FILE --status   each stage's shards: done, queued, missing
#   scripts/slurm/submit.sh --config FILE --wait     wait until the pipeline's jobs have left the
#                                 queue (a look every $RECAP_SLURM_POLL_SECONDS, default 10);
#                                 exit 0 when every stage is done, 1 otherwise
#   --force      recompute outputs that exist (the tools replace them); --dry-run prints the
#                sbatch commands instead of running them.
#
# FILE holds KEY=VALUE lines (scripts/slurm/example.conf documents every key; relative paths
# are relative to FILE's folder). Outputs, in OUT: stats/shard-I-of-N/, run/,
# captions/captions-I-of-N.json, scores.json; logs/STAGE-JOB_TASK.log (one per task);
# jobs.tsv (every job submitted: stage, job id, shards, time); pipeline.env (the settings
# the jobs read). A task whose dependency failed is cancelled by Slurm
# (--kill-on-invalid-dep=yes) rather than left pending forever; --resume then resubmits
# exactly what is missing, and waits for what is still queued. The jobs inherit the
# submitting shell's environment (sbatch's default --export=ALL): RECAP_MODEL_GEMM=openblas,
# for one, keeps every node on the same product engine, hence the same embeddings.
# Exit status: 0 submitted (or done), 1 a Slurm command failed or the pipeline is incomplete,
# 2 usage or configuration error.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage_error() { echo "submit.sh: $*" >&2; exit 2; }
die() { echo "submit.sh: $*" >&2; exit 1; }

config_file="" mode=submit only="" only_shard="" force=0 dry_run=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --config) [[ $# -ge 2 ]] || usage_error "--config needs a file"; config_file=$2; shift 2 ;;
    --resume) mode=resume; shift ;;
    --only) [[ $# -ge 2 ]] || usage_error "--only needs a stage"; mode=only; only=$2; shift 2 ;;
    --shard) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage_error "--shard needs a shard number"; only_shard=$2; shift 2 ;;
    --status) mode=status; shift ;;
    --wait) mode=wait; shift ;;
    --force) force=1; shift ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown option $1 (see --help)" ;;
  esac
done
[[ -n $config_file ]] || usage_error "--config FILE is required (see scripts/slurm/example.conf)"
[[ -f $config_file ]] || usage_error "no such configuration file: $config_file"
[[ -z $only || ($only != *" "* && " embed fit caption score " == *" $only "*) ]] || usage_error "--only takes embed, fit, caption or score, not '$only'"
[[ -z $only_shard || $mode == only ]] || usage_error "--shard goes with --only"

# ---------------------------------------------------------------- the configuration
keys=(CLIP DATASET IMAGES OUT LM SHARDS CAPTION_SHARDS TRAIN_SPLIT TEST_SPLIT METHOD RECAP_BIN RECAP_CONFIG
      CACHE CPUS_PER_TASK ARRAY_LIMIT SBATCH_ARGS EMBED_SBATCH_ARGS FIT_SBATCH_ARGS CAPTION_SBATCH_ARGS
      SCORE_SBATCH_ARGS EMBED_ARGS FIT_ARGS CAPTION_ARGS SCORE_ARGS)
build=${RECAP_BUILD_DIR:-build}
[[ $build == /* ]] || build=$repo/$build
declare -A cfg=([SHARDS]=4 [TRAIN_SPLIT]=train [TEST_SPLIT]=test [RECAP_BIN]="$build" [CPUS_PER_TASK]=1)
config_dir=$(cd "$(dirname "$config_file")" && pwd)
number=0
while IFS= read -r line || [[ -n $line ]]; do
  number=$((number + 1))
  [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
  [[ $line =~ ^[[:space:]]*([A-Z_]+)[[:space:]]*=[[:space:]]*(.*[^[:space:]])?[[:space:]]*$ ]] ||
    usage_error "$config_file:$number: expected KEY=VALUE, got: $line"
  key=${BASH_REMATCH[1]} value=${BASH_REMATCH[2]}
  [[ " ${keys[*]} " == *" $key "* ]] || usage_error "$config_file:$number: unknown key $key (known: ${keys[*]})"
  # One pair of surrounding quotes is optional; nothing is expanded.
  if [[ $value =~ ^\"(.*)\"$ || $value =~ ^\'(.*)\'$ ]]; then value=${BASH_REMATCH[1]}; fi
  cfg[$key]=$value
done <"$config_file"
for key in CLIP DATASET IMAGES OUT; do
  [[ -n ${cfg[$key]:-} ]] || usage_error "$config_file: $key is not set"
done
absolute() { [[ $1 == /* ]] && echo "$1" || echo "$config_dir/$1"; }
for key in CLIP DATASET IMAGES OUT LM RECAP_BIN RECAP_CONFIG CACHE; do
  [[ -n ${cfg[$key]:-} ]] && cfg[$key]=$(absolute "${cfg[$key]}")
done
cfg[CAPTION_SHARDS]=${cfg[CAPTION_SHARDS]:-${cfg[SHARDS]}}
for key in SHARDS CAPTION_SHARDS CPUS_PER_TASK; do
  [[ ${cfg[$key]} =~ ^[1-9][0-9]*$ ]] || usage_error "$config_file: $key must be a positive integer, not '${cfg[$key]}'"
done
[[ -z ${cfg[ARRAY_LIMIT]:-} || ${cfg[ARRAY_LIMIT]} =~ ^[1-9][0-9]*$ ]] ||
  usage_error "$config_file: ARRAY_LIMIT must be a positive integer, not '${cfg[ARRAY_LIMIT]}'"
for key in CLIP DATASET LM RECAP_CONFIG; do
  [[ -z ${cfg[$key]:-} || -e ${cfg[$key]} ]] || usage_error "$config_file: $key: no such file or folder: ${cfg[$key]}"
done
[[ -d ${cfg[IMAGES]} ]] || usage_error "$config_file: IMAGES: no such folder: ${cfg[IMAGES]}"
for tool in recap-fit recap-caption recap-score; do
  [[ -x ${cfg[RECAP_BIN]}/$tool ]] ||
    usage_error "$config_file: RECAP_BIN: ${cfg[RECAP_BIN]}/$tool is missing (build recap, or set RECAP_BIN)"
done
out=${cfg[OUT]}
N=${cfg[SHARDS]} M=${cfg[CAPTION_SHARDS]}
jobs_file=$out/jobs.tsv
for program in sbatch squeue scancel; do
  command -v "$program" >/dev/null 2>&1 ||
    die "$program not found: run this on a Slurm login node (or start scripts/slurm/local_cluster.sh and set SLURM_CONF)"
done

# ---------------------------------------------------------------- what is done, what is queued
stages=(embed fit caption score)
declare -A count=([embed]=$N [fit]=1 [caption]=$M [score]=1)
declare -A is_array=([embed]=1 [fit]=0 [caption]=1 [score]=0)
output() {  # output STAGE I: the file or folder that says piece I of STAGE is done
  case "$1" in
    embed) echo "$out/stats/shard-$2-of-$N" ;;
    fit) echo "$out/run/mapping.npy" ;;
    caption) echo "$out/captions/captions-$2-of-$M.json" ;;
    score) echo "$out/scores.json" ;;
  esac
}
is_done() { [[ -e $(output "$1" "$2") ]]; }

# The latest job submitted for each piece, from jobs.tsv (lines: stage, job id, shards, time).
declare -A latest=()
if [[ -f $jobs_file ]]; then
  while IFS=$'\t' read -r stage id shards _; do
    [[ -n ${count[$stage]:-} ]] || continue
    if [[ $shards == - ]]; then latest[$stage:0]=$id; continue; fi
    IFS=, read -r -a list <<<"$shards"
    for i in "${list[@]}"; do latest[$stage:$i]=$id; done
  done <"$jobs_file"
fi
task_of() {  # task_of STAGE I: the Slurm name of the latest task for that piece, or nothing
  local id=${latest[$1:$2]:-}
  [[ -z $id ]] && return 0
  if ((${is_array[$1]})); then echo "${id}_$2"; else echo "$id"; fi
}
# Tasks in the queue (one line per array task), except those completing: their script has
# ended, so their output is there or will never be.
declare -A queued=()
if [[ -f $jobs_file ]]; then
  squeue_out=$(squeue --noheader --array --me --format='%i %T') || die "squeue failed (is the cluster up, SLURM_CONF right?)"
  while read -r task state; do
    [[ -n $task && $state != COMPLETING ]] && queued[$task]=$state
  done <<<"$squeue_out"
fi
is_queued() { local t; t=$(task_of "$1" "$2"); [[ -n $t && -n ${queued[$t]:-} ]]; }

join() { local IFS=$1; shift; echo "$*"; }
# ranges 0,1,2,5 -> 0-2,5 (an array spec sbatch reads, short for thousands of shards)
ranges() {
  local IFS=, out=() first="" last="" i
  for i in $1 ""; do
    if [[ -n $i && -n $last && $i -eq $((last + 1)) ]]; then last=$i; continue; fi
    if [[ -n $first && $first == "$last" ]]; then out+=("$first"); elif [[ -n $first ]]; then out+=("$first-$last"); fi
    first=$i last=$i
  done
  echo "${out[*]}"
}

# ---------------------------------------------------------------- submitting
# The settings every job reads, written whole before any job can start.
write_pipeline_env() {
  ((dry_run)) && return 0
  mkdir -p "$out/logs" "$out/stats" "$out/captions"
  local key tmp=$out/.pipeline.env.tmp
  {
    echo "# Written by scripts/slurm/submit.sh from $(absolute "$config_file") at $(date -u +%FT%TZ); read by job.sh."
    for key in "${keys[@]}"; do printf '%s=%q\n' "$key" "${cfg[$key]:-}"; done
    printf 'FORCE=%q\n' "$force"
  } >"$tmp"
  mv "$tmp" "$out/pipeline.env"
}

# submit STAGE DEPENDENCIES SHARDS: prints the job id. DEPENDENCIES: colon-separated job or
# task ids that must all succeed first (may be empty); SHARDS: comma-separated (array stages).
submit() {
  local stage=$1 deps=$2 shards=$3 args id
  local upper=${stage^^}
  args=(--parsable --job-name="recap-$stage" --chdir="$out" --cpus-per-task="${cfg[CPUS_PER_TASK]}"
        --kill-on-invalid-dep=yes)
  if ((${is_array[$stage]})); then
    args+=(--array="$(ranges "$shards")${cfg[ARRAY_LIMIT]:+%${cfg[ARRAY_LIMIT]}}" --output="$out/logs/$stage-%A_%a.log")
  else
    args+=(--output="$out/logs/$stage-%j.log")
  fi
  [[ -n $deps ]] && args+=(--dependency="afterok:$deps")
  local extra
  read -r -a extra <<<"${cfg[SBATCH_ARGS]:-} ${cfg[${upper}_SBATCH_ARGS]:-}"
  args+=("${extra[@]}" "$here/job.sh" "$stage" "$out/pipeline.env")
  if ((dry_run)); then
    echo "sbatch $(printf '%q ' "${args[@]}")" >&2
    echo "DRY-$stage"
    return 0
  fi
  id=$(sbatch "${args[@]}") || die "sbatch failed for stage $stage (the line above says why)"
  id=${id%%;*}  # --parsable prints "id;cluster" on a multi-cluster setup
  [[ $id =~ ^[0-9]+$ ]] || die "sbatch printed '$id' for stage $stage, not a job id"
  printf '%s\t%s\t%s\t%s\n' "$stage" "$id" "${shards:--}" "$(date -u +%FT%TZ)" >>"$jobs_file"
  echo "$id"
}

report() {  # report STAGE SHARDS JOB DEPS
  local what=" shards $(ranges "$2")" after=""
  [[ $2 =~ ^[0-9]+$ ]] && what=" shard $2"
  ((${is_array[$1]})) || what=""
  [[ -n $4 ]] && after=" after ${4//:/, }"
  echo "$1: submitted$what as job $3$after" >&2
}

status() {
  local stage i done queued_list missing t
  for stage in "${stages[@]}"; do
    done=() queued_list=() missing=()
    for ((i = 0; i < count[$stage]; i++)); do
      if is_done "$stage" "$i"; then done+=("$i")
      elif is_queued "$stage" "$i"; then t=$(task_of "$stage" "$i"); queued_list+=("$i (job $t ${queued[$t]})")
      else missing+=("$i"); fi
    done
    printf '%-8s %d piece(s): done %s; queued %s; missing %s\n' "$stage" "${count[$stage]}" \
      "$(ranges "$(join , "${done[@]}")")" "$(join , "${queued_list[@]}")" "$(ranges "$(join , "${missing[@]}")")" |
      sed 's/ ;/ -;/g; s/ $/ -/'

  done
}

case "$mode" in
status)
  status
  exit 0 ;;
wait)
  [[ -f $jobs_file ]] || die "nothing submitted yet to $out (no jobs.tsv)"
  poll=${RECAP_SLURM_POLL_SECONDS:-10}
  ids=$(cut -f2 "$jobs_file" | sort -u | tr '\n' ' ')
  while :; do
    pending=0
    squeue_out=$(squeue --noheader --array --me --format='%i %T') || die "squeue failed (is the cluster up, SLURM_CONF right?)"
    while read -r task _; do
      if [[ -n $task && " $ids " == *" ${task%%_*} "* ]]; then pending=1; fi
    done <<<"$squeue_out"
    ((pending)) || break
    sleep "$poll"
  done
  queued=()  # the queue is empty of our jobs now
  status
  is_done score 0 && exit 0
  die "the pipeline in $out is incomplete (see $out/logs); 'submit.sh --config $config_file --resume' submits what is missing" ;;
esac

# ---------------------------------------------------------------- submit, resume, only
if [[ $mode == submit ]]; then
  if [[ -f $jobs_file ]]; then
    busy=()
    for stage in "${stages[@]}"; do
      for ((i = 0; i < count[$stage]; i++)); do is_queued "$stage" "$i" && busy+=("$(task_of "$stage" "$i")"); done
    done
    ((${#busy[@]} == 0)) || usage_error "$out has queued jobs of an earlier submission ($(join , "${busy[@]}")): --resume, or scancel them first"
    ((force)) || usage_error "$out already holds a pipeline (jobs.tsv): --resume submits what is missing, --force recomputes everything"
  fi
  if ((!force)); then
    for stage in "${stages[@]}"; do
      for ((i = 0; i < count[$stage]; i++)); do
        is_done "$stage" "$i" && usage_error "$(output "$stage" "$i") exists: --resume keeps it, --force replaces it"
      done
    done
  fi
  write_pipeline_env
  previous=""
  for stage in "${stages[@]}"; do
    shards=""
    ((${is_array[$stage]})) && shards=$(seq -s, 0 $((count[$stage] - 1)))
    id=$(submit "$stage" "$previous" "$shards")
    report "$stage" "$shards" "$id" "$previous"
    previous=$id
  done
  exit 0
fi

if [[ $mode == only ]]; then
  stage=$only
  if [[ -n $only_shard ]]; then
    ((${is_array[$stage]})) || usage_error "--shard: stage $stage is one job, not an array"
    ((only_shard < count[$stage])) || usage_error "--shard $only_shard: stage $stage has shards 0-$((count[$stage] - 1))"
    pieces=("$only_shard")
  else
    pieces=($(seq 0 $((count[$stage] - 1))))
  fi
  # Its inputs must be there: the stage before it done in full.
  for ((s = 1; s < ${#stages[@]}; s++)); do
    [[ ${stages[s]} == "$stage" ]] || continue
    before=${stages[s - 1]}
    for ((i = 0; i < count[$before]; i++)); do
      is_done "$before" "$i" || usage_error "stage $stage needs $(output "$before" "$i"), which is not there: --resume submits both in order"
    done
  done
  for i in "${pieces[@]}"; do
    is_queued "$stage" "$i" && usage_error "$stage piece $i is already queued as job $(task_of "$stage" "$i")"
    if is_done "$stage" "$i" && ((!force)); then usage_error "$(output "$stage" "$i") exists: --force recomputes it"; fi
  done
  write_pipeline_env
  shards=""
  ((${is_array[$stage]})) && shards=$(join , "${pieces[@]}")
  id=$(submit "$stage" "" "$shards")
  report "$stage" "$shards" "$id" ""
  exit 0
fi

# --resume: each stage's missing pieces go in one new job (array), after the upstream stage's
# new job and its tasks still queued. A queued task whose upstream stage had to be resubmitted
# would wait on a job that failed: it is cancelled and submitted again.
write_pipeline_env
new="" kept=() changed=0 submitted=0
for stage in "${stages[@]}"; do
  missing=() still=() stale=()
  for ((i = 0; i < count[$stage]; i++)); do
    is_done "$stage" "$i" && continue
    if is_queued "$stage" "$i"; then
      t=$(task_of "$stage" "$i")
      if ((changed)); then stale+=("$t") missing+=("$i"); else still+=("$t"); fi
    else
      missing+=("$i")
    fi
  done
  if ((${#stale[@]})); then
    ((dry_run)) || scancel "${stale[@]}" || die "scancel ${stale[*]} failed"
    echo "$stage: cancelled $(join , "${stale[@]}") (waiting on jobs that are resubmitted now)" >&2
  fi
  deps=$(join : $new "${kept[@]}")
  if ((${#missing[@]})); then
    shards=""
    ((${is_array[$stage]})) && shards=$(join , "${missing[@]}")
    new=$(submit "$stage" "$deps" "$shards")
    report "$stage" "$shards" "$new" "$deps"
    changed=1 submitted=1
  else
    new="" changed=0
    ((${#still[@]})) && echo "$stage: queued already ($(join , "${still[@]}"))" >&2
  fi
  kept=("${still[@]}")
done
((submitted)) || echo "submit.sh: nothing to resubmit in $out (every piece is done or queued)" >&2
