#!/usr/bin/env bash
# Reproduces one of the paper's benchmarks from the files to a table of scores.
#
#   scripts/reproduce.sh DATASET [options]
#
# DATASET: coco | flickr30k | vizwiz | msrvtt | flickr8k
#
# Options:
#   --data DIR        where the datasets are (default: data/), one folder per dataset in
#                     the layout --check prints
#   --models DIR      where the models are (default: $RECAP_MODELS or models/), as
#                     scripts/download_models.sh puts them: DIR/<name>/
#   --jars DIR        folder with meteor-1.5.jar and spice-1.0.jar (METEOR and SPICE are
#                     n/a without them)
#   --java PATH       the Java that runs the jars (default: java)
#   --out DIR         results (default: reproduce/DATASET, or reproduce/DATASET-from-coco)
#   --config FILE     settings of every tool (default: configs/DATASET.json)
#   --train-on coco   vizwiz, msrvtt: fit W and the datastore on COCO (the paper's transfer)
#   --threads N       threads of every tool (default: all cores)
#   --check           only check what is present, and list what is missing
#
# First it checks that every file is present; when one is not, it prints exactly what is
# missing, where to download it and where to put it, and stops (exit 2). Then it runs
# recap-fit (embedding the training split with CLIP) -> recap-caption (retrieval only, and
# with the language model) -> recap-score, each stage skipped when its output exists and
# resumed when it was interrupted, and ends with one table (OUT/table.md, table.csv,
# provenance.json). Flickr8k instead fits W on its training split and reports the Kendall
# tau of every metric against the Expert and CrowdFlower human judgements.
set -euo pipefail

prog=reproduce.sh
root="$(cd "$(dirname "$0")/.." && pwd)"
cmdline="scripts/reproduce.sh $*"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
die() { echo "$prog: $*" >&2; exit 2; }

dataset="" data_dir="data" models_dir="${RECAP_MODELS:-models}" jars_dir="" java="java" out="" config=""
train_on="" threads="" check_only=0
while (($#)); do
  case "$1" in
    -h|--help) usage; exit 0 ;;
    --data) data_dir="${2:?--data needs a folder}"; shift ;;
    --models) models_dir="${2:?--models needs a folder}"; shift ;;
    --jars) jars_dir="${2:?--jars needs a folder}"; shift ;;
    --java) java="${2:?--java needs a program}"; shift ;;
    --out) out="${2:?--out needs a folder}"; shift ;;
    --config) config="${2:?--config needs a file}"; shift ;;
    --train-on) train_on="${2:?--train-on needs a dataset}"; shift ;;
    --threads) threads="${2:?--threads needs a number}"; shift ;;
    --check) check_only=1 ;;
    -*) die "unknown option '$1' (see --help)" ;;
    *) [ -z "$dataset" ] || die "one dataset at a time ('$dataset' and '$1')"; dataset="$1" ;;
  esac
  shift
done
case "$dataset" in
  coco|flickr30k|vizwiz|msrvtt|flickr8k) ;;
  "") die "name a dataset: coco, flickr30k, vizwiz, msrvtt or flickr8k (see --help)" ;;
  *) die "unknown dataset '$dataset' (coco, flickr30k, vizwiz, msrvtt or flickr8k)" ;;
esac
case "$train_on" in
  "") ;;
  coco) [[ "$dataset" == vizwiz || "$dataset" == msrvtt ]] || die "--train-on coco applies to vizwiz and msrvtt" ;;
  *) die "--train-on takes coco (the paper's transfer setting), not '$train_on'" ;;
esac
config="${config:-$root/configs/$dataset.json}"
[ -f "$config" ] || die "$config: no such config"
out="${out:-reproduce/$dataset${train_on:+-from-$train_on}}"

# A one-line string field of the config ("_clip_model": "clip-vit-base-patch32").
config_value() {
  sed -n "s/^ *\"$1\": *\"\([^\"]*\)\".*/\1/p" "$config" | head -n 1
}
clip="$models_dir/$(config_value _clip_model)"
lm="$models_dir/$(config_value _lm)"
train_split="$(config_value _train_split)"
eval_split="$(config_value _eval_split)"

# ------------------------------------------------------------------ what must be present
missing=()
# need KIND PATH SOURCE: a file or folder that must exist, and where it comes from.
need() {
  local kind="$1" path="$2" source="$3"
  if [[ "$kind" == file && ! -f "$path" ]] || [[ "$kind" == folder && ! -d "$path" ]]; then
    missing+=("$(printf '  %-7s %s\n          from: %s' "$kind" "$path" "$source")")
  fi
}

