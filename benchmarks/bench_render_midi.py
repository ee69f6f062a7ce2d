"""MIDI rendering benchmark: does a flute model play the notes it is given?

1. `ddsp_prepare_tfrecord` on ../shared/data/flute.wav (68 s of solo flute;
   CREPE-tiny f0 and loudness, 4 s examples every 1 s);
2. `ddsp_run --mode=train` with models/solo_instrument.gin for `--steps`
   steps at `--batch_size` with a decoder of `--channels` units, then the
   dataset statistics saved beside the model
   (`postprocessing.save_dataset_statistics`), as the main job does;
3. `render_midi.render_midi` of ../shared/data/flute.mid (the flute part as
   MIDI: 103 notes, pitch bends, expression), offline and through the
   streaming model (`--block_size`);
4. the output's f0 measured with CREPE (`ddsp.spectral_ops.compute_f0`,
   `--crepe_model`, centred frames at 250 Hz) on the held part of every
   note: its frames from `--skip_ms` after the onset to the offset (the
   attack and a legato glide left out), where the output is within 40 dB of
   its loudest frame. Printed: the share of those frames within 50 cents of
   the MIDI note (goal: 90 % or more), the median error, and the same
   measure on the original recording (flute.wav against the same notes) as a
   reference for the tracker;
5. a chord (G4 B4 D5, 1.5 s, one MIDI file) rendered: the voice count and,
   for each note, the spectrum's largest peak within 30 cents of its
   fundamental (numpy FFT, Hann window, the steady 0.4-1.2 s) and its height
   above the median level of the 100-1200 Hz band.

Default budget: 800 steps at batch 4 with the 128-unit decoder (0.26 s per
step on 2 quiet cores, as bench_quality.py: about 4 minutes of training).
Measured on 2 heavily shared cores (load average about 25): preparation
57 s, training 1081 s, rendering 26 s offline and 52 s streaming, CREPE
about 1 minute per clip: 25 minutes in all. `--reuse` re-scores the model of
a previous run's `--work_dir`. Numbers from this dataset (synthesized from
recorded samples, dry) are not comparable with published figures.

Usage (from the repository root):
  nice python benchmarks/bench_render_midi.py [--steps 800 --channels 128
      --batch_size 4 --block_size 256 --work_dir DIR]
  smoke run: --steps=5
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import bench_data  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import soundfile  # pylint: disable=g-import-not-at-top

REPO = pathlib.Path(__file__).resolve().parents[1]
FRAME_RATE = 250
CHORD = (67, 71, 74)


def _parse_args():
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--steps', type=int, default=800)
  p.add_argument('--batch_size', type=int, default=4)
  p.add_argument('--channels', type=int, default=128)
  p.add_argument('--learning_rate', type=float, default=1e-3)
  p.add_argument('--block_size', type=int, default=256)
  p.add_argument('--crepe_model', default='tiny')
  p.add_argument('--skip_ms', type=float, default=60.0,
                 help='ms after each onset left out of the f0 score (60)')
  p.add_argument('--work_dir', default=None)
  p.add_argument('--reuse', action='store_true',
                 help='keep the data and model already in --work_dir (skip '
                      'preparation and training)')
  args = p.parse_args()
  for name in ('flute.wav', 'flute.mid'):
    if bench_data.find(name) is None:
      p.error(bench_data.missing_message(name))
  return args


def _run(cmd, log_path):
  with open(log_path, 'w', encoding='utf-8') as log:
    proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                          check=False)
  if proc.returncode:
    with open(log_path, encoding='utf-8') as f:
      tail = f.read()[-3000:]
    sys.exit(f'{cmd[2]} failed (exit {proc.returncode}); end of '
             f'{log_path}:\n{tail}')


def _held_frames(notes, n_frames, skip_s):
  """(frame indices, MIDI pitch per frame) of the notes' held parts."""
  t = np.arange(n_frames) / FRAME_RATE
  index, pitch = [], []
  for n in notes:
    frames = np.nonzero((t >= n.start + skip_s) & (t < n.end))[0]
    index.append(frames)
    pitch.append(np.full(len(frames), float(n.pitch)))
  return np.concatenate(index), np.concatenate(pitch)


