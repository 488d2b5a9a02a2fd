#!/usr/bin/env bash
# Fetches the CLIP and FLAN-T5 checkpoints recap loads, in the Hugging Face folder layout
# its loaders read, and checks what was fetched.
#
# Usage: scripts/download_models.sh [--models DIR] [--list] [--check] [NAME ...]
#
#   NAME            clip-vit-base-patch32  clip-vit-base-patch16  clip-vit-large-patch14
#                   clip-vit-large-patch14-336  flan-t5-base  flan-t5-large  or  all
#                   (default: clip-vit-base-patch32 flan-t5-base, the paper's main tables)
#   --models DIR    where the model folders go (default: $RECAP_MODELS, else ./models);
#                   each model lands in DIR/<name>, e.g. DIR/clip-vit-base-patch32
#   --list          print each model's URL, approximate size, files and folder; no network
#   --check         verify the folders already there; no network. For each file: present,
#                   non-empty, JSON that parses (config.json, vocab.json), a plausible
#                   safetensors header (model.safetensors); prints size and sha256
#   -h, --help      this text
#
# Files fetched (the loaders read nothing else; pytorch_model.bin is never read):
#   CLIP  config.json  model.safetensors  vocab.json  merges.txt
#   T5    config.json  model.safetensors  spiece.model
#
# Fetching uses curl against ${HF_ENDPOINT:-https://huggingface.co}/<repo>/resolve/main/<file>,
# sending "Authorization: Bearer $HF_TOKEN" when HF_TOKEN is set. Each file is written to a
# temporary name in its folder and renamed only when complete, so an interrupted run never
# leaves a file that looks like a model; a rerun skips the files already in place. After
# fetching, the same check as --check runs.
#
# Without network: run this on a machine that has it and copy DIR/<name>/ over, or fetch by
# hand, e.g. `git lfs install && git clone https://huggingface.co/openai/clip-vit-base-patch32`
# (a clone holds every file of the repository, not only the ones above; it needs git-lfs).
#
# Exit status: 0 all good; 1 a download or a check failed; 2 bad usage or endpoint unreachable.
set -euo pipefail

prog=download_models.sh
endpoint="${HF_ENDPOINT:-https://huggingface.co}"
endpoint="${endpoint%/}"

usage() { sed -n '2,/^set -euo pipefail$/{/^#/!d; s/^# \{0,1\}//; p;}' "$0"; }
die_usage() { echo "$prog: $*" >&2; exit 2; }

# ---------------------------------------------------------------- the models

all_models=(clip-vit-base-patch32 clip-vit-base-patch16 clip-vit-large-patch14
            clip-vit-large-patch14-336 flan-t5-base flan-t5-large)
default_models=(clip-vit-base-patch32 flan-t5-base)

# Hugging Face repository of a short name.
model_repo() {
  case "$1" in
    clip-*) echo "openai/$1" ;;
    flan-t5-*) echo "google/$1" ;;
  esac
}

# Approximate download size: float32 weights, i.e. 4 bytes a parameter, plus small files.
model_size() {
  case "$1" in
    clip-vit-base-patch32) echo "~0.6 GB (ViT-B/32, ~151M parameters)" ;;
    clip-vit-base-patch16) echo "~0.6 GB (ViT-B/16, ~150M parameters)" ;;
    clip-vit-large-patch14) echo "~1.7 GB (ViT-L/14, ~428M parameters)" ;;
    clip-vit-large-patch14-336) echo "~1.7 GB (ViT-L/14 at 336 px, ~428M parameters)" ;;
    flan-t5-base) echo "~1.0 GB (~250M parameters)" ;;
    flan-t5-large) echo "~3.1 GB (~780M parameters)" ;;
  esac
}

# The files the loaders read, smallest first so a bad token or a missing repository shows
# up before the big download starts.
model_files() {
  case "$1" in
    clip-*) echo "config.json vocab.json merges.txt model.safetensors" ;;
    flan-t5-*) echo "config.json spiece.model model.safetensors" ;;
  esac
}

is_model() {
  local m
  for m in "${all_models[@]}"; do [[ "$1" == "$m" ]] && return 0; done
  return 1
}

# ---------------------------------------------------------------- --list

list_models() {
  local name
  for name in "$@"; do
    echo "$name"
    echo "  url:    https://huggingface.co/$(model_repo "$name")"
    echo "  size:   $(model_size "$name")"
    echo "  files:  $(model_files "$name")"
    echo "  from:   https://huggingface.co/$(model_repo "$name")/resolve/main/<file>"
    echo "  folder: $models_dir/$name"
  done
}