karpathy_zip="https://cs.stanford.edu/people/karpathy/deepimagesent/caption_datasets.zip"
# The layout of a dataset: its annotation files, media folders and where they come from.
layout() {
  local name="$1" d="$data_dir/$1"
  case "$name" in
    coco)
      need file "$d/dataset_coco.json" "$karpathy_zip (Karpathy splits; unzip, keep dataset_coco.json)"
      need folder "$d/train2014" "http://images.cocodataset.org/zips/train2014.zip (unzip into $d/)"
      need folder "$d/val2014" "http://images.cocodataset.org/zips/val2014.zip (unzip into $d/)" ;;
    flickr30k)
      need file "$d/dataset_flickr30k.json" "$karpathy_zip (Karpathy splits; unzip, keep dataset_flickr30k.json)"
      need folder "$d/flickr30k-images" "https://shannon.cs.illinois.edu/DenotationGraph/ (request form; unpack flickr30k-images/ into $d/)" ;;
    vizwiz)
      need file "$d/annotations/train.json" "https://vizwiz.cs.colorado.edu/VizWiz_final/caption/annotations.zip (unzip into $d/)"
      need file "$d/annotations/val.json" "the same annotations.zip"
      need folder "$d/train" "https://vizwiz.cs.colorado.edu/VizWiz_final/images/train.zip (unzip into $d/)"
      need folder "$d/val" "https://vizwiz.cs.colorado.edu/VizWiz_final/images/val.zip (unzip into $d/)" ;;
    msrvtt)
      need file "$d/MSRVTT_data.json" "https://github.com/ArrowLuo/CLIP4Clip/releases/download/v0.0/msrvtt_data.zip (unzip, keep MSRVTT_data.json)"
      need folder "$d/videos/all" "https://www.robots.ox.ac.uk/~maxbain/frozen-in-time/data/MSRVTT.zip (unzip; move MSRVTT/videos/all/ to $d/videos/all/)" ;;
    flickr8k)
      local text="https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/Flickr8k_text.zip (unzip into $d/Flickr8k_text/)"
      for f in Flickr8k.token.txt Flickr_8k.trainImages.txt ExpertAnnotations.txt CrowdFlowerAnnotations.txt; do
        need file "$d/Flickr8k_text/$f" "$text"
      done
      need folder "$d/Flicker8k_Dataset" "https://github.com/jbrownlee/Datasets/releases/download/Flickr8k/Flickr8k_Dataset.zip (unzip into $d/)" ;;
  esac
}

layout "$dataset"
[ -z "$train_on" ] || layout "$train_on"
for f in config.json model.safetensors vocab.json merges.txt; do
  need file "$clip/$f" "scripts/download_models.sh --models $models_dir $(basename "$clip")"
done
if [ "$dataset" != flickr8k ]; then
  for f in config.json model.safetensors spiece.model; do
    need file "$lm/$f" "scripts/download_models.sh --models $models_dir $(basename "$lm")"
  done
fi
if [ -n "$jars_dir" ]; then
  need file "$jars_dir/meteor-1.5.jar" "https://www.cs.cmu.edu/~alavie/METEOR/download/meteor-1.5.tar.gz (meteor-1.5.jar inside)"
  need file "$jars_dir/spice-1.0.jar" "https://panderson.me/images/SPICE-1.0.zip (spice-1.0.jar inside; run its get_stanford_models.sh)"
fi

if ((${#missing[@]})); then
  {
    echo "$prog: $dataset${train_on:+ (trained on $train_on)}: ${#missing[@]} required file(s) or folder(s) missing:"
    printf '%s\n' "${missing[@]}"
    echo "Put each where it is listed (--data and --models move the roots), then rerun."
  } >&2
  exit 2
fi
if ((check_only)); then
  echo "$prog: $dataset: everything is present"
  exit 0
fi
[ -n "$jars_dir" ] || echo "$prog: no --jars: METEOR and SPICE will be n/a" >&2

# ------------------------------------------------------------------ the tools
build="${RECAP_BUILD_DIR:-$root/build}"
if [ ! -x "$build/recap-report" ]; then
  echo "$prog: building recap first (scripts/setup.sh)" >&2
  "$root/scripts/setup.sh"
fi
common=(--config "$config")
[ -z "$threads" ] || common+=(--threads "$threads")
tool() { local name="$1"; shift; "$build/recap-$name" "${common[@]}" "$@"; }
stage() { echo "== $*" >&2; }

# The train and eval sides: annotation file, media root and split.
sides() {
  local name="$1" d="$data_dir/$1"
  case "$name" in
    coco) echo "$d/dataset_coco.json|$d|$2" ;;
    flickr30k) echo "$d/dataset_flickr30k.json|$d/flickr30k-images|$2" ;;
    vizwiz) echo "$d/annotations/$3.json|$d/$3|" ;;
    msrvtt) echo "$d/MSRVTT_data.json|$d/videos/all|$2" ;;
    flickr8k) echo "$d/Flickr8k_text/Flickr8k.token.txt|$d/Flicker8k_Dataset|$2" ;;
  esac
}
if [ -n "$train_on" ]; then
  IFS='|' read -r train_file train_media train_split_arg <<<"$(sides coco train,restval)"
