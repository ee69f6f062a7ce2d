"""MIDI autoencoder benchmark: train it on recordings, score its notes.

Trains `models.MidiAutoencoder` as configured by the packaged
`models/midiae/midiae.gin` with `models/midiae/mixins/midi_encoder.gin` (the
note latent learned by a `HarmonicToMidiEncoder` from the synthcoder's synth
params, not read from the dataset), at a reduced width (`--channels`), on
the instrument recordings of ../shared/data (violin_train, flute and
trumpet by default; found as bench_data.py says), then transcribes held-out
audio and scores the notes against the ground truth (`NAME.notes.csv`)
with `metrics.MidiMetrics` (mir_eval note matching: onset within 50 ms,
pitch within 50 cents; full note also offset within max(50 ms, 20 % of the
note); frame activity):

1. each clip is cut into a training part (the first `--train_fraction`) and
   a held-out part; both into `--example_secs` examples (training ones with
   50 % overlap);
2. features: f0 from CREPE (`--f0=crepe`, the `--crepe_model` size, cached
   in `--cache_dir`) or the score's f0 (`--f0=truth`, NAME.f0_250hz.npy),
   loudness from the audio; the true notes as a piano roll at 250 frames/s
   (velocity / 127);
3. `--steps` Adam steps at `--batch_size` on the losses of the gin config;
4. at step 0 and at the end, on the held-out examples, three transcriptions:
   'learned' (the model's quantized pitch latent, `MidiAutoencoderEvaluator`),
   'heuristic' (`heuristics.midi_heuristic` on the synthcoder's controls,
   `MidiHeuristicEvaluator`), and 'rounded f0' (a note wherever the input f0
   rounds to a MIDI pitch, no model: the baseline the latent must beat).

It prints one table: onset precision / recall / F1, full-note F1 and frame
F1 of each transcription before and after training, the final losses and
the wall times.

Cost on this 2-core machine class: the first training step traces the
graph (about 30 s on a quiet machine, 6 min at a load of 15 from other
jobs); after it, a step at the defaults (batch 8 of 2 s, 64 channels) takes
0.56 s quiet (forward 0.27 s; the synthcoder's forward and backward 0.11 s;
the rest is the synths, reverb and spectral loss of both branches) and about
1.9 s at a load of 15. CREPE-tiny (`--f0=crepe`) runs over the clips once,
about 3 min, cached; one held-out evaluation (eager) takes about 30 s. The
"17 s per step" of an earlier 15-step smoke run was mostly that tracing
spread over 15 steps, not the cost of a step.

Measured (one run each, CREPE-tiny f0, 256 training / 30 held-out examples,
64 channels, batch 8, load about 15): onset F1 of the learned latent 0.115
at step 0 -> 0.331 at step 400 (full-note F1 0.007 -> 0.255), heuristic
0.576 -> 0.753 (full-note 0.296 -> 0.588), rounded CREPE f0 0.386
(full-note 0.332): after 400 steps the learned latent is still below the
rounded-f0 baseline; the heuristic on the trained synthcoder's controls is
above it. A second run of 1200 steps (another initialization: 0.013 at step
0) reached 0.308 (full-note 0.211) for the learned latent, and its heuristic
fell from 0.750 to 0.463 (full-note 0.540 -> 0.189): a few hundred to a
thousand steps do not settle either transcription.

Usage (from the repository root):
  python benchmarks/bench_midi_ae.py                      # 300 steps
  python benchmarks/bench_midi_ae.py --steps=3 --f0=truth --max_secs=20  # smoke
      [--data_dir=../shared/data] [--clips=violin_train,flute,trumpet]
      [--channels=64] [--batch_size=8] [--example_secs=2]
      [--learning_rate=0.001] [--seed=0]
"""

import argparse
import csv
import os
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_data  # pylint: disable=g-import-not-at-top,wrong-import-position

FRAME_RATE = 250
SAMPLE_RATE = 16000
HOP = SAMPLE_RATE // FRAME_RATE


def parse_args(argv):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--data_dir', default=str(bench_data.recordings_dir()),
                      help='folder of the clips (see bench_data.py)')
  parser.add_argument('--clips', default='violin_train,flute,trumpet')
  parser.add_argument('--max_secs', type=float, default=None,
                      help='use at most this much of each clip')
  parser.add_argument('--train_fraction', type=float, default=0.8)
  parser.add_argument('--example_secs', type=float, default=2.0)
  parser.add_argument('--steps', type=int, default=300)
  parser.add_argument('--batch_size', type=int, default=8)
  parser.add_argument('--channels', type=int, default=64)
  parser.add_argument('--learning_rate', type=float, default=1e-3)
  parser.add_argument('--f0', choices=('crepe', 'truth'), default='crepe')
  parser.add_argument('--crepe_model', default='tiny')
  parser.add_argument('--cache_dir', default=os.path.join(
      os.environ.get('TMPDIR', '/tmp'), 'ddsp_bench_midi_ae'))
  parser.add_argument('--eval_batch', type=int, default=8)
  parser.add_argument('--seed', type=int, default=0)
  return parser.parse_args(argv)


