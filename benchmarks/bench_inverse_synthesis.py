"""Pitch accuracy of InverseSynthesis (DDSP-inv) pretrained on synthetic notes.

1. draws `--n_examples` synthetic notes with
   `synthetic_data.generate_notes_v2` (the ICML 2020 generator; `--frames`
   frames per example at 31.25 frames/s, 100 harmonics, 65 noise bands);
2. builds the model from the packaged `papers/icml2020/pretrain_model.gin`
   (ResNet sinusoidal encoder of `--size` over `--mel_bins` log-mel bins
   predicting `--n_sinusoids` sinusoids, RnnSandwich harmonic encoder of
   `--rnn_ch` units; examples of `--frames * 512` samples; the published
   model is `--size=small --mel_bins=229 --n_sinusoids=100 --rnn_ch=512
   --frames=125`, about 60 M weights) and pretrains it
   for `--steps` steps at `--batch_size` with `trainers.Trainer` (Adam,
   `--learning_rate`);
3. scores the f0 it predicts:
   * on `--n_heldout` held-out synthetic notes: the share of voiced frames
     (amplitude above 1e-3) within 50 cents of the true f0;
   * on ../shared/data/flute.wav (68 s of solo flute, MIDI 60-90): the share
     of voiced frames of `flute.f0_250hz.npy` (the score's f0, 250 frames/s)
     within 50 cents, each model frame compared with the ground-truth frame
     at its centre; and, for scale, the same share for a constant guess (the
     median voiced ground-truth f0).
It prints one table with these, the budget (steps, batch, examples, weights)
and the wall times. The paper pretrained ~1.2M steps at batch 64 on 10M
examples; the default here (a few minutes of 2 CPU cores) is far from that,
so read the figures as a smoke test of the pipeline, not a reproduction. The
synthetic notes stop at MIDI 84 and the f0 head at 1200 Hz, so the top of the
flute's range (MIDI 85-90) cannot be reached by construction.

Usage (from the repository root):
  python benchmarks/bench_inverse_synthesis.py            # a few minutes
  python benchmarks/bench_inverse_synthesis.py --steps=20 # smoke run
      [--batch_size=8] [--frames=16] [--size=tiny] [--rnn_ch=64]
      [--n_examples=512] [--learning_rate=1e-3] [--data_dir=../shared/data]
"""

import argparse
import os
import pathlib
import sys
import time

import numpy as np

_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(_ROOT))
_HOP, _FFT, _SR = 512, 2048, 16000


def _parse_args():
  p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  p.add_argument('--steps', type=int, default=300)
  p.add_argument('--batch_size', type=int, default=8)
  p.add_argument('--frames', type=int, default=16,
                 help='frames per example (hop 512 samples at 16 kHz)')
  p.add_argument('--size', default='tiny', help='ResNet size')
  p.add_argument('--rnn_ch', type=int, default=64)
  p.add_argument('--n_sinusoids', type=int, default=32,
                 help='sinusoids of the encoder (published: 100)')
  p.add_argument('--mel_bins', type=int, default=64,
                 help='log-mel bins of the encoder input (published: 229)')
  p.add_argument('--eval_batch_size', type=int, default=32)
  p.add_argument('--n_examples', type=int, default=512)
  p.add_argument('--n_heldout', type=int, default=32)
  p.add_argument('--learning_rate', type=float, default=1e-3)
  p.add_argument('--seed', type=int, default=0)
  p.add_argument('--data_dir', default=str(_ROOT.parent / 'shared' / 'data'))
  return p.parse_args()


def _cents_ok(pred_hz, true_hz, tolerance=50.0):
  cents = 1200.0 * np.abs(np.log2(np.maximum(pred_hz, 1e-3) / true_hz))
  return cents <= tolerance


def _notes(n, frames, seed):
  from ddsp.training.data_preparation import synthetic_data  # pylint: disable=g-import-not-at-top
  c = synthetic_data.generate_notes_v2(n_batch=n, n_timesteps=frames,
                                       n_harmonics=100, n_mags=65, seed=seed)
  return {k: v.numpy() for k, v in c.items()}


def _synthetic_accuracy(model, notes, batch_size):
  ok, voiced = 0, 0
  n = notes['f0_hz'].shape[0]
  for start in range(0, n, batch_size):
    batch = {k: v[start:start + batch_size] for k, v in notes.items()}
    pred = model(batch)['f0_hz'].numpy()[..., 0]
    mask = batch['harm_amp'][..., 0] > 1e-3
    ok += int(_cents_ok(pred[mask], batch['f0_hz'][..., 0][mask]).sum())
    voiced += int(mask.sum())
  return ok / max(voiced, 1), voiced