else
  IFS='|' read -r train_file train_media train_split_arg <<<"$(sides "$dataset" "$train_split" train)"
fi
IFS='|' read -r eval_file eval_media eval_split_arg <<<"$(sides "$dataset" "$eval_split" val)"
split_flag() { [ -z "$1" ] || printf '%s\n' --split "$1"; }

mkdir -p "$out"
run="$out/run"
if [ -f "$run/run.json" ]; then
  stage "fit: reusing $run"
else
  stage "fit: W on $train_file${train_split_arg:+ ($train_split_arg)}"
  mapfile -t split_args < <(split_flag "$train_split_arg")
  tool fit --clip "$clip" --dataset "$train_file" --images "$train_media" "${split_args[@]}" --out "$run"
fi

inputs=(--input "$config" --input "$train_file" --input "$clip" --input "$run/mapping.npy")
[ "$eval_file" == "$train_file" ] || inputs+=(--input "$eval_file")

if [ "$dataset" == flickr8k ]; then
  for set in expert cf; do
    if [ -f "$out/$set.json" ]; then stage "correlate $set: reusing $out/$set.json"; continue; fi
    stage "correlate: Flickr8k-$set"
    "$build/recap-score" ${threads:+--threads "$threads"} correlate --dataset "flickr8k-$set" --root "$data_dir/flickr8k" \
      --clip "$clip" --images "$eval_media" --run "$run" --json "$out/$set.json"
  done
  tool report --row "Flickr8k-Expert (tau-c)=$out/expert.json" --row "Flickr8k-CrowdFlower (tau-b)=$out/cf.json" --key tau \
    --columns Bleu_1,Bleu_4,ROUGE_L,CIDEr,CLIP-S,RefCLIP-S,aCLIP-S,RefaCLIP-S \
    --title "recap: Kendall tau with human judgements on Flickr8k" "${inputs[@]}" --command "$cmdline" \
    --markdown "$out/table.md" --csv "$out/table.csv" --provenance "$out/provenance.json" --force
  exit 0
fi

mapfile -t eval_args < <(split_flag "$eval_split_arg")
jar_args=()
if [ -n "$jars_dir" ]; then
  jar_args=(--meteor-jar "$jars_dir/meteor-1.5.jar" --spice-jar "$jars_dir/spice-1.0.jar" --java "$java")
fi
for variant in retrieval lm; do
  dir="$out/$variant"
  mkdir -p "$dir"
  lm_args=()
  [ "$variant" == retrieval ] || lm_args=(--lm "$lm")
  if [ -f "$dir/results.json" ]; then
    stage "caption ($variant): reusing $dir/results.json"
  else
    # An interrupted run left results.json.partial.jsonl: recap-caption resumes from it.
    stage "caption ($variant): $eval_file${eval_split_arg:+ ($eval_split_arg)}"
    tool caption --run "$run" --clip "$clip" "${lm_args[@]}" --dataset "$eval_file" --images "$eval_media" \
      "${eval_args[@]}" --out "$dir/results.json" --details "$dir/details.jsonl"
  fi
  if [ -f "$dir/scores.json" ]; then
    stage "score ($variant): reusing $dir/scores.json"
  else
    stage "score ($variant)"
    tool score --results "$dir/results.json" --refs "$eval_file" "${eval_args[@]}" --clip "$clip" --images "$eval_media" \
      --run "$run" "${jar_args[@]}" --json "$dir/scores.json" --per-image "$dir/per_image.jsonl"
  fi
done
inputs+=(--input "$lm")
tool report --row "ReCap retrieval only=$out/retrieval/scores.json" --row "ReCap with $(basename "$lm")=$out/lm/scores.json" \
  --title "recap on $dataset${train_on:+ (W and datastore from $train_on)}" "${inputs[@]}" --command "$cmdline" \
  --markdown "$out/table.md" --csv "$out/table.csv" --provenance "$out/provenance.json" --force
