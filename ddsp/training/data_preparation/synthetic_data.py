"""Random synth controls of notes: the self-supervision of InverseSynthesis.

EXPERIMENTAL (as published). `generate_notes` and the more expressive
`generate_notes_v2` draw random notes as the controls of a harmonic-plus-noise
synthesizer, and give them both as harmonic controls and as the equivalent
free sinusoids. `ddsp_generate_synthetic_dataset` writes them to TFRecords,
which `ddsp.training.data.SyntheticNotes` reads; the InverseSynthesis model
renders the audio and learns to invert it.

Each generator returns a dict of float32 tensors (one batch):

- 'f0_hz': [n_batch, n_timesteps, 1], Hz (MIDI 24 to 84 for notes).
- 'harm_amp': [n_batch, n_timesteps, 1], linear amplitude of the harmonics.
- 'harm_dist': [n_batch, n_timesteps, n_harmonics], the harmonic
  distribution, summing to 1 over the harmonics below Nyquist (those at or
  above are 0).
- 'sin_amps', 'sin_freqs': [n_batch, n_timesteps, n_harmonics], the same
  harmonics as sinusoids: harm_amp * harm_dist, and f0_hz * [1 ... H] in Hz.
- 'noise_magnitudes': [n_batch, n_timesteps, n_mags], filtered-noise band
  magnitudes (linear with `get_controls`, else raw).

Randomness: every function takes `rng`, a `np.random.RandomState` or
`np.random.Generator` (None: numpy's global generator, as published, so that
`np.random.seed` makes them reproducible); the generators also take `seed`.
"""

import inspect

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import registration
from ddsp import validation

__all__ = [
    'flip',
    'generate_examples',
    'generate_notes',
    'generate_notes_v2',
    'modulate',
    'normal_generator',
    'random_blend',
    'random_harm_dist',
    'uniform_float',
    'uniform_generator',
    'uniform_int',
]

_GIN_MODULE = 'ddsp.training.data_preparation.synthetic_data'
_METHODS = ('nearest', 'linear', 'cubic', 'window')


def _get_rng(rng, seed=None):
  """The generator to draw from: `rng`, a seeded one, or numpy's global."""
  if rng is not None and seed is not None:
    raise ValueError('Give `rng` or `seed`, not both. Received: '
                     f'rng={rng!r}, seed={seed!r}')
  if seed is not None:
    return np.random.RandomState(validation.check_seed(seed))
  if rng is None or rng is np.random:
    return np.random
  if not isinstance(rng, (np.random.RandomState, np.random.Generator)):
    raise TypeError('`rng` must be a np.random.RandomState or '
                    f'np.random.Generator, or None. Received: rng={rng!r}')
  return rng


def flip(p=0.5, rng=None):
  """A biased coin: True with probability `p`.

  Example:
    >>> flip(1.0), flip(0.0)
    (True, False)
  """
  return bool(_get_rng(rng).uniform() <= p)


def uniform_int(minval=0, maxval=10, rng=None):
  """A uniform random integer in [minval, maxval] (both included).

  Example:
    >>> uniform_int(3, 3)
    3
  """
  rng = _get_rng(rng)
  lo, hi = int(minval), int(maxval)
  if hi < lo:
    raise ValueError('`maxval` must be >= `minval`. Received: '
                     f'minval={minval!r}, maxval={maxval!r}')
  if isinstance(rng, np.random.Generator):
    return int(rng.integers(lo, hi + 1))
  return int(rng.randint(lo, hi + 1))


def uniform_float(minval=0.0, maxval=10.0, rng=None):
  """A uniform random float in [minval, maxval).

  Example:
    >>> 2.0 <= uniform_float(2.0, 3.0) < 3.0
    True
  """
  return float(_get_rng(rng).uniform(float(minval), float(maxval)))


