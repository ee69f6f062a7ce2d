"""Speed of RnnFcDecoder (the solo-instrument decoder) on this machine.

Times the forward pass and forward + backward (gradients of a scalar loss
with respect to every trainable variable) of
`RnnFcDecoder(rnn_channels=512, ch=512, layers_per_stack=3,
input_keys=('ld_scaled', 'f0_scaled'), output_splits=amps 1, harmonics 60,
noise 65)` over 1000 frames, for several ways to run the GRU:

* keras:         `keras.layers.GRU` (Rnn(fused=False)) in a tf.function.
* keras+xla:     the same, the whole function with jit_compile=True.
* fused:         `nn.fused_gru` with plain TensorFlow loops (jit_compile=False).
* fused+xla_rnn: `nn.fused_gru` with XLA-compiled loops (the default).
* fused+xla:     the default, the whole function with jit_compile=True.
* fused+xla_rnn+bf16: the default with RnnFcDecoder(dtype='mixed_bfloat16')
                 (matmuls in bfloat16, GRU recurrence and outputs float32).

'keras+xla' compiles for minutes and is about 5x slower than 'keras' (XLA
cannot differentiate the Keras GRU loop efficiently), so it only runs when
named in --configs.

Rounds are interleaved (one call of each configuration per round) so that
load from other processes affects all configurations alike; the table shows
medians of wall time, the ratio to the first row, and the median CPU time
(user + system of this process) of forward + backward, which is less
sensitive to other processes on a shared machine.

Usage:
  python benchmarks/bench_decoder.py [--batch_sizes 8 16] [--rounds 5]
      [--configs keras fused+xla_rnn ...] [--n_frames 1000]
"""

import argparse
import os
import time

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

import numpy as np  # pylint: disable=g-import-not-at-top
import tensorflow as tf  # pylint: disable=g-import-not-at-top

from ddsp.training import decoders  # pylint: disable=g-import-not-at-top

CONFIGS = {
    # name: (Rnn kwargs, jit_compile of the outer tf.function, dtype policy)
    'keras': ({'fused': False}, False, None),
    'keras+xla': ({'fused': False}, True, None),
    'fused': ({'fused': True, 'jit_compile': False}, False, None),
    'fused+xla_rnn': ({'fused': True, 'jit_compile': True}, False, None),
    'fused+xla': ({'fused': True, 'jit_compile': True}, True, None),
    'fused+xla_rnn+bf16': ({}, False, 'mixed_bfloat16'),
}
DEFAULT_CONFIGS = ['keras', 'fused', 'fused+xla_rnn', 'fused+xla',
                   'fused+xla_rnn+bf16']
OUTPUT_SPLITS = (('amps', 1), ('harmonic_distribution', 60),
                 ('noise_magnitudes', 65))


def make_functions(rnn_kwargs, jit_compile, dtype, features):
  """Builds the decoder; returns (forward, forward_backward) tf.functions."""
  decoder = decoders.RnnFcDecoder(
      rnn_channels=512, ch=512, layers_per_stack=3,
      input_keys=('ld_scaled', 'f0_scaled'), output_splits=OUTPUT_SPLITS,
      rnn_kwargs=rnn_kwargs, dtype=dtype)
  decoder({k: v[:, :4] for k, v in features.items()})  # Build the weights.

  @tf.function(jit_compile=jit_compile)
  def forward(features):
    return decoder(features)

  @tf.function(jit_compile=jit_compile)
  def forward_backward(features):
    with tf.GradientTape() as tape:
      outputs = decoder(features)
      loss = tf.add_n([tf.reduce_mean(tf.square(v)) for v in outputs.values()])
    return tape.gradient(loss, decoder.trainable_variables)

  return forward, forward_backward


def timed(fn, features):
  """Returns (wall seconds, CPU seconds) of one call."""
  start, start_cpu = time.perf_counter(), time.process_time()
  result = fn(features)
  for value in tf.nest.flatten(result):
    value.numpy()
  return time.perf_counter() - start, time.process_time() - start_cpu


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch_sizes', type=int, nargs='+', default=[8, 16])
  parser.add_argument('--n_frames', type=int, default=1000)
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--configs', nargs='+', default=DEFAULT_CONFIGS,
                      choices=list(CONFIGS))
  args = parser.parse_args()
  rng = np.random.default_rng(0)
  print(f'RnnFcDecoder, 512-unit GRU, {args.n_frames} frames; medians of '
        f'{args.rounds} interleaved rounds; {os.cpu_count()} CPUs')
  print(f'{"batch":>5} {"config":<18} {"compile s":>9} {"forward s":>9} '
        f'{"fwd+bwd s":>9} {"fwd ratio":>9} {"f+b ratio":>9} '
        f'{"f+b cpu s":>9}')
  for batch in args.batch_sizes:
    features = {
        'ld_scaled': tf.constant(rng.uniform(0, 1, [batch, args.n_frames, 1]),
                                 tf.float32),
        'f0_scaled': tf.constant(rng.uniform(0.3, 0.6,
                                             [batch, args.n_frames, 1]),
                                 tf.float32)}
    functions, compile_s = {}, {}
    for name in args.configs:
      start = time.perf_counter()
      functions[name] = make_functions(*CONFIGS[name], features)
      for fn in functions[name]:
        timed(fn, features)  # Trace and compile.
      compile_s[name] = time.perf_counter() - start
    times = {name: ([], []) for name in args.configs}
    for _ in range(args.rounds):
      for name in args.configs:
        for fn, store in zip(functions[name], times[name]):
          store.append(timed(fn, features))
    base = args.configs[0]
    base_fwd, base_fb = (np.median([w for w, _ in t]) for t in times[base])
    for name in args.configs:
      fwd, fb = (np.median([w for w, _ in t]) for t in times[name])
      fb_cpu = np.median([c for _, c in times[name][1]])
      print(f'{batch:>5} {name:<18} {compile_s[name]:>9.1f} {fwd:>9.3f} '
            f'{fb:>9.3f} {fwd / base_fwd:>9.2f} {fb / base_fb:>9.2f} '
            f'{fb_cpu:>9.2f}', flush=True)
  print(f'(ratios are relative to {base!r}; lower is faster)')


if __name__ == '__main__':
  main()
