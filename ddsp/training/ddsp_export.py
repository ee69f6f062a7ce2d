r"""Export a trained model for inference: SavedModel, TFLite and metadata.

Usage:
====================
ddsp_export \
  --model_path=/path/to/training_dir \
  --save_dir=/path/to/export \
  --block_size=256 \
  --tflite

`--model_path` is a training directory of `ddsp_run` (operative gin config
and checkpoints) of an autoencoder without encoder, such as
`models/solo_instrument.gin`. Written into `--save_dir`:

* `saved_model/`: a SavedModel with three signatures:
  - `serving_default`: whole clips, `f0_hz` and `loudness_db` (or `power_db`)
    [batch, n_frames] float32 -> `audio` [batch, n_samples];
  - `streaming_step`: one block, `f0_hz` and `loudness_db` [1, frames per
    block, 1] plus the state tensors `state_*` -> `audio` [1, block_size] and
    the new `state_*` (feed them back on the next call);
  - `streaming_initial_state`: no inputs -> the `state_*` of a new stream.
* `streaming.tflite` (with `--tflite`): the streaming step as a TFLite model
  (signature `streaming_step`, the same named inputs and outputs), built
  from TFLite builtin ops only, so any TFLite interpreter runs it.
* `metadata.json`: sample rate, frame rate, hop, block size, latency, input
  ranges, n_harmonics, noise bands, reverb length, the names, shapes and
  dtypes of the inputs, outputs and state, and (when the model directory has
  `dataset_statistics.json`) the dataset's pitch and loudness statistics.
* `reverb_ir.wav` (when the model has a learned reverb): its impulse response,
  float WAV at the model's sample rate.

The stream is delayed by `latency` samples (in the metadata): block k holds
samples `[k * block_size - latency, (k + 1) * block_size - latency)` of the
offline render. See `ddsp.training.inference`.

That is `--inference_model=streaming_f0_pw` (the default). The other
published choices write a SavedModel (signature 'call' or
'serving_default') into `--save_dir` and, with `--tflite`, its TFLite form
`tflite/model.tflite`:

* `autoencoder`: `inference.AutoencoderInference` (whole clips).
* `vst_extract_features`, `vst_predict_controls`,
  `vst_stateless_predict_controls`, `vst_synthesize`,
  `vst_synthesize_harmonic`, `vst_synthesize_noise`: the
  `inference.VST*` modules of a `models/vst/*.gin` model. The TFLite model of
  `vst_stateless_predict_controls` and `vst_predict_controls` is the one the
  DDSP-VST plugin loads (`validate_vst_tflite` checks it): builtin ops only,
  inputs `call_f0_scaled:0` [1], `call_pw_scaled:0` [1], `call_state:0`
  [512], outputs `StatefulPartitionedCall:0` amplitude [1], `:1` harmonic
  distribution [60], `:2` noise magnitudes [65], `:3` state [512], and (with
  `--metadata`, the default) `metadata.json` packed into the file as a zip
  entry (also written beside it): the dataset's
  `mean_{min,max}_pitch_note(_hz)`, `mean_{min,max}_power_note`, the model's
  `num_harmonics`, `num_noise_amps`, `frame_rate`, `frame_size`,
  `sample_rate`, `version` and `export_time`. The statistics come from
  `--metadata_file`, else `dataset_statistics.json` in the model directory,
  else they are computed from the TFRecords `--dataset_path`. With
  `--reverb` (the default) a learned reverb's impulse response is written as
  `reverb.wav`, and also resampled to `--reverb_sample_rate` (as the plugin
  plays it) as `reverb_<rate>.wav`.

`--tfjs`: the TensorFlow.js converter (`tensorflowjs`) does not install
beside TensorFlow 2.21; the flag fails with a message saying so unless it is
importable.

`ddsp_export --validate=FILE.tflite` checks a file against the DDSP-VST
contract and prints one line per problem (exit code 1 if any).
"""

import datetime
import io
import json
import logging
import os
import sys
import zipfile

from absl import flags

INFERENCE_MODELS = ('autoencoder', 'streaming_f0_pw', 'vst_extract_features',
                    'vst_predict_controls', 'vst_stateless_predict_controls',
                    'vst_synthesize', 'vst_synthesize_harmonic',
                    'vst_synthesize_noise')