def _score_f0(audio, sample_rate, notes, skip_s, crepe_model):
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  f0, _ = spectral_ops.compute_f0(audio, FRAME_RATE, padding='center',
                                  sample_rate=sample_rate,
                                  crepe_model=crepe_model)
  loudness = spectral_ops.compute_loudness(
      audio, sample_rate=sample_rate, frame_rate=FRAME_RATE, use_tf=False,
      padding='center')
  n = min(len(f0), len(loudness))
  index, pitch = _held_frames(notes, n, skip_s)
  loud = loudness[index] >= np.max(loudness[:n]) - 40.0
  held = len(index)
  index, pitch = index[loud], pitch[loud]
  midi = 12.0 * np.log2(np.maximum(f0[index], 1e-3) / 440.0) + 69.0
  cents = 100.0 * np.abs(midi - pitch)
  return {'frames': held, 'scored': len(index),
          'within_50': float(np.mean(cents <= 50.0)),
          'median_cents': float(np.median(cents))}


def _chord_midi(path):
  import pretty_midi  # pylint: disable=g-import-not-at-top
  pm = pretty_midi.PrettyMIDI()
  inst = pretty_midi.Instrument(program=73)
  for pitch in CHORD:
    inst.notes.append(pretty_midi.Note(90, pitch, 0.1, 1.5))
  pm.instruments.append(inst)
  pm.write(path)


def _chord_peaks(audio, sample_rate):
  segment = audio[int(0.4 * sample_rate):int(1.2 * sample_rate)]
  spectrum = np.abs(np.fft.rfft(segment * np.hanning(len(segment))))
  db = 20 * np.log10(spectrum + 1e-9)
  freqs = np.fft.rfftfreq(len(segment), 1.0 / sample_rate)
  band = (freqs >= 100) & (freqs <= 1200)
  median = np.median(db[band])
  rows = []
  for pitch in CHORD:
    hz = 440.0 * 2 ** ((pitch - 69) / 12)
    near = np.nonzero(np.abs(1200 * np.log2(np.maximum(freqs, 1) / hz))
                      <= 30)[0]
    best = near[np.argmax(db[near])]
    rows.append((pitch, hz, freqs[best], db[best] - median))
  return rows


def _prepare_and_train(args, stage, flute_wav, tfrecord, model_dir,
                       work_dir):
  stage('prepare', lambda: _run([
      sys.executable, '-m',
      'ddsp.training.data_preparation.ddsp_prepare_tfrecord',
      f'--input_audio_filepatterns={flute_wav}',
      f'--output_tfrecord_path={tfrecord}', '--num_shards=1',
      '--example_secs=4', '--hop_secs=1', '--logtostderr'],
      os.path.join(work_dir, 'prepare.log')))
  stage('train', lambda: _run([
      sys.executable, '-m', 'ddsp.training.ddsp_run', '--mode=train',
      f'--save_dir={model_dir}', '--seed=0',
      '--gin_file=models/solo_instrument.gin',
      '--gin_file=datasets/tfrecord.gin',
      f"--gin_param=TFRecordProvider.file_pattern='{tfrecord}*'",
      f'--gin_param=batch_size={args.batch_size}',
      f'--gin_param=learning_rate={args.learning_rate}',
      f'--gin_param=train.num_steps={args.steps}',
      f'--gin_param=train.steps_per_save={args.steps}',
      f'--gin_param=train.steps_per_summary={min(args.steps, 50)}',
      '--gin_param=train.progress_bar=False',
      f'--gin_param=RnnFcDecoder.rnn_channels={args.channels}',
      f'--gin_param=RnnFcDecoder.ch={args.channels}',
      '--logtostderr'], os.path.join(work_dir, 'train.log')))


