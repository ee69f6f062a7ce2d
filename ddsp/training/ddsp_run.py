r"""Train, evaluate or sample from a ddsp model, configured with gin.

Training needs a model and a dataset config (packaged configs are on the gin
search path; see `ddsp/training/gin/`):

    ddsp_run --mode=train --save_dir=/tmp/violin \
      --gin_file=models/solo_instrument.gin \
      --gin_file=datasets/tfrecord.gin \
      --gin_param="TFRecordProvider.file_pattern='/data/violin.tfrecord*'" \
      --gin_param="batch_size=16"

or one paper config:

    ddsp_run --mode=train --save_dir=/tmp/violin \
      --gin_file=papers/iclr2020/solo_instrument.gin \
      --gin_param="TFRecordProvider.file_pattern='/data/violin.tfrecord*'"

Evaluation and sampling read the model's configuration back from the
operative config that training wrote beside its checkpoints; they need only
the data (and can run beside a training job, waiting for new checkpoints, or
once with --run_once):

    ddsp_run --mode=eval --save_dir=/tmp/violin --run_once \
      --gin_file=datasets/tfrecord.gin \
      --gin_param="TFRecordProvider.file_pattern='/data/violin_eval.tfrecord*'"
    ddsp_run --mode=sample --save_dir=/tmp/violin --run_once ...

Gin files are read in this order, later bindings overriding earlier ones:
`optimization/base.gin` and `eval/basic.gin` (defaults), the latest
`operative_config-<step>.gin` of the restore directory (when resuming or
evaluating), the --gin_file files, then the --gin_param bindings. An unknown
configurable or parameter in a --gin_file or --gin_param (a typo such as
`trian.num_steps`) is an error naming it; only the operative config of an
older run skips names this version does not know, with one warning listing
them.
"""

import difflib
import inspect
import logging
import os
import re
import sys
import time

from absl import app
from absl import flags
import gin
import keras
import tensorflow as tf

from ddsp.training import checkpoints
from ddsp.training import eval_util
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import train_util
from ddsp.training import trainers

GIN_PATH = ddsp_gin.GIN_PATH

FLAGS = flags.FLAGS

flags.DEFINE_enum('mode', 'train', ['train', 'eval', 'sample'],
                  'Whether to train, evaluate, or sample from the model.')
flags.DEFINE_string('save_dir', '/tmp/ddsp',
                    'Directory of the checkpoints, operative config and '
                    'summaries written during training and evaluation.')
flags.DEFINE_string('restore_dir', '',
                    'Directory to restore checkpoints (and the operative '
                    'config) from before training; may differ from '
                    'save_dir (warm start). Empty: save_dir.')
flags.DEFINE_string('tpu', '', 'Address of the TPU; empty for no TPU.')
flags.DEFINE_string('cluster_config', '',
                    'Worker-specific JSON string of a multi-worker cluster, '
                    'in the TF_CONFIG format; empty for one machine.')
flags.DEFINE_boolean('allow_memory_growth', False,
                     'Let GPU memory grow as needed instead of reserving it '
                     'all (for GPUs shared with other jobs).')
flags.DEFINE_integer('seed', None,
                     'Random seed (keras.utils.set_random_seed) set before '
                     'the model is built; with it a run stopped and resumed '
                     'gives the same weights as an uninterrupted one. None: '
                     'not reproducible.')
flags.DEFINE_boolean('hypertune', False,
                     'Report the total loss to a Google Cloud '
                     'hyperparameter tuning job (needs cloudml-hypertune).')
flags.DEFINE_float('early_stop_loss_value', None,
                   'Stop training once the total loss is at or below this.')

# Gin config flags.
flags.DEFINE_multi_string('gin_search_path', [],
                          'Additional folders searched for gin files.')
flags.DEFINE_multi_string('gin_file', [],
                          'Gin config files (paths, or relative to the '
                          'search path, e.g. models/solo_instrument.gin).')
flags.DEFINE_multi_string('gin_param', [],
                          'Gin bindings, e.g. "train.batch_size=16".')

# Evaluation and sampling flags.
flags.DEFINE_boolean('run_once', False,
                     'Evaluate or sample the latest checkpoint once and exit, '
                     'instead of waiting for new checkpoints.')
flags.DEFINE_integer('initial_delay_secs', None,
                     'Seconds to wait before evaluating or sampling.')


def delay_start():
  """Waits --initial_delay_secs (if set) before evaluation or sampling."""
  if FLAGS.initial_delay_secs:
    logging.info('Waiting for %d s.', FLAGS.initial_delay_secs)
    time.sleep(FLAGS.initial_delay_secs)


