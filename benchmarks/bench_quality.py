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
   * loudness error split by the input's level: L1 and mean signed error
     (output - input, dB) on the frames within 10, 20, 35 and 50 dB of the
     input's loudest frame, and the output's level on rests (input more than
     60 dB below its peak);
   * the levels (rms, dBFS) of the input, the output, the harmonic
     synthesizer, the filtered noise and the reverb's wet signal, from the
     model run on the held-out features (a harmonic synth far below the
     output means that training collapsed onto noise and reverb).
`--seeds=2,0,1,3,4` trains and scores one model per seed on the same data
(model_seed<N>/ in the work folder) and adds the median over seeds.
It prints one table with these (a column per seed), the final training loss
(the mean total loss of the last summary window of 20 steps, read from the
TensorBoard summaries) and the wall time of each stage.

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
      [--seeds=2,0,1,3,4]                                 # several seeds
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
  p.add_argument('--seeds', default=None,
                 help='comma-separated seeds (e.g. 2,0,1,3,4): train and score '
                      'one model per seed on the same data, print every seed '
                      'and the median over seeds (overrides --seed)')
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
  try:
    args.seed_list = ([int(v) for v in args.seeds.split(',')]
                      if args.seeds is not None else [args.seed])
  except ValueError:
    p.error(f'--seeds must be comma-separated integers, got {args.seeds!r}')
  if not args.seed_list or min(args.seed_list) < 0 or len(
      set(args.seed_list)) != len(args.seed_list):
    p.error(f'--seeds must be distinct integers >= 0, got {args.seeds!r}')
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


LEVEL_BANDS_DB = (10, 20, 35, 50)
SILENT_BELOW_PEAK_DB = 60


def _loudness_by_level(x, y, sr, fr):
  """Loudness error (output - input, dB) split by the input's level.

  For each band b of LEVEL_BANDS_DB, the frames whose input loudness is within
  b dB of the input's loudest frame: their L1 and mean signed error. Also the
  output's mean loudness (dB above the input's peak, negative) on the frames
  where the input is more than SILENT_BELOW_PEAK_DB below its peak (rests).
  """
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  lx = spectral_ops.compute_loudness(x, sample_rate=sr, frame_rate=fr,
                                     use_tf=False).astype(np.float64)
  ly = spectral_ops.compute_loudness(y, sample_rate=sr, frame_rate=fr,
                                     use_tf=False).astype(np.float64)
  peak = lx.max()
  out = {}
  for band in LEVEL_BANDS_DB:
    mask = lx >= peak - band
    err = ly[mask] - lx[mask]
    out[f'ld_l1_{band}'] = float(np.mean(np.abs(err)))
    out[f'ld_signed_{band}'] = float(np.mean(err))
    out[f'ld_frames_{band}'] = int(mask.sum())
  rest = lx < peak - SILENT_BELOW_PEAK_DB
  out['rest_out_db'] = (float(np.mean(ly[rest]) - peak) if rest.any()
                        else float('nan'))
  out['rest_frames'] = int(rest.sum())
  return out


def _rms_db(x):
  return float(20 * np.log10(np.sqrt(np.mean(np.square(x))) + 1e-12))


