"""Multi-worker training: `ddsp_run --mode=train` on two worker processes of
this machine (MultiWorkerMirroredStrategy over loopback ports), compared with
one process, stopped by killing a worker and resumed."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

import training_helpers as helpers  # tests/training/training_helpers.py

SEED = 3
NUM_STEPS = 6
SAVE_EVERY = 2

# One process with a MirroredStrategy over two logical CPU devices: the same
# two replicas (replica ids 0 and 1, half of each global batch each) as the
# two workers, so the per-replica noise of FilteredNoise is the same too.
_REFERENCE_SCRIPT = r'''
import sys
import tensorflow as tf
cpu, = tf.config.list_physical_devices('CPU')
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from ddsp.training import ddsp_run, train_util
train_util.get_strategy = lambda **_: tf.distribute.MirroredStrategy(
    ['/cpu:0', '/cpu:1'])
sys.argv = ['ddsp_run'] + sys.argv[1:]
ddsp_run.console_entry_point()
'''


def _free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(('localhost', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def _train_args(record, save_dir, num_steps):
  n, frames = helpers.N_SAMPLES, helpers.N_FRAMES
  params = [
      f"TFRecordProvider.file_pattern = '{record}'",
      f'TFRecordProvider.example_secs = {helpers.EXAMPLE_SECS}',
      'TFRecordProvider.seed = 1',
      f'Harmonic.n_samples = {n}', f'FilteredNoise.n_samples = {n}',
      f'F0LoudnessPreprocessor.time_steps = {frames}',
      'RnnFcDecoder.rnn_channels = 16', 'RnnFcDecoder.ch = 16',
      'RnnFcDecoder.layers_per_stack = 1', 'Reverb.reverb_length = 800',
      'SpectralLoss.fft_sizes = (512, 128)', 'batch_size = 4',
      'train.steps_per_summary = 1', f'train.steps_per_save = {SAVE_EVERY}',
      f'train.num_steps = {num_steps}',
  ]
  return (['--mode=train', f'--save_dir={save_dir}', f'--seed={SEED}',
           '--gin_file=papers/iclr2020/solo_instrument.gin'] +
          [f'--gin_param={p}' for p in params])


def _start(command, log_path, tmp_dir):
  tmp_dir.mkdir(parents=True, exist_ok=True)
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2', TMPDIR=str(tmp_dir))
  env.pop('TF_CONFIG', None)
  with open(log_path, 'w') as log:
    return subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                            env=env)


def _start_workers(args, ports, folder, name):
  workers = []
  cluster = {'worker': [f'localhost:{p}' for p in ports]}
  for index in range(len(ports)):
    config = json.dumps({'cluster': cluster,
                         'task': {'type': 'worker', 'index': index}})
    workers.append(_start(
        [sys.executable, '-m', 'ddsp.training.ddsp_run', *args,
         f'--cluster_config={config}'],
        folder / f'{name}_worker{index}.log', folder / f'{name}_tmp{index}'))
  return workers


def _wait(process, log_path, timeout=600):
  try:
    rc = process.wait(timeout=timeout)
  except subprocess.TimeoutExpired:
    process.kill()
    rc = 'timeout'
  log = log_path.read_text()
  assert rc == 0, f'rc={rc}\n{log[-3000:]}'
  return log


def _checkpoint(prefix):
  """{variable name: array} of a checkpoint, read from its files."""
  reader = tf.train.load_checkpoint(str(prefix))
  return {name: reader.get_tensor(name)
          for name, _ in tf.train.list_variables(str(prefix))
          if not name.startswith('_CHECKPOINTABLE_OBJECT_GRAPH')}


def _weight_names(checkpoint):
  # The model's weights are stored once, under the optimizer's list of them.
  return [n for n in checkpoint
          if n.startswith('optimizer/_trainable_variables/')]


def _assert_same_checkpoints(got, want):
  got, want = _checkpoint(got), _checkpoint(want)
  assert sorted(got) == sorted(want)
  assert len(_weight_names(want)) > 10
  for name in want:
    # Float32 round-off of the same sums in another order: a worker applying
    # only its own half-batch gradient, or drawing the other replica's
    # noise, moves weights by about the learning rate (1e-3) instead.
    np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-6,
                               err_msg=name)


def _event_writer_pids(save_dir):
  files = tf.io.gfile.glob(str(save_dir / 'summaries' / 'train' / 'events*'))
  # events.out.tfevents.<time>.<host>.<pid>.<n>.v2
  return {int(os.path.basename(f).split('.')[-3]) for f in files}


@pytest.mark.slow
def test_two_workers_match_one_process_and_resume_after_a_kill(test_data,
                                                               tmp_path):
  record = tmp_path / 'violin.tfrecord'
  helpers.write_tfrecord(record, helpers.violin_examples(test_data, 6))
  reference_dir, cluster_dir = tmp_path / 'reference', tmp_path / 'cluster'

  # The reference and the first cluster run side by side (2 cores).
  reference = _start(
      [sys.executable, '-c', _REFERENCE_SCRIPT,
       *_train_args(record, reference_dir, NUM_STEPS)],
      tmp_path / 'reference.log', tmp_path / 'reference_tmp')
  # The first cluster run would go on to step 1000: one worker is killed as
  # soon as the chief has saved its first checkpoint, then the other.
  first = _start_workers(_train_args(record, cluster_dir, 1000),
                         _free_ports(2), tmp_path, 'first')
  deadline = time.time() + 600
  while not (cluster_dir / f'ckpt-{SAVE_EVERY}.index').exists():
    assert time.time() < deadline, 'no checkpoint from the cluster'
    assert all(w.poll() is None for w in first), (
        (tmp_path / 'first_worker0.log').read_text()[-3000:])
    time.sleep(0.05)
  first[1].send_signal(signal.SIGKILL)
  first[1].wait()
  first[0].send_signal(signal.SIGKILL)
  first[0].wait()
  killed_at = int(tf.train.latest_checkpoint(str(cluster_dir)).split('-')[-1])
  assert SAVE_EVERY <= killed_at < NUM_STEPS
  first_pid = first[0].pid

  # Both restarted: they resume from the latest checkpoint.
  second = _start_workers(_train_args(record, cluster_dir, NUM_STEPS),
                          _free_ports(2), tmp_path, 'second')
  logs = [_wait(w, tmp_path / f'second_worker{i}.log')
          for i, w in enumerate(second)]
  _wait(reference, tmp_path / 'reference.log')
  for log in logs:
    assert f'Restored the model, optimizer and step {killed_at}' in log
    assert (f'Skipping the {killed_at} batches consumed before step '
            f'{killed_at}') in log
    assert f'Training finished at step {NUM_STEPS}' in log

  # The chief's checkpoints equal the one-process run's, before the kill and
  # after the resume (data order and noise included).
  _assert_same_checkpoints(cluster_dir / f'ckpt-{SAVE_EVERY}',
                           reference_dir / f'ckpt-{SAVE_EVERY}')
  _assert_same_checkpoints(cluster_dir / f'ckpt-{NUM_STEPS}',
                           reference_dir / f'ckpt-{NUM_STEPS}')
  # The weights did move between the two (the comparison can fail).
  early = _checkpoint(cluster_dir / f'ckpt-{SAVE_EVERY}')
  late = _checkpoint(cluster_dir / f'ckpt-{NUM_STEPS}')
  assert max(np.max(np.abs(late[n] - early[n]))
             for n in _weight_names(early)) > 5e-4

  # Only the chief wrote: checkpoints, configs, summaries (by pid) and the
  # data position; the other worker's scratch checkpoints are removed.
  names = sorted(p.name for p in cluster_dir.iterdir())
  expected = {'checkpoint', 'data_iterator', 'summaries',
              'operative_config-0.gin', f'operative_config-{killed_at}.gin'}
  assert set(names) - expected == {
      n for n in names if n.startswith('ckpt-')}, names
  assert _event_writer_pids(cluster_dir) == {first_pid, second[0].pid}
  assert sorted(os.listdir(cluster_dir / 'data_iterator')) == [
      f'batches-{NUM_STEPS}.json']
  position = json.loads(
      (cluster_dir / 'data_iterator' / f'batches-{NUM_STEPS}.json')
      .read_text())
  assert position == {'step': NUM_STEPS, 'batches': NUM_STEPS}
  assert not os.listdir(tmp_path / 'second_tmp1')
  assert not os.listdir(tmp_path / 'second_tmp0')
