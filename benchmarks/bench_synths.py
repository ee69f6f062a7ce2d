"""Speed, memory and accuracy of the synths at the default operating point.

Prints, for batch 16, 4 s at 16 kHz, 250 frames/s and 60 harmonics (the
default operating point of the library), the median time of forward and
forward + backward (gradients with respect to every control) of each case,
its real-time factor (seconds of audio rendered per second of compute), its
peak memory, and its largest deviation from a float64 numpy reference where
one exists. Cases:

* `Harmonic`: `ddsp.synths.Harmonic`, the layer as users call it.
* `Harmonic (direct sines)`: the same controls through the kernel with one
  sine per harmonic and sample (its method before the split harmonics).
* `Harmonic (published method)`: the straightforward method of the published
  library on the same controls: upsample frequencies (bilinear resize) and
  amplitudes (overlap-added Hann windows) to [batch, samples, harmonics],
  float32 cumulative sum of phase, then sin and a weighted sum.
* `sin + sum floor`: one `sin` and a sum over a precomputed
  [16, 64000, 60] tensor: a floor for any method that evaluates every sine.
* `Wavetable`: `ddsp.synths.Wavetable` with a 2048-sample table per frame.
  (The published method upsamples the tables to [16, 64000, 2048], about
  8 GB per tensor; it runs only when it fits in --max-gb.)

* `lfilter order K`: `ddsp.core.lfilter` with one stable order-K filter
  shared by the batch, on white noise; `scipy lfilter order K` filters the
  same data with `scipy.signal.lfilter` (float64 numpy, compiled per-sample
  loop; forward only), the reference of the accuracy column.
* `BiquadFilter`: `ddsp.effects.BiquadFilter` with 2 biquads (lowpass,
  peak), controls per frame; `StateVariableFilter`: one bandpass SVF.

More cases are added by appending `(name, build_fn)` to `CASES` (see `Case`
and the existing builders); e.g. FilteredNoise and Reverb.

Timing runs every case in one process, interleaved round by round (the
machine may be shared: compare the ratios of one run, not absolute times).
Peak memory is TensorFlow's CPU allocator peak during one call
(`tf.config.experimental.get_memory_info`), above what was allocated before.

Usage:
  python benchmarks/bench_synths.py [--batch 16 --seconds 4
      --sample-rate 16000 --frame-rate 250 --harmonics 60 --repeats 5
      --cases Harmonic,Wavetable --eager]
"""

import argparse
import dataclasses
import time
from typing import Callable, Dict, Optional

import numpy as np
import scipy.signal
import tensorflow as tf

import ddsp


@dataclasses.dataclass
class OperatingPoint:
  """Sizes of one benchmark run."""
  batch: int = 16
  seconds: float = 4.0
  sample_rate: int = 16000
  frame_rate: int = 250
  n_harmonics: int = 60
  n_noise_bands: int = 65
  reverb_seconds: float = 3.0
  n_wavetable: int = 2048
  max_gb: float = 6.0

  @property
  def n_samples(self):
    return int(round(self.seconds * self.sample_rate))

  @property
  def n_frames(self):
    return int(round(self.seconds * self.frame_rate))


@dataclasses.dataclass
class Case:
  """What a builder returns.

  Attributes:
    fn: renders audio [batch, n_samples] from `inputs` (keyword arguments).
    inputs: dict of float32 tensors; forward + backward differentiates with
      respect to all of them.
    reference: optional callable returning a float64 numpy reference of
      audio[0] (the first example), to report the largest deviation.
    backward: whether forward + backward makes sense for this case.
  """
  fn: Callable
  inputs: Dict[str, tf.Tensor]
  reference: Optional[Callable] = None
  backward: bool = True


def _normal(shape, seed):
  return tf.random.stateless_normal(shape, seed=[seed, 0])


def _f0_hz(op):
  """Smooth pitch curves: 110-440 Hz notes with 5.5 Hz vibrato, [B, T, 1]."""
  t = np.arange(op.n_frames) / op.frame_rate
  base = 110.0 * 2.0**(np.arange(op.batch) / max(op.batch - 1, 1) * 2.0)
  cents = 30.0 * np.sin(2 * np.pi * 5.5 * t)
  f0 = base[:, None] * 2.0**(cents[None, :] / 1200.0)
  return tf.constant(f0[..., None], tf.float32)