def _synth_levels(model_dir, result):
  """RMS (dBFS) of each processor's signal for the resynthesis's features."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from ddsp.training import timbre_transfer  # pylint: disable=g-import-not-at-top
  features = result['features']
  n_frames = len(features['f0_hz'])
  loaded = timbre_transfer.load_model(model_dir, n_frames=n_frames)
  model = loaded['model']
  inputs = {k: tf.constant(np.asarray(features[k], np.float32)[np.newaxis])
            for k in ('f0_hz', 'f0_confidence', 'loudness_db')}
  model(inputs, training=False)
  loaded['restore']()
  outputs = model.get_outputs(inputs, training=False)
  levels = {}
  for name in ('harmonic', 'filtered_noise', 'add', 'reverb'):
    value = outputs.get(name)
    if isinstance(value, dict) and 'signal' in value:
      levels[name] = np.asarray(value['signal'])[0]
  out = {f'{k}_db': _rms_db(v) for k, v in levels.items()}
  if 'reverb' in levels and 'add' in levels:
    out['wet_db'] = _rms_db(levels['reverb'] - levels['add'])
  return out


def _score(result, model_dir):
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
  out.update(_loudness_by_level(x, y, sr, fr))
  out['input_db'] = _rms_db(x)
  out['output_db'] = _rms_db(y)
  out.update(_synth_levels(model_dir, result))
  return out


def _train_and_score(args, seed, tfrecord, heldout_path, work_dir, times):
  """Trains one model with `seed`; returns (rows {metric: text}, values)."""
  model_dir = os.path.join(work_dir, f'model_seed{seed}')
  shutil.rmtree(model_dir, ignore_errors=True)
  os.makedirs(model_dir)
  pathlib.Path(model_dir, _MARKER).touch()
  summary_every = min(args.steps, SUMMARY_EVERY)

  def stage(name, fn):
    print(f'== seed {seed}: {name} ...', flush=True)
    start = time.perf_counter()
    value = fn()
    times[name] = times.get(name, 0.0) + time.perf_counter() - start
    print(f'   done in {time.perf_counter() - start:.0f} s', flush=True)
    return value

  stage('train', lambda: _run([
      sys.executable, '-m', 'ddsp.training.ddsp_run', '--mode=train',
      f'--save_dir={model_dir}', f'--seed={seed}',
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
      '--logtostderr'], os.path.join(work_dir, f'train_seed{seed}.log')))
  scalars = _last_scalars(os.path.join(model_dir, 'summaries', 'train'))

  def resynthesize():
    from ddsp.training import timbre_transfer  # pylint: disable=g-import-not-at-top
    return timbre_transfer.timbre_transfer(
        model_dir, heldout_path,
        os.path.join(work_dir, f'heldout_output_seed{seed}.wav'),
        adjust=False, analyze_output=True, crepe_model='tiny')
  result = stage('resynthesize', resynthesize)
  scores = stage('score', lambda: _score(result, model_dir))

  step, total_loss = scalars.get('losses/total_loss', (0, float('nan')))
  steps_per_sec = scalars.get('steps_per_sec', (0, float('nan')))[1]
  aligned = scores['aligned']
  values = [
      ('final training loss', total_loss, '.3f'),
      ('training time per step (s)', 1.0 / steps_per_sec, '.2f'),
      ('multi-scale spectral loss', scores['spectral_loss'], '.3f'),
      ('loudness L1 (dB)', scores['loudness_db'], '.2f'),
      ('f0 L1 (cents)', scores['f0_dist_cents'], '.1f'),
      ('f0 outlier ratio', scores['outlier_ratio'], '.3f'),
      ('raw pitch accuracy (50 cents)', scores['raw_pitch_accuracy'], '.3f'),
      ('aligned f0: within 50 cents', aligned['f0_within_50_cents'], '.3f'),
      ('aligned f0: median error (cents)', aligned['f0_median_abs_cents'],
       '.1f'),
      ('aligned f0: lag (ms)', aligned['f0_lag_ms'], '+.0f'),
  ]
  for band in LEVEL_BANDS_DB:
    values.append((f'loudness L1, input within {band} dB of peak',
                   scores[f'ld_l1_{band}'], '.2f'))
  for band in LEVEL_BANDS_DB:
    values.append((f'loudness signed error, within {band} dB (dB)',
                   scores[f'ld_signed_{band}'], '+.2f'))
  values.append((f'output on rests (input < peak - {SILENT_BELOW_PEAK_DB} '
                 'dB), dB re input peak', scores['rest_out_db'], '+.1f'))
  values.append(('input rms (dBFS)', scores['input_db'], '.1f'))
  values.append(('output rms (dBFS)', scores['output_db'], '.1f'))
  for key, label in (('harmonic_db', 'harmonic synth rms (dBFS)'),
                     ('filtered_noise_db', 'filtered noise rms (dBFS)'),
                     ('wet_db', 'reverb wet rms (dBFS)')):
    if key in scores:
      values.append((label, scores[key], '.1f'))
  notes = (f'{scores["segments"]} segments of {SEGMENT_SECS:.0f} s '
           f'({scores["segments_scored"]} with a confident pitch); loss '
           f'= mean of steps {step - summary_every + 1}-{step}; f0 frames '
           f'{aligned["f0_frames"]}; loudness frames per band '
           + ', '.join(str(scores[f'ld_frames_{b}']) for b in LEVEL_BANDS_DB)
           + f'; output {result["output_path"]}')
  return values, notes


def main():
  args = _parse_args()
  work_dir = args.work_dir or tempfile.mkdtemp(prefix='ddsp_bench_quality_')
  work_dir = os.path.abspath(work_dir)
  os.makedirs(work_dir, exist_ok=True)
  data_dir = os.path.join(work_dir, 'data')
  for d in [data_dir] + [os.path.join(work_dir, f'model_seed{s}')
                         for s in args.seed_list]:
    if os.path.exists(d) and os.listdir(d) and not os.path.exists(
        os.path.join(d, _MARKER)):
      sys.exit(f'{d} exists and was not made by this script; choose another '
               '--work_dir')
  shutil.rmtree(data_dir, ignore_errors=True)
  os.makedirs(data_dir)
  pathlib.Path(data_dir, _MARKER).touch()
  times = {}

  def stage(name, fn):
    print(f'== {name} ...', flush=True)
    start = time.perf_counter()
    value = fn()
    times[name] = time.perf_counter() - start
    print(f'   done in {times[name]:.0f} s', flush=True)
    return value

  _, heldout_path, train_s, heldout_s = stage(
      'split', lambda: _split(args.train_audio, args.heldout_secs,
                              args.train_secs, work_dir))
  print(f'   training part {train_s:.1f} s, held-out part {heldout_s:.1f} s '
        f'(in {work_dir})')
  train_path = os.path.join(work_dir, 'train.wav')
  tfrecord = os.path.join(data_dir, 'train.tfrecord')
  stage('prepare', lambda: _run([
      sys.executable, '-m',
      'ddsp.training.data_preparation.ddsp_prepare_tfrecord',
      f'--input_audio_filepatterns={train_path}',
      f'--output_tfrecord_path={tfrecord}', '--num_shards=1',
      '--example_secs=4', '--hop_secs=1', '--logtostderr'],
      os.path.join(work_dir, 'prepare.log')))

  per_seed, notes = {}, {}
  for seed in args.seed_list:
    per_seed[seed], notes[seed] = _train_and_score(
        args, seed, tfrecord, heldout_path, work_dir, times)
    # Each seed's figures as soon as they are known (the table follows).
    print(f'   seed {seed}: ' + '; '.join(
        f'{label} {format(value, fmt)}'
        for label, value, fmt in per_seed[seed]), flush=True)

  seeds = args.seed_list
  labels = [label for label, _, _ in per_seed[seeds[0]]]
  header = [f'seed {s}' for s in seeds] + (['median'] if len(seeds) > 1
                                           else [])
  table = []
  for i, label in enumerate(labels):
    fmt = per_seed[seeds[0]][i][2]
    column = [per_seed[s][i][1] for s in seeds]
    cells = [format(v, fmt) for v in column]
    if len(seeds) > 1:
      cells.append(format(float(np.nanmedian(column)), fmt))
    table.append((label, cells))
  width = max(len(label) for label, _ in table)
  cell = max(10, max(len(c) for _, cells in table for c in cells))
  print()
  print(f'training: {args.steps} steps, batch {args.batch_size}, decoder '
        f'{args.channels} units, {train_s:.0f} s of audio; held-out clip '
        f'{heldout_s:.1f} s ({heldout_path})')
  print(f'{"metric":<{width}}  ' + '  '.join(f'{h:>{cell}}' for h in header))
  print(f'{"-" * width}  ' + '  '.join('-' * cell for _ in header))
  for label, cells in table:
    print(f'{label:<{width}}  ' + '  '.join(f'{c:>{cell}}' for c in cells))
  print()
  for s in seeds:
    print(f'seed {s}: {notes[s]}')
  print('wall time: ' + ', '.join(f'{k} {v:.0f} s' for k, v in times.items())
        + f', total {sum(times.values()):.0f} s')


if __name__ == '__main__':
  main()
