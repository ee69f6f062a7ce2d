"""Tutorial 2: processors and controls.

Every synth and effect of ddsp is a `ddsp.processors.Processor`, a Keras layer
that turns *raw network outputs* into audio in two steps:

    controls = processor.get_controls(*raw_inputs)   # scale, mask, normalize
    signal = processor.get_signal(**controls)        # render with ddsp.core

Calling the processor does both; `return_outputs_dict=True` returns both the
signal and the controls. The split matters: a network's outputs are
unconstrained real numbers, and `get_controls` is where they become valid
synthesis parameters (positive amplitudes, distributions that sum to one,
no harmonics above Nyquist). Each processor takes its scale function as a
constructor argument, so you can change it or switch it off.

This tutorial covers:

1. get_controls vs get_signal on the Harmonic synth,
2. scale functions (the default `exp_sigmoid`, none, your own),
3. return_outputs_dict,
4. fitting controls by gradient descent through a processor,
5. writing your own processor,
6. the error messages you get for badly shaped inputs.

Run it:

    python examples/02_processors_and_controls.py --output_dir /tmp/tutorial_2
"""

import re

import gin
import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import tutorial_utils

import ddsp
from ddsp import core
from ddsp import processors
from ddsp import synths

SAMPLE_RATE = 16000
FRAME_RATE = 250
HOP = SAMPLE_RATE // FRAME_RATE


def controls_vs_signal(tutorial, rng, n_frames):
  """Raw network outputs -> controls -> audio."""
  tutorial.section('1. get_controls vs get_signal')
  n_samples = n_frames * HOP
  n_harmonics = 40
  harmonic = synths.Harmonic(n_samples=n_samples, sample_rate=SAMPLE_RATE)

  # What a decoder network might output: unconstrained numbers.
  raw_amps = rng.normal(size=[1, n_frames, 1]).astype(np.float32)
  raw_dist = rng.normal(size=[1, n_frames, n_harmonics]).astype(np.float32)
  # f0 is NOT scaled: it comes in Hz (from a pitch tracker). It rises from
  # 100 Hz to 1 kHz, so more and more of the 40 harmonics pass Nyquist.
  f0_hz = np.geomspace(100.0, 1000.0, n_frames, dtype=np.float32)
  f0_hz = f0_hz[np.newaxis, :, np.newaxis]

  controls = harmonic.get_controls(raw_amps, raw_dist, f0_hz)
  print('  controls:', {k: tuple(v.shape) for k, v in controls.items()})
  amps = controls['amplitudes'].numpy()
  dist = controls['harmonic_distribution'].numpy()
  # exp_sigmoid maps any real number into (0, 2].
  tutorial.record('raw_amplitudes_range',
                  [float(raw_amps.min()), float(raw_amps.max())], '.3g')
  tutorial.record('scaled_amplitudes_range',
                  [float(amps.min()), float(amps.max())], '.3g')
  # The distribution is normalized to sum to 1 over the harmonics below
  # Nyquist; the others are set to 0.
  tutorial.record('distribution_sum_max_error',
                  float(np.abs(dist.sum(-1) - 1.0).max()), '.2g')
  above = (np.arange(1, n_harmonics + 1) * f0_hz) >= SAMPLE_RATE / 2
  tutorial.record('harmonics_above_nyquist_in_last_frame',
                  int(above[0, -1].sum()))
  tutorial.record('largest_weight_above_nyquist', float(dist[above].max()))

  # get_signal renders the controls; calling the processor does both steps.
  audio_two_steps = harmonic.get_signal(**controls)
  audio_call = harmonic(raw_amps, raw_dist, f0_hz)
  tutorial.record('call_vs_two_steps_max_difference',
                  float(tf.reduce_max(tf.abs(audio_call - audio_two_steps))))
  tutorial.write_wav(audio_call[0], '01_harmonic_random_controls.wav')

  fig, axes = plt.subplots(1, 3, figsize=(13, 3.3))
  axes[0].imshow(raw_dist[0].T, origin='lower', aspect='auto', cmap='coolwarm')
  axes[0].set(xlabel='frame', ylabel='harmonic - 1',
              title='raw harmonic_distribution (network output)')
  axes[1].imshow(dist[0].T, origin='lower', aspect='auto', cmap='magma')
  first_above = np.where(above[0].any(-1), np.argmax(above[0], axis=-1),
                         n_harmonics)
  axes[1].plot(first_above - 0.5, 'c', lw=1)
  axes[1].set(xlabel='frame', title='controls: normalized, 0 above Nyquist')
  tutorial_utils.plot_spectrogram(axes[2], audio_call[0].numpy(), SAMPLE_RATE,
                                  'get_signal: audio')
  tutorial.save_figure(fig, '01_controls.png')
  return harmonic, (raw_amps, raw_dist, f0_hz)