# The flags live in their own FlagValues (not absl's global FLAGS), so this
# module imports next to other command-line modules (e.g. ddsp_run, which
# also defines --save_dir) in one process.
FLAGS = flags.FlagValues()
flags.DEFINE_string('model_path', None,
                    'Training directory (operative gin config and '
                    'checkpoints) or a checkpoint prefix in one.',
                    flag_values=FLAGS)
flags.DEFINE_string('save_dir', None,
                    'Directory to write the export to (default: the '
                    'SavedModel directory given as --model_path, else '
                    '<model_path>/export, or export/ beside a checkpoint '
                    'prefix).', flag_values=FLAGS)
flags.DEFINE_enum('inference_model', 'streaming_f0_pw', INFERENCE_MODELS,
                  'What to export (the snake_case name of an inference '
                  'module; streaming_f0_pw: the streaming SavedModel/TFLite '
                  'export).', flag_values=FLAGS)
flags.DEFINE_boolean('tfjs', False,
                     'Also convert to TensorFlow.js (needs the tensorflowjs '
                     'converter, which does not install beside TF 2.21).',
                     flag_values=FLAGS)
flags.DEFINE_boolean('metadata', True,
                     'VST models: write metadata.json and pack it into the '
                     'TFLite model.', flag_values=FLAGS)
flags.DEFINE_string('metadata_file', None,
                    'A JSON file of dataset statistics (or a metadata dict) '
                    'to use for the metadata.', flag_values=FLAGS)
flags.DEFINE_string('dataset_path', None,
                    'TFRecord file pattern of the training data, to compute '
                    'the dataset statistics of the metadata when neither '
                    '--metadata_file nor <model_path>/dataset_statistics.json '
                    'gives them.', flag_values=FLAGS)
flags.DEFINE_boolean('reverb', True,
                     'VST models: write the learned reverb impulse response '
                     'as reverb.wav.', flag_values=FLAGS)
flags.DEFINE_integer('reverb_sample_rate', 48000,
                     'Also write the impulse response resampled to this rate '
                     '(0: do not).', flag_values=FLAGS)
flags.DEFINE_multi_string('gin_param', [],
                          'Gin bindings parsed after the model\'s operative '
                          'config (e.g. custom inference module arguments).',
                          flag_values=FLAGS)
flags.DEFINE_string('validate', None,
                    'Check this .tflite file against the DDSP-VST model '
                    'contract and exit.', flag_values=FLAGS)
flags.DEFINE_integer('block_size', 256,
                     'Samples per streaming block: a multiple of the hop '
                     '(64 at 16 kHz, 250 frames/s), e.g. 64 to 2048.',
                     flag_values=FLAGS)
flags.DEFINE_boolean('tflite', True,
                     'Also write the streaming step as a TFLite model.',
                     flag_values=FLAGS)
flags.DEFINE_string('name', None,
                    'Name of the model in the metadata (default: the name of '
                    'the model directory).', flag_values=FLAGS)

SAVED_MODEL_DIR = 'saved_model'
TFLITE_FILE = 'streaming.tflite'
METADATA_FILE = 'metadata.json'
REVERB_FILE = 'reverb_ir.wav'
_STATISTICS_KEYS = ('mean_min_pitch_note', 'mean_max_pitch_note',
                    'mean_pitch_note', 'mean_min_loudness_note',
                    'mean_max_loudness_note', 'mean_loudness_note',
                    'mean_min_power_note', 'mean_max_power_note',
                    'mean_power_note')


def _spec_json(spec):
  return {'shape': [int(d) for d in spec.shape], 'dtype': spec.dtype.name}