# ---------------------------------------------------------------- --check

file_size() { wc -c <"$1" | tr -d ' '; }

# A JSON file the loaders parse; python when the system has it, else a rough sniff.
json_ok() {
  if [[ -x /usr/bin/python3 ]]; then
    /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$1" 2>/dev/null
  else
    grep -q '{' "$1"
  fi
}

# safetensors starts with an 8-byte little-endian header length N, then N bytes of JSON.
# Read the bytes one by one so the result does not depend on the host's byte order.
# Prints a reason and fails when the header is not plausible.
safetensors_ok() {
  local file="$1" size n=0 i bytes first
  size=$(file_size "$file")
  if ((size < 10)); then echo "too short for a safetensors file ($size bytes)"; return 1; fi
  read -r -a bytes <<<"$(od -An -tu1 -N8 "$file")"
  for ((i = 7; i >= 0; i--)); do n=$((n * 256 + bytes[i])); done
  # The format caps the header at 100 MB; larger means this is not safetensors at all
  # (a pickle, an HTML error page or a git-lfs pointer saved under the wrong name).
  if ((n < 2 || n > 100000000 || n + 8 > size)); then
    echo "header length $n does not fit a safetensors file of $size bytes"; return 1
  fi
  first=$(od -An -c -j8 -N1 "$file" | tr -d ' ')
  if [[ "$first" != "{" ]]; then echo "header does not start with '{'"; return 1; fi
}

# Checks one model folder; prints a line per file and returns 1 when anything is wrong.
check_model() {
  local name="$1" dir="$models_dir/$1" file path why bad=0
  echo "$name ($dir)"
  if [[ ! -d "$dir" ]]; then
    echo "  MISSING folder $dir (files: $(model_files "$name"))"
    return 1
  fi
  for file in $(model_files "$name"); do
    path="$dir/$file"
    why=""
    if [[ ! -f "$path" ]]; then
      why="missing"
    elif [[ ! -s "$path" ]]; then
      why="empty"
    elif [[ "$file" == *.json ]] && ! json_ok "$path"; then
      why="not valid JSON"
    elif [[ "$file" == model.safetensors ]] && ! why=$(safetensors_ok "$path"); then
      why="not safetensors: $why"
    fi
    if [[ -n "$why" ]]; then
      echo "  BAD  $file: $why"
      bad=1
    else
      printf '  ok   %-18s %14s bytes  sha256 %s\n' "$file" "$(file_size "$path")" \
        "$(sha256sum "$path" | cut -d' ' -f1)"
    fi
  done
  return "$bad"
}