# ------------------------------------------------------------------------------
# float64 references for example 0.
# ------------------------------------------------------------------------------
def _upsample_np(x, hop, method):
  """[T, C] -> [T * hop, C] as `resample(add_endpoint=True)` (two-frame)."""
  x = np.asarray(x, np.float64)
  x_next = np.concatenate([x[1:], x[-1:]], axis=0)
  r = np.arange(hop) / hop
  w = np.sin(0.5 * np.pi * r)**2 if method == 'window' else r
  out = x[:, None, :] + w[None, :, None] * (x_next - x)[:, None, :]
  return out.reshape(-1, x.shape[-1])


def _harmonic_reference(controls, op):
  amps = controls['amplitudes'][0].numpy()
  dist = controls['harmonic_distribution'][0].numpy()
  f0 = controls['f0_hz'][0].numpy()
  hop = op.n_samples // op.n_frames
  f = _upsample_np(f0, hop, 'linear')[:, 0]
  a = _upsample_np(amps * dist, hop, 'window')
  phase = np.cumsum(2.0 * np.pi * f / op.sample_rate)
  audio = np.zeros_like(phase)
  for k in range(1, dist.shape[-1] + 1):
    audio += np.where(k * f < op.sample_rate / 2, a[:, k - 1], 0.0) * np.sin(
        np.mod(k * phase, 2 * np.pi))
  return audio


def _wavetable_reference(controls, op):
  amps = controls['amplitudes'][0].numpy()
  tables = controls['wavetables'][0].numpy().astype(np.float64)
  f0 = controls['f0_hz'][0].numpy()
  hop = op.n_samples // op.n_frames
  f = _upsample_np(f0, hop, 'linear')[:, 0]
  a = _upsample_np(amps, hop, 'window')[:, 0]
  cycles = np.mod(np.cumsum(f / op.sample_rate) - f / op.sample_rate, 1.0)
  n_wavetable = tables.shape[-1]
  position = cycles * n_wavetable
  index = np.minimum(np.floor(position).astype(int), n_wavetable - 1)
  frac = position - index
  frame = np.arange(op.n_samples) // hop
  frame_next = np.minimum(frame + 1, op.n_frames - 1)
  fade = np.tile(np.arange(hop) / hop, op.n_frames)
  def read(rows):
    v0 = tables[rows, index]
    v1 = tables[rows, (index + 1) % n_wavetable]
    return v0 + frac * (v1 - v0)
  return a * (read(frame) + fade * (read(frame_next) - read(frame)))


# ------------------------------------------------------------------------------
# Builders: op -> Case.
# ------------------------------------------------------------------------------
def _harmonic_inputs(op):
  return {
      'amplitudes': _normal([op.batch, op.n_frames, 1], 1),
      'harmonic_distribution': _normal(
          [op.batch, op.n_frames, op.n_harmonics], 2),
      'f0_hz': _f0_hz(op),
  }


def build_harmonic(op):
  layer = ddsp.synths.Harmonic(n_samples=op.n_samples,
                               sample_rate=op.sample_rate)
  inputs = _harmonic_inputs(op)
  return Case(fn=layer, inputs=inputs, reference=lambda: _harmonic_reference(
      layer.get_controls(**inputs), op))


def build_harmonic_direct_sines(op):
  """`Harmonic` with one sine per harmonic and sample (the kernel's method
  before the split harmonics of issue 14), to compare in one run."""
  from ddsp.core import _harmonic_kernel  # pylint: disable=g-import-not-at-top
  layer = ddsp.synths.Harmonic(n_samples=op.n_samples,
                               sample_rate=op.sample_rate)
  inputs = _harmonic_inputs(op)
  hop = op.n_samples // op.n_frames
  weights = ddsp.core.crossfade_weights(hop, 'window')

  def fn(amplitudes, harmonic_distribution, f0_hz):
    controls = layer.get_controls(amplitudes, harmonic_distribution, f0_hz)
    f0, amps = ddsp.core.mute_negative_frequencies(
        controls['f0_hz'], controls['amplitudes'])
    return _harmonic_kernel.harmonic_frames(
        f0, amps * controls['harmonic_distribution'], hop, op.sample_rate,
        weights, split_harmonics=False)[0]

  return Case(fn=fn, inputs=inputs, reference=lambda: _harmonic_reference(
      layer.get_controls(**inputs), op))


