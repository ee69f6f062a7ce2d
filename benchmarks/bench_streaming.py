"""Real-time factor of streaming inference, per block size, on one CPU core.

Builds the solo-instrument model of the DDSP paper at its full size (random
weights; speed does not depend on training): F0LoudnessPreprocessor ->
RnnFcDecoder (512-unit GRU, 3 x 512 dense layers per stack) -> Harmonic (60
harmonics) + FilteredNoise (65 bands, counter noise) -> 3 s learned Reverb,
at 16 kHz and 250 frames/s (hop 64). For each block size it streams
`--seconds` of audio block by block and prints the median time per block and
the real-time factor (compute time / audio duration: below 1 keeps up with
real time) and the largest deviation of any renderer's stream from the
offline render of the same controls (`Autoencoder.__call__`), for:

* `tf`: `StreamingF0LoudnessModel.__call__` (the Python API; one
  `tf.function` call per block, plus Python overhead),
* `xla`: the same with `jit_compile=True` (compiling takes a few seconds per
  block size; `--no-xla` skips it),
* `tflite`: the exported streaming step in `tf.lite.Interpreter` (one
  thread, XNNPACK), as `ddsp_export` writes it (converting takes about 10 s
  per block size; `--no-tflite` skips it).

The decoder dominates: its 4.8 M weights (19 MB) are read for every block, so
small blocks are bound by memory bandwidth.

TensorFlow runs with one intra-op and one inter-op thread. The machine may be
shared: compare the rows of one run.

Usage:
  python benchmarks/bench_streaming.py [--block_sizes 64,128,256,512,1024,2048
      --seconds 4 --no-xla --no-tflite --reverb_seconds 3]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

import tensorflow as tf

# One core, before TensorFlow starts its thread pools.
tf.config.threading.set_intra_op_parallelism_threads(1)
tf.config.threading.set_inter_op_parallelism_threads(1)

# pylint: disable=g-import-not-at-top,wrong-import-position
import keras
import numpy as np

import ddsp
from ddsp.training import decoders
from ddsp.training import inference
from ddsp.training import models
from ddsp.training import preprocessing

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE


def solo_instrument_model(reverb_seconds=3.0, seed=0):
  """The solo-instrument autoencoder at full size, built, random weights."""
  keras.utils.set_random_seed(seed)
  group = ddsp.processors.ProcessorGroup(dag=[
      (ddsp.synths.Harmonic(n_samples=None, sample_rate=SAMPLE_RATE,
                            frame_rate=FRAME_RATE, name='harmonic'),
       ['amps', 'harmonic_distribution', 'f0_hz']),
      (ddsp.synths.FilteredNoise(n_samples=None, window_size=0,
                                 sample_rate=SAMPLE_RATE,
                                 frame_rate=FRAME_RATE, counter_noise=True,
                                 seed=1, name='filtered_noise'),
       ['noise_magnitudes']),
      (ddsp.processors.Add(name='add'),
       ['filtered_noise/signal', 'harmonic/signal']),
      (ddsp.effects.Reverb(trainable=True,
                           reverb_length=int(reverb_seconds * SAMPLE_RATE),
                           name='reverb', seed=2),
       ['add/signal']),
  ])
  model = models.Autoencoder(
      preprocessor=preprocessing.F0LoudnessPreprocessor(
          time_steps=None, frame_rate=FRAME_RATE, sample_rate=SAMPLE_RATE),
      decoder=decoders.RnnFcDecoder(
          rnn_channels=512, ch=512, layers_per_stack=3,
          input_keys=('ld_scaled', 'f0_scaled'),
          output_splits=(('amps', 1), ('harmonic_distribution', 60),
                         ('noise_magnitudes', 65))),
      processor_group=group)
  return inference.build_model(model)


def controls(n_frames):
  """A vibrato melody with a loudness swell, [1, n_frames, 1] each."""
  t = np.arange(n_frames) / FRAME_RATE
  f0 = 220.0 * 2**(np.floor(t * 2) % 5 / 12) * (
      1 + 0.01 * np.sin(2 * np.pi * 5 * t))
  loudness = -30.0 + 10.0 * np.sin(2 * np.pi * 0.5 * t)
  return (f0.astype(np.float32)[None, :, None],
          loudness.astype(np.float32)[None, :, None])


def time_blocks(render, f0, loudness, frames_per_block):
  """Seconds per block of `render(f0_block, loudness_block)`, and the audio."""
  n_blocks = f0.shape[1] // frames_per_block
  times, blocks = [], []
  for k in range(n_blocks):
    block = slice(k * frames_per_block, (k + 1) * frames_per_block)
    start = time.perf_counter()
    audio = render(f0[:, block], loudness[:, block])
    times.append(time.perf_counter() - start)
    blocks.append(np.asarray(audio))
  return times, np.concatenate(blocks, axis=1)


def tflite_renderer(stream):
  """A block renderer running the exported TFLite step (one thread)."""
  from ddsp.training import ddsp_export
  with tempfile.TemporaryDirectory() as tmp:
    root = tf.Module()
    root.streaming = stream
    path = os.path.join(tmp, 'saved_model')
    tf.saved_model.save(root, path, signatures={
        'streaming_step': stream.streaming_step.get_concrete_function()})
    flatbuffer = ddsp_export.convert_to_tflite(path)
  warnings.filterwarnings('ignore', '.*tf.lite.Interpreter is deprecated')
  interpreter = tf.lite.Interpreter(model_content=flatbuffer, num_threads=1)
  runner = interpreter.get_signature_runner('streaming_step')
  state = {f'state_{k}': v.numpy() for k, v in stream.initial_state().items()}

  def render(f0, loudness):
    outputs = runner(f0_hz=f0, **{stream.loudness_key: loudness}, **state)
    audio = outputs.pop('audio')
    state.update(outputs)
    return audio

  return render


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--block_sizes', default='64,128,256,512,1024,2048')
  parser.add_argument('--seconds', type=float, default=4.0,
                      help='Audio streamed per block size.')
  parser.add_argument('--reverb_seconds', type=float, default=3.0)
  parser.add_argument('--xla', action=argparse.BooleanOptionalAction,
                      default=True, help='Time the XLA-compiled step.')
  parser.add_argument('--tflite', action=argparse.BooleanOptionalAction,
                      default=True, help='Time the exported TFLite step.')
  args = parser.parse_args(argv)
  block_sizes = [int(b) for b in args.block_sizes.split(',')]

  model = solo_instrument_model(args.reverb_seconds)
  n_frames = int(args.seconds * FRAME_RATE)
  f0, loudness = controls(n_frames)
  offline = model({'f0_hz': f0[..., 0], 'loudness_db': loudness[..., 0]})[
      'audio_synth'].numpy()
  print(f'Solo-instrument model, {SAMPLE_RATE} Hz, hop {HOP}, '
        f'{args.reverb_seconds:g} s reverb, {args.seconds:g} s streamed per '
        'block size, one CPU thread. Times are medians per block; RTF = '
        'compute time / audio duration (< 1 is faster than real time); '
        'error = max |stream - offline render| after the latency (offline '
        f'audio peak {np.abs(offline).max():.2f}).')
  header = (f'{"block":>6} {"ms audio":>9} {"latency":>8} '
            f'{"tf ms":>8} {"tf RTF":>7}')
  if args.xla:
    header += f' {"xla ms":>8} {"xla RTF":>8}'
  if args.tflite:
    header += f' {"tflite ms":>10} {"tflite RTF":>10}'
  print(header + f' {"max error":>10}')
  for block_size in block_sizes:
    stream = inference.StreamingF0LoudnessModel(model, block_size)
    columns = [(stream, 8, 7)]  # (renderer, ms width, RTF width)
    if args.xla:
      columns.append((inference.StreamingF0LoudnessModel(
          model, block_size, jit_compile=True), 8, 8))
    frames_per_block = stream.frames_per_block
    duration = block_size / SAMPLE_RATE
    warmup = slice(0, frames_per_block)
    for renderer, _, _ in columns:
      renderer(f0[:, warmup], loudness[:, warmup])  # Trace (and compile).
      renderer.reset()
    if args.tflite:
      columns.append((tflite_renderer(stream), 10, 10))
    row = (f'{block_size:>6} {1000 * duration:>9.1f} '
           f'{1000 * stream.latency / SAMPLE_RATE:>6.1f}ms')
    error = 0.0
    for renderer, ms_width, rtf_width in columns:
      times, audio = time_blocks(renderer, f0, loudness, frames_per_block)
      seconds = statistics.median(times)
      row += (f' {1000 * seconds:>{ms_width}.2f}'
              f' {seconds / duration:>{rtf_width}.3f}')
      latency = stream.latency
      n = audio.shape[1] - latency
      error = max(error, np.abs(audio[:, latency:] - offline[:, :n]).max())
    print(row + f' {error:>10.2e}', flush=True)


if __name__ == '__main__':
  main(sys.argv[1:])