def load_clip(data_dir, name, args):
  """audio [n], f0_hz [n_frames], notes piano roll [n_frames, 128]."""
  import soundfile  # pylint: disable=g-import-not-at-top
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  audio, rate = soundfile.read(str(data_dir / f'{name}.wav'),
                               dtype='float32')
  if rate != SAMPLE_RATE or audio.ndim != 1:
    raise ValueError(f'{name}.wav must be mono {SAMPLE_RATE} Hz.')
  if args.max_secs:
    audio = audio[:int(args.max_secs * SAMPLE_RATE)]
  n_frames = audio.size // HOP
  audio = audio[:n_frames * HOP]
  if args.f0 == 'truth':
    f0 = np.load(data_dir / f'{name}.f0_250hz.npy').astype(np.float32)
  else:
    os.makedirs(args.cache_dir, exist_ok=True)
    cache = pathlib.Path(args.cache_dir) / (
        f'{name}.{args.crepe_model}.{n_frames}.f0.npy')
    if cache.exists():
      f0 = np.load(cache)
    else:
      f0, _ = spectral_ops.compute_f0(audio, FRAME_RATE, padding='same',
                                      crepe_model=args.crepe_model)
      np.save(cache, f0)
  f0 = np.pad(f0[:n_frames], (0, max(0, n_frames - f0.size)))
  roll = np.zeros([n_frames, 128], np.float32)
  with open(data_dir / f'{name}.notes.csv') as f:
    for row in csv.DictReader(f):
      start = int(round(float(row['onset']) * FRAME_RATE))
      stop = int(round(float(row['offset']) * FRAME_RATE))
      roll[start:stop, int(row['pitch'])] = float(row['velocity']) / 127.0
  return audio, f0, roll


def cut(audio, f0, roll, start, stop, frames, hop_frames):
  """Examples of `frames` frames from frames [start, stop)."""
  examples = []
  for s in range(start, stop - frames + 1, hop_frames):
    examples.append({
        'audio': audio[s * HOP:(s + frames) * HOP],
        'f0_hz': f0[s:s + frames],
        'note_active_velocities': roll[s:s + frames]})
  return examples


def stack(examples):
  return {k: np.stack([e[k] for e in examples]) for k in examples[0]}


def build_model(args, frames):
  import gin  # pylint: disable=g-import-not-at-top
  from ddsp.training import gin as ddsp_gin  # pylint: disable=g-import-not-at-top
  from ddsp.training import models  # pylint: disable=g-import-not-at-top
  ch = args.channels
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  with gin.unlock_config():
    gin.parse_config_files_and_bindings(
        ['models/midiae/midiae.gin', 'models/midiae/mixins/midi_encoder.gin'],
        [f'F0LoudnessPreprocessor.time_steps = {frames}',
         f'Harmonic.n_samples = {frames * HOP}',
         f'FilteredNoise.n_samples = {frames * HOP}',
         f'DilatedConvDecoder.ch = {ch}', f'dec/DilatedConvStack.ch = {ch}',
         f'enc/DilatedConvStack.ch = {ch}'], finalize_config=False)
  return models.get_model()


def rounded_f0_pianoroll(f0_hz):
  """Baseline: a note wherever the f0 rounds to a MIDI pitch."""
  f0 = np.asarray(f0_hz).reshape(f0_hz.shape[0], -1)
  midi = np.round(69 + 12 * np.log2(np.maximum(f0, 1e-3) / 440.0))
  roll = np.zeros(f0.shape + (128,), np.float32)
  b, t = np.nonzero((f0 > 0) & (midi > 20) & (midi < 128))
  roll[b, t, midi[b, t].astype(int)] = 1.0
  return roll


