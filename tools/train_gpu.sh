#!/usr/bin/env bash
# Train the reader on a lent GPU machine (one H200) in one call, then bring the weights back.
#
#   1. here (CPU machine, repo root):   bash tools/train_gpu.sh prepare [DATA_DIR]
#        copies the training and validation data, xz-compressed (~9.7 MB), into .train-data/
#        (git-ignored); never the test files.
#   2. device tool, from this checkout: run(command="bash tools/train_gpu.sh train",
#        carry=[".train-data"], timeout_s=600)
#        trains 3 epochs from qa/models/reader (5.5 min cap), scores each epoch on validation,
#        writes to $OUT: model.safetensors.part-000..002 + model.safetensors.parts.json,
#        reader-files.tar (config, tokenizer, training.json), validation.json, train.log.
#   3. here:                             bash tools/train_gpu.sh unpack FILES_AT [qa/models/reader]
#        joins the parts (sha256-checked), unpacks the small files; then recalibrate on
#        validation (`qa eval calibrate qa/models/reader`) and score test once.
# Extra arguments after `train` go to tools/train_gpu.py (e.g. --epochs 2 --learning-rate 1e-4).
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-}; shift || true
case "$cmd" in
  prepare)
    data=${1:-../shared/data}
    mkdir -p .train-data/squad .train-data/extra   # git-ignored (.gitignore): travels only when carried
    for f in squad/train-v1.1.json squad/validation-v1.1.json squad/validation-v2.0.json extra/subjqa.json extra/molweni_test.json; do
      [ -f ".train-data/$f.xz" ] || xz -6 -T1 -c "$data/$f" > ".train-data/$f.xz"
    done
    du -sh .train-data
    ;;
  train)
    # The device image's python3 has torch, transformers, tokenizers, safetensors, numpy, tqdm;
    # nothing is installed (the machine has no network).
    : "${OUT:?OUT is set by the device tool}"
    export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TRANSFORMERS_VERBOSITY=error TQDM_MININTERVAL=10
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
    python3 tools/train_gpu.py --data .train-data --out "$OUT" "$@" 2>&1 | tee "$OUT/run.log" || true
    test -f "$OUT/validation.json"
    ls -l "$OUT"
    ;;
  unpack)
    files=${1:?usage: tools/train_gpu.sh unpack FILES_AT [READER_DIR]}
    dest=${2:-qa/models/reader}
    tmp=$(mktemp -d)
    cp "$files"/model.safetensors.part-* "$files"/model.safetensors.parts.json "$tmp"/
    PY=${PY:-.venv/bin/python}; [ -x "$PY" ] || PY=python3
    "$PY" -c "import sys; from qa.offline.file_parts import join_parts; print('verified', join_parts(sys.argv[1] + '/model.safetensors.parts.json', remove_parts=True))" "$tmp"
    tar -xf "$files/reader-files.tar" -C "$tmp"
    mkdir -p "$dest"
    cp "$tmp"/* "$dest"/
    rm -rf "$tmp"
    echo "unpacked into $dest; now: qa eval calibrate $dest"
    ;;
  *) sed -n 2,20p "$0"; exit 2 ;;
esac