def _metadata(stream, offline, name, model_path):
  """The metadata dict of an export."""
  # pylint: disable=g-import-not-at-top
  from ddsp import core
  from ddsp import version
  from ddsp.training import preprocessing
  f0_max = min(float(core.midi_to_hz(float(preprocessing.F0_RANGE))),
               stream.sample_rate / 2.0)
  frames = [stream.batch_size, stream.frames_per_block, 1]
  metadata = {
      'name': name,
      'ddsp_version': version.__version__,
      'exported_at': datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec='seconds'),
      'sample_rate': stream.sample_rate,
      'frame_rate': stream.frame_rate,
      'hop_size': stream.hop_size,
      'block_size': stream.block_size,
      'frames_per_block': stream.frames_per_block,
      'latency_samples': stream.latency,
      'f0_hz_range': [float(core.midi_to_hz(0.0)), f0_max],
      'loudness_key': stream.loudness_key,
      'loudness_db_range': [-float(preprocessing.DB_RANGE), 0.0],
      'n_harmonics': stream.n_harmonics,
      'n_noise_bands': stream.n_noise_bands,
      'reverb_length': stream.reverb_length,
      'offline_n_frames': offline.n_frames,
      'inputs': {'f0_hz': {'shape': frames, 'dtype': 'float32',
                           'units': 'Hz, 0 for unvoiced'},
                 stream.loudness_key: {'shape': frames, 'dtype': 'float32',
                                       'units': 'dB'}},
      'outputs': {'audio': {'shape': [stream.batch_size, stream.block_size],
                            'dtype': 'float32'}},
      'state': {f'state_{k}': _spec_json(s)
                for k, s in stream.state_specs.items()},
      'files': {'saved_model': SAVED_MODEL_DIR},
  }
  if model_path is not None and os.path.isdir(model_path):
    statistics = os.path.join(model_path, 'dataset_statistics.json')
    if os.path.exists(statistics):
      with open(statistics, encoding='utf-8') as f:
        stats = json.load(f)
      metadata['dataset_statistics'] = {k: stats[k] for k in _STATISTICS_KEYS
                                        if k in stats}
  return metadata


def convert_to_tflite(saved_model_dir, signature_key='streaming_step'):
  """A SavedModel signature as a TFLite flatbuffer of builtin ops only.

  Args:
    saved_model_dir: the SavedModel.
    signature_key: the signature to convert.

  Returns:
    The TFLite model (bytes).
  """
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  converter = tf.lite.TFLiteConverter.from_saved_model(
      saved_model_dir, signature_keys=[signature_key])
  converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
  return converter.convert()


def export(model, save_dir, block_size=256, tflite=True, name=None):
  """Exports a trained model (see the module docstring for the layout).

  Args:
    model: a built `ddsp.training.models.Autoencoder`, or its training
      directory (or a checkpoint prefix in one).
    save_dir: directory to write to (created if needed).
    block_size: samples per streaming block, a multiple of the model's hop.
    tflite: also write `streaming.tflite`.
    name: model name for the metadata (default: the model directory's name,
      or the model's name).

  Returns:
    dict of the written paths: 'saved_model', 'metadata', and 'tflite',
    'reverb' where written.

  Raises:
    ValueError: for a model that cannot be streamed, or a bad block size.
  """
  # pylint: disable=g-import-not-at-top
  import numpy as np
  import soundfile
  import tensorflow as tf
  from ddsp.training import inference

  model_path = None
  if isinstance(model, (str, os.PathLike)):
    model_path = os.path.expanduser(os.fspath(model))
  model = inference.load_model(model)
  if name is None:
    name = (os.path.basename(os.path.normpath(model_path)) if model_path
            else model.name)
  save_dir = os.path.expanduser(os.fspath(save_dir))
  os.makedirs(save_dir, exist_ok=True)

  root = tf.Module()
  root.offline = inference.AutoencoderInference(model, remove_reverb=False)
  root.streaming = inference.StreamingF0LoudnessModel(model,
                                                      block_size=block_size)
  stream = root.streaming
  paths = {'saved_model': os.path.join(save_dir, SAVED_MODEL_DIR)}
  signatures = {
      'serving_default': root.offline.call.get_concrete_function(),
      'streaming_step': stream.streaming_step.get_concrete_function(),
      'streaming_initial_state':
          stream.streaming_initial_state.get_concrete_function(),
  }
  tf.saved_model.save(root, paths['saved_model'], signatures=signatures)
  logging.info('Wrote the SavedModel to %s', paths['saved_model'])

  metadata = _metadata(stream, root.offline, name, model_path)
  if tflite:
    paths['tflite'] = os.path.join(save_dir, TFLITE_FILE)
    with open(paths['tflite'], 'wb') as f:
      f.write(convert_to_tflite(paths['saved_model']))
    metadata['files']['tflite'] = TFLITE_FILE
    logging.info('Wrote the TFLite streaming model to %s', paths['tflite'])
  if stream.impulse_response is not None:
    paths['reverb'] = os.path.join(save_dir, REVERB_FILE)
    soundfile.write(paths['reverb'],
                    np.asarray(stream.impulse_response, np.float32),
                    stream.sample_rate, subtype='FLOAT')
    metadata['files']['reverb_ir'] = REVERB_FILE
  paths['metadata'] = os.path.join(save_dir, METADATA_FILE)
  with open(paths['metadata'], 'w', encoding='utf-8') as f:
    json.dump(metadata, f, indent=1)
  return paths