# Checks every named model; the summary on stderr names what failed.
check_models() {
  local name failed=()
  for name in "$@"; do
    check_model "$name" || failed+=("$name")
  done
  if ((${#failed[@]})); then
    echo "$prog: check failed for ${failed[*]} under $models_dir (see the BAD / MISSING lines above)" >&2
    return 1
  fi
  echo "all $# model folder(s) under $models_dir are complete"
}

# ---------------------------------------------------------------- fetching

# One request to the endpoint before anything is created, so that no network gives one clear
# line instead of a curl error per file. Any HTTP answer counts as reachable: a mirror's root
# page may well answer 404.
probe_endpoint() {
  if ! command -v curl >/dev/null; then
    echo "$prog: curl is not installed (scripts/setup.sh --models installs it)" >&2
    exit 2
  fi
  if ! curl -sI --connect-timeout 10 --max-time 30 -o /dev/null "$endpoint"; then
    echo "$prog: cannot reach $endpoint (no network?). Fetch the files listed by --list on a" \
      "machine with network and copy them to $models_dir/<name>/" >&2
    exit 2
  fi
}

# curl with the token, if any. The header goes through a config on stdin rather than the
# command line so the token does not show in `ps`.
hf_curl() {
  if [[ -n "${HF_TOKEN:-}" ]]; then
    printf 'header = "Authorization: Bearer %s"\n' "$HF_TOKEN" | curl -K - "$@"
  else
    curl "$@"
  fi
}

partial=""  # the temporary file being written, removed if the script stops early
trap '[[ -z "$partial" ]] || rm -f -- "$partial"' EXIT
trap 'exit 130' INT TERM  # so Ctrl-C also runs the EXIT trap above

# A progress bar for a person at a terminal; silence (errors only) in logs.
progress=(-sS)
if [ -t 2 ]; then progress=(--progress-bar); fi

# Downloads one file into place; returns 1 (after saying why) when it could not.
fetch_file() {
  local repo="$1" dir="$2" file="$3" url code rc
  url="$endpoint/$repo/resolve/main/$file"
  if [[ -s "$dir/$file" ]]; then
    echo "  have $file"
    return 0
  fi
  echo "  get  $url"
  partial=$(mktemp "$dir/.$file.partial.XXXXXX")
  rc=0
  code=$(hf_curl -fL --retry 2 --connect-timeout 15 "${progress[@]}" -o "$partial" \
    -w '%{http_code}' "$url") || rc=$?
  if ((rc == 0)); then
    # mktemp makes the file private; give it the mode a plain download would have.
    chmod "$(printf '%o' $((0666 & ~$(umask))))" "$partial"
    mv -f -- "$partial" "$dir/$file"
    partial=""
    return 0
  fi
  rm -f -- "$partial"
  partial=""
  if [[ "$code" == 404 && "$file" == model.safetensors ]]; then
    missing_safetensors_hint "$repo" "$dir"
  elif [[ "$code" == 401 || "$code" == 403 ]]; then
    echo "$prog: $url: HTTP $code (set HF_TOKEN to a Hugging Face access token?)" >&2
  else
    echo "$prog: $url: download failed (curl exit $rc, HTTP ${code:-none})" >&2
  fi
  return 1
}

# The loaders read safetensors only. When the main branch of a repository has no
# model.safetensors, say how to make one from the PyTorch checkpoint instead of just failing.
missing_safetensors_hint() {
  local repo="$1" dir="$2"
  cat >&2 <<EOF
$prog: $repo has no model.safetensors on its main branch (HTTP 404); recap reads only
  safetensors. The file may exist on another revision (see the repository's "Files" and
  "Community" pages on $endpoint/$repo), or convert the PyTorch checkpoint yourself
  (needs python3 with torch and safetensors):
    curl -fL -o $dir/pytorch_model.bin $endpoint/$repo/resolve/main/pytorch_model.bin
    python3 -c 'import sys, torch; from safetensors.torch import save_file; sd = torch.load(sys.argv[1], map_location="cpu"); save_file({k: v.detach().clone().contiguous() for k, v in sd.items()}, sys.argv[2], metadata={"format": "pt"})' $dir/pytorch_model.bin $dir/model.safetensors
  (clone() because tied weights share memory, which save_file refuses), then rerun this script.
EOF
}

# Fetches every file of one model; keeps going after a failure so one run reports them all.
fetch_model() {
  local name="$1" repo dir file bad=0
  repo=$(model_repo "$name")
  dir="$models_dir/$name"
  echo "$name <- $endpoint/$repo"
  mkdir -p -- "$dir"
  for file in $(model_files "$name"); do
    fetch_file "$repo" "$dir" "$file" || bad=1
  done
  return "$bad"
}

# ---------------------------------------------------------------- arguments

models_dir="${RECAP_MODELS:-models}"
mode=fetch
names=()
while (($#)); do
  case "$1" in
    -h | --help) usage; exit 0 ;;
    --list) mode=list ;;
    --check) mode=check ;;
    --models)
      (($# >= 2)) || die_usage "--models needs a folder"
      models_dir="$2"
      shift ;;
    --models=*) models_dir="${1#--models=}" ;;
    all) names+=("${all_models[@]}") ;;
    -*) die_usage "unknown option '$1' (see --help)" ;;
    *)
      is_model "$1" || die_usage "unknown model '$1' (one of: ${all_models[*]}, all)"
      names+=("$1") ;;
  esac
  shift
done
[[ -n "$models_dir" ]] || die_usage "--models needs a folder"
[[ "$models_dir" == / ]] || models_dir="${models_dir%/}"
((${#names[@]})) || names=("${default_models[@]}")

case "$mode" in
  list) list_models "${names[@]}" ;;
  check) check_models "${names[@]}" ;;
  fetch)
    command -v curl >/dev/null || { echo "$prog: curl is not installed" >&2; exit 2; }
    probe_endpoint
    fetch_failed=()
    for name in "${names[@]}"; do
      fetch_model "$name" || fetch_failed+=("$name")
    done
    check_models "${names[@]}" || exit 1
    ((${#fetch_failed[@]} == 0)) || exit 1 ;;
esac
