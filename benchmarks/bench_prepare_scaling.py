"""Data-preparation throughput on 1 and more worker processes.

Runs `prepare_tfrecord` (CREPE tiny f0 and loudness, 4 s examples every 1 s,
5 s chunks) on the first `--seconds` of each full recording of
`shared/data` (see `bench_data.py`; violin, flute and trumpet), once in
process (Beam's FnApiRunner, one worker) and once per count of
`--processes` with `--direct_running_mode=multi_processing`, and prints for
each: wall time, seconds of audio per second, the speed-up over the
in-process run and the scaling efficiency (speed-up / processes). Every run
must write the same number of examples, which is checked.

Each worker process imports TensorFlow and loads CREPE before its first
chunk (several seconds), so on little audio the extra processes cost more
than they gain. On a machine with 2 cores shared with other jobs, little
speed-up is possible: the figures measure the overhead. Compare rows of one
run only.

Usage:
  nice python benchmarks/bench_prepare_scaling.py [--seconds 20
      --processes 2]
"""

import argparse
import logging
import os
import sys
import tempfile
import time

import soundfile as sf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
# pylint: disable=g-import-not-at-top,wrong-import-position
import bench_data
from ddsp.training.data_preparation import prepare_tfrecord_lib as lib

RECORDINGS = ('violin_train.wav', 'flute.wav', 'trumpet.wav')


def write_excerpts(folder, seconds):
  """The first `seconds` of each recording as WAVs; (paths, total seconds)."""
  paths, total = [], 0.0
  for name in RECORDINGS:
    path = bench_data.find(name)
    if path is None:
      print(bench_data.missing_message(name))
      continue
    info = sf.info(str(path))
    audio, rate = sf.read(str(path), dtype='float32',
                          frames=int(seconds * info.samplerate))
    out = os.path.join(folder, name)
    sf.write(out, audio, rate, subtype='FLOAT')
    paths.append(out)
    total += len(audio) / rate
  return paths, total


def run(paths, folder, processes):
  options = [] if processes == 1 else [
      f'--direct_num_workers={processes}',
      '--direct_running_mode=multi_processing']
  start = time.perf_counter()
  summary = lib.prepare_tfrecord(
      paths, os.path.join(folder, f'p{processes}', 'data.tfrecord'),
      num_shards=2, chunk_secs=5, pipeline_options=options)
  return time.perf_counter() - start, summary


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--seconds', type=float, default=20,
                      help='seconds of each recording to prepare')
  parser.add_argument('--processes', default='2',
                      help='comma-separated worker counts besides 1')
  args = parser.parse_args()
  logging.getLogger().setLevel(logging.ERROR)
  counts = [1] + [int(n) for n in args.processes.split(',') if n]
  with tempfile.TemporaryDirectory() as folder:
    paths, total = write_excerpts(folder, args.seconds)
    if not paths:
      print('No recordings found: nothing to measure.')
      return 1
    rows = []
    for processes in counts:
      wall, summary = run(paths, folder, processes)
      rows.append((processes, wall, summary['examples']['all']))
  base = total / rows[0][1]
  print(f'\n{len(paths)} file(s), {total:.1f} s of audio, CREPE tiny, '
        f'{os.cpu_count()} CPU(s)')
  print(f'{"processes":>9} {"wall s":>8} {"audio s/s":>10} {"speed-up":>9} '
        f'{"efficiency":>10} {"examples":>9}')
  for processes, wall, examples in rows:
    speed = total / wall
    print(f'{processes:9d} {wall:8.1f} {speed:10.2f} {speed / base:9.2f} '
          f'{speed / base / processes:10.2f} {examples:9d}')
  if len({examples for _, _, examples in rows}) != 1:
    print('ERROR: the runs wrote different numbers of examples.')
    return 1
  return 0


if __name__ == '__main__':
  sys.exit(main())