def _published_harmonic_synthesis(f0_hz, amplitudes, harmonic_distribution,
                                  n_samples, sample_rate):
  """The straightforward method: everything at [batch, samples, harmonics]."""
  n_frames = amplitudes.shape[1]
  hop = n_samples // n_frames
  n_harmonics = harmonic_distribution.shape[-1]
  frequencies = f0_hz * tf.range(1, n_harmonics + 1, dtype=tf.float32)
  # Bilinear resize with align_corners=False (last frame held).
  frequencies = tf.compat.v1.image.resize(
      frequencies[:, :, tf.newaxis, :], [n_samples, 1],
      method='bilinear', align_corners=False)[:, :, 0, :]
  # Overlap-added Hann windows of the frames (last frame held).
  x = amplitudes * harmonic_distribution
  x = tf.concat([x, x[:, -1:]], axis=1)
  window = tf.signal.hann_window(2 * hop)
  x = tf.transpose(x, [0, 2, 1])[..., tf.newaxis] * window
  x = tf.signal.overlap_and_add(x, hop)
  amplitudes = tf.transpose(x, [0, 2, 1])[:, hop:-hop]
  amplitudes = tf.where(frequencies >= sample_rate / 2.0,
                        tf.zeros_like(amplitudes), amplitudes)
  phases = tf.cumsum(frequencies * (2.0 * np.pi / sample_rate), axis=1)
  return tf.reduce_sum(amplitudes * tf.sin(phases), axis=-1)


def build_published_harmonic(op):
  layer = ddsp.synths.Harmonic(n_samples=op.n_samples,
                               sample_rate=op.sample_rate)
  inputs = _harmonic_inputs(op)

  def fn(amplitudes, harmonic_distribution, f0_hz):
    controls = layer.get_controls(amplitudes, harmonic_distribution, f0_hz)
    return _published_harmonic_synthesis(
        controls['f0_hz'], controls['amplitudes'],
        controls['harmonic_distribution'], op.n_samples, op.sample_rate)

  return Case(fn=fn, inputs=inputs, reference=lambda: _harmonic_reference(
      layer.get_controls(**inputs), op))


def build_sin_floor(op):
  x = tf.random.stateless_uniform([op.batch, op.n_samples, op.n_harmonics],
                                  seed=[3, 0], maxval=2.0 * np.pi)
  return Case(fn=lambda: tf.reduce_sum(tf.sin(x), axis=-1), inputs={},
              backward=False)


def _wavetable_inputs(op):
  return {
      'amplitudes': _normal([op.batch, op.n_frames, 1], 4),
      'wavetables': _normal([op.batch, op.n_frames, op.n_wavetable], 5),
      'f0_hz': _f0_hz(op),
  }


def build_wavetable(op):
  layer = ddsp.synths.Wavetable(n_samples=op.n_samples,
                                sample_rate=op.sample_rate)
  inputs = _wavetable_inputs(op)
  return Case(fn=layer, inputs=inputs, reference=lambda: _wavetable_reference(
      layer.get_controls(**inputs), op))


def build_published_wavetable(op):
  """Tables upsampled to audio rate, lookup by distances to every entry."""
  gigabytes = op.batch * op.n_samples * (op.n_wavetable + 1) * 4 / 1e9
  if 4 * gigabytes > op.max_gb:
    return f'skipped: needs about {4 * gigabytes:.0f} GB (--max-gb)'
  layer = ddsp.synths.Wavetable(n_samples=op.n_samples,
                                sample_rate=op.sample_rate)
  inputs = _wavetable_inputs(op)
  n = op.n_samples

  def fn(amplitudes, wavetables, f0_hz):
    controls = layer.get_controls(amplitudes, wavetables, f0_hz)
    tables = ddsp.core.resample(controls['wavetables'], n)
    envelope = ddsp.core.resample(controls['amplitudes'], n, 'window')[..., 0]
    f = ddsp.core.resample(controls['f0_hz'], n)
    phase = tf.cumsum(f / op.sample_rate, axis=1, exclusive=True) % 1.0
    tables = tf.concat([tables, tables[..., :1]], axis=-1)
    grid = tf.linspace(0.0, 1.0, op.n_wavetable + 1)
    weights = tf.nn.relu(1.0 - tf.abs(phase - grid) * op.n_wavetable)
    return tf.reduce_sum(weights * tables, axis=-1) * envelope

  return Case(fn=fn, inputs=inputs, reference=lambda: _wavetable_reference(
      layer.get_controls(**inputs), op))