def uniform_generator(sample_shape, n_timesteps, minval, maxval,
                      method='linear', rng=None):
  """Uniform random values at a few points, interpolated to `n_timesteps`.

  Args:
    sample_shape: [batch, n_points, channels], the random points.
    n_timesteps: int, frames of the result.
    minval: lower bound of the values.
    maxval: upper bound of the values.
    method: interpolation of `core.resample` ('nearest': steps, 'linear',
      'cubic', 'window').
    rng: random generator (see the module docstring).

  Returns:
    float32 [batch, n_timesteps, channels] tensor.

  Example:
    >>> x = uniform_generator([1, 2, 1], 6, 0.0, 1.0, method='nearest')
    >>> x.shape, len(set(x.numpy().ravel().tolist())) <= 2
    (TensorShape([1, 6, 1]), True)
  """
  validation.check_one_of(method, 'method', _METHODS)
  signal = _get_rng(rng).uniform(minval, maxval, sample_shape)
  return core.resample(signal.astype(np.float32), n_timesteps, method=method)


def normal_generator(sample_shape, n_timesteps, mean, stddev,
                     method='linear', rng=None):
  """Normal random values at a few points, interpolated to `n_timesteps`.

  Args: as `uniform_generator`, with the `mean` and `stddev` of the values.

  Returns:
    float32 [batch, n_timesteps, channels] tensor.

  Example:
    >>> normal_generator([2, 3, 1], 10, 0.0, 1.0).shape
    TensorShape([2, 10, 1])
  """
  validation.check_one_of(method, 'method', _METHODS)
  signal = _get_rng(rng).normal(mean, stddev, sample_shape)
  return core.resample(signal.astype(np.float32), n_timesteps, method=method)


def modulate(signal, maxval=0.5, n_t=10, method='linear', rng=None):
  """Multiplies a signal by a slow random envelope |N(1, std)|.

  Each batch element draws its own std uniformly in [0, maxval), then `n_t`
  points of |N(1, std)| interpolated over the frames.

  Args:
    signal: [batch, n_timesteps, channels] array or tensor.
    maxval: largest std of the modulation.
    n_t: points of the envelope.
    method: interpolation of the envelope.
    rng: random generator (see the module docstring).

  Returns:
    float32 [batch, n_timesteps, channels] tensor.

  Example:
    >>> float(modulate(tf.ones([2, 8, 3]), maxval=0.0).numpy().min())
    1.0
  """
  signal = core.tf_float32(signal)
  validation.check_rank(signal, 'signal', 3)
  rng = _get_rng(rng)
  n_batch, n_timesteps = int(signal.shape[0]), int(signal.shape[1])
  stddev = rng.uniform(0.0, maxval, n_batch)
  mod = np.abs(rng.normal(1.0, stddev[np.newaxis, np.newaxis, :],
                          [1, n_t, n_batch]))
  mod = np.transpose(mod, [2, 1, 0]).astype(np.float32)  # [batch, n_t, 1]
  return signal * core.resample(mod, n_timesteps, method=method)


def _check_sizes(**sizes):
  for name, value in sizes.items():
    validation.check_positive_int(value, name)


def _controls(harm_amp, harm_dist, f0_hz, mags, get_controls, sample_rate):
  """The output dict; with `get_controls` the distribution is normalized."""
  f0_hz = core.tf_float32(f0_hz)
  harm_amp = core.tf_float32(harm_amp)
  harm_dist = core.tf_float32(harm_dist)
  if get_controls:
    harm_dist = core.normalize_harmonics(harm_dist, f0_hz, sample_rate)
  sin_amps, sin_freqs = core.harmonic_to_sinusoidal(harm_amp, harm_dist,
                                                    f0_hz, sample_rate)
  return {'harm_amp': harm_amp,
          'harm_dist': harm_dist,
          'f0_hz': f0_hz,
          'sin_amps': sin_amps,
          'sin_freqs': sin_freqs,
          'noise_magnitudes': core.tf_float32(mags)}