def _flute_accuracy(model, data_dir, n_samples, batch_size):
  import soundfile as sf  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  audio, sr = sf.read(os.path.join(data_dir, 'flute.wav'), dtype='float32')
  if sr != _SR or audio.ndim != 1:
    raise ValueError(f'flute.wav must be 16 kHz mono; it is {sr} Hz, shape '
                     f'{audio.shape}.')
  truth = np.load(os.path.join(data_dir, 'flute.f0_250hz.npy'))
  n_chunks = int(np.ceil(len(audio) / n_samples))
  audio = np.pad(audio, [0, n_chunks * n_samples - len(audio)])
  chunks = audio.reshape(n_chunks, n_samples)
  preds = []
  for start in range(0, n_chunks, batch_size):
    out = model({'audio': tf.constant(chunks[start:start + batch_size])})
    preds.append(out['f0_hz'].numpy()[..., 0])
  pred = np.concatenate(preds, 0)  # [n_chunks, frames]
  frames = pred.shape[1]
  centres = (np.arange(n_chunks)[:, None] * n_samples
             + np.arange(frames)[None] * _HOP + _FFT / 2) / _SR
  index = np.round(centres * 250.0).astype(int)
  valid = index < len(truth)
  true = truth[np.minimum(index, len(truth) - 1)]
  voiced = valid & (true > 0)
  share = float(_cents_ok(pred[voiced], true[voiced]).mean())
  constant = float(_cents_ok(np.median(true[voiced]), true[voiced]).mean())
  return share, constant, int(voiced.sum())


def main():
  args = _parse_args()
  data_dir = args.data_dir
  if not os.path.exists(os.path.join(data_dir, 'flute.wav')):
    print(f'../shared/data is absent: no {data_dir}/flute.wav. Pass '
          '--data_dir with flute.wav and flute.f0_250hz.npy.', flush=True)
    return 1
  import gin  # pylint: disable=g-import-not-at-top
  import keras  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  import ddsp.training  # pylint: disable=g-import-not-at-top,unused-import
  from ddsp.training import gin as ddsp_gin  # pylint: disable=g-import-not-at-top
  from ddsp.training import models  # pylint: disable=g-import-not-at-top
  from ddsp.training import trainers  # pylint: disable=g-import-not-at-top

  keras.utils.set_random_seed(args.seed)
  n_samples = args.frames * _HOP
  t0 = time.time()
  train_notes = _notes(args.n_examples, args.frames, args.seed)
  heldout = _notes(args.n_heldout, args.frames, args.seed + 10**6)
  t_data = time.time() - t0

  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  gin.parse_config_files_and_bindings(
      ['papers/icml2020/pretrain_model.gin'],
      [f'InverseSynthesis.n_samples = {n_samples}',
       f"ResnetSinusoidalEncoder.size = '{args.size}'",
       f'RnnSandwich.rnn_ch = {args.rnn_ch}',
       f'RnnSandwich.fc_stack_ch = {args.rnn_ch}',
       'ResnetSinusoidalEncoder.output_splits = ('
       f"('frequencies', {64 * args.n_sinusoids}), "
       f"('amplitudes', {args.n_sinusoids}), ('noise_magnitudes', 65))",
       f'f0_spectral/compute_logmel.bins = {args.mel_bins}'])
  model = models.get_model()
  trainer = trainers.Trainer(model, learning_rate=args.learning_rate)
  dataset = tf.data.Dataset.from_tensor_slices(train_notes).shuffle(
      args.n_examples, seed=args.seed).repeat().batch(
          args.batch_size, drop_remainder=True)
  iterator = iter(dataset)
  trainer.build(next(iterator))
  n_weights = sum(int(np.prod(v.shape)) for v in model.trainable_variables)

  t0 = time.time()
  first = last = None
  for step in range(args.steps):
    losses = trainer.train_step(iterator)
    total = float(losses['total_loss'])
    first = total if first is None else first
    last = total
    if (step + 1) % max(args.steps // 10, 1) == 0:
      print(f'step {step + 1}: total_loss {total:.4g}', flush=True)
  t_train = time.time() - t0

  t0 = time.time()
  forward = tf.function(lambda features: model(features),
                        reduce_retracing=True)
  synth_share, synth_voiced = _synthetic_accuracy(forward, heldout,
                                                  args.eval_batch_size)
  flute_share, constant_share, flute_voiced = _flute_accuracy(
      forward, data_dir, n_samples, args.eval_batch_size)
  t_eval = time.time() - t0

  rows = [
      ('steps x batch', f'{args.steps} x {args.batch_size}'),
      ('synthetic examples (train / held out)',
       f'{args.n_examples} / {args.n_heldout}'),
      ('example length', f'{n_samples} samples, {args.frames} frames'),
      ('model', f'ResNet {args.size}, {args.mel_bins} mel bins, '
                f'{args.n_sinusoids} sinusoids, RnnSandwich {args.rnn_ch}, '
                f'{n_weights / 1e6:.2f} M weights'),
      ('total loss (first / last step)', f'{first:.4g} / {last:.4g}'),
      ('held-out synthetic: voiced frames within 50 cents',
       f'{100 * synth_share:.1f} % of {synth_voiced}'),
      ('flute.wav: voiced frames within 50 cents',
       f'{100 * flute_share:.1f} % of {flute_voiced}'),
      ('flute.wav: constant median f0 (baseline)',
       f'{100 * constant_share:.1f} %'),
      ('wall time: data / train / eval (s)',
       f'{t_data:.0f} / {t_train:.0f} ({t_train / max(args.steps, 1):.2f} '
       f's/step) / {t_eval:.0f}'),
  ]
  width = max(len(r[0]) for r in rows)
  print('\nInverseSynthesis pretrained on synthetic notes')
  for name, value in rows:
    print(f'| {name.ljust(width)} | {value} |')
  return 0


if __name__ == '__main__':
  sys.exit(main())