# ------------------------------------------------------------------------------
# Inference modules (published --inference_model choices) and DDSP-VST.
# ------------------------------------------------------------------------------
# What the DDSP-VST plugin reads from a predict-controls model (from its
# source): tensors found by name, sized by element count.
VST_INPUTS = {'call_f0_scaled:0': 1, 'call_pw_scaled:0': 1,
              'call_state:0': 512}
VST_OUTPUTS = {'StatefulPartitionedCall:0': 1,  # amplitude
               'StatefulPartitionedCall:1': 60,  # harmonic distribution
               'StatefulPartitionedCall:2': 65,  # noise magnitudes
               'StatefulPartitionedCall:3': 512}  # GRU state
VST_METADATA_KEYS = ('mean_min_pitch_note_hz', 'mean_max_pitch_note_hz',
                     'mean_min_power_note', 'mean_max_power_note', 'version',
                     'export_time')
VST_TFLITE_FILE = 'model.tflite'
_VST_CONTROL_MODELS = ('vst_predict_controls', 'vst_stateless_predict_controls')
_MODULES = {
    'autoencoder': 'AutoencoderInference',
    'vst_extract_features': 'VSTExtractFeatures',
    'vst_predict_controls': 'VSTPredictControls',
    'vst_stateless_predict_controls': 'VSTStatelessPredictControls',
    'vst_synthesize': 'VSTSynthesize',
    'vst_synthesize_harmonic': 'VSTSynthesizeHarmonic',
    'vst_synthesize_noise': 'VSTSynthesizeNoise',
}
TFJS_MISSING = (
    'The TensorFlow.js converter (the `tensorflowjs` package) is not '
    'installed; it does not install beside TensorFlow 2.21 (tensorflowjs '
    '4.22 requires TensorFlow 2.19: pip would downgrade it). Export the SavedModel here and convert it '
    'with tensorflowjs_converter in an environment of its own, or pass '
    '--notfjs.')


def default_save_dir(model_path):
  """`--save_dir` when none is given (as published)."""
  model_path = os.path.expanduser(os.fspath(model_path))
  if os.path.exists(os.path.join(model_path, 'saved_model.pb')):
    return model_path
  if not os.path.isdir(model_path):  # A checkpoint prefix.
    return os.path.join(os.path.dirname(model_path), 'export')
  return os.path.join(model_path, 'export')


def pack_metadata(tflite_path, metadata):
  """Packs `metadata` as the zip entry 'metadata.json' of a .tflite file.

  A TFLite model's associated files are a zip archive appended to the
  flatbuffer (interpreters ignore it); the DDSP-VST plugin opens the
  `.tflite` as a zip and reads this entry. An earlier entry of that name is
  replaced.
  """
  with open(tflite_path, 'rb') as f:
    data = f.read()
  start = _zip_start(data)
  if start is not None:
    data = data[:start]
  with open(tflite_path, 'wb') as f:
    f.write(data)
  with zipfile.ZipFile(tflite_path, 'a') as archive:
    archive.writestr('metadata.json', json.dumps(metadata, indent=1))


def _zip_start(data):
  """Offset of a zip archive appended to `data` (bytes), or None."""
  try:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
      infos = archive.infolist()
  except zipfile.BadZipFile:
    return None
  return min(info.header_offset for info in infos) if infos else None


