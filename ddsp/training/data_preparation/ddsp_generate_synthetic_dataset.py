r"""Write a TFRecord dataset of synthetic notes (Apache Beam pipeline).

Usage:
====================
ddsp_generate_synthetic_dataset \
  --output_tfrecord_path=/tmp/synthetic_data.tfrecord \
  --num_shards=2 \
  --gin_param="generate_examples.generate_fn = @generate_notes_v2" \
  --gin_param="generate_notes_v2.n_timesteps = 125" \
  --gin_param="generate_notes_v2.n_harmonics = 100" \
  --gin_param="generate_notes_v2.n_mags = 65" \
  --num_examples=1000 \
  --alsologtostderr

Each example holds the synth controls of random notes
(`ddsp.training.data_preparation.synthetic_data`), flattened to float lists:
'f0_hz', 'harm_amp', 'harm_dist', 'sin_amps', 'sin_freqs',
'noise_magnitudes'. Read them with `ddsp.training.data.SyntheticNotes` (with
the same n_timesteps, n_harmonics and n_mags). Example i is generated from
the i-th of `--num_examples` seeds drawn from `--random_seed`, so a dataset is
reproducible whatever the runner and sharding. Shards are written as
`<output_tfrecord_path>-SSSSS-of-NNNNN`.

The pipeline runs in this process by default (Beam's DirectRunner); pass any
runner's flags through --pipeline_options (comma- or, quoted, space-separated),
e.g. Dataflow's, for large datasets (the ICML 2020 paper used 10,000,000
examples).
"""

import gin
import numpy as np
import tensorflow as tf

from ddsp import validation
from ddsp.training.data_preparation import beam_options
from ddsp.training.data_preparation import prepare_tfrecord_lib
from ddsp.training.data_preparation import synthetic_data

__all__ = ['console_entry_point', 'run']


# Whether this (worker) process has parsed the pipeline's gin config.
_WORKER = {'gin_parsed': False}


def _generate(seed, gin_config):
  """Beam element function: one tf.train.Example from a seed."""
  if gin_config and not _WORKER['gin_parsed']:
    # A worker process of another runner starts without the gin config.
    with gin.unlock_config():
      gin.parse_config(gin_config)
  _WORKER['gin_parsed'] = True
  controls = synthetic_data.generate_examples(int(seed))
  return prepare_tfrecord_lib.float_dict_to_tfexample(controls)


def run(output_tfrecord_path, num_examples=1000000, num_shards=None,
        random_seed=42, pipeline_options=('--runner=DirectRunner',)):
  """Generates `num_examples` synthetic examples and writes them as TFRecords.

  The generator and its arguments come from gin
  (`generate_examples.generate_fn`, default `generate_notes_v2`).

  Args:
    output_tfrecord_path: str, path prefix of the shards.
    num_examples: int > 0, examples to write.
    num_shards: int > 0 or None (the runner chooses).
    random_seed: int, seed of the per-example seeds.
    pipeline_options: Beam flags, as `beam_options.parse_pipeline_options`
      reads them: a list (items may hold space-separated flags), a str split
      on ',', or PipelineOptions.

  Returns:
    The list of shard paths written.

  Raises:
    ValueError: an invalid count or path.
    ImportError: Apache Beam is not installed.
  """
  if not isinstance(output_tfrecord_path, str) or not output_tfrecord_path:
    raise ValueError('`output_tfrecord_path` must be a path prefix. Received: '
                     f'output_tfrecord_path={output_tfrecord_path!r}')
  validation.check_positive_int(num_examples, 'num_examples')
  validation.check_positive_int(num_shards, 'num_shards', allow_none=True)
  random_seed = validation.check_seed(random_seed, 'random_seed')
  try:
    import apache_beam as beam  # pylint: disable=g-import-not-at-top
  except ImportError as e:
    raise ImportError('ddsp_generate_synthetic_dataset needs Apache Beam: '
                      'pip install "ddsp[data_preparation]"') from e
  options, runner = beam_options.parse_pipeline_options(pipeline_options)
  seeds = np.random.RandomState(random_seed).randint(
      0, 2**32, size=num_examples, dtype=np.uint64).tolist()
  output_dir = output_tfrecord_path.rsplit('/', 1)[0]
  if output_dir != output_tfrecord_path:
    tf.io.gfile.makedirs(output_dir)

  pipeline = beam.Pipeline(runner=runner, options=options)
  _ = (
      pipeline
      | 'seeds' >> beam.Create(seeds)
      | 'generate' >> beam.Map(_generate, gin.config_str())
      | 'shuffle' >> beam.Reshuffle()
      | 'write' >> beam.io.tfrecordio.WriteToTFRecord(
          output_tfrecord_path, num_shards=num_shards or 0,
          coder=beam.coders.ProtoCoder(tf.train.Example)))
  pipeline.run().wait_until_finish()
  return sorted(tf.io.gfile.glob(output_tfrecord_path + '*'))


def _define_flags():
  from absl import flags  # pylint: disable=g-import-not-at-top
  beam_options.define_output_flags()
  flags.DEFINE_integer('num_examples', 1000000,
                       'Number of synthetic examples to generate.')
  flags.DEFINE_integer('random_seed', 42,
                       'Seed of the generation (reproducible datasets).')
  flags.DEFINE_multi_string('gin_search_path', [],
                            'Additional gin file search paths.')
  flags.DEFINE_multi_string('gin_file', [], 'Gin config files.')
  flags.DEFINE_multi_string('gin_param', [], 'Gin parameter bindings.')
  flags.mark_flag_as_required('output_tfrecord_path')
  return flags.FLAGS


def main(unused_argv):
  """Parses gin (files and bindings of the flags) and runs the pipeline."""
  from absl import flags  # pylint: disable=g-import-not-at-top
  from ddsp.training import gin as ddsp_gin  # pylint: disable=g-import-not-at-top
  flag_values = flags.FLAGS
  for path in [ddsp_gin.GIN_PATH] + flag_values.gin_search_path:
    gin.add_config_file_search_path(path)
  gin.parse_config_files_and_bindings(flag_values.gin_file,
                                      flag_values.gin_param,
                                      skip_unknown=True)
  paths = run(flag_values.output_tfrecord_path,
              num_examples=flag_values.num_examples,
              num_shards=flag_values.num_shards,
              random_seed=flag_values.random_seed,
              pipeline_options=flag_values.pipeline_options)
  print(f'Wrote {flag_values.num_examples} examples to {len(paths)} '
        f'shard(s): {flag_values.output_tfrecord_path}*', flush=True)


def console_entry_point():
  """The `ddsp_generate_synthetic_dataset` command."""
  from absl import app  # pylint: disable=g-import-not-at-top
  _define_flags()
  app.run(main)


if __name__ == '__main__':
  console_entry_point()
