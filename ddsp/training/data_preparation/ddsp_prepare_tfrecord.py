r"""Create a TFRecord dataset of training examples from audio files.

Usage:
====================
ddsp_prepare_tfrecord \
  --input_audio_filepatterns=/path/to/wavs/*wav,/path/to/mp3s/*mp3 \
  --output_tfrecord_path=/path/to/output.tfrecord \
  --num_shards=10 \
  --alsologtostderr

Each file is read (any format soundfile or ffmpeg decodes, any sample rate,
mixed to mono), resampled to --sample_rate, annotated with CREPE f0 and
confidence and A-weighted loudness at --frame_rate, cut into --example_secs
examples every --hop_secs, and written as TFRecord shards
`<output_tfrecord_path>-SSSSS-of-NNNNN`. With --eval_split_fraction > 0 the
train shards are `<output_tfrecord_path>-train-...` and the eval shards, for
--output_tfrecord_path=/data/train.tfrecord, `/data/train_eval.tfrecord-...`:
the pattern `/data/train.tfrecord*` reads training examples only. The settings
of the run go to `/data/train_settings.json`. --frame_rate=0 writes audio only
(no f0 or loudness).

Unreadable files are skipped and listed in the summary printed at the end;
truncated files (a header that declares more audio than the file holds) are
listed and counted, and read up to where they end unless --skip_truncated.
A path that already holds shards of an earlier run is refused unless
--overwrite, which removes exactly those shards first.

The pipeline runs on Apache Beam's DirectRunner by default; pass any runner's
flags through --pipeline_options (comma- or, quoted, space-separated), e.g.
--pipeline_options=--runner=DirectRunner,--direct_num_workers=2,\
--direct_running_mode=multi_processing
(2 worker processes on this machine) or the flags of Dataflow, Flink or Spark
for large corpora (docs/cluster.md).

The exit status is 1 when no example was written (e.g. no file was readable),
or when the output path is refused or cannot be written (one line says why).
"""

import sys

from absl import app
from absl import flags
from absl import logging

from ddsp.training.data_preparation import beam_options

FLAGS = flags.FLAGS

beam_options.define_output_flags(FLAGS)

flags.DEFINE_list('input_audio_filepatterns', [],
                  'Comma-separated globs of the audio files to read.')
flags.DEFINE_integer('sample_rate', 16000,
                     'Sample rate of the written audio, Hz.')
flags.DEFINE_integer('frame_rate', 250,
                     'Feature frames per second; 0 computes no features '
                     '(audio-only examples).')
flags.DEFINE_float('example_secs', 4,
                   'Seconds per example; 0 writes each chunk as one example.')
flags.DEFINE_float('hop_secs', 1,
                   'Seconds between the starts of consecutive examples.')
flags.DEFINE_float('eval_split_fraction', 0.0,
                   'Fraction of the chunks written to a separate eval split.')
flags.DEFINE_float('chunk_secs', 20.0,
                   'Seconds of example starts per pipeline element (bounds '
                   'memory); 0 processes whole files.')
flags.DEFINE_boolean('center', False,
                     "Compute features with 'center' padding (one more frame "
                     'per example).')
flags.DEFINE_boolean('viterbi', True,
                     'Viterbi-smooth the CREPE pitch track.')
flags.DEFINE_boolean('overwrite', False,
                     'Remove the shards of an earlier run with this '
                     '--output_tfrecord_path first (else the run is refused).')
flags.DEFINE_boolean('skip_truncated', False,
                     'Skip truncated audio files instead of reading the audio '
                     'they hold (either way they are listed).')
flags.DEFINE_string('crepe_model', None,
                    "CREPE size for the f0: 'tiny' (the default, installed), "
                    "'small', 'medium', 'large' or 'full' (the published "
                    'choice: more accurate on low notes, about 7x slower), or '
                    'a weights .h5 path.')


def _expand_patterns(patterns):
  """Files matched by the globs, in order; raises if a glob matches none."""
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  paths = []
  for pattern in patterns:
    matched = sorted(tf.io.gfile.glob(pattern))
    if not matched:
      raise app.UsageError(
          f'--input_audio_filepatterns: no file matches {pattern!r}.')
    paths.extend(p for p in matched if p not in paths)
  return paths


def run():
  """Runs the pipeline with the parsed flags; returns the summary dict."""
  from ddsp.training.data_preparation import prepare_tfrecord_lib  # pylint: disable=g-import-not-at-top
  if not FLAGS.input_audio_filepatterns:
    raise app.UsageError('--input_audio_filepatterns is required.')
  if not FLAGS.output_tfrecord_path:
    raise app.UsageError('--output_tfrecord_path is required.')
  input_audio_paths = _expand_patterns(FLAGS.input_audio_filepatterns)
  logging.info('Preparing %d audio file(s).', len(input_audio_paths))
  return prepare_tfrecord_lib.prepare_tfrecord(
      input_audio_paths,
      FLAGS.output_tfrecord_path,
      num_shards=FLAGS.num_shards,
      sample_rate=FLAGS.sample_rate,
      frame_rate=FLAGS.frame_rate,
      example_secs=FLAGS.example_secs,
      hop_secs=FLAGS.hop_secs,
      eval_split_fraction=FLAGS.eval_split_fraction,
      chunk_secs=FLAGS.chunk_secs,
      center=FLAGS.center,
      viterbi=FLAGS.viterbi,
      pipeline_options=FLAGS.pipeline_options,
      crepe_model=FLAGS.crepe_model,
      overwrite=FLAGS.overwrite,
      skip_truncated=FLAGS.skip_truncated)


def main(unused_argv):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  try:
    summary = run()
  except (FileExistsError, PermissionError,
          tf.errors.PermissionDeniedError) as e:
    # One line naming the path, no traceback: nothing is wrong in the code.
    print(f'ddsp_prepare_tfrecord: {e}', file=sys.stderr, flush=True)
    sys.exit(1)
  if not sum(summary['examples'].values()):
    logging.error('No example was written.')
    sys.exit(1)


def console_entry_point():
  """The `ddsp_prepare_tfrecord` console script."""
  app.run(main)


if __name__ == '__main__':
  console_entry_point()