def vst_metadata(module, stats, name=None):
  """The DDSP-VST `metadata.json` dict of a VST module and dataset stats.

  Args:
    module: an `inference.VSTBaseModule`.
    stats: dict of dataset statistics with 'mean_min_pitch_note',
      'mean_max_pitch_note' (MIDI), 'mean_min_power_note',
      'mean_max_power_note' (dB) (`postprocessing.compute_dataset_statistics`).
    name: model name (optional).

  Returns:
    The metadata dict.

  Raises:
    ValueError: a statistic is missing.
  """
  # pylint: disable=g-import-not-at-top
  from ddsp import core
  from ddsp import version
  missing = [k for k in ('mean_min_pitch_note', 'mean_max_pitch_note',
                         'mean_min_power_note', 'mean_max_power_note')
             if k not in stats]
  if missing:
    raise ValueError(f'The dataset statistics lack {missing}; compute them '
                     'with postprocessing.compute_dataset_statistics (or '
                     'pass --dataset_path).')
  metadata = {k: float(stats[k]) for k in _STATISTICS_KEYS if k in stats}
  for key in ('mean_min_pitch_note', 'mean_max_pitch_note'):
    metadata[f'{key}_hz'] = float(core.midi_to_hz(float(stats[key])))
  metadata.update(
      num_harmonics=module.n_harmonics, num_noise_amps=module.n_noise,
      frame_rate=module.frame_rate, frame_size=module.frame_size,
      sample_rate=module.sample_rate, version=version.__version__,
      export_time=datetime.datetime.now(datetime.timezone.utc).isoformat(
          timespec='seconds'))
  if name:
    metadata['name'] = name
  return metadata


