"""Options of the data preparation's Apache Beam pipelines, and their flags.

`ddsp_prepare_tfrecord` (`prepare_tfrecord_lib.prepare_tfrecord`) and
`ddsp_generate_synthetic_dataset` run Beam pipelines configured the same way:
a list of Beam flags chooses the runner (`parse_pipeline_options`), and their
command lines share the output flags (`define_output_flags`).

Apache Beam and absl are imported inside the functions, so importing this
module is light.
"""

import shlex

__all__ = ['define_output_flags', 'parse_pipeline_options']

# Runner names that mean Beam's DirectRunner (and None: Beam's default).
_DIRECT_RUNNERS = (None, 'DirectRunner', 'direct', 'Direct')


def parse_pipeline_options(pipeline_options):
  """Beam `PipelineOptions` and the runner to run them on.

  Beam's DirectRunner (the default) first tries the Prism runner, which
  downloads a binary; this library downloads nothing at run time, so
  DirectRunner (named or by default) runs on Beam's in-process Python batch
  runner (FnApiRunner), which honours --direct_num_workers and
  --direct_running_mode. Other runners (PrismRunner, Dataflow, Flink, Spark,
  ...) are left to Beam, as named.

  Args:
    pipeline_options: Beam flags: a list of str, each of which may hold
      several flags separated by spaces and split as a shell would (`shlex`:
      quote a value that holds a space), so `["--direct_num_workers=2
      --direct_running_mode=multi_processing"]` reads like the two-item list;
      or one str of comma-separated flags; or a `PipelineOptions`, used as
      given. Empty or None: DirectRunner.

  Returns:
    (options, runner): the `PipelineOptions`, and the runner object to pass to
    `beam.Pipeline(runner=runner, options=options)`: an `FnApiRunner` for
    DirectRunner, None (Beam's choice from the options) for other runners.

  Raises:
    ImportError: Apache Beam is not installed.

  Example:
    >>> options, runner = parse_pipeline_options(
    ...     ['--direct_num_workers=2 --direct_running_mode=multi_threading'])
    >>> options.get_all_options()['direct_num_workers'], type(runner).__name__
    (2, 'FnApiRunner')
    >>> parse_pipeline_options('--runner=PrismRunner')[1] is None
    True
  """
  from apache_beam.options import pipeline_options as po  # pylint: disable=g-import-not-at-top
  if isinstance(pipeline_options, str):
    pipeline_options = [f for f in pipeline_options.split(',') if f]
  if not isinstance(pipeline_options, po.PipelineOptions):
    flags = [f for item in pipeline_options or () for f in shlex.split(item)]
    pipeline_options = po.PipelineOptions(flags)
  runner_name = pipeline_options.view_as(po.StandardOptions).runner
  if runner_name in _DIRECT_RUNNERS:
    from apache_beam.runners.portability.fn_api_runner import fn_runner  # pylint: disable=g-import-not-at-top
    return pipeline_options, fn_runner.FnApiRunner()
  return pipeline_options, None


def define_output_flags(flag_values=None):
  """Defines the absl flags of a pipeline's output and runner.

  `--output_tfrecord_path` (str, the path prefix of the shards, required by
  the caller), `--num_shards` (int, shards per split, by default the runner
  chooses) and `--pipeline_options` (list of Beam flags, for
  `parse_pipeline_options`; default `--runner=DirectRunner`).

  Args:
    flag_values: the `absl.flags.FlagValues` to define them in; by default
      `absl.flags.FLAGS`.

  Raises:
    absl.flags.DuplicateFlagError: where they are already defined.

  Example:
    >>> from absl import flags
    >>> flag_values = flags.FlagValues()
    >>> define_output_flags(flag_values)
    >>> _ = flag_values(['prog', '--num_shards=3'])
    >>> flag_values.num_shards, flag_values.pipeline_options
    (3, ['--runner=DirectRunner'])
  """
  from absl import flags  # pylint: disable=g-import-not-at-top
  flag_values = flags.FLAGS if flag_values is None else flag_values
  flags.DEFINE_string('output_tfrecord_path', None,
                      'Path prefix of the TFRecord shards to write.',
                      flag_values=flag_values)
  flags.DEFINE_integer('num_shards', None,
                       'Shards per split; by default the runner chooses.',
                       flag_values=flag_values)
  flags.DEFINE_list('pipeline_options', '--runner=DirectRunner',
                    'Flags of the Beam pipeline, comma-separated (or '
                    'space-separated in one quoted argument), e.g. '
                    '--direct_num_workers=2,'
                    '--direct_running_mode=multi_processing.',
                    flag_values=flag_values)