# A custom scale function. Registering it with Keras lets a processor that
# uses it be saved and rebuilt from its config (`get_config`/`from_config`);
# `gin.register` lets gin files refer to it as `@softplus_amplitude`.
@gin.register
@keras.saving.register_keras_serializable(package='tutorial')
def softplus_amplitude(x):
  """log(1 + exp(x)): positive, linear for large x (a gentler alternative)."""
  return tf.nn.softplus(x)


def scale_functions(tutorial, n_frames):
  """The same raw input through different scale functions."""
  tutorial.section('2. Scale functions')
  n_samples = n_frames * HOP
  # A raw amplitude sweeping from -8 to 4 over the clip.
  ramp = np.linspace(-8.0, 4.0, n_frames, dtype=np.float32)
  raw_amps = ramp[np.newaxis, :, np.newaxis]
  raw_dist = np.zeros([1, n_frames, 10], np.float32)
  f0_hz = np.full([1, n_frames, 1], 220.0, np.float32)

  variants = {
      # Default: exp_sigmoid(x) = 2 * sigmoid(x) ** ln(10) + 1e-7.
      'exp_sigmoid (default)': synths.Harmonic(n_samples=n_samples),
      'softplus_amplitude (custom)': synths.Harmonic(
          n_samples=n_samples, scale_fn=softplus_amplitude),
      # scale_fn=None: the inputs are the controls (here, clipped at 0 so the
      # amplitude stays non-negative).
      'None (inputs used as given)': synths.Harmonic(
          n_samples=n_samples, scale_fn=None),
  }
  fig, axes = plt.subplots(1, 2, figsize=(11, 3.3))
  for label, synth in variants.items():
    inputs = (np.maximum(raw_amps, 0.0) if 'None' in label else raw_amps,
              raw_dist if 'None' not in label else np.full_like(raw_dist, 0.1),
              f0_hz)
    outputs = synth(*inputs, return_outputs_dict=True)
    amps = outputs['controls']['amplitudes'][0, :, 0].numpy()
    axes[0].plot(ramp, 20 * np.log10(np.maximum(amps, 1e-8)), label=label)
    rms = np.sqrt(np.mean(outputs['signal'].numpy() ** 2))
    key = label.split(' ')[0]
    tutorial.record(f'rms_{key}', float(rms), '.3g')
  axes[0].set(xlabel='raw amplitude input', ylabel='amplitude control (dB)',
              ylim=(-150, 20), title='same raw input, three scale functions')
  axes[0].legend(fontsize=8)

  # The scale function is part of the layer's config, saved by name, so a
  # layer rebuilt from its config uses the same function.
  config = variants['softplus_amplitude (custom)'].get_config()
  tutorial.record('config_scale_fn', config['scale_fn']['config'])
  clone = synths.Harmonic.from_config(config)
  tutorial.record('clone_uses_same_function',
                  clone.scale_fn is softplus_amplitude)

  # FilteredNoise adds `initial_bias` (-5) to its raw magnitudes before the
  # scale function, so a freshly initialized network (outputs near 0) starts
  # with quiet noise: exp_sigmoid(-5) ~ 2e-5 (-94 dB) per band.
  noise = synths.FilteredNoise(n_samples=n_samples, seed=0)
  quiet = noise(tf.zeros([1, n_frames, 65]))
  loud = synths.FilteredNoise(n_samples=n_samples, seed=0, initial_bias=0.0)(
      tf.zeros([1, n_frames, 65]))
  tutorial.record('noise_rms_initial_bias_-5',
                  float(tf.sqrt(tf.reduce_mean(quiet ** 2))), '.3g')
  tutorial.record('noise_rms_initial_bias_0',
                  float(tf.sqrt(tf.reduce_mean(loud ** 2))), '.3g')
  x = np.linspace(-10, 10, 200).astype(np.float32)
  for exponent in (2.0, 10.0, 100.0):
    axes[1].plot(x, 20 * np.log10(core.exp_sigmoid(x, exponent=exponent)),
                 label=f'exponent={exponent:g}')
  axes[1].set(xlabel='x', ylabel='dB', title='exp_sigmoid(x, exponent)')
  axes[1].legend(fontsize=8)
  tutorial.save_figure(fig, '02_scale_functions.png')


def outputs_dict(tutorial, harmonic, inputs):
  """The signal and the controls together."""
  tutorial.section('3. return_outputs_dict')
  outputs = harmonic(*inputs, return_outputs_dict=True)
  # {'signal': audio, 'controls': the dict that get_controls returned}. This
  # is what a ProcessorGroup stores for each node, so that later nodes (and
  # losses, and plots) can use 'harmonic/signal' or
  # 'harmonic/controls/amplitudes' (see tutorial 4).
  tutorial.record('outputs_dict_keys', sorted(outputs))
  tutorial.record('outputs_dict_control_keys', sorted(outputs['controls']))
  tutorial.record('signal_shape', list(outputs['signal'].shape))