def validate_vst_tflite(path, n_harmonics=60, n_noise=65, state_size=512):
  """Checks a .tflite file against the DDSP-VST predict-controls contract.

  Checks that the model loads and runs with TFLite's builtin op resolver (no
  Flex or custom ops), that its inputs and outputs have the names and sizes
  the plugin looks up (`VST_INPUTS`, `VST_OUTPUTS`; float32), and that the
  file holds a zip entry 'metadata.json' with the keys `VST_METADATA_KEYS`
  (numbers, min <= max) agreeing with the outputs.

  Args:
    path: the .tflite file.
    n_harmonics, n_noise, state_size: the sizes the plugin expects.

  Returns:
    A list of problems, one message each; empty if the file meets the
    contract.

  Example:
    >>> validate_vst_tflite('/no/such.tflite')
    ['/no/such.tflite: no such file.']
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  path = os.fspath(path)
  if not os.path.isfile(path):
    return [f'{path}: no such file.']
  problems = []
  inputs = dict(VST_INPUTS, **{'call_state:0': state_size})
  outputs = dict(VST_OUTPUTS)
  outputs['StatefulPartitionedCall:1'] = n_harmonics
  outputs['StatefulPartitionedCall:2'] = n_noise
  outputs['StatefulPartitionedCall:3'] = state_size
  try:
    interpreter = tf.lite.Interpreter(
        model_path=path, experimental_op_resolver_type=(
            tf.lite.experimental.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES))
    interpreter.allocate_tensors()
  except (ValueError, RuntimeError) as e:
    first = str(e).strip().splitlines()[0] if str(e).strip() else repr(e)
    return [f'{path}: does not load with the builtin op resolver (Flex or '
            f'custom ops, or not a TFLite model): {first}']
  ops = sorted({op['op_name'] for op in interpreter._get_ops_details()  # pylint: disable=protected-access
                if op['op_name'].startswith('Flex') or
                op['op_name'] in ('CUSTOM', 'DELEGATE')})
  if ops:
    problems.append(f'Non-builtin ops {ops}: the plugin runs builtin ops '
                    'only.')
  for kind, expected, details in (
      ('input', inputs, interpreter.get_input_details()),
      ('output', outputs, interpreter.get_output_details())):
    found = {d['name']: d for d in details}
    for name, size in expected.items():
      if name not in found:
        problems.append(f'Missing {kind} {name!r} ([{size}] float32); the '
                        f'{kind}s are {sorted(found)}.')
        continue
      detail = found[name]
      if int(np.prod(detail['shape'])) != size:
        problems.append(f'{kind.capitalize()} {name!r} has shape '
                        f'{detail["shape"].tolist()}; expected [{size}].')
      if detail['dtype'] != np.float32:
        problems.append(f'{kind.capitalize()} {name!r} is '
                        f'{np.dtype(detail["dtype"]).name}; expected '
                        'float32.')
  problems += _check_vst_metadata(path, n_harmonics, n_noise)
  return problems


def _check_vst_metadata(path, n_harmonics, n_noise):
  """Problems of the metadata.json zip entry of a .tflite file."""
  try:
    with zipfile.ZipFile(path) as archive:
      if 'metadata.json' not in archive.namelist():
        return [f'No metadata.json zip entry in the file (entries: '
                f'{archive.namelist()}); the plugin reads its ranges from '
                'it.']
      text = archive.read('metadata.json')
  except zipfile.BadZipFile:
    return ['No metadata.json packed into the file (no zip archive appended '
            'to the flatbuffer); the plugin reads its ranges from it.']
  try:
    metadata = json.loads(text)
  except ValueError as e:
    return [f'metadata.json is not valid JSON: {e}']
  if not isinstance(metadata, dict):
    return ['metadata.json is not a JSON object.']
  problems = [f'metadata.json lacks {key!r}.' for key in VST_METADATA_KEYS
              if key not in metadata]
  for key in VST_METADATA_KEYS[:4]:
    value = metadata.get(key)
    if key in metadata and (isinstance(value, bool) or
                            not isinstance(value, (int, float))):
      problems.append(f'metadata.json {key!r} must be a number; it is '
                      f'{value!r}.')
  numbers = {k: metadata.get(k) for k in VST_METADATA_KEYS[:4]}
  for low, high in (('mean_min_pitch_note_hz', 'mean_max_pitch_note_hz'),
                    ('mean_min_power_note', 'mean_max_power_note')):
    if all(isinstance(numbers[k], (int, float)) and
           not isinstance(numbers[k], bool) for k in (low, high)):
      if numbers[low] > numbers[high]:
        problems.append(f'metadata.json {low} ({numbers[low]}) is above '
                        f'{high} ({numbers[high]}).')
  for key, size in (('num_harmonics', n_harmonics),
                    ('num_noise_amps', n_noise)):
    if key in metadata and metadata[key] != size:
      problems.append(f'metadata.json {key} is {metadata[key]}; the outputs '
                      f'have {size}.')
  return problems


def _dataset_statistics(model_path, metadata_file, dataset_path, module):
  """Statistics for the metadata: a file, the model's, or computed."""
  # pylint: disable=g-import-not-at-top
  from ddsp.training import data
  from ddsp.training import postprocessing
  if metadata_file:
    with open(os.path.expanduser(metadata_file), encoding='utf-8') as f:
      return json.load(f)
  if model_path and os.path.isdir(model_path):
    for name in ('dataset_statistics.json', 'dataset_statistics.pkl'):
      if os.path.exists(os.path.join(model_path, name)):
        return postprocessing.load_dataset_statistics(
            os.path.join(model_path, name))
  if dataset_path:
    # Lengths, rates and centering: those of the training run's operative
    # config (parsed when the model was loaded), else the defaults.
    provider = data.TFRecordProvider(dataset_path)
    return postprocessing.compute_dataset_statistics(
        provider, power_frame_size=module.frame_size,
        power_frame_rate=module.frame_rate)
  raise ValueError(
      'The metadata needs the dataset statistics: none in the model '
      'directory (dataset_statistics.json); pass --dataset_path (the '
      'training TFRecords), --metadata_file, or --nometadata.')


