"""Smoke test of the README main job, `bash scripts/main_job.sh`.

Runs the whole job as a user would (its own set-up, the command-line tools,
the committed example data) with a short training recording and ten training
steps, and checks what it leaves in the output folder: valid audio of the
inputs' durations at the model's rate, PNG images, the model and its
statistics, and the progress it printed.
"""

import os
import pathlib
import re
import subprocess

import numpy as np
import pytest
import soundfile

REPO = pathlib.Path(__file__).resolve().parents[1]
EXAMPLES = REPO / 'examples' / 'data'
HOP = 64  # Samples per frame at 16 kHz and 250 frames/s.


def _check_png(path):
  import matplotlib.image  # pylint: disable=g-import-not-at-top
  assert path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n', path
  image = matplotlib.image.imread(path)
  assert image.shape[0] >= 500 and image.shape[1] >= 500
  assert np.std(image[..., :3]) > 0.05  # Not a blank canvas.


def _check_audio(path, reference):
  audio, sample_rate = soundfile.read(path, dtype='float32')
  info = soundfile.info(reference)
  assert sample_rate == 16000
  assert audio.ndim == 1
  # The input's duration, padded to whole frames.
  expected = info.frames * 16000 // info.samplerate
  assert expected <= len(audio) < expected + HOP, (len(audio), expected)
  assert np.all(np.isfinite(audio))
  assert 1e-3 < np.max(np.abs(audio)) <= 1.0
  return audio


@pytest.mark.slow
def test_main_job_end_to_end(tmp_path):
  # 6 s of the training recording keep data preparation short.
  audio, sample_rate = soundfile.read(EXAMPLES / 'violin_train.flac',
                                      dtype='int16')
  train_audio = tmp_path / 'violin_6s.wav'
  soundfile.write(train_audio, audio[:6 * sample_rate], sample_rate)
  out = tmp_path / 'out'
  env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2')
  proc = subprocess.run(
      ['bash', str(REPO / 'scripts' / 'main_job.sh'), f'--out={out}',
       '--steps=10', '--batch_size=2', '--channels=32',
       f'--train_audio={train_audio}'],
      cwd=tmp_path, capture_output=True, text=True, env=env, timeout=1200,
      check=False)
  log = proc.stdout + proc.stderr
  assert proc.returncode == 0, log[-5000:]

  # Progress of each stage, the training steps and where the results are.
  for stage in range(1, 6):
    assert f'== [{stage}/5]' in proc.stdout
  # Progress lines (the first step, then every 10 s): `step N/10  losses`.
  assert re.search(r'step \d+/10  .*total_loss', log)
  assert 'Training finished at step 10' in log
  assert f'Results in {out}/' in proc.stdout
  assert proc.stdout.count('within 50 cents') == 2
  # TensorFlow's start-up chatter is filtered out.
  assert 'I0000' not in log and 'cuInit' not in log

  heldout = _check_audio(out / 'violin_heldout_resynthesis.wav',
                         EXAMPLES / 'violin_heldout.flac')
  transfer = _check_audio(out / 'speech_to_violin.wav',
                          EXAMPLES / 'speech_female.flac')
  assert not np.array_equal(heldout[:len(transfer)], transfer)
  _check_png(out / 'violin_heldout_resynthesis.png')
  _check_png(out / 'speech_to_violin.png')
  assert (out / 'violin_heldout_input.flac').exists()
  assert (out / 'speech_input.flac').exists()
  model = out / 'model'
  assert (model / 'ckpt-10.index').exists()
  assert (model / 'operative_config-0.gin').exists()
  assert (model / 'dataset_statistics.json').exists()
  assert list((out / 'data').glob('train.tfrecord-*'))


def test_main_job_refuses_bad_options_and_foreign_folders(tmp_path):
  script = str(REPO / 'scripts' / 'main_job.sh')
  run = lambda *args: subprocess.run(  # pylint: disable=g-long-lambda
      ['bash', script, *args], capture_output=True, text=True, timeout=60,
      check=False)
  proc = run('--bogus')
  assert proc.returncode == 2 and "unknown option '--bogus'" in proc.stderr
  proc = run('--steps=ten')
  assert proc.returncode == 2 and '--steps must be a positive integer' in (
      proc.stderr)
  proc = run('--learning_rate=fast')
  assert proc.returncode == 2 and '--learning_rate must be a positive' in (
      proc.stderr)
  proc = run(f'--train_audio={tmp_path / "missing.wav"}')
  assert proc.returncode == 2 and 'no such audio file' in proc.stderr
  proc = run('--help')
  assert proc.returncode == 0 and '--steps=N' in proc.stdout
  # A model/ folder that the job did not make is never deleted.
  foreign = tmp_path / 'out' / 'model'
  foreign.mkdir(parents=True)
  (foreign / 'precious.txt').write_text('keep me')
  proc = run(f'--out={tmp_path / "out"}')
  assert proc.returncode == 2 and 'was not made by this script' in proc.stderr
  assert (foreign / 'precious.txt').read_text() == 'keep me'