def _noise_magnitudes(op):
  return {'magnitudes': _normal([op.batch, op.n_frames, op.n_noise_bands], 6)}


def _filtered_noise_reference(layer, magnitudes, op):
  """Example 0 frame by frame: Hann-windowed 50 % overlap-add (numpy)."""
  controls = layer.get_controls(magnitudes)['magnitudes'][:1]
  taps = ddsp.core.frequency_impulse_response(
      controls, layer.window_size).numpy()[0].astype(np.float64)
  noise = ddsp.core.uniform_noise([1, op.n_samples], -1.0, 1.0,
                                  seed=layer.seed).numpy()[0]
  hop = op.n_samples // op.n_frames
  window = 0.5 - 0.5 * np.cos(np.pi * np.arange(2 * hop) / hop)
  out = np.zeros(op.n_samples + 4 * hop + taps.shape[-1])
  for m in range(op.n_frames):
    start = m * hop - hop // 2
    w = window.copy()
    w[:hop] = 1.0 if m == 0 else w[:hop]
    w[hop:] = 1.0 if m == op.n_frames - 1 else w[hop:]
    frame = np.zeros(2 * hop)
    lo, hi = max(start, 0), min(start + 2 * hop, op.n_samples)
    frame[lo - start:hi - start] = noise[lo:hi] * w[lo - start:hi - start]
    piece = np.convolve(frame, taps[m])
    out[start + 2 * hop:start + 2 * hop + len(piece)] += piece
  delay = (taps.shape[-1] - 1) // 2
  return out[2 * hop + delay:2 * hop + delay + op.n_samples]


def build_filtered_noise(op):
  layer = ddsp.synths.FilteredNoise(n_samples=op.n_samples, window_size=257,
                                    seed=0)
  inputs = _noise_magnitudes(op)
  return Case(fn=layer, inputs=inputs, reference=lambda: (
      _filtered_noise_reference(layer, inputs['magnitudes'], op)))


def build_filtered_noise_training(op):
  layer = ddsp.synths.FilteredNoise(n_samples=op.n_samples, window_size=257,
                                    seed=0)
  return Case(fn=lambda magnitudes: layer(magnitudes, training=True),
              inputs=_noise_magnitudes(op))


def build_published_filtered_noise(op):
  """The published method: fresh [batch, samples] noise; taps by irfft +
  window; non-overlapping blocks, each convolved by power-of-2 FFTs."""
  layer = ddsp.synths.FilteredNoise(n_samples=op.n_samples, window_size=257)
  hop = op.n_samples // op.n_frames

  def fn(magnitudes):
    magnitudes = layer.get_controls(magnitudes)['magnitudes']
    noise = tf.random.uniform([op.batch, op.n_samples], -1.0, 1.0)
    taps = ddsp.core.frequency_impulse_response(magnitudes, 257)
    ir_size = taps.shape[-1]
    fft_size = ddsp.core.get_fft_size(hop, ir_size, power_of_2=True)
    blocks = tf.reshape(noise, [op.batch, op.n_frames, hop])
    convolved = tf.signal.irfft(
        tf.signal.rfft(blocks, [fft_size]) * tf.signal.rfft(taps, [fft_size]),
        [fft_size])
    full = tf.signal.overlap_and_add(convolved, hop)
    delay = (ir_size - 1) // 2
    return full[:, delay:delay + op.n_samples]

  return Case(fn=fn, inputs=_noise_magnitudes(op))