def parse_gin(restore_dir):
  """Parses the gin configs: defaults, operative config, files, bindings.

  The packaged defaults, the --gin_file files and the --gin_param bindings
  are parsed strictly: an unknown configurable or parameter (a typo) raises
  gin's `ValueError` naming it. Only the operative config of the run being
  resumed or evaluated, written by another version maybe, skips unknown
  names, with one warning listing them.

  Args:
    restore_dir: directory whose latest `operative_config-<step>.gin` (if any)
      is loaded before the user's files and bindings.

  Raises:
    ValueError: an unknown name in a --gin_file or --gin_param.
  """
  checkpoints.import_gin_modules()
  search_paths = [GIN_PATH] + [train_util.expand_path(p)
                               for p in FLAGS.gin_search_path]
  for path in search_paths:
    gin.add_config_file_search_path(path)
  with gin.unlock_config():
    gin.parse_config_file(os.path.join('optimization', 'base.gin'))
    gin.parse_config_file(os.path.join('eval', 'basic.gin'))
    try:
      operative_config, _ = checkpoints.parse_operative_config(restore_dir)
      logging.info('Using the operative config %s.', operative_config)
    except FileNotFoundError:
      logging.info('No operative config in %s.', restore_dir)
    try:
      gin.parse_config_files_and_bindings(
          [resolve_gin_file(f, search_paths) for f in FLAGS.gin_file],
          FLAGS.gin_param, skip_unknown=False)
    except ValueError as e:
      hint = _closest_name_hint(str(e))
      if not hint:
        raise
      raise ValueError(f'{e}\n {hint}') from e


def _gin_names():
  """{name: object} of the classes and functions of the gin modules."""
  names = {}
  for module_name in checkpoints.GIN_MODULES:
    module = sys.modules.get(module_name)
    for name, obj in vars(module or {}).items():
      if not name.startswith('_') and callable(obj):
        names.setdefault(name, obj)
  return names


def _closest_name_hint(message):
  """'Did you mean ...?' for gin's unknown-name errors, or ''."""
  names = _gin_names()
  unknown = re.search(r"No configurable matching '([^']+)'", message)
  if unknown:
    close = difflib.get_close_matches(unknown.group(1).split('.')[-1], names,
                                      n=3)
  else:
    unknown = re.search(r"Configurable '([^']+)' doesn't have a parameter "
                        r"named '([^']+)'", message)
    if not unknown or unknown.group(1) not in names:
      return ''
    try:
      parameters = inspect.signature(names[unknown.group(1)]).parameters
    except (TypeError, ValueError):
      return ''
    close = [f'{unknown.group(1)}.{p}' for p in difflib.get_close_matches(
        unknown.group(2), list(parameters), n=3)]
  return f'Did you mean {" or ".join(close)}?' if close else ''


def resolve_gin_file(path, search_paths=(GIN_PATH,)):
  """The path of a gin file: as given, or relative to a search path.

  Args:
    path: a gin file path, e.g. '~/my.gin' or 'models/ae.gin'.
    search_paths: folders to look in when `path` is not a file.

  Returns:
    The path of an existing file.

  Raises:
    FileNotFoundError: it is nowhere; the message lists the packaged configs.
  """
  expanded = train_util.expand_path(path)
  if tf.io.gfile.exists(expanded):
    return expanded
  for folder in search_paths:
    candidate = os.path.join(folder, path)
    if tf.io.gfile.exists(candidate):
      return candidate
  packaged = ', '.join(ddsp_gin.list_configs())
  raise FileNotFoundError(
      f'--gin_file={path!r} is neither a file nor in the gin search path '
      f'{list(search_paths)}. Packaged configs: {packaged}.')


class _GinLookupFilter(logging.Filter):
  """Drops gin's 'Path not found' errors for files it finds on the search path.

  gin first looks for every file (includes too) as a Python package resource
  and logs an error when it is not one, before finding it on the search path.
  """

  def filter(self, record):
    return not record.pathname.endswith(os.path.join('gin',
                                                     'resource_reader.py'))


def allow_memory_growth():
  """Lets every GPU allocate memory as needed."""
  for gpu in tf.config.list_physical_devices('GPU'):
    try:
      tf.config.experimental.set_memory_growth(gpu, True)
    except RuntimeError as e:  # GPUs already initialized.
      logging.warning('Cannot set memory growth: %s', e)


def run():
  """Parses the gin config and runs training, evaluation or sampling."""
  save_dir = train_util.expand_path(FLAGS.save_dir)
  restore_dir = train_util.expand_path(FLAGS.restore_dir or save_dir)
  parse_gin(restore_dir)
  if FLAGS.allow_memory_growth:
    allow_memory_growth()
  if FLAGS.seed is not None:
    keras.utils.set_random_seed(FLAGS.seed)

  if FLAGS.mode == 'train':
    strategy = train_util.get_strategy(tpu=FLAGS.tpu,
                                       cluster_config=FLAGS.cluster_config)
    with strategy.scope():
      model = models.get_model()
      trainer = trainers.get_trainer_class()(model, strategy=strategy)
    train_util.train(data_provider=gin.REQUIRED, trainer=trainer,
                     save_dir=save_dir, restore_dir=restore_dir,
                     early_stop_loss_value=FLAGS.early_stop_loss_value,
                     report_loss_to_hypertune=FLAGS.hypertune)
  else:
    delay_start()
    loop = eval_util.evaluate if FLAGS.mode == 'eval' else eval_util.sample
    loop(data_provider=gin.REQUIRED, model=models.get_model(),
         evaluator_classes=gin.REQUIRED, save_dir=save_dir,
         restore_dir=restore_dir, run_once=FLAGS.run_once)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError('Unexpected arguments (use flags): '
                         f'{" ".join(argv[1:])}')
  run()


def console_entry_point():
  """Entry point of the `ddsp_run` script (setup.py console_scripts)."""
  logging.getLogger().addFilter(_GinLookupFilter())
  app.run(main)


if __name__ == '__main__':
  console_entry_point()