@registration.register(_GIN_MODULE)
def generate_notes(n_batch, n_timesteps, n_harmonics=100, n_mags=65,
                   get_controls=True, sample_rate=16000, seed=None, rng=None):
  """Random discrete notes (the first, simpler generator).

  1 to 20 notes of equal length per example, each at a uniform random MIDI
  pitch in [24, 84); amplitudes (`exp_sigmoid` of U(-2, 2)), harmonic
  distributions (a random mix of 10 spectral slopes) and noise magnitudes
  (`exp_sigmoid` of U(-6, U(-4, 0))) at the notes, held or interpolated
  linearly (a coin flip each).

  Args:
    n_batch: int, examples.
    n_timesteps: int, frames per example.
    n_harmonics: int, harmonics (and sinusoids).
    n_mags: int, noise bands.
    get_controls: bool, apply the synth scalings (exp_sigmoid, normalized
      distribution below Nyquist); False gives the raw values.
    sample_rate: Hz, sets Nyquist for the distribution and sinusoids.
    seed: int or None, seed of a private generator.
    rng: random generator (see the module docstring); not with `seed`.

  Returns:
    The controls dict of the module docstring (float32 tensors).

  Example:
    >>> c = generate_notes(2, 50, n_harmonics=8, n_mags=5, seed=0)
    >>> c['harm_dist'].shape, c['noise_magnitudes'].shape
    (TensorShape([2, 50, 8]), TensorShape([2, 50, 5]))
  """
  _check_sizes(n_batch=n_batch, n_timesteps=n_timesteps,
               n_harmonics=n_harmonics, n_mags=n_mags)
  rng = _get_rng(rng, seed)
  n_notes = uniform_int(1, 20, rng=rng)

  # Amplitudes.
  method = 'nearest' if flip(0.5, rng) else 'linear'
  harm_amp = uniform_generator([n_batch, n_notes, 1], n_timesteps, -2.0, 2.0,
                               method, rng)
  if get_controls:
    harm_amp = core.exp_sigmoid(harm_amp)

  # Frequencies: one pitch per note.
  note_midi = uniform_generator([n_batch, n_notes, 1], n_timesteps, 24.0,
                                84.0, 'nearest', rng)
  f0_hz = core.midi_to_hz(note_midi)

  # Harmonic distribution: a mix of lines -linspace(0, i) ** exponent.
  method = 'nearest' if flip(0.5, rng) else 'linear'
  n_lines = 10
  exponents = [uniform_float(1.0, 6.0, rng) for _ in range(n_lines)]
  lines = np.stack([-np.linspace(0.0, float(i), n_harmonics) ** exponents[i]
                    for i in range(n_lines)]).astype(np.float32)
  lines_mix = uniform_generator([n_batch, n_notes, n_lines], n_timesteps, 0.0,
                                1.0, method, rng)
  harm_dist = tf.einsum('btl,lh->bth', lines_mix, lines)
  if get_controls:
    harm_dist = core.exp_sigmoid(harm_dist)

  # Noise magnitudes.
  method = 'nearest' if flip(0.5, rng) else 'linear'
  mags = uniform_generator([n_batch, n_notes, n_mags], n_timesteps, -6.0,
                           uniform_float(-4.0, 0.0, rng), method, rng)
  if get_controls:
    mags = core.exp_sigmoid(mags)
  return _controls(harm_amp, harm_dist, f0_hz, mags, get_controls,
                   sample_rate)


def random_blend(length, env_start=1.0, env_end=0.0, exp_max=2.0, rng=None):
  """A curve from `env_start` to `env_end` with a random steepness.

  `env_start * v + env_end * (1 - v)` with v = linspace(1, 0) ** 2 ** e,
  e uniform in [-exp_max, exp_max).

  Returns:
    float64 [length] numpy array.

  Example:
    >>> b = random_blend(5, 2.0, -1.0)
    >>> float(b[0]), float(b[-1])
    (2.0, -1.0)
  """
  exponent = uniform_float(-exp_max, exp_max, rng)
  v = np.linspace(1.0, 0.0, length) ** (2.0 ** exponent)
  return env_start * v + env_end * (1.0 - v)


def random_harm_dist(n_harmonics=100, low_pass=True, rand_phase=0.0,
                     rng=None):
  """A random smooth spectral shape: a sum of 1 to 20 cosines over harmonics.

  Args:
    n_harmonics: int, length of the shape.
    low_pass: bool, tilt each cosine down towards the high harmonics.
    rand_phase: random phase of each cosine, as a fraction of a cycle.
    rng: random generator (see the module docstring).

  Returns:
    float64 [n_harmonics] numpy array (logits, not normalized).

  Example:
    >>> random_harm_dist(16).shape
    (16,)
  """
  rng = _get_rng(rng)
  n_components = uniform_int(1, 20, rng)
  smoothness = uniform_float(1.0, 10.0, rng)
  coeffs = rng.uniform(size=n_components)
  freqs = rng.uniform(size=n_components) * n_harmonics / smoothness
  v = [coeffs[i] * np.cos(
      np.linspace(0.0, 2.0 * np.pi * freqs[i], n_harmonics) +
      uniform_float(0.0, np.pi * 2.0 * rand_phase, rng))
       for i in range(n_components)]
  if low_pass:
    v = [v_i * np.linspace(1.0, uniform_float(0.0, 0.5, rng), n_harmonics)
         ** uniform_float(0.5, 2.0, rng) for v_i in v]
  return np.sum(np.stack(v), axis=0)


