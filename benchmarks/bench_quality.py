"""Quality benchmark: train the solo-instrument model, score a held-out phrase.

Runs the main job's stages (scripts/main_job.sh) on a recording and scores the
resynthesis of a part of it that training never sees:

1. cut the recording (default violin_train.wav of the full recordings, 188 s
   of solo violin, found as bench_data.py says) into a training part and a held-out part, its last
   `--heldout_secs` seconds (12 s by default), both written to `--work_dir`;
2. `ddsp_prepare_tfrecord` on the training part: CREPE f0 and loudness, 4 s
   examples every 1 s;
3. `ddsp_run --mode=train` with models/solo_instrument.gin (harmonic +
   filtered noise + trainable reverb, spectral loss), `--steps` steps at
   `--batch_size` with a decoder of `--channels` units (GRU and MLPs);
4. `timbre_transfer(..., adjust=False)` (as `ddsp_timbre_transfer --noadjust`):
   the held-out part resynthesized from its own f0 and loudness;
5. metrics of the resynthesis against the held-out input:
   * multi-scale spectral loss: `ddsp.losses.SpectralLoss` with its default
     FFT sizes (2048 ... 64), L1 of magnitudes plus log magnitudes (the
     training loss), over the whole held-out clip;
   * loudness L1 (dB), f0 L1 (cents) and outlier ratio from
     `ddsp.training.metrics` (`LoudnessMetrics`, `F0CrepeMetrics` with
     CREPE-tiny on both input and output), per 4 s segment of the held-out
     clip and averaged, as the published evaluation does per example (the
     outlier ratio counts segments whose f0 is off by more than an octave;
     segments without a confident reference pitch are skipped);
   * for information, `timbre_transfer.transfer_metrics`: the fraction of
     confident frames within 50 cents and the median error after the best
     output latency (within 50 ms) is found.
It prints one table with these, the training steps, the wall time of each
stage and the final training loss (the mean total loss of the last summary
window of 20 steps, read from the TensorBoard summaries).

Default: 4000 steps at batch 4 with the 128-unit decoder (the main job's
width), which fits in an hour on this 2-core machine class: 0.26 s per step
on a quiet machine (1800 steps trained in 483 s; 4000 steps about 18 minutes)
and 0.52 s per step when the machine is shared (35 to 55 minutes), plus
35 s to 3 minutes to prepare the 176 s of training audio and under a minute
to resynthesize and score. The paper's
512-unit decoder (`--channels=512`) measured 1.67 s per step at batch 4
(about 3.2 times as much), so it reaches about 1200 steps in that hour.
Numbers from this dataset (synthesized from recorded
samples, dry) are not comparable with published figures.

Usage (from the repository root):
  python benchmarks/bench_quality.py                      # within an hour
  python benchmarks/bench_quality.py --steps=20 --train_secs=30  # smoke run
      [--train_audio=F] [--heldout_secs=12] [--channels=128] [--batch_size=4]
      [--learning_rate=0.0003] [--work_dir=DIR] [--seed=0]
"""

import argparse
import glob
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import bench_data  # pylint: disable=g-import-not-at-top
import numpy as np  # pylint: disable=g-import-not-at-top
import soundfile  # pylint: disable=g-import-not-at-top

REPO = pathlib.Path(__file__).resolve().parents[1]
DEFAULT_AUDIO = bench_data.recordings_dir() / 'violin_train.wav'
SEGMENT_SECS = 4.0
SUMMARY_EVERY = 20
_MARKER = '.ddsp_bench_quality'


def _parse_args():
  p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
  p.add_argument('--train_audio', default=str(DEFAULT_AUDIO),
                 help='recording to train on; its end is held out')
  p.add_argument('--heldout_secs', type=float, default=12.0,
                 help='seconds at the end of the recording held out (12)')
  p.add_argument('--train_secs', type=float, default=None,
                 help='use only the first N s of the training part (all)')
  p.add_argument('--steps', type=int, default=4000,
                 help='training steps (4000: 18 to 55 min on 2 cores)')
  p.add_argument('--batch_size', type=int, default=4)
  p.add_argument('--channels', type=int, default=128,
                 help='decoder GRU and MLP width (128; the paper: 512)')
  p.add_argument('--learning_rate', type=float, default=3e-4)
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--work_dir', default=None,
                 help='folder for the data, model and audio (a new temporary '
                      'folder by default); its data/ and model/ are replaced')
  args = p.parse_args()
  for name in ('steps', 'batch_size', 'channels'):
    if getattr(args, name) <= 0:
      p.error(f'--{name} must be a positive integer, got {getattr(args, name)}')
  if args.heldout_secs < SEGMENT_SECS:
    p.error(f'--heldout_secs must be at least {SEGMENT_SECS}, got '
            f'{args.heldout_secs}')
  if not os.path.isfile(args.train_audio):
    if args.train_audio == str(DEFAULT_AUDIO):
      p.error(bench_data.missing_message('violin_train.wav') +
              '; or pass --train_audio')
    p.error(f'no such audio file: {args.train_audio}')
  return args


