"""Tests of ddsp.training.data_preparation.beam_options: the runner chosen
from Beam flags and the output flags of the pipelines' command lines."""

from absl import flags
from apache_beam.options import pipeline_options as po
from apache_beam.runners.portability.fn_api_runner import fn_runner
import pytest

from ddsp.training.data_preparation import beam_options


def test_pipeline_options_run_direct_runner_in_process():
  options, runner = beam_options.parse_pipeline_options(
      ['--runner=DirectRunner'])
  assert isinstance(runner, fn_runner.FnApiRunner)
  options, runner = beam_options.parse_pipeline_options(
      '--direct_num_workers=2,--direct_running_mode=multi_threading')
  assert isinstance(runner, fn_runner.FnApiRunner)
  assert options.get_all_options()['direct_num_workers'] == 2
  _, runner = beam_options.parse_pipeline_options(['--runner=PrismRunner'])
  assert runner is None  # Other runners are left to Beam.
  # One quoted argument of space-separated flags reads like the list.
  options, _ = beam_options.parse_pipeline_options(
      ['--direct_num_workers=2 --direct_running_mode=multi_processing',
       "--job_name='a b'"])
  assert options.get_all_options()['direct_num_workers'] == 2
  assert options.get_all_options()['direct_running_mode'] == (
      'multi_processing')
  assert options.get_all_options()['job_name'] == 'a b'


def test_given_pipeline_options_are_used_as_they_are():
  given = po.PipelineOptions(['--runner=PrismRunner', '--job_name=given'])
  options, runner = beam_options.parse_pipeline_options(given)
  assert options is given and runner is None
  for empty in ([], None, ''):
    options, runner = beam_options.parse_pipeline_options(empty)
    assert isinstance(runner, fn_runner.FnApiRunner)
    assert options.get_all_options()['runner'] is None


def test_output_flags_are_shared_by_both_command_lines():
  flag_values = flags.FlagValues()
  beam_options.define_output_flags(flag_values)
  flag_values(['prog', '--output_tfrecord_path=/tmp/x.tfrecord',
               '--pipeline_options=--direct_num_workers=2,--job_name=a'])
  assert flag_values.output_tfrecord_path == '/tmp/x.tfrecord'
  assert flag_values.num_shards is None
  options, runner = beam_options.parse_pipeline_options(
      flag_values.pipeline_options)
  assert options.get_all_options()['direct_num_workers'] == 2
  assert isinstance(runner, fn_runner.FnApiRunner)
  with pytest.raises(flags.DuplicateFlagError,
                     match="'output_tfrecord_path' is defined twice"):
    beam_options.define_output_flags(flag_values)
  # ddsp_prepare_tfrecord defines them in absl's global flags on import.
  from ddsp.training.data_preparation import ddsp_prepare_tfrecord  # pylint: disable=g-import-not-at-top,unused-import
  assert flags.FLAGS['num_shards'].help == flag_values['num_shards'].help
  assert flags.FLAGS['pipeline_options'].default == ['--runner=DirectRunner']