def _morphing_shape(n_frames, n_bins, rng):
  """[n_frames, n_bins]: a blend moving from one random spectral shape
  (`random_harm_dist`, low-passed with probability 0.8) to another."""
  low_pass = flip(0.8, rng)
  rand_phase = uniform_float(0.0, 0.4, rng)
  start = random_harm_dist(n_bins, low_pass, rand_phase, rng)
  end = random_harm_dist(n_bins, low_pass, rand_phase, rng)
  blend = random_blend(n_frames, 1.0, 0.0, rng=rng)[:, np.newaxis]
  return start * blend + end * (1.0 - blend)


@registration.register(_GIN_MODULE)
def generate_notes_v2(n_batch=1, n_timesteps=125, n_harmonics=100, n_mags=65,
                      min_note_length=5, max_note_length=25, p_silent=0.1,
                      p_vibrato=0.5, get_controls=True, sample_rate=16000,
                      seed=None, rng=None):
  """Random expressive notes (the generator of the ICML 2020 pretraining).

  Each example is a sequence of notes of `min_note_length` to
  `max_note_length` frames. A note is silent with probability `p_silent`;
  otherwise it has an amplitude curve between two random levels, a harmonic
  distribution morphing between two random smooth shapes (softmax), a pitch
  uniform in MIDI [24, 84) with vibrato (probability `p_vibrato`) and small
  noise. Every note also has filtered noise morphing between two random
  shapes. With `get_controls` the amplitudes go through `exp_sigmoid` and a
  random overall gain, the noise magnitudes through `exp_sigmoid`.

  Args:
    n_batch: int, examples.
    n_timesteps: int, frames per example (125: 4 s at 31.25 frames/s).
    n_harmonics: int, harmonics (and sinusoids).
    n_mags: int, noise bands.
    min_note_length: int, shortest note, frames.
    max_note_length: int, longest note, frames.
    p_silent: probability in [0, 1] that a note is silent.
    p_vibrato: probability in [0, 1] that a note has vibrato.
    get_controls: bool, apply the synth scalings; False gives raw values.
    sample_rate: Hz, sets Nyquist for the distribution and sinusoids.
    seed: int or None, seed of a private generator.
    rng: random generator (see the module docstring); not with `seed`.

  Returns:
    The controls dict of the module docstring (float32 tensors).

  Raises:
    ValueError: a size is not a positive integer, the note lengths are not
      ordered, or a probability is outside [0, 1].

  Example:
    >>> c = generate_notes_v2(n_batch=1, n_timesteps=20, n_harmonics=6,
    ...                       n_mags=4, seed=1)
    >>> sorted(c)
    ['f0_hz', 'harm_amp', 'harm_dist', 'noise_magnitudes', 'sin_amps', 'sin_freqs']
  """
  _check_sizes(n_batch=n_batch, n_timesteps=n_timesteps,
               n_harmonics=n_harmonics, n_mags=n_mags,
               min_note_length=min_note_length,
               max_note_length=max_note_length)
  if max_note_length < min_note_length:
    raise ValueError('`max_note_length` must be >= `min_note_length`. '
                     f'Received: min_note_length={min_note_length}, '
                     f'max_note_length={max_note_length}')
  validation.check_in_range(p_silent, 'p_silent', 0.0, 1.0)
  validation.check_in_range(p_vibrato, 'p_vibrato', 0.0, 1.0)
  rng = _get_rng(rng, seed)
  harm_amp = np.zeros([n_batch, n_timesteps, 1])
  harm_dist = np.zeros([n_batch, n_timesteps, n_harmonics])
  f0_midi = np.zeros([n_batch, n_timesteps, 1])
  mags = np.zeros([n_batch, n_timesteps, n_mags])

  for b in range(n_batch):
    t_start = 0
    while t_start < n_timesteps:
      t_end = min(t_start + uniform_int(min_note_length, max_note_length,
                                        rng), n_timesteps)
      n = t_end - t_start
      notes = slice(t_start, t_end)

      if flip(p_silent, rng):
        harm_amp[b, notes] -= 10.0
      else:
        # Amplitude curve plus a little noise.
        blend = random_blend(n, uniform_float(-1.0, 3.0, rng),
                             uniform_float(-1.0, 3.0, rng), rng=rng)
        harm_amp[b, notes] += blend[:, np.newaxis]
        harm_amp[b, notes] += uniform_float(0.0, 0.1, rng) * (
            rng.standard_normal((n, 1)))

        # Harmonic distribution morphing between two shapes.
        harm_dist[b, notes] += _morphing_shape(n, n_harmonics, rng)
        harm_dist[b, notes] += uniform_float(0.0, 0.5, rng) * (
            rng.standard_normal((n, n_harmonics)))

        # Pitch, with optional vibrato, plus a little noise.
        f0 = uniform_float(24.0, 84.0, rng)
        if flip(p_vibrato, rng):
          vib_start = uniform_float(0.0, 1.0, rng)
          vib_end = uniform_float(0.0, 1.0, rng)
          periods = uniform_float(0.0, n * 2.0 / min_note_length, rng)
          depth = random_blend(n, vib_start, vib_end, rng=rng)
          f0_note = f0 + depth * np.sin(
              np.linspace(0.0, 2.0 * np.pi * periods, n))
        else:
          f0_note = f0 * np.ones([n])
        f0_midi[b, notes] += f0_note[:, np.newaxis]
        f0_midi[b, notes] += uniform_float(0.0, 0.1, rng) * (
            rng.standard_normal((n, 1)))

      # Filtered noise morphing between two shapes, plus noise, scaled down.
      mags[b, notes] += _morphing_shape(n, n_mags, rng)
      mags[b, notes] += uniform_float(0.0, 0.2, rng) * rng.standard_normal(
          (n, n_mags))
      mags[b, notes] -= uniform_float(1.0, 10.0, rng)
      t_start = t_end

  harm_amp = harm_amp.astype(np.float32)
  if get_controls:
    harm_amp = core.exp_sigmoid(harm_amp)
    high_gain = uniform_float(2.0, 10.0, rng)
    harm_amp /= uniform_float(1.0, high_gain if flip(0.2, rng) else 2.0, rng)
  f0_hz = core.midi_to_hz(f0_midi.astype(np.float32))
  harm_dist = harm_dist.astype(np.float32)
  mags = mags.astype(np.float32)
  if get_controls:
    harm_dist = tf.nn.softmax(harm_dist)
    mags = core.exp_sigmoid(mags)
  return _controls(harm_amp, harm_dist, f0_hz, mags, get_controls,
                   sample_rate)