def _write_reverb(module, save_dir, reverb_sample_rate):
  """Writes a VST model's learned reverb impulse response; returns paths."""
  # pylint: disable=g-import-not-at-top
  import numpy as np
  import soundfile
  import tensorflow as tf
  from ddsp import effects
  from ddsp.training import preprocessing
  for node, _, _ in getattr(module.model.processor_group, 'dag', ()):
    if isinstance(node, effects.Reverb) and node.trainable:
      ir = np.asarray(node.get_controls(tf.zeros([1, 1]))['ir'],
                      np.float32).reshape(-1)
      break
  else:
    return {}
  paths = {'reverb': os.path.join(save_dir, 'reverb.wav')}
  soundfile.write(paths['reverb'], ir, module.sample_rate, subtype='FLOAT')
  if reverb_sample_rate and reverb_sample_rate != module.sample_rate:
    n = int(round(ir.size * reverb_sample_rate / module.sample_rate))
    resampled = np.asarray(preprocessing.resample_audio(
        tf.constant(ir[None]), n))[0]
    paths['reverb_resampled'] = os.path.join(
        save_dir, f'reverb_{reverb_sample_rate}.wav')
    soundfile.write(paths['reverb_resampled'], resampled.astype(np.float32),
                    reverb_sample_rate, subtype='FLOAT')
  return paths


def export_inference_model(model_path, inference_model, save_dir=None,
                           tflite=True, tfjs=False, metadata=True,
                           metadata_file=None, dataset_path=None,
                           reverb=True, reverb_sample_rate=48000,
                           gin_params=(), name=None):
  """Exports one of the published inference modules (not streaming_f0_pw).

  Args:
    model_path: training directory, checkpoint prefix, or a built model.
    inference_model: a key of `INFERENCE_MODELS` other than
      'streaming_f0_pw' (see `export` for that).
    save_dir: where to write (default `default_save_dir(model_path)`).
    tflite: also write `tflite/model.tflite` (builtin ops only).
    tfjs: also convert to TensorFlow.js (needs `tensorflowjs`).
    metadata: VST models: write `metadata.json` (and pack it into the TFLite
      model of the predict-controls modules).
    metadata_file: JSON file of dataset statistics for the metadata.
    dataset_path: TFRecord pattern to compute the statistics from.
    reverb: write a learned reverb's impulse response (`reverb.wav`).
    reverb_sample_rate: also write it resampled to this rate (0: no).
    gin_params: gin bindings parsed after the operative config.
    name: model name for the metadata (default: the model directory's).

  Returns:
    dict of the written paths ('saved_model', and 'tflite', 'metadata',
    'reverb', 'reverb_resampled', 'tfjs' where written).

  Raises:
    ValueError: unknown `inference_model`, missing statistics for the
      metadata, or a model the module cannot run.
    ImportError: `tfjs` without the tensorflowjs converter.
  """
  # pylint: disable=g-import-not-at-top
  from ddsp.training import checkpoints
  from ddsp.training import inference
  if inference_model not in _MODULES:
    raise ValueError(f'inference_model must be one of {sorted(_MODULES)}. '
                     f'Received: {inference_model!r}')
  if tfjs:
    try:
      import tensorflowjs  # pylint: disable=unused-import
    except ImportError as e:
      raise ImportError(TFJS_MISSING) from e
  path = None
  if isinstance(model_path, (str, os.PathLike)):
    path = os.path.expanduser(os.fspath(model_path))
  elif gin_params:
    raise ValueError('gin_params apply to a model loaded from its training '
                     'directory; received a model object.')
  save_dir = os.fspath(save_dir or default_save_dir(path))
  os.makedirs(save_dir, exist_ok=True)
  cls = getattr(inference, _MODULES[inference_model])
  if issubclass(cls, inference.VSTBaseModule):
    module = cls(path if path is not None else model_path,
                 gin_params=tuple(gin_params))
  else:
    if gin_params:  # Parsed on top of the operative config, then loaded.
      checkpoints.parse_operative_config(path, bindings=gin_params)
    module = cls(path if path is not None else model_path)
  paths = {'saved_model': save_dir}
  module.save_model(save_dir)
  logging.info('Wrote the SavedModel of %s to %s', type(module).__name__,
               save_dir)
  is_vst = isinstance(module, inference.VSTBaseModule)
  if name is None and path:
    name = os.path.basename(os.path.normpath(
        path if os.path.isdir(path) else os.path.dirname(path)))
  meta = None
  if is_vst and metadata:
    stats = _dataset_statistics(path, metadata_file, dataset_path, module)
    meta = vst_metadata(module, stats, name)
    paths['metadata'] = os.path.join(save_dir, METADATA_FILE)
    with open(paths['metadata'], 'w', encoding='utf-8') as f:
      json.dump(meta, f, indent=1)
  if tflite:
    source = save_dir
    if inference_model == 'vst_predict_controls':
      # The plugin's form: the step with the GRU state explicit.
      source = os.path.join(save_dir, 'stateless_saved_model')
      inference.VSTStatelessPredictControls(module.model).save_model(source)
    signature = ('serving_default' if inference_model == 'autoencoder'
                 else 'call')
    paths['tflite'] = os.path.join(save_dir, 'tflite', VST_TFLITE_FILE)
    os.makedirs(os.path.dirname(paths['tflite']), exist_ok=True)
    with open(paths['tflite'], 'wb') as f:
      f.write(convert_to_tflite(source, signature_key=signature))
    if meta is not None and inference_model in _VST_CONTROL_MODELS:
      pack_metadata(paths['tflite'], meta)
    logging.info('Wrote the TFLite model to %s', paths['tflite'])
  if is_vst and reverb and inference_model in _VST_CONTROL_MODELS:
    paths.update(_write_reverb(module, save_dir, reverb_sample_rate))
  if tfjs:
    from tensorflowjs.converters import converter  # pylint: disable=g-import-not-at-top
    paths['tfjs'] = os.path.join(save_dir, 'tfjs')
    converter.convert(['--input_format=tf_saved_model',
                       '--signature_name=' + (
                           'serving_default' if inference_model ==
                           'autoencoder' else 'call'),
                       '--control_flow_v2=True', '--skip_op_check',
                       save_dir, paths['tfjs']])
  return paths