def main():
  args = _parse_args()
  work_dir = os.path.abspath(args.work_dir or tempfile.mkdtemp(
      prefix='ddsp_bench_render_midi_'))
  os.makedirs(work_dir, exist_ok=True)
  flute_wav, flute_mid = bench_data.find('flute.wav'), bench_data.find(
      'flute.mid')
  data_dir, model_dir = (os.path.join(work_dir, d) for d in ('data', 'model'))
  for d in (data_dir, model_dir):
    if os.path.exists(d) and os.listdir(d) and not args.reuse:
      sys.exit(f'{d} is not empty: choose another --work_dir (or --reuse)')
  os.makedirs(data_dir, exist_ok=True)
  tfrecord = os.path.join(data_dir, 'train.tfrecord')
  times = {}

  def stage(name, fn):
    print(f'== {name} ...', flush=True)
    start = time.perf_counter()
    value = fn()
    times[name] = time.perf_counter() - start
    print(f'   done in {times[name]:.0f} s', flush=True)
    return value

  if not args.reuse:
    _prepare_and_train(args, stage, flute_wav, tfrecord, model_dir, work_dir)

  # pylint: disable=g-import-not-at-top
  from ddsp.training import data
  from ddsp.training import postprocessing
  from ddsp.training import render_midi
  # pylint: enable=g-import-not-at-top
  stage('statistics', lambda: postprocessing.save_dataset_statistics(
      data.TFRecordProvider(tfrecord + '*'), model_dir))

  notes = render_midi.read_midi(flute_mid)['notes']
  skip = args.skip_ms / 1000.0
  results = {}
  for mode in ('offline', 'streaming'):
    out_path = os.path.join(work_dir, f'flute_midi_{mode}.wav')
    result = stage(f'render flute.mid ({mode})', lambda m=mode, o=out_path:
                   render_midi.render_midi(model_dir, flute_mid, o,
                                           streaming=m == 'streaming',
                                           block_size=args.block_size))
    results[mode] = (result, stage(
        f'CREPE on the {mode} render', lambda r=result: _score_f0(
            r['audio'], r['sample_rate'], notes, skip, args.crepe_model)))
  recording, sr = soundfile.read(str(flute_wav), dtype='float32')
  reference = stage('CREPE on flute.wav', lambda: _score_f0(
      recording, sr, notes, skip, args.crepe_model))
  chord_path = os.path.join(work_dir, 'chord.mid')
  _chord_midi(chord_path)
  chord = stage('render the chord', lambda: render_midi.render_midi(
      model_dir, chord_path, os.path.join(work_dir, 'chord.wav')))
  peaks = _chord_peaks(chord['audio'], chord['sample_rate'])

  print()
  print(f'model: solo_instrument.gin, {args.steps} steps, batch '
        f'{args.batch_size}, decoder {args.channels} units, trained on '
        f'flute.wav ({len(recording) / sr:.0f} s); work dir {work_dir}')
  print(f'flute.mid: {len(notes)} notes; held part = {args.skip_ms:.0f} ms '
        'after onset to offset, frames within 40 dB of the loudest; CREPE-'
        f'{args.crepe_model}, 250 frames/s')
  print()
  print(f'| {"audio":<34} | voices | held frames | scored | within 50 '
        'cents | median error (cents) |')
  print(f'|{"-" * 36}|--------|-------------|--------|-----------------|'
        '----------------------|')
  rows = [('render_midi offline', results['offline']),
          (f'render_midi streaming (block {args.block_size})',
           results['streaming'])]
  for label, (result, s) in rows:
    print(f'| {label:<34} | {result["n_voices"]:>6} | {s["frames"]:>11} | '
          f'{s["scored"]:>6} | {100 * s["within_50"]:>14.1f} % | '
          f'{s["median_cents"]:>20.1f} |')
  print(f'| {"flute.wav (the recording)":<34} | {"":>6} | '
        f'{reference["frames"]:>11} | {reference["scored"]:>6} | '
        f'{100 * reference["within_50"]:>14.1f} % | '
        f'{reference["median_cents"]:>20.1f} |')
  print()
  print(f'chord G4 B4 D5 (one MIDI track): {chord["n_voices"]} voices')
  print('| note | fundamental (Hz) | peak found (Hz) | height above band '
        'median (dB) |')
  print('|------|------------------|-----------------|-------------------'
        '-----------|')
  for pitch, hz, found, height in peaks:
    print(f'| {pitch:>4} | {hz:>16.1f} | {found:>15.1f} | {height:>28.1f} |')
  print()
  print('wall times: ' + ', '.join(f'{k} {v:.0f} s' for k, v in times.items()))


if __name__ == '__main__':
  main()