def _run(cmd, log_path):
  """Runs a command from the repository root, its output to `log_path`."""
  with open(log_path, 'w', encoding='utf-8') as log:
    proc = subprocess.run(cmd, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                          check=False)
  if proc.returncode:
    with open(log_path, encoding='utf-8') as f:
      tail = f.read()[-3000:]
    sys.exit(f'{cmd[2]} failed (exit {proc.returncode}); end of '
             f'{log_path}:\n{tail}')


def _split(path, heldout_secs, train_secs, work_dir):
  audio, sr = soundfile.read(path, dtype='float32', always_2d=True)
  audio = audio.mean(axis=1)
  n_heldout = int(round(heldout_secs * sr))
  if len(audio) < n_heldout + int(2 * SEGMENT_SECS * sr):
    sys.exit(f'{path} is {len(audio) / sr:.1f} s long: too short to hold out '
             f'{heldout_secs} s and train on the rest.')
  train, heldout = audio[:-n_heldout], audio[-n_heldout:]
  if train_secs is not None:
    train = train[:int(round(train_secs * sr))]
  train_path = os.path.join(work_dir, 'train.wav')
  heldout_path = os.path.join(work_dir, 'heldout_input.wav')
  soundfile.write(train_path, train, sr)
  soundfile.write(heldout_path, heldout, sr)
  return train_path, heldout_path, len(train) / sr, len(heldout) / sr


