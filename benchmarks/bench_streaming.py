"""Real-time factor of streaming inference, per block size, on one CPU core.

Builds the solo-instrument model of the DDSP paper at its full size (random
weights; speed does not depend on training): F0LoudnessPreprocessor ->
RnnFcDecoder (512-unit GRU, 3 x 512 dense layers per stack) -> Harmonic +
FilteredNoise (counter noise) -> 3 s learned Reverb, at each of
`--sample_rates` (16 and 48 kHz) and 250 frames/s, with the sizes
`ddsp.training.rates` derives for the rate, as models/solo_instrument.gin
does (16 kHz: hop 64, 60 harmonics, 65 noise bands, 48000 reverb taps;
48 kHz: hop 192, 100 harmonics, 98 bands, 144000 taps). A block is a whole
number of hops, so at 48 kHz and 250 frames/s each block size is rounded up
to a multiple of 192 (64 and 128 -> 192, 256 -> 384, ...; the row says so);
`--frame_rate=750` gives 48 kHz a hop of 64 (three times the decoder
steps). For each rate and block size it streams
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
      --sample_rates 16000,48000 --frame_rate 250 --seconds 4 --no-xla
      --no-tflite --reverb_seconds 3]
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
from ddsp.training import rates


def solo_instrument_model(reverb_seconds=3.0, seed=0, sample_rate=16000,
                          frame_rate=250):
  """The solo-instrument autoencoder at full size, built, random weights,
  with the sizes of `sample_rate` (`ddsp.training.rates`)."""
  keras.utils.set_random_seed(seed)
  group = ddsp.processors.ProcessorGroup(dag=[
      (ddsp.synths.Harmonic(n_samples=None, sample_rate=sample_rate,
                            frame_rate=frame_rate, name='harmonic'),
       ['amps', 'harmonic_distribution', 'f0_hz']),
      (ddsp.synths.FilteredNoise(n_samples=None, window_size=0,
                                 sample_rate=sample_rate,
                                 frame_rate=frame_rate, counter_noise=True,
                                 seed=1, name='filtered_noise'),
       ['noise_magnitudes']),
      (ddsp.processors.Add(name='add'),
       ['filtered_noise/signal', 'harmonic/signal']),
      (ddsp.effects.Reverb(
          trainable=True,
          reverb_length=rates.reverb_length(sample_rate, reverb_seconds),
          name='reverb', seed=2),
       ['add/signal']),
  ])
  model = models.Autoencoder(
      preprocessor=preprocessing.F0LoudnessPreprocessor(
          time_steps=None, frame_rate=frame_rate, sample_rate=sample_rate),
      decoder=decoders.RnnFcDecoder(
          rnn_channels=512, ch=512, layers_per_stack=3,
          input_keys=('ld_scaled', 'f0_scaled'),
          output_splits=(
              ('amps', 1),
              ('harmonic_distribution', rates.n_harmonics(sample_rate)),
              ('noise_magnitudes', rates.n_noise_bands(sample_rate)))),
      processor_group=group)
  return inference.build_model(model)


def controls(n_frames, frame_rate=250):
  """A vibrato melody with a loudness swell, [1, n_frames, 1] each."""
  t = np.arange(n_frames) / frame_rate
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


def block_sizes_at(block_sizes, hop):
  """[(asked, used)]: each size rounded up to a whole number of hops, once."""
  pairs, used = [], set()
  for asked in block_sizes:
    size = -(-asked // hop) * hop
    if size not in used:
      used.add(size)
      pairs.append((asked, size))
  return pairs


def bench_rate(args, sample_rate, block_sizes):
  """Prints the table of one sample rate."""
  frame_rate = args.frame_rate
  hop = rates.hop_samples(sample_rate, frame_rate)
  model = solo_instrument_model(args.reverb_seconds, sample_rate=sample_rate,
                                frame_rate=frame_rate)
  n_frames = int(args.seconds * frame_rate)
  f0, loudness = controls(n_frames, frame_rate)
  offline = model({'f0_hz': f0[..., 0], 'loudness_db': loudness[..., 0]})[
      'audio_synth'].numpy()
  print(f'\nSolo-instrument model, {sample_rate} Hz, {frame_rate} frames/s '
        f'(hop {hop}), {rates.n_harmonics(sample_rate)} harmonics, '
        f'{rates.n_noise_bands(sample_rate)} noise bands, '
        f'{args.reverb_seconds:g} s reverb, {args.seconds:g} s streamed per '
        'block size, one CPU thread. Times are medians per block; RTF = '
        'compute time / audio duration (< 1 is faster than real time); '
        'error = max |stream - offline render| after the latency (offline '
        f'audio peak {np.abs(offline).max():.2f}).')
  header = (f'{"block":>11} {"ms audio":>9} {"latency":>8} '
            f'{"tf ms":>8} {"tf RTF":>7}')
  if args.xla:
    header += f' {"xla ms":>8} {"xla RTF":>8}'
  if args.tflite:
    header += f' {"tflite ms":>10} {"tflite RTF":>10}'
  print(header + f' {"max error":>10}')
  for asked, block_size in block_sizes_at(block_sizes, hop):
    stream = inference.StreamingF0LoudnessModel(model, block_size)
    columns = [(stream, 8, 7)]  # (renderer, ms width, RTF width)
    if args.xla:
      columns.append((inference.StreamingF0LoudnessModel(
          model, block_size, jit_compile=True), 8, 8))
    frames_per_block = stream.frames_per_block
    duration = block_size / sample_rate
    warmup = slice(0, frames_per_block)
    for renderer, _, _ in columns:
      renderer(f0[:, warmup], loudness[:, warmup])  # Trace (and compile).
      renderer.reset()
    if args.tflite:
      columns.append((tflite_renderer(stream), 10, 10))
    label = str(block_size) if asked == block_size else (
        f'{asked}->{block_size}')
    row = (f'{label:>11} {1000 * duration:>9.1f} '
           f'{1000 * stream.latency / sample_rate:>6.1f}ms')
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


def main(argv):
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--block_sizes', default='64,128,256,512,1024,2048')
  parser.add_argument('--sample_rates', default='16000,48000')
  parser.add_argument('--frame_rate', type=int, default=250)
  parser.add_argument('--seconds', type=float, default=4.0,
                      help='Audio streamed per block size.')
  parser.add_argument('--reverb_seconds', type=float, default=3.0)
  parser.add_argument('--xla', action=argparse.BooleanOptionalAction,
                      default=True, help='Time the XLA-compiled step.')
  parser.add_argument('--tflite', action=argparse.BooleanOptionalAction,
                      default=True, help='Time the exported TFLite step.')
  args = parser.parse_args(argv)
  block_sizes = [int(b) for b in args.block_sizes.split(',')]
  for sample_rate in [int(r) for r in args.sample_rates.split(',')]:
    bench_rate(args, sample_rate, block_sizes)


if __name__ == '__main__':
  main(sys.argv[1:])
