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
"""

import datetime
import json
import logging
import os
import sys

from absl import flags

# The flags live in their own FlagValues (not absl's global FLAGS), so this
# module imports next to other command-line modules (e.g. ddsp_run, which
# also defines --save_dir) in one process.
FLAGS = flags.FlagValues()
flags.DEFINE_string('model_path', None,
                    'Training directory (operative gin config and '
                    'checkpoints) or a checkpoint prefix in one.',
                    flag_values=FLAGS)
flags.DEFINE_string('save_dir', None, 'Directory to write the export to.',
                    flag_values=FLAGS)
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
  if not FLAGS.model_path or not FLAGS.save_dir:
    print('ddsp_export: --model_path and --save_dir are required.',
          file=sys.stderr)
    return 2
  logging.basicConfig(level=logging.INFO)
  paths = export(FLAGS.model_path, FLAGS.save_dir,
                 block_size=FLAGS.block_size, tflite=FLAGS.tflite,
                 name=FLAGS.name)
  for key, path in sorted(paths.items()):
    print(f'{key}: {path}')
  return 0


def console_entry_point():
  """Entry point of the `ddsp_export` command."""
  sys.exit(main())


if __name__ == '__main__':
  console_entry_point()