def evaluate(model, examples, args):
  """{transcription: MidiMetrics results} on the held-out examples."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  from ddsp.training import evaluators  # pylint: disable=g-import-not-at-top
  from ddsp.training import metrics  # pylint: disable=g-import-not-at-top
  learned = evaluators.MidiAutoencoderEvaluator(SAMPLE_RATE, FRAME_RATE)
  heuristic = evaluators.MidiHeuristicEvaluator(SAMPLE_RATE, FRAME_RATE)
  baseline = metrics.MidiMetrics(FRAME_RATE, 'rounded_f0')
  losses = []
  for i in range(0, len(examples), args.eval_batch):
    batch = stack(examples[i:i + args.eval_batch])
    outputs, loss = model(batch, training=False, return_losses=True)
    losses.append(float(loss['total_loss']))
    learned.evaluate(batch, outputs, loss)
    heuristic.evaluate(batch, outputs, loss)
    baseline.update_state(batch, rounded_f0_pianoroll(batch['f0_hz']))
  writer = tf.summary.create_noop_writer()
  with writer.as_default():
    results = {'learned': learned.flush(0), 'heuristic': heuristic.flush(0),
               'rounded f0': baseline.flush(0)}
  return results, float(np.mean(losses))


def main(argv=None):
  args = parse_args(argv)
  data_dir = pathlib.Path(args.data_dir)
  clips = [c for c in args.clips.split(',') if c]
  missing = [str(data_dir / f'{c}{ext}') for c in clips
             for ext in ('.wav', '.notes.csv') + (
                 ('.f0_250hz.npy',) if args.f0 == 'truth' else ())
             if not (data_dir / f'{c}{ext}').exists()]
  if missing:
    print('bench_midi_ae: the benchmark data is absent; missing:\n  ' +
          '\n  '.join(missing) + '\n(The full recordings are not in the '
          f'repository: set {bench_data.ENV_VAR} or --data_dir to the folder '
          'with the instrument clips, their .notes.csv and .f0_250hz.npy.)')
    return 1
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  keras.utils.set_random_seed(args.seed)  # Keras 3 initializers too.
  rng = np.random.default_rng(args.seed)
  frames = int(round(args.example_secs * FRAME_RATE))

  t0 = time.time()
  train, heldout = [], []
  for name in clips:
    audio, f0, roll = load_clip(data_dir, name, args)
    split = int(f0.size * args.train_fraction)
    train += cut(audio, f0, roll, 0, split, frames, frames // 2)
    heldout += cut(audio, f0, roll, split, f0.size, frames, frames)
  if not train or not heldout:
    print('bench_midi_ae: the clips are too short for the examples.')
    return 1
  t_data = time.time() - t0

  model = build_model(args, frames)
  t0 = time.time()
  before, loss_before = evaluate(model, heldout, args)
  t_eval = time.time() - t0

  optimizer = keras.optimizers.Adam(args.learning_rate, global_clipnorm=3.0)

  @tf.function
  def train_step(batch):
    with tf.GradientTape() as tape:
      _, loss = model(batch, training=True, return_losses=True)
    variables = model.trainable_variables
    optimizer.apply_gradients(zip(tape.gradient(loss['total_loss'],
                                                variables), variables))
    return loss

  t0 = time.time()
  recent, step_times = [], []
  for step in range(args.steps):
    idx = rng.choice(len(train), args.batch_size, replace=False)
    batch = {k: tf.constant(v) for k, v in
             stack([train[i] for i in idx]).items()}
    t_step = time.time()
    loss = train_step(batch)
    recent = (recent + [{k: float(v) for k, v in loss.items()}])[-20:]
    step_times.append(time.time() - t_step)
  t_train = time.time() - t0
  after, loss_after = evaluate(model, heldout, args)

  print(f'\nMidiAutoencoder on {", ".join(clips)} ({args.f0} f0): '
        f'{len(train)} training / {len(heldout)} held-out examples of '
        f'{args.example_secs:g} s; {args.steps} steps at batch '
        f'{args.batch_size}, {args.channels} channels, '
        f'{model.count_params() if model.built else 0} parameters.\n')
  header = (f'| {"transcription":<13} | {"step":>5} | {"onset P":>7} | '
            f'{"onset R":>7} | {"onset F1":>8} | {"full-note F1":>12} | '
            f'{"frame F1":>8} |')
  print(header)
  print('|' + '|'.join('-' * (len(c)) for c in header.split('|')[1:-1]) +
        '|')
  rows = [('learned', 'learned', 0, before), ('learned', 'learned',
                                               args.steps, after),
          ('heuristic', 'heuristic', 0, before),
          ('heuristic', 'heuristic', args.steps, after),
          ('rounded f0', 'rounded_f0', '-', after)]  # No model: one row.
  for name, tag, step, results in rows:
    r = {k.split(f'metrics/midi/{tag}/')[1]: v
         for k, v in results[name].items()}
    print(f'| {name:<13} | {step:>5} | {r["onset/precision"]:7.3f} | '
          f'{r["onset/recall"]:7.3f} | {r["onset/f1"]:8.3f} | '
          f'{r["full_note/f1"]:12.3f} | {r["frame/f1"]:8.3f} |')
  final = {k: np.mean([r[k] for r in recent]) for k in recent[-1]} if (
      recent) else {}
  print(f'\nheld-out total loss: {loss_before:.2f} at step 0, '
        f'{loss_after:.2f} at step {args.steps}')
  if final:
    print('training losses (mean of the last 20 steps): ' + ', '.join(
        f'{k} {v:.3f}' for k, v in sorted(final.items())))
  first = step_times[0] if step_times else 0.0
  later = float(np.median(step_times[1:])) if len(step_times) > 1 else 0.0
  print(f'wall time: data {t_data:.1f} s, one evaluation {t_eval:.1f} s, '
        f'training {t_train:.1f} s (first step, with tracing, {first:.1f} s; '
        f'median of the others {later:.2f} s)')
  return 0


if __name__ == '__main__':
  sys.exit(main())