@registration.register(_GIN_MODULE, configurable=True)
def generate_examples(seed, generate_fn=generate_notes_v2):
  """One example of synthetic controls from `generate_fn`, seeded.

  The element function of `ddsp_generate_synthetic_dataset`; gin sets the
  generator, e.g. `generate_examples.generate_fn = @generate_notes_v2` and
  `generate_notes_v2.n_timesteps = 125`.

  Args:
    seed: int, seed of the example (a generator with a `seed` argument gets
      it; others run after `np.random.seed(seed)`, as published).
    generate_fn: callable (n_batch=1, ...) -> dict of [1, ...] controls.

  Returns:
    Dict of float32 numpy arrays, the controls of one example (no batch
    axis).

  Example:
    >>> ex = generate_examples(3)
    >>> ex['f0_hz'].shape, ex['harm_dist'].shape
    ((125, 1), (125, 100))
  """
  validation.check_callable(generate_fn, 'generate_fn', allow_none=False)
  seed = int(seed)
  try:
    takes_seed = 'seed' in inspect.signature(generate_fn).parameters
  except (TypeError, ValueError):
    takes_seed = False
  if takes_seed:
    batch = generate_fn(n_batch=1, seed=seed)
  else:
    np.random.seed(seed % 2**32)
    batch = generate_fn(n_batch=1)
  return {k: np.asarray(v, np.float32)[0] for k, v in batch.items()}

