#!/usr/bin/env bash
# The main job: train a small DDSP model on a violin recording, then
# resynthesize a held-out violin phrase and turn a speech clip into violin.
#
#   bash scripts/main_job.sh                 # ~5 minutes on 2 CPU cores
#   bash scripts/main_job.sh --steps=1000 --out=/tmp/violin
#
# On a fresh machine it first creates .venv and installs ddsp (a few minutes,
# once). Then, with the command-line tools of the library:
#   1. ddsp_prepare_tfrecord: CREPE f0 and loudness of examples/data/
#      violin_train.flac (54 s) -> 4 s training examples (TFRecords),
#   2. the training data's statistics (pitch range, loudness quantiles) saved
#      beside the model, for timbre transfer,
#   3. ddsp_run --mode=train with models/solo_instrument.gin (harmonic +
#      filtered noise synthesizers, trainable reverb), a smaller decoder and a
#      few hundred steps so that it fits in minutes on a CPU,
#   4. ddsp_timbre_transfer --noadjust: resynthesis of the held-out phrase
#      examples/data/violin_heldout.flac (never seen in training),
#   5. ddsp_timbre_transfer: the speech clip examples/data/speech_female.flac
#      shifted into the violin's register and loudness, through the model.
# It writes WAV files and spectrogram PNGs into the output folder and prints
# where they are, with how closely each output follows its input's f0.
#
# Options (flags, or the environment variables in brackets):
#   --out=DIR          output folder (DDSP_MAIN_OUT, default out/ in the
#                      repository); its model/ and data/ are replaced
#   --steps=N          training steps (DDSP_MAIN_STEPS, default 300)
#   --batch_size=N     examples per step (DDSP_MAIN_BATCH_SIZE, default 4)
#   --channels=N       decoder GRU and MLP width (DDSP_MAIN_CHANNELS, default
#                      128; the paper's 512 needs hours of training)
#   --learning_rate=X  Adam learning rate (DDSP_MAIN_LEARNING_RATE, default
#                      0.0003, as the packaged configs)
#   --train_audio=F    training recording (DDSP_MAIN_TRAIN_AUDIO)
#   --heldout_audio=F  recording to resynthesize (DDSP_MAIN_HELDOUT_AUDIO)
#   --transfer_audio=F recording to timbre-transfer (DDSP_MAIN_TRANSFER_AUDIO)
#   --seed=N           random seed (DDSP_MAIN_SEED, default 0)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"

# Paths given by the user are relative to where the script is called from;
# the defaults are relative to the repository.
abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
OUT="$(abspath "${DDSP_MAIN_OUT:-$REPO/out}")"
STEPS="${DDSP_MAIN_STEPS:-300}"
BATCH_SIZE="${DDSP_MAIN_BATCH_SIZE:-4}"
CHANNELS="${DDSP_MAIN_CHANNELS:-128}"
LEARNING_RATE="${DDSP_MAIN_LEARNING_RATE:-0.0003}"
TRAIN_AUDIO="$(abspath "${DDSP_MAIN_TRAIN_AUDIO:-$REPO/examples/data/violin_train.flac}")"
HELDOUT_AUDIO="$(abspath "${DDSP_MAIN_HELDOUT_AUDIO:-$REPO/examples/data/violin_heldout.flac}")"
TRANSFER_AUDIO="$(abspath "${DDSP_MAIN_TRANSFER_AUDIO:-$REPO/examples/data/speech_female.flac}")"
SEED="${DDSP_MAIN_SEED:-0}"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
for arg in "$@"; do
  case "$arg" in
    --out=*) OUT="$(abspath "${arg#*=}")" ;;
    --steps=*) STEPS="${arg#*=}" ;;
    --batch_size=*) BATCH_SIZE="${arg#*=}" ;;
    --channels=*) CHANNELS="${arg#*=}" ;;
    --learning_rate=*) LEARNING_RATE="${arg#*=}" ;;
    --train_audio=*) TRAIN_AUDIO="$(abspath "${arg#*=}")" ;;
    --heldout_audio=*) HELDOUT_AUDIO="$(abspath "${arg#*=}")" ;;
    --transfer_audio=*) TRANSFER_AUDIO="$(abspath "${arg#*=}")" ;;
    --seed=*) SEED="${arg#*=}" ;;
    -h|--help) usage; exit 0 ;;
    *) echo "main_job.sh: unknown option '$arg'" >&2; usage >&2; exit 2 ;;
  esac
done
for n in STEPS BATCH_SIZE CHANNELS SEED; do
  if ! [[ "${!n}" =~ ^[0-9]+$ ]] || { [ "$n" != SEED ] && [ "${!n}" -eq 0 ]; }; then
    echo "main_job.sh: --${n,,} must be a positive integer, got '${!n}'" >&2
    exit 2
  fi
done
if ! [[ "$LEARNING_RATE" =~ ^[0-9]*\.?[0-9]+([eE][-+]?[0-9]+)?$ ]]; then
  echo "main_job.sh: --learning_rate must be a positive number, got" \
       "'$LEARNING_RATE'" >&2
  exit 2
