"""Training steps per second on one and two worker processes.

Runs `ddsp_run --mode=train` (the solo-instrument model, shrunk: `--seconds`
examples, a `--channels`-unit GRU) on TFRecords of the violin excerpt of
`tests/data`, once as one process (the default strategy) and once as two
worker processes of a `MultiWorkerMirroredStrategy` cluster on loopback
ports, both at the same global batch (`--batch_size`, split in two halves
on the cluster). Each run's steps/s is the median of the chief's TensorBoard
`steps_per_sec` summaries after the first `--warmup` steps (which include
tracing). Prints steps/s, examples/s, the speed-up of two workers over one
and the scaling efficiency (speed-up / 2).

On a machine with 2 cores (shared with other jobs) two workers cannot run
faster than one: the figures measure the overhead of the second process and
of the all-reduce over gRPC. Compare rows of one run only.

Usage:
  nice python benchmarks/bench_multi_worker.py [--steps 20 --warmup 5
      --batch_size 8 --seconds 1 --channels 128]
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile

import numpy as np
import soundfile as sf
import tensorflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(REPO, 'tests', 'data')
SAMPLE_RATE, FRAME_RATE = 16000, 250


def write_record(path, seconds):
  """Excerpts of `seconds` every 0.25 s of violin_6s with f0 and loudness."""
  from ddsp import spectral_ops  # pylint: disable=g-import-not-at-top
  audio, rate = sf.read(os.path.join(DATA, 'violin_6s.flac'),
                        dtype='float32')
  assert rate == SAMPLE_RATE
  f0_hz = np.load(os.path.join(DATA, 'violin_6s.f0_250hz.npy'))
  n, frames = int(seconds * SAMPLE_RATE), int(seconds * FRAME_RATE)
  hop = SAMPLE_RATE // 4
  count = 0
  with tf.io.TFRecordWriter(path) as writer:
    for start in range(0, len(audio) - n + 1, hop):
      clip = audio[start:start + n]
      first = start * FRAME_RATE // SAMPLE_RATE
      f0 = f0_hz[first:first + frames]
      if len(f0) < frames:
        break
      features = {
          'audio': clip, 'f0_hz': f0,
          'f0_confidence': np.ones(frames, np.float32),
          'loudness_db': spectral_ops.compute_loudness(
              clip, use_tf=False, padding='same')[:frames]}
      writer.write(tf.train.Example(features=tf.train.Features(feature={
          k: tf.train.Feature(float_list=tf.train.FloatList(
              value=np.asarray(v, np.float32))) for k, v in features.items()
      })).SerializeToString())
      count += 1
  return count


def train_args(args, record, save_dir):
  n, frames = int(args.seconds * SAMPLE_RATE), int(args.seconds * FRAME_RATE)
  params = [
      f"TFRecordProvider.file_pattern = '{record}'",
      f'TFRecordProvider.example_secs = {args.seconds}',
      'TFRecordProvider.seed = 1',
      f'Harmonic.n_samples = {n}', f'FilteredNoise.n_samples = {n}',
      f'F0LoudnessPreprocessor.time_steps = {frames}',
      f'RnnFcDecoder.rnn_channels = {args.channels}',
      f'RnnFcDecoder.ch = {args.channels}', 'Reverb.reverb_length = 4000',
      f'batch_size = {args.batch_size}',
      f'train.steps_per_summary = {args.summary_every}',
      f'train.steps_per_save = {args.warmup + args.steps}',
      f'train.num_steps = {args.warmup + args.steps}',
      'train.summarize_audio = False',
  ]
  return ([sys.executable, '-m', 'ddsp.training.ddsp_run', '--mode=train',
           f'--save_dir={save_dir}', '--seed=0',
           '--gin_file=papers/iclr2020/solo_instrument.gin'] +
          [f'--gin_param={p}' for p in params])


def free_ports(n):
  sockets = [socket.socket() for _ in range(n)]
  for s in sockets:
    s.bind(('localhost', 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def run(command, n_workers, folder):
  """Starts `n_workers` processes of `command`; raises if one fails."""
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  env.pop('TF_CONFIG', None)
  cluster = {'worker': [f'localhost:{p}' for p in free_ports(n_workers)]}
  processes, logs = [], []
  for index in range(n_workers):
    extra = [] if n_workers == 1 else [
        '--cluster_config=' + json.dumps(
            {'cluster': cluster, 'task': {'type': 'worker', 'index': index}})]
    log = os.path.join(folder, f'w{n_workers}_{index}.log')
    logs.append(log)
    with open(log, 'w') as f:
      processes.append(subprocess.Popen(command + extra, stdout=f,
                                        stderr=subprocess.STDOUT, env=env))
  for process, log in zip(processes, logs):
    if process.wait() != 0:
      with open(log) as f:
        raise RuntimeError(f'{log} failed:\n{f.read()[-3000:]}')


def steps_per_sec(save_dir, warmup):
  """The median `steps_per_sec` summary after step `warmup`."""
  values = []
  for path in tf.io.gfile.glob(os.path.join(save_dir, 'summaries', 'train',
                                            'events*')):
    for event in tf.compat.v1.train.summary_iterator(path):
      for value in event.summary.value:
        if value.tag == 'steps_per_sec' and event.step > warmup:
          values.append(float(tf.make_ndarray(value.tensor)))
  if not values:
    raise RuntimeError(f'No steps_per_sec summaries in {save_dir}.')
  return float(np.median(values)), len(values)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--steps', type=int, default=20,
                      help='timed steps after the warm-up')
  parser.add_argument('--warmup', type=int, default=5,
                      help='steps left out of the timing (tracing)')
  parser.add_argument('--summary_every', type=int, default=5,
                      help='steps per steps_per_sec summary')
  parser.add_argument('--batch_size', type=int, default=8,
                      help='global batch (even: halved on two workers)')
  parser.add_argument('--seconds', type=float, default=1.0,
                      help='seconds per example')
  parser.add_argument('--channels', type=int, default=128,
                      help='GRU and dense units of the decoder')
  args = parser.parse_args()
  if args.batch_size % 2 or args.warmup % args.summary_every or (
      args.steps % args.summary_every):
    parser.error('--batch_size must be even, --warmup and --steps multiples '
                 'of --summary_every.')
  rows = []
  with tempfile.TemporaryDirectory() as folder:
    record = os.path.join(folder, 'violin.tfrecord')
    examples = write_record(record, args.seconds)
    for n_workers in (1, 2):
      save_dir = os.path.join(folder, f'run{n_workers}')
      run(train_args(args, record, save_dir), n_workers, folder)
      rate, n = steps_per_sec(save_dir, args.warmup)
      rows.append((n_workers, rate, n))
  base = rows[0][1]
  print(f'\n{examples} examples of {args.seconds:g} s, global batch '
        f'{args.batch_size}, GRU {args.channels}, {args.steps} timed steps '
        f'(median of {rows[0][2]} summaries), {os.cpu_count()} CPU(s)')
  print(f'{"workers":>7} {"steps/s":>8} {"examples/s":>10} {"speed-up":>9} '
        f'{"efficiency":>10}')
  for n_workers, rate, _ in rows:
    print(f'{n_workers:7d} {rate:8.3f} {rate * args.batch_size:10.2f} '
          f'{rate / base:9.2f} {rate / base / n_workers:10.2f}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