def main(argv=None):
  """Runs the command line `argv` (default `sys.argv`); returns exit code."""
  argv = sys.argv if argv is None else list(argv)
  if any(arg in ('--help', '-h', '--helpfull') for arg in argv[1:]):
    print(__doc__)
    print(FLAGS.get_help())
    return 0
  FLAGS.unparse_flags()  # Defaults again when main runs more than once.
  try:
    rest = FLAGS(argv)
  except flags.Error as e:
    print(f'ddsp_export: {e}', file=sys.stderr)
    return 2
  if len(rest) > 1:
    print(f'ddsp_export: unexpected arguments {rest[1:]}', file=sys.stderr)
    return 2
  logging.basicConfig(level=logging.INFO)
  if FLAGS.validate:
    problems = validate_vst_tflite(FLAGS.validate)
    for problem in problems:
      print(f'ddsp_export: {problem}', file=sys.stderr)
    if not problems:
      print(f'{FLAGS.validate}: meets the DDSP-VST model contract.')
    return 1 if problems else 0
  if not FLAGS.model_path:
    print('ddsp_export: --model_path is required.', file=sys.stderr)
    return 2
  save_dir = FLAGS.save_dir or default_save_dir(FLAGS.model_path)
  try:
    if FLAGS.inference_model == 'streaming_f0_pw':
      if FLAGS.tfjs:
        raise ValueError('--tfjs: the streaming export has no TF.js form; '
                         'use --inference_model=autoencoder.')
      if FLAGS.gin_param:
        # pylint: disable=g-import-not-at-top
        from ddsp.training import checkpoints
        checkpoints.parse_operative_config(FLAGS.model_path,
                                           bindings=FLAGS.gin_param)
      paths = export(FLAGS.model_path, save_dir, block_size=FLAGS.block_size,
                     tflite=FLAGS.tflite, name=FLAGS.name)
    else:
      paths = export_inference_model(
          FLAGS.model_path, FLAGS.inference_model, save_dir,
          tflite=FLAGS.tflite, tfjs=FLAGS.tfjs, metadata=FLAGS.metadata,
          metadata_file=FLAGS.metadata_file, dataset_path=FLAGS.dataset_path,
          reverb=FLAGS.reverb, reverb_sample_rate=FLAGS.reverb_sample_rate,
          gin_params=FLAGS.gin_param, name=FLAGS.name)
  except (ValueError, ImportError, FileNotFoundError) as e:
    print(f'ddsp_export: {e}', file=sys.stderr)
    return 2
  for key, path in sorted(paths.items()):
    print(f'{key}: {path}')
  return 0


def console_entry_point():
  """Entry point of the `ddsp_export` command."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