def _last_scalars(summary_dir):
  """{tag: (step, value)} of the last value of each scalar in the summaries."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  tf.get_logger().setLevel('ERROR')
  last = {}
  for path in sorted(glob.glob(os.path.join(summary_dir, 'events.out.*'))):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if not value.HasField('tensor'):
          continue
        array = tf.make_ndarray(value.tensor)
        if array.size != 1 or array.dtype.kind not in 'fiu':
          continue  # Text (the gin config) or images.
        step = int(event.step)
        if value.tag not in last or step >= last[value.tag][0]:
          last[value.tag] = (step, float(array.reshape(())))
  return last


def _segments(audio, n):
  """[n_segments, n] rows of `audio` (the tail shorter than n is dropped)."""
  k = len(audio) // n
  return np.asarray(audio[:k * n], np.float32).reshape(k, n)


def _score(result):
  """Metrics of a `timbre_transfer` result (resynthesis vs input)."""
  from ddsp import losses  # pylint: disable=g-import-not-at-top
  from ddsp.training import metrics  # pylint: disable=g-import-not-at-top
  from ddsp.training import timbre_transfer  # pylint: disable=g-import-not-at-top
  sr, fr = result['sample_rate'], result['frame_rate']
  x, y = result['input_audio'], result['audio']
  spectral = losses.SpectralLoss(loss_type='L1', mag_weight=1.0,
                                 logmag_weight=1.0)
  out = {'spectral_loss': float(spectral(x[np.newaxis], y[np.newaxis]))}
  n = int(round(SEGMENT_SECS * sr))
  xs, ys = _segments(x, n), _segments(y, n)
  loudness = metrics.LoudnessMetrics(sr, fr)
  loudness.update_state({'audio': xs}, ys)
  f0 = metrics.F0CrepeMetrics(sr, fr, crepe_model='tiny')
  per_segment = f0.update_state({'audio': xs}, ys)
  out.update(loudness.result())
  out.update(f0.result())
  out['segments'] = len(xs)
  out['segments_scored'] = sum(s is not None for s in per_segment)
  out['aligned'] = timbre_transfer.transfer_metrics(result)
  return out


def main():
  args = _parse_args()
  work_dir = args.work_dir or tempfile.mkdtemp(prefix='ddsp_bench_quality_')
  work_dir = os.path.abspath(work_dir)
  os.makedirs(work_dir, exist_ok=True)
  data_dir = os.path.join(work_dir, 'data')
  model_dir = os.path.join(work_dir, 'model')
  for d in (data_dir, model_dir):
    if os.path.exists(d) and os.listdir(d) and not os.path.exists(
        os.path.join(d, _MARKER)):
      sys.exit(f'{d} exists and was not made by this script; choose another '
               '--work_dir')
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    pathlib.Path(d, _MARKER).touch()
  times = {}

  def stage(name, fn):
    print(f'== {name} ...', flush=True)
    start = time.perf_counter()
    value = fn()
    times[name] = time.perf_counter() - start
    print(f'   done in {times[name]:.0f} s', flush=True)
    return value

  train_path, heldout_path, train_s, heldout_s = stage(
      'split', lambda: _split(args.train_audio, args.heldout_secs,
                              args.train_secs, work_dir))
  print(f'   training part {train_s:.1f} s, held-out part {heldout_s:.1f} s '
        f'(in {work_dir})')

  tfrecord = os.path.join(data_dir, 'train.tfrecord')
  stage('prepare', lambda: _run([
      sys.executable, '-m',
      'ddsp.training.data_preparation.ddsp_prepare_tfrecord',
      f'--input_audio_filepatterns={train_path}',
      f'--output_tfrecord_path={tfrecord}', '--num_shards=1',
      '--example_secs=4', '--hop_secs=1', '--logtostderr'],
      os.path.join(work_dir, 'prepare.log')))

  summary_every = min(args.steps, SUMMARY_EVERY)
  stage('train', lambda: _run([
      sys.executable, '-m', 'ddsp.training.ddsp_run', '--mode=train',
      f'--save_dir={model_dir}', f'--seed={args.seed}',
      '--gin_file=models/solo_instrument.gin',
      '--gin_file=datasets/tfrecord.gin',
      f"--gin_param=TFRecordProvider.file_pattern='{tfrecord}*'",
      f'--gin_param=batch_size={args.batch_size}',
      f'--gin_param=learning_rate={args.learning_rate}',
      f'--gin_param=train.num_steps={args.steps}',
      f'--gin_param=train.steps_per_save={args.steps}',
      f'--gin_param=train.steps_per_summary={summary_every}',
      '--gin_param=train.progress_bar=False',
      f'--gin_param=RnnFcDecoder.rnn_channels={args.channels}',
      f'--gin_param=RnnFcDecoder.ch={args.channels}',
      '--logtostderr'], os.path.join(work_dir, 'train.log')))
  scalars = _last_scalars(os.path.join(model_dir, 'summaries', 'train'))

  def resynthesize():
    from ddsp.training import timbre_transfer  # pylint: disable=g-import-not-at-top
    return timbre_transfer.timbre_transfer(
        model_dir, heldout_path, os.path.join(work_dir, 'heldout_output.wav'),
        adjust=False, analyze_output=True, crepe_model='tiny')
  result = stage('resynthesize', resynthesize)
  scores = stage('score', lambda: _score(result))

  step, total_loss = scalars.get('losses/total_loss', (0, float('nan')))
  steps_per_sec = scalars.get('steps_per_sec', (0, float('nan')))[1]
  aligned = scores['aligned']
  rows = [
      ('training steps', f'{args.steps} (batch {args.batch_size}, decoder '
                         f'{args.channels} units, {train_s:.0f} s of audio)'),
      ('final training loss', f'{total_loss:.3f} (mean of steps '
                              f'{step - summary_every + 1}-{step})'),
      ('training time per step', f'{1.0 / steps_per_sec:.2f} s (last '
                                 f'{summary_every} steps)'),
      ('held-out clip', f'{heldout_s:.1f} s, {scores["segments"]} segments '
                        f'of {SEGMENT_SECS:.0f} s ({scores["segments_scored"]}'
                        ' with a confident pitch)'),
      ('multi-scale spectral loss', f'{scores["spectral_loss"]:.3f}'),
      ('loudness L1 (dB)', f'{scores["loudness_db"]:.2f}'),
      ('f0 L1 (cents)', f'{scores["f0_dist_cents"]:.1f}'),
      ('f0 outlier ratio', f'{scores["outlier_ratio"]:.3f}'),
      ('raw pitch accuracy (50 cents)',
       f'{scores["raw_pitch_accuracy"]:.3f}'),
      ('aligned f0: within 50 cents',
       f'{aligned["f0_within_50_cents"]:.3f} (lag '
       f'{aligned["f0_lag_ms"]:+.0f} ms, {aligned["f0_frames"]} frames)'),
      ('aligned f0: median error (cents)',
       f'{aligned["f0_median_abs_cents"]:.1f}'),
  ]
  rows += [(f'wall time: {k}', f'{v:.0f} s') for k, v in times.items()]
  rows.append(('wall time: total', f'{sum(times.values()):.0f} s'))
  width = max(len(k) for k, _ in rows)
  print()
  print(f'{"metric":<{width}}  value')
  print(f'{"-" * width}  {"-" * 40}')
  for k, v in rows:
    print(f'{k:<{width}}  {v}')
  print(f'\nAudio: {heldout_path} -> {result["output_path"]}')


if __name__ == '__main__':
  main()