fi
for f in "$TRAIN_AUDIO" "$HELDOUT_AUDIO" "$TRANSFER_AUDIO"; do
  [ -f "$f" ] || { echo "main_job.sh: no such audio file: $f" >&2; exit 2; }
done

MODEL="$OUT/model"
DATA="$OUT/data"
# Never delete a folder that this script did not make.
for d in "$MODEL" "$DATA"; do
  if [ -e "$d" ] && [ ! -e "$d/.ddsp_main_job" ] && \
     [ -n "$(ls -A "$d" 2>/dev/null)" ]; then
    echo "main_job.sh: $d exists and was not made by this script;" \
         "choose another --out" >&2
    exit 2
  fi
done

cd "$REPO"
source scripts/setup_env.sh

# Drops TensorFlow's C++ start-up messages, gin's search-path probes, Beam's
# optional-dependency notes and INFO log lines (the tools print summaries);
# keeps warnings, errors and the training progress lines.
filter_logs() {
  sed -u -E \
    -e '/^(WARNING: All log messages before absl|To enable the following)/d' \
    -e '/^[IWE]0000 /d' \
    -e '/resource_reader.py|apitools not found|python-snappy/d' \
    -e 's/^I[0-9]{4} [0-9:.]+ +[0-9]+ (train_util|prepare_tfrecord_lib).py:[0-9]+\] /  /' \
    -e '/^I[0-9]{4} [0-9:.]+ /d'
}

start=$(date +%s)
step() { echo; echo "== [$1/5] $2  ($(( $(date +%s) - start )) s elapsed)"; }
# Start afresh (training would otherwise resume).
for d in "$MODEL" "$DATA"; do
  rm -rf "$d"
  mkdir -p "$d"
  touch "$d/.ddsp_main_job"
done

step 1 "Preparing training examples from $TRAIN_AUDIO"
ddsp_prepare_tfrecord \
  --input_audio_filepatterns="$TRAIN_AUDIO" \
  --output_tfrecord_path="$DATA/train.tfrecord" \
  --num_shards=1 --example_secs=4 --hop_secs=1 --logtostderr 2>&1 | filter_logs

step 2 "Saving the training data's statistics to $MODEL"
python - "$DATA/train.tfrecord*" "$MODEL" 2>&1 <<'EOF' | filter_logs
import sys
from ddsp.training import data, postprocessing
stats = postprocessing.save_dataset_statistics(
    data.TFRecordProvider(sys.argv[1]), sys.argv[2], batch_size=8)
print(f"{stats['n_examples']} examples; note pitch MIDI "
      f"{stats['min_pitch_note']:.0f}-{stats['max_pitch_note']:.0f} "
      f"(mean {stats['mean_pitch_note']:.1f}); note loudness "
      f"{stats['min_loudness_note']:.0f} to {stats['max_loudness_note']:.0f} dB")
EOF

step 3 "Training $STEPS steps (batch $BATCH_SIZE, decoder width $CHANNELS)"
SUMMARY_EVERY=$(( STEPS < 20 ? STEPS : 20 ))
ddsp_run --mode=train --save_dir="$MODEL" --seed="$SEED" \
  --gin_file=models/solo_instrument.gin \
  --gin_file=datasets/tfrecord.gin \
  --gin_param="TFRecordProvider.file_pattern='$DATA/train.tfrecord*'" \
  --gin_param="batch_size=$BATCH_SIZE" \
  --gin_param="learning_rate=$LEARNING_RATE" \
  --gin_param="train.num_steps=$STEPS" \
  --gin_param="train.steps_per_save=$STEPS" \
  --gin_param="train.steps_per_summary=$SUMMARY_EVERY" \
  --gin_param="train.progress_bar=False" \
  --gin_param="RnnFcDecoder.rnn_channels=$CHANNELS" \
  --gin_param="RnnFcDecoder.ch=$CHANNELS" \
  --logtostderr 2>&1 | filter_logs

step 4 "Resynthesizing the held-out violin $HELDOUT_AUDIO"
ddsp_timbre_transfer --model_dir="$MODEL" --input="$HELDOUT_AUDIO" \
  --output="$OUT/violin_heldout_resynthesis.wav" \
  --plot="$OUT/violin_heldout_resynthesis.png" --noadjust --report 2>&1 \
  | filter_logs
cp "$HELDOUT_AUDIO" "$OUT/violin_heldout_input.${HELDOUT_AUDIO##*.}"

step 5 "Timbre transfer of $TRANSFER_AUDIO into the violin"
ddsp_timbre_transfer --model_dir="$MODEL" --input="$TRANSFER_AUDIO" \
  --output="$OUT/speech_to_violin.wav" \
  --plot="$OUT/speech_to_violin.png" --report 2>&1 | filter_logs
cp "$TRANSFER_AUDIO" "$OUT/speech_input.${TRANSFER_AUDIO##*.}"

echo
echo "== Done in $(( $(date +%s) - start )) s. Results in $OUT/:"
echo "  violin_heldout_resynthesis.wav/.png  held-out violin through the model"
echo "  speech_to_violin.wav/.png            speech turned into violin"
echo "  violin_heldout_input.*, speech_input.*  the inputs, to compare"
echo "  model/                               checkpoints, gin config, statistics"
echo "  TensorBoard: tensorboard --logdir $MODEL/summaries"