def fit_controls(tutorial, n_frames, n_steps):
  """Gradient descent on raw controls through a processor and a loss."""
  tutorial.section('4. Fitting controls by gradient descent')
  # Every processor is differentiable with respect to its inputs. Here we
  # learn the raw harmonic distribution (before exp_sigmoid) that makes the
  # Harmonic synth sound like a target: a square wave (odd harmonics 1/k).
  n_samples = n_frames * HOP
  n_harmonics = 16
  harmonic = synths.Harmonic(n_samples=n_samples)
  f0_hz = tf.fill([1, n_frames, 1], 200.0)
  raw_amps = tf.zeros([1, n_frames, 1])
  k = np.arange(1, n_harmonics + 1)
  square = np.where(k % 2 == 1, 1.0 / k, 0.0).astype(np.float32)
  target = synths.Harmonic(n_samples=n_samples, scale_fn=None)(
      tf.fill([1, n_frames, 1], float(core.exp_sigmoid(0.0))),
      square * tf.ones([1, n_frames, n_harmonics]), f0_hz)

  # One learned raw distribution, shared by all frames.
  raw_dist = tf.Variable(tf.zeros([1, 1, n_harmonics]))
  loss_fn = ddsp.losses.SpectralLoss(fft_sizes=(1024, 256), logmag_weight=1.0)
  optimizer = keras.optimizers.Adam(learning_rate=0.1)

  @tf.function
  def step():
    with tf.GradientTape() as tape:
      audio = harmonic(raw_amps, tf.tile(raw_dist, [1, n_frames, 1]), f0_hz)
      loss = loss_fn(target, audio)
    grads = tape.gradient(loss, [raw_dist])
    optimizer.apply_gradients(zip(grads, [raw_dist]))
    return loss

  losses = [float(step()) for _ in range(n_steps)]
  tutorial.record('fit_loss_first_step', losses[0], '.4g')
  tutorial.record('fit_loss_last_step', losses[-1], '.4g')
  learned = harmonic.get_controls(raw_amps[:, :1], raw_dist,
                                  f0_hz[:, :1])['harmonic_distribution']
  learned = learned[0, 0].numpy()
  even_share = float(learned[1::2].sum())
  tutorial.record('learned_weight_on_even_harmonics', even_share, '.3g',
                  '(a square wave has none; the start was 0.5)')

  fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
  axes[0].plot(losses)
  axes[0].set(xlabel='step', ylabel='spectral loss', yscale='log',
              title='fitting the harmonic distribution')
  width = 0.4
  axes[1].bar(k - width / 2, square / square.sum(), width, label='target')
  axes[1].bar(k + width / 2, learned, width, label='learned')
  axes[1].set(xlabel='harmonic', ylabel='weight', title='distribution')
  axes[1].legend()
  tutorial.save_figure(fig, '04_fit_controls.png')


# A processor of your own. Three things make it a good citizen:
# * get_controls maps raw inputs to valid controls (and checks shapes),
#   get_signal renders from controls only;
# * constructor arguments are behaviour switches, saved by get_config;
# * it is registered with gin (`gin.register`, not `@gin.configurable`, which
#   breaks Keras 3 layers) and with Keras serialization.
@gin.register(module='tutorial')
@keras.saving.register_keras_serializable(package='tutorial')
class Tremolo(processors.Processor):
  """Amplitude modulation by a sine of time-varying rate and depth.

  Args:
    sample_rate: Hz.
    max_rate_hz: the highest modulation rate (the raw rate is mapped to
      (0, max_rate_hz) by a sigmoid).
    name: name of the layer.
  """

  def __init__(self, sample_rate=16000, max_rate_hz=20.0, name='tremolo',
               **kwargs):
    super().__init__(name=name, **kwargs)
    self.sample_rate = sample_rate
    self.max_rate_hz = max_rate_hz

  def get_controls(self, audio, rate, depth):
    """Raw rate and depth [batch, n_frames, 1] -> audio-rate controls.

    Args:
      audio: [batch, n_samples] float32.
      rate: [batch, n_frames, 1] float32, raw modulation rate.
      depth: [batch, n_frames, 1] float32, raw depth.

    Returns:
      dict with 'audio', 'rate_hz' and 'depth' ([batch, n_samples, 1]).
    """
    ddsp.validation.check_rank(audio, 'audio', 2)
    ddsp.validation.check_shape(rate, 'rate', [None, None, 1])
    ddsp.validation.check_shape(depth, 'depth', [None, None, 1])
    n_samples = audio.shape[1]
    rate_hz = self.max_rate_hz * tf.sigmoid(core.resample(rate, n_samples))
    depth = tf.sigmoid(core.resample(depth, n_samples, method='window'))
    return {'audio': audio, 'rate_hz': rate_hz, 'depth': depth}

  def get_signal(self, audio, rate_hz, depth):
    """audio * (1 - depth * (1 + sin(phase)) / 2); differentiable."""
    modulator = core.oscillator_bank(rate_hz, tf.ones_like(rate_hz),
                                     sample_rate=self.sample_rate)
    gain = 1.0 - depth[..., 0] * 0.5 * (1.0 + modulator)
    return audio * gain

  def get_config(self):
    config = super().get_config()
    config.update({'sample_rate': self.sample_rate,
                   'max_rate_hz': self.max_rate_hz})
    return config