def build_reverb(op):
  """Reverb with a 3 s IR given as input (gradients w.r.t. audio and IR)."""
  layer = ddsp.effects.Reverb(reverb_length=int(op.reverb_seconds *
                                                op.sample_rate))
  inputs = {
      'audio': tf.random.stateless_uniform([op.batch, op.n_samples], [7, 0],
                                           -1.0, 1.0),
      'ir': _normal([op.batch, layer.reverb_length], 8) * tf.exp(
          -tf.linspace(0.0, 8.0, layer.reverb_length)),
  }

  def reference():
    audio = inputs['audio'][0].numpy().astype(np.float64)
    ir = inputs['ir'][0].numpy().astype(np.float64)
    ir[0] = 0.0
    return np.convolve(audio, ir)[:op.n_samples] + audio

  return Case(fn=lambda audio, ir: layer(audio, ir), inputs=inputs,
              reference=reference)


def _stable_coefficients(order):
  """b, a of a fixed stable order-`order` filter (poles of radius 0.9-0.98)."""
  rng = np.random.default_rng(order)
  radii = np.linspace(0.9, 0.98, (order + 1) // 2)
  angles = np.linspace(0.2, 2.5, (order + 1) // 2)
  poles = radii * np.exp(1j * angles)
  poles = np.concatenate([poles, np.conj(poles)])[:order]
  if order % 2:
    poles[-1] = 0.95
  return rng.normal(size=order + 1), np.real(np.poly(poles))


def _lfilter_inputs(op, order):
  b, a = _stable_coefficients(order)
  return {'audio': tf.random.stateless_uniform([op.batch, op.n_samples],
                                               [9, 0], -1.0, 1.0),
          'b': tf.constant(b, tf.float32), 'a': tf.constant(a, tf.float32)}


def _scipy_lfilter(audio, b, a):
  return scipy.signal.lfilter(b, a, audio)


def build_lfilter(order):
  def build(op):
    inputs = _lfilter_inputs(op, order)
    b, a = _stable_coefficients(order)
    return Case(
        fn=lambda audio, b, a: ddsp.core.lfilter(audio, b, a), inputs=inputs,
        reference=lambda: _scipy_lfilter(
            inputs['audio'][0].numpy().astype(np.float64), b, a))
  return build


def build_scipy_lfilter(order):
  def build(op):
    inputs = _lfilter_inputs(op, order)
    b, a = _stable_coefficients(order)
    audio = inputs['audio'].numpy().astype(np.float64)

    def fn():  # The same data, in float64 numpy as scipy users call it.
      return tf.numpy_function(lambda: _scipy_lfilter(audio, b, a), [],
                               tf.float64)
    return Case(fn=fn, inputs={}, backward=False)
  return build


def build_biquad_filter(op):
  layer = ddsp.effects.BiquadFilter(
      n_biquads=2, filter_type=['lowpass', 'peak'], sample_rate=op.sample_rate)
  inputs = {
      'audio': tf.random.stateless_uniform([op.batch, op.n_samples], [10, 0],
                                           -1.0, 1.0),
      'frequency': _normal([op.batch, op.n_frames, 2], 11),
      'q': _normal([op.batch, op.n_frames, 2], 12),
      'gain': _normal([op.batch, op.n_frames, 2], 13)}
  return Case(fn=lambda audio, frequency, q, gain: layer(audio, frequency, q,
                                                         gain),
              inputs=inputs)


def build_state_variable_filter(op):
  layer = ddsp.effects.StateVariableFilter(filter_type='bandpass',
                                           sample_rate=op.sample_rate)
  inputs = {
      'audio': tf.random.stateless_uniform([op.batch, op.n_samples], [14, 0],
                                           -1.0, 1.0),
      'frequency': _normal([op.batch, op.n_frames, 1], 15),
      'q': _normal([op.batch, op.n_frames, 1], 16)}
  return Case(fn=lambda audio, frequency, q: layer(audio, frequency, q),
              inputs=inputs)
# ------------------------------------------------------------------------------
# Physical models, FM and granular synthesis (issue 11). Goal: forward +
# backward within 3x of Harmonic's in the same run (printed below the table).
# ------------------------------------------------------------------------------
def _frames(op, value, seed=None, spread=0.0):
  """[batch, n_frames, 1]: `value`, times 1 +- spread per example."""
  x = value * np.ones([op.batch, op.n_frames, 1])
  if seed is not None:
    x *= 1.0 + spread * np.random.default_rng(seed).uniform(
        -1, 1, [op.batch, 1, 1])
  return tf.constant(x, tf.float32)


def build_plucked_string(op):
  """Plucks at the benchmark's f0 curves (110-440 Hz), 1 s T60."""
  layer = ddsp.synths.PluckedString(n_samples=op.n_samples,
                                    sample_rate=op.sample_rate, seed=0)
  inputs = {'f0_hz': _f0_hz(op), 't60': _frames(op, 1.0, 11, 0.5),
            'brightness': _frames(op, 0.5, 12, 0.5)}
  return Case(fn=layer, inputs=inputs)


def build_modal(op, n_modes=16):
  """16 modes, 200-6000 Hz, T60 0.2-2 s, struck by an impulse."""
  layer = ddsp.synths.Modal(n_samples=op.n_samples,
                            sample_rate=op.sample_rate)
  rng = np.random.default_rng(13)
  inputs = {
      'frequencies': tf.constant(rng.uniform(200, 6000, [op.batch, n_modes]),
                                 tf.float32),
      't60': tf.constant(rng.uniform(0.2, 2.0, [op.batch, n_modes]),
                         tf.float32),
      'gains': _normal([op.batch, n_modes], 14),
  }
  return Case(fn=layer, inputs=inputs)


def build_frequency_modulation(op):
  """Six operators, DX7 algorithm 5 (three pairs), per-frame levels."""
  layer = ddsp.synths.FrequencyModulation(n_samples=op.n_samples,
                                          sample_rate=op.sample_rate,
                                          algorithm='dx7_5')
  ratios = np.array([1.0, 2.0, 1.0, 3.5, 2.0, 7.0])
  inputs = {'f0_hz': _f0_hz(op),
            'amplitudes': tf.abs(_normal([op.batch, op.n_frames, 6], 15)),
            'ratios': tf.constant(ratios * np.ones([op.batch, op.n_frames, 6]),
                                  tf.float32)}
  return Case(fn=layer, inputs=inputs)


def build_granular(op):
  """50 +- 25 grains/s of 50 +- 25 ms from a 1 s source, spray 0.05.

  The cost is set by the caps (grain slots x samples per slot): 80 grains/s
  of at most 80 ms.
  """
  layer = ddsp.synths.Granular(n_samples=op.n_samples,
                               sample_rate=op.sample_rate, max_density=80.0,
                               max_grain_size=0.08, spray=0.05, seed=0)
  positions = np.linspace(0.0, 1.0, op.n_frames)[None, :, None]
  inputs = {
      'positions': tf.constant(positions * np.ones([op.batch, 1, 1]),
                               tf.float32),
      'grain_sizes': _frames(op, 0.05, 16, 0.5),
      'densities': _frames(op, 50.0, 17, 0.5),
      'pitch_ratios': _frames(op, 1.0, 18, 0.3),
      'amplitudes': _frames(op, 0.5),
      'source': tf.random.stateless_uniform([op.batch, op.sample_rate],
                                            [19, 0], -1.0, 1.0),
  }
  return Case(fn=layer, inputs=inputs)


NEW_PROCESSOR_CASES = [
    ('PluckedString', build_plucked_string),
    ('Modal (16 modes)', build_modal),
    ('FrequencyModulation (6 ops)', build_frequency_modulation),
    ('Granular (50 grains/s)', build_granular),
]


# (name, build_fn): build_fn(op) returns a Case, or a string saying why the
# case is skipped. Append new cases here.
CASES = [
    ('Harmonic', build_harmonic),
    ('Harmonic (direct sines)', build_harmonic_direct_sines),
    ('Harmonic (published method)', build_published_harmonic),
    ('sin + sum floor', build_sin_floor),
    ('Wavetable', build_wavetable),
    ('Wavetable (published method)', build_published_wavetable),
    ('FilteredNoise', build_filtered_noise),
    ('FilteredNoise (training)', build_filtered_noise_training),
    ('FilteredNoise (published)', build_published_filtered_noise),
    ('Reverb (3 s IR)', build_reverb),
    ('lfilter order 2', build_lfilter(2)),
    ('scipy lfilter order 2', build_scipy_lfilter(2)),
    ('lfilter order 8', build_lfilter(8)),
    ('scipy lfilter order 8', build_scipy_lfilter(8)),
    ('BiquadFilter', build_biquad_filter),
    ('StateVariableFilter', build_state_variable_filter),
] + NEW_PROCESSOR_CASES


# ------------------------------------------------------------------------------
# Measurement.
# ------------------------------------------------------------------------------
def _runners(case, eager):
  """(forward, forward_backward or None) callables returning numpy."""
  names = sorted(case.inputs)

  def forward(*tensors):
    return case.fn(**dict(zip(names, tensors)))

  def forward_backward(*tensors):
    with tf.GradientTape() as tape:
      tape.watch(tensors)
      audio = forward(*tensors)
      loss = tf.reduce_mean(audio**2)
    return tape.gradient(loss, list(tensors))

  if not eager:
    forward = tf.function(forward)
    forward_backward = tf.function(forward_backward)
  tensors = [case.inputs[n] for n in names]

  def run(fn):
    def call():
      out = fn(*tensors)
      return [np.asarray(x) for x in tf.nest.flatten(out) if x is not None]
    return call

  return run(forward), (run(forward_backward) if case.backward else None)


def _peak_megabytes(fn):
  """Allocator peak during one call, above what was allocated before (MB)."""
  try:
    tf.config.experimental.reset_memory_stats('CPU:0')
    before = tf.config.experimental.get_memory_info('CPU:0')['current']
    fn()
    peak = tf.config.experimental.get_memory_info('CPU:0')['peak']
  except (ValueError, RuntimeError):
    return float('nan')
  return (peak - before) / 2**20


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--batch', type=int, default=16)
  parser.add_argument('--seconds', type=float, default=4.0)
  parser.add_argument('--sample-rate', type=int, default=16000)
  parser.add_argument('--frame-rate', type=int, default=250)
  parser.add_argument('--harmonics', type=int, default=60)
  parser.add_argument('--wavetable-size', type=int, default=2048)
  parser.add_argument('--max-gb', type=float, default=6.0,
                      help='skip cases that would need more memory')
  parser.add_argument('--repeats', type=int, default=5)
  parser.add_argument('--cases', default='',
                      help='comma-separated case names (default: all)')
  parser.add_argument('--eager', action='store_true',
                      help='run eagerly instead of inside tf.function')
  args = parser.parse_args()
  op = OperatingPoint(batch=args.batch, seconds=args.seconds,
                      sample_rate=args.sample_rate, frame_rate=args.frame_rate,
                      n_harmonics=args.harmonics,
                      n_wavetable=args.wavetable_size, max_gb=args.max_gb)
  wanted = [c.strip() for c in args.cases.split(',') if c.strip()]
  cases = [(n, b) for n, b in CASES if not wanted or n in wanted]

  built, skipped = {}, {}
  for name, build in cases:
    case = build(op)
    if isinstance(case, str):
      skipped[name] = case
      continue
    built[name] = (case, *_runners(case, args.eager))

  # Warm up (traces tf.functions), then interleave the repeats.
  times = {(n, m): [] for n in built for m in ('fwd', 'fwd+bwd')}
  for name, (_, fwd, fwd_bwd) in built.items():
    fwd()
    if fwd_bwd is not None:
      fwd_bwd()
  for _ in range(args.repeats):
    for name, (_, fwd, fwd_bwd) in built.items():
      for mode, fn in (('fwd', fwd), ('fwd+bwd', fwd_bwd)):
        if fn is None:
          continue
        start = time.perf_counter()
        fn()
        times[(name, mode)].append(time.perf_counter() - start)
  median = {k: float(np.median(v)) if v else float('nan')
            for k, v in times.items()}

  memory, error = {}, {}
  for name, (case, fwd, fwd_bwd) in built.items():
    memory[(name, 'fwd')] = _peak_megabytes(fwd)
    memory[(name, 'fwd+bwd')] = (_peak_megabytes(fwd_bwd)
                                 if fwd_bwd is not None else float('nan'))
    if case.reference is not None:
      audio = np.asarray(case.fn(**case.inputs))[0]
      error[name] = float(np.max(np.abs(audio - case.reference())))

  audio_seconds = op.batch * op.n_samples / op.sample_rate
  floor = median.get(('sin + sum floor', 'fwd'), float('nan'))
  print(f'\nOperating point: batch {op.batch}, {op.seconds:g} s at '
        f'{op.sample_rate} Hz ({op.n_samples} samples), {op.frame_rate} '
        f'frames/s ({op.n_frames} frames), {op.n_harmonics} harmonics, '
        f'{op.n_wavetable}-sample wavetables; '
        f'{"eager" if args.eager else "tf.function"}, median of '
        f'{args.repeats}.\n')
  header = (f'{"case":<30} {"fwd s":>7} {"f+b s":>7} {"fwd/floor":>9} '
            f'{"f+b/floor":>9} {"RTF fwd":>8} {"RTF f+b":>8} '
            f'{"MB fwd":>8} {"MB f+b":>8} {"max|err|":>9}')
  print(header)
  print('-' * len(header))
  for name in built:
    fwd, fb = median[(name, 'fwd')], median[(name, 'fwd+bwd')]
    print(f'{name:<30} {fwd:7.3f} {fb:7.3f} {fwd / floor:9.2f} '
          f'{fb / floor:9.2f} {audio_seconds / fwd:8.1f} '
          f'{audio_seconds / fb:8.1f} {memory[(name, "fwd")]:8.0f} '
          f'{memory[(name, "fwd+bwd")]:8.0f} '
          f'{error.get(name, float("nan")):9.1e}')
  for name, why in skipped.items():
    print(f'{name:<30} {why}')

  if 'Harmonic' in built and 'sin + sum floor' in built:
    # Issue 14 goals: forward within 2x and forward + backward within 4x of
    # the fused-sin floor measured in this run.
    print(f'\nHarmonic / sin + sum floor ({floor:.3f} s): forward '
          f'{median[("Harmonic", "fwd")] / floor:.2f}x (goal <= 2), '
          f'forward+backward {median[("Harmonic", "fwd+bwd")] / floor:.2f}x '
          f'(goal <= 4); peak memory f+b {memory[("Harmonic", "fwd+bwd")]:.0f}'
          f' MB (one [batch, samples, harmonics] float32 tensor: '
          f'{op.batch * op.n_samples * op.n_harmonics * 4 / 2**20:.0f} MB).')
  ours, theirs = 'Harmonic', 'Harmonic (published method)'
  if ours in built and theirs in built:
    print(f'\n{ours} vs {theirs}: forward '
          f'{median[(theirs, "fwd")] / median[(ours, "fwd")]:.1f}x faster, '
          f'forward+backward '
          f'{median[(theirs, "fwd+bwd")] / median[(ours, "fwd+bwd")]:.1f}x '
          f'faster; peak memory (f+b) '
          f'{memory[(ours, "fwd+bwd")] / memory[(theirs, "fwd+bwd")]:.2f} of '
          f'theirs; max error {error.get(ours, np.nan):.1e} vs '
          f'{error.get(theirs, np.nan):.1e}.')
  for order in (2, 8):
    ours, theirs = f'lfilter order {order}', f'scipy lfilter order {order}'
    if ours in built and theirs in built:
      print(f'{ours} / {theirs} (forward): '
            f'{median[(ours, "fwd")] / median[(theirs, "fwd")]:.2f}x (goal '
            f'<= 3); forward+backward / scipy forward: '
            f'{median[(ours, "fwd+bwd")] / median[(theirs, "fwd")]:.2f}x '
            '(goal <= 10).')
  # Issue 11 goal: each new processor's forward+backward within 3x of
  # Harmonic's.
  new_processors = ['BiquadFilter', 'StateVariableFilter'] + [
      name for name, _ in NEW_PROCESSOR_CASES]
  for name in new_processors:
    if name in built and 'Harmonic' in built:
      print(f'{name} / Harmonic: forward '
            f'{median[(name, "fwd")] / median[("Harmonic", "fwd")]:.2f}x, '
            f'forward+backward '
            f'{median[(name, "fwd+bwd")] / median[("Harmonic", "fwd+bwd")]:.2f}'
            'x (goal <= 3).')
  print('RTF: seconds of audio rendered per second of compute. MB: allocator '
        'peak above the inputs. max|err|: vs float64 numpy, example 0.')


if __name__ == '__main__':
  main()