def custom_processor(tutorial, harmonic, inputs):
  """Using the Tremolo processor defined above."""
  tutorial.section('5. Writing your own processor')
  audio = harmonic(*inputs)
  n_frames = inputs[0].shape[1]
  tremolo = Tremolo()
  # Raw rate 0 -> 10 Hz; raw depth 3 -> sigmoid(3) = 0.95 (deep).
  out = tremolo(audio, tf.zeros([1, n_frames, 1]),
                tf.fill([1, n_frames, 1], 3.0), return_outputs_dict=True)
  tutorial.record('tremolo_rate_hz',
                  float(out['controls']['rate_hz'][0, 0, 0]), '.3g')
  # On a steady tone the envelope dips once per modulation cycle: count the
  # dips of the gain (the output divided by a constant input).
  steady = tremolo(tf.ones_like(audio), tf.zeros([1, n_frames, 1]),
                   tf.fill([1, n_frames, 1], 3.0))[0].numpy()
  dips = np.sum((steady[1:-1] < steady[:-2]) & (steady[1:-1] <= steady[2:]))
  seconds = audio.shape[1] / SAMPLE_RATE
  tutorial.record('tremolo_dips_per_second', float(dips / seconds), '.3g')
  tutorial.record('tremolo_min_gain', float(steady.min()), '.3g',
                  '(1 - depth = 0.047)')
  tutorial.write_wav(out['signal'][0], '05_tremolo.wav')

  # Config round trip and gin: the same layer from its config, or from gin.
  clone = Tremolo.from_config(tremolo.get_config())
  same = np.allclose(clone(audio, tf.zeros([1, n_frames, 1]),
                           tf.fill([1, n_frames, 1], 3.0)), out['signal'])
  tutorial.record('tremolo_config_round_trip_equal', bool(same))
  gin.parse_config('tutorial.Tremolo.max_rate_hz = 5.0')
  from_gin = gin.get_configurable('tutorial.Tremolo')()
  gin.clear_config()
  tutorial.record('tremolo_from_gin_max_rate_hz', from_gin.max_rate_hz)


def errors(tutorial, harmonic, inputs):
  """Bad inputs give a ValueError naming the argument and the shapes."""
  tutorial.section('6. Clear errors')
  raw_amps, raw_dist, f0_hz = inputs
  messages = []
  for label, args in [
      ('f0 without its channel axis', (raw_amps, raw_dist, f0_hz[..., 0])),
      ('batch sizes that disagree',
       (np.concatenate([raw_amps, raw_amps]), raw_dist, f0_hz)),
  ]:
    try:
      harmonic(*args)
    except ValueError as e:
      # Keras adds the call's arguments to the message; the first lines say
      # what is wrong. (Strip the terminal colour codes Keras adds.)
      text = re.sub(r'\x1b\[[0-9;]*m', '', str(e))
      first = [line for line in text.splitlines() if line.strip()][1]
      print(f'  {label}:\n    ValueError: {first}')
      messages.append(first)
  tutorial.record('error_messages', messages)


def main():
  tutorial = tutorial_utils.Tutorial(
      'processors_and_controls', 'Tutorial 2: processors and controls')
  rng = np.random.default_rng(0)
  n_frames = 125 if tutorial.short else 250   # 0.5 s or 1 s at 250 frames/s.
  harmonic, inputs = controls_vs_signal(tutorial, rng, n_frames)
  scale_functions(tutorial, n_frames)
  outputs_dict(tutorial, harmonic, inputs)
  fit_controls(tutorial, 50 if tutorial.short else 100,
               60 if tutorial.short else 150)
  custom_processor(tutorial, harmonic, inputs)
  errors(tutorial, harmonic, inputs)
  tutorial.finish()


if __name__ == '__main__':
  main()
