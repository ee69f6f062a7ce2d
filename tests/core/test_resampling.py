"""Tests for ddsp.core.resampling against numpy/scipy interpolation."""

import numpy as np
import pytest
import scipy.interpolate
import scipy.signal
import tensorflow as tf

from ddsp.core import resampling

METHODS = ('nearest', 'linear', 'cubic', 'window')


# ------------------------------------------------------------------------------
# Independent references. Frames x [batch, n_frames, channels] (numpy).
# ------------------------------------------------------------------------------
def _positions(n_frames, n_timesteps, add_endpoint):
  """Frame position of every output sample, float64."""
  t = np.arange(n_timesteps, dtype=np.float64)
  if add_endpoint:
    return np.minimum(t * n_frames / n_timesteps, n_frames - 1)
  if n_timesteps == 1:
    return np.zeros(1)
  return t * (n_frames - 1) / (n_timesteps - 1)


def _linear_np(x, n_timesteps, add_endpoint):
  p = _positions(x.shape[1], n_timesteps, add_endpoint)
  frames = np.arange(x.shape[1])
  out = np.zeros([x.shape[0], n_timesteps, x.shape[2]])
  for b in range(x.shape[0]):
    for c in range(x.shape[2]):
      out[b, :, c] = np.interp(p, frames, x[b, :, c])
  return out


def _nearest_np(x, n_timesteps, add_endpoint):
  p = _positions(x.shape[1], n_timesteps, add_endpoint)
  index = np.floor(p) if add_endpoint else np.floor(p + 0.5)
  return x[:, index.astype(int)]


def _cubic_np(x, n_timesteps, add_endpoint):
  """Catmull-Rom: cubic Hermite spline with central-difference tangents."""
  p = _positions(x.shape[1], n_timesteps, add_endpoint)
  padded = np.concatenate([x[:, :1], x, x[:, -1:]], axis=1)
  tangents = (padded[:, 2:] - padded[:, :-2]) / 2.0
  spline = scipy.interpolate.CubicHermiteSpline(
      np.arange(x.shape[1]), x, tangents, axis=1)
  return spline(p)


def _window_np(x, hop, add_endpoint):
  """Overlap-add of periodic Hann windows (2 hop long) centred on frames."""
  if add_endpoint:
    x = np.concatenate([x, x[:, -1:]], axis=1)  # Hold the last frame.
  n_frames = x.shape[1]
  n_timesteps = (n_frames - 1) * hop
  window = scipy.signal.get_window('hann', 2 * hop)  # Periodic.
  out = np.zeros([x.shape[0], n_timesteps + 2 * hop, x.shape[2]])
  for k in range(n_frames):
    # Window centre (index hop) at sample k * hop, i.e. at k * hop + hop here.
    out[:, k * hop:k * hop + 2 * hop] += (
        x[:, k:k + 1] * window[np.newaxis, :, np.newaxis])
  return out[:, hop:hop + n_timesteps]


_REFERENCES = {'linear': _linear_np, 'nearest': _nearest_np,
               'cubic': _cubic_np}


@pytest.fixture
def frames(rng):
  return rng.normal(size=(2, 6, 3)).astype(np.float32)


# ------------------------------------------------------------------------------
# Values.
# ------------------------------------------------------------------------------
# (n_timesteps, add_endpoint): whole hops (reshape path) and other lengths
# (position path), including downsampling.
_LENGTHS = [(24, True), (26, False), (17, True), (17, False), (4, True),
            (4, False), (1, True), (6, True)]


@pytest.mark.parametrize('method', ['nearest', 'linear', 'cubic'])
@pytest.mark.parametrize('n_timesteps,add_endpoint', _LENGTHS)
def test_matches_reference(frames, method, n_timesteps, add_endpoint):
  out = resampling.resample(frames, n_timesteps, method=method,
                            add_endpoint=add_endpoint).numpy()
  expected = _REFERENCES[method](frames, n_timesteps, add_endpoint)
  assert out.shape == (2, n_timesteps, 3)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('add_endpoint', [True, False])
@pytest.mark.parametrize('hop', [1, 2, 5, 8])
def test_window_matches_overlap_add(frames, hop, add_endpoint):
  n_hops = 6 if add_endpoint else 5
  out = resampling.resample(frames, n_hops * hop, method='window',
                            add_endpoint=add_endpoint).numpy()
  np.testing.assert_allclose(out, _window_np(frames, hop, add_endpoint),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(
      out, resampling.upsample_with_windows(frames, n_hops * hop,
                                            add_endpoint=add_endpoint))


@pytest.mark.parametrize('method', METHODS)
def test_passes_through_frames(frames, method):
  hop = 8
  out = resampling.resample(frames, 6 * hop, method=method).numpy()
  np.testing.assert_allclose(out[:, ::hop], frames, rtol=1e-6, atol=1e-6)
  # The last frame is held for its hop.
  np.testing.assert_allclose(out[:, -hop:], np.repeat(frames[:, -1:], hop, 1),
                             rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('method', ['nearest', 'linear', 'cubic'])
@pytest.mark.parametrize('n_timesteps', [26, 17])
def test_without_endpoint_ends_on_frames(frames, method, n_timesteps):
  out = resampling.resample(frames, n_timesteps, method=method,
                            add_endpoint=False).numpy()
  np.testing.assert_allclose(out[:, 0], frames[:, 0], rtol=1e-6)
  np.testing.assert_allclose(out[:, -1], frames[:, -1], rtol=1e-6)
  if n_timesteps == 26:  # 5 hops of 5 samples, plus the last frame.
    np.testing.assert_allclose(out[:, ::5], frames, rtol=1e-6, atol=1e-6)


def test_window_without_endpoint_frames_at_hops(frames):
  out = resampling.upsample_with_windows(frames, 20, add_endpoint=False)
  # 5 hops of 4: frames 0..4 at samples 0, 4, ..., 16; frame 5 would be at 20.
  np.testing.assert_allclose(out.numpy()[:, ::4], frames[:, :5], rtol=1e-6)


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('add_endpoint', [True, False])
def test_constant_stays_constant(method, add_endpoint):
  # For every method, including 'window' at the first and last hops: the
  # Hann windows sum to one everywhere, with no fade in or out.
  x = np.full([1, 5, 2], 0.7, np.float32)
  n_timesteps = 40 if (add_endpoint or method == 'window') else 41
  out = resampling.resample(x, n_timesteps, method=method,
                            add_endpoint=add_endpoint).numpy()
  np.testing.assert_allclose(out, np.full([1, n_timesteps, 2], 0.7),
                             rtol=1e-6)


def test_window_is_smooth_and_never_overshoots(frames):
  hop = 16
  out = resampling.upsample_with_windows(frames, 6 * hop).numpy()
  segments = out.reshape([2, 6, hop, 3])
  lo = np.minimum(frames, np.concatenate([frames[:, 1:], frames[:, -1:]], 1))
  hi = np.maximum(frames, np.concatenate([frames[:, 1:], frames[:, -1:]], 1))
  assert np.all(segments >= lo[:, :, np.newaxis] - 1e-6)
  assert np.all(segments <= hi[:, :, np.newaxis] + 1e-6)
  # Zero slope at the frames (cos^2 crossfade): the first step of each hop
  # is sin^2(pi / (2 hop)) |x_{k+1} - x_k|, about pi^2 / (4 hop) = 0.15 of
  # the linear step |x_{k+1} - x_k| / hop at hop 16.
  steps = np.abs(segments[:, :-1, 1] - segments[:, :-1, 0])
  linear_steps = np.abs(np.diff(frames, axis=1)) / hop
  assert np.all(steps <= 0.2 * linear_steps + 1e-7)


def test_default_operating_point_shapes_and_values(rng):
  # 1 s of 250 Hz frames to 16 kHz, the reshape path of every synth.
  x = rng.uniform(size=(2, 250, 4)).astype(np.float32)
  out = resampling.resample(x, 16000).numpy()
  np.testing.assert_allclose(out, _linear_np(x, 16000, True), atol=1e-5)


# ------------------------------------------------------------------------------
# Shapes, graphs, gradients.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('method', METHODS)
def test_ranks_1_to_4(rng, method):
  x4 = rng.normal(size=(2, 5, 3, 4)).astype(np.float32)
  out4 = resampling.resample(x4, 20, method=method).numpy()
  assert out4.shape == (2, 20, 3, 4)
  out3 = resampling.resample(x4.reshape([2, 5, 12]), 20, method=method)
  np.testing.assert_allclose(out4, out3.numpy().reshape([2, 20, 3, 4]))
  out2 = resampling.resample(x4[..., 0, 0], 20, method=method).numpy()
  assert out2.shape == (2, 20)
  np.testing.assert_allclose(out2, out4[..., 0, 0], rtol=1e-6)
  out1 = resampling.resample(x4[0, :, 0, 0], 20, method=method).numpy()
  assert out1.shape == (20,)
  np.testing.assert_allclose(out1, out4[0, :, 0, 0], rtol=1e-6)


@pytest.mark.parametrize('method', ['nearest', 'linear', 'cubic'])
@pytest.mark.parametrize('n_timesteps,add_endpoint', [(24, True), (17, True),
                                                      (26, False)])
def test_unknown_shapes_in_tf_function(frames, method, n_timesteps,
                                       add_endpoint):
  fn = tf.function(
      lambda x: resampling.resample(x, n_timesteps, method, add_endpoint),
      input_signature=[tf.TensorSpec([None, None, None], tf.float32)])
  eager = resampling.resample(frames, n_timesteps, method, add_endpoint)
  np.testing.assert_allclose(fn(frames).numpy(), eager.numpy(), rtol=1e-5,
                             atol=1e-6)


@pytest.mark.parametrize('method', METHODS)
@pytest.mark.parametrize('add_endpoint', [True, False])
def test_elementwise_path_equals_matmul_path(frames, method, add_endpoint,
                                             monkeypatch):
  # On GPUs with TensorFloat-32 matmuls the per-hop path uses elementwise
  # ops instead (a matmul would round frames to a 10-bit mantissa).
  # Whole hops: 6 hops of 4; 5 hops of 5 plus the last frame; 5 hops of 4.
  if add_endpoint:
    n_timesteps = 24
  else:
    n_timesteps = 20 if method == 'window' else 26
  matmul = resampling.resample(frames, n_timesteps, method, add_endpoint)
  monkeypatch.setattr(resampling, '_matmul_is_exact', lambda: False)
  elementwise = resampling.resample(frames, n_timesteps, method, add_endpoint)
  np.testing.assert_allclose(elementwise.numpy(), matmul.numpy(), rtol=1e-5,
                             atol=1e-6)


def test_compiles_with_xla(frames):
  # Both evaluation paths (whole hops: 24; positions: 17) use only ops that
  # XLA (and so TPUs) can compile.
  cases = [(m, 24) for m in METHODS] + [(m, 17) for m in METHODS[:3]]

  @tf.function(jit_compile=True)
  def fn(x):
    return [resampling.resample(x, n, m) for m, n in cases]

  for (method, n), out in zip(cases, fn(tf.constant(frames))):
    np.testing.assert_allclose(out.numpy(),
                               resampling.resample(frames, n, method).numpy(),
                               rtol=1e-5, atol=1e-6)


def test_window_accepts_unknown_batch_and_channels(frames):
  fn = tf.function(
      lambda x: resampling.resample(x, 24, 'window'),
      input_signature=[tf.TensorSpec([None, 6, None], tf.float32)])
  np.testing.assert_allclose(fn(frames).numpy(),
                             resampling.resample(frames, 24, 'window').numpy(),
                             rtol=1e-6)


@pytest.mark.parametrize('method,n_timesteps', [
    ('nearest', 24), ('linear', 24), ('cubic', 24), ('window', 24),
    ('nearest', 17), ('linear', 17), ('cubic', 17)])  # 17: position path.
def test_gradients_are_the_transposed_interpolation(frames, method,
                                                    n_timesteps, rng):
  x = tf.constant(frames)
  weights = rng.normal(size=(2, n_timesteps, 3)).astype(np.float32)
  with tf.GradientTape() as tape:
    tape.watch(x)
    y = tf.reduce_sum(resampling.resample(x, n_timesteps, method) * weights)
  grad = tape.gradient(y, x).numpy()
  assert np.all(np.isfinite(grad)) and np.all(grad != 0.0)
  # resample is linear in x: the gradient of <resample(x), w> is M^T w, with
  # M's columns the references' responses to unit frames.
  reference = {**_REFERENCES,
               'window': lambda x, n, e: _window_np(x, n // 6, e)}[method]
  expected = np.zeros_like(frames)
  for k in range(6):
    unit = np.zeros([1, 6, 1])
    unit[0, k, 0] = 1.0
    column = reference(unit, n_timesteps, True)[0, :, 0]  # [n_timesteps]
    expected[:, k, :] = np.einsum('t,btc->bc', column, weights)
  np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-4)


# ------------------------------------------------------------------------------
# Errors.
# ------------------------------------------------------------------------------
def test_bad_method_raises(frames):
  with pytest.raises(ValueError, match=r"`method` must be one of \['nearest', "
                     r"'linear', 'cubic', 'window'\]. Received: "
                     r"method='bilinear'"):
    resampling.resample(frames, 24, method='bilinear')


@pytest.mark.parametrize('shape', [[], [1, 2, 3, 4, 5]])
def test_bad_rank_raises(shape):
  with pytest.raises(ValueError, match=r'`inputs` must have rank 1 or 2 or 3 '
                     r'or 4. Received: inputs.shape='):
    resampling.resample(np.zeros(shape), 8)


@pytest.mark.parametrize('n_timesteps', [0, -4, 8.0, None])
def test_bad_n_timesteps_raises(frames, n_timesteps):
  with pytest.raises(ValueError, match=r'`n_timesteps` must be a positive '
                     r'integer. Received: n_timesteps='):
    resampling.resample(frames, n_timesteps)


def test_no_frames_raises():
  with pytest.raises(ValueError, match=r'`inputs` must have at least one '
                     r'frame. Received: inputs.shape=\(2, 0, 3\)'):
    resampling.resample(np.zeros([2, 0, 3]), 8)


def test_window_needs_whole_hops(frames):
  with pytest.raises(ValueError, match=r'`n_timesteps` must be a multiple of '
                     r'n_frames \(6\) for window upsampling with '
                     r'add_endpoint=True. Received: n_timesteps=25'):
    resampling.resample(frames, 25, method='window')
  with pytest.raises(ValueError, match=r'`n_timesteps` must be a multiple of '
                     r'n_frames - 1 \(5\) .*add_endpoint=False. Received: '
                     r'n_timesteps=24'):
    resampling.upsample_with_windows(frames, 24, add_endpoint=False)
  with pytest.raises(ValueError, match=r'`n_timesteps` must be a multiple'):
    resampling.upsample_with_windows(frames, 3)  # Downsampling.
  with pytest.raises(ValueError, match=r'at least 2 frames for window '
                     r'upsampling with add_endpoint=False'):
    resampling.upsample_with_windows(frames[:, :1], 8, add_endpoint=False)


def test_window_needs_known_frames():
  fn = tf.function(lambda x: resampling.upsample_with_windows(x, 24),
                   input_signature=[tf.TensorSpec([1, None, 1], tf.float32)])
  with pytest.raises(ValueError, match=r'`inputs` must have a known number '
                     r'of frames for window upsampling'):
    fn.get_concrete_function()


# ------------------------------------------------------------------------------
# center_crop.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('frame_size', [512, 255, 2])
def test_center_crop_inverts_centred_padding(rng, frame_size):
  audio = rng.normal(size=(2, 1000)).astype(np.float32)
  pad = frame_size // 2
  padded = np.pad(audio, [(0, 0), (pad, pad)], mode='reflect')
  np.testing.assert_array_equal(
      resampling.center_crop(padded, frame_size).numpy(), audio)
  cropped = resampling.center_crop(padded[..., np.newaxis], frame_size)
  assert cropped.shape == (2, 1000, 1)


def test_center_crop_frame_size_1_is_identity(rng):
  audio = rng.normal(size=(2, 10)).astype(np.float32)
  np.testing.assert_array_equal(resampling.center_crop(audio, 1), audio)


def test_center_crop_errors():
  with pytest.raises(ValueError, match=r'`audio` must be longer than 2 \* '
                     r'\(frame_size // 2\) = 512 samples to crop. Received: '
                     r'audio.shape=\(1, 500\)'):
    resampling.center_crop(np.zeros([1, 500]), 512)
  with pytest.raises(ValueError, match=r'`audio` must have shape '
                     r'\[batch, n_samples, ...\]'):
    resampling.center_crop(np.zeros([500]), 4)
  with pytest.raises(ValueError, match=r'`frame_size` must be a positive '
                     r'integer. Received: frame_size=0'):
    resampling.center_crop(np.zeros([1, 500]), 0)


# ------------------------------------------------------------------------------
# Shared crossfade weights, published errors, bad inputs.
# ------------------------------------------------------------------------------
@pytest.mark.parametrize('method', ['nearest', 'linear', 'window'])
@pytest.mark.parametrize('hop', [1, 5, 64])
def test_crossfade_weights_are_those_of_resample(rng, method, hop):
  j = np.arange(hop) / hop
  expected = {'nearest': 0.0 * j, 'linear': j,
              'window': np.sin(0.5 * np.pi * j)**2}[method]
  weights = resampling.crossfade_weights(hop, method)
  assert weights.dtype == np.float32
  np.testing.assert_allclose(weights, expected, atol=1e-7)
  np.testing.assert_allclose(
      resampling.crossfade_weights(tf.constant(hop), method).numpy(),
      expected, atol=1e-7)
  # resample(x, n_frames * hop) crossfades frames t -> t + 1 with them.
  x = rng.normal(size=[1, 4, 2]).astype(np.float32)
  out = resampling.resample(x, 4 * hop, method=method).numpy()
  x_next = np.concatenate([x[:, 1:], x[:, -1:]], axis=1)
  hops = x[:, :, None] + expected[None, None, :, None] * (x_next - x)[:, :,
                                                                      None]
  np.testing.assert_allclose(out, hops.reshape(1, -1, 2), atol=1e-5)


@pytest.mark.parametrize('rank', [1, 2, 4])
def test_upsample_with_windows_only_takes_3d_inputs_as_published(rank):
  inputs = np.ones([5] * rank, np.float32)
  with pytest.raises(ValueError, match=r'`inputs` must have rank 3'):
    resampling.upsample_with_windows(inputs, 160)
  # resample(method='window') still takes every rank.
  assert resampling.resample(inputs, 160, method='window').shape[
      0 if rank == 1 else 1] == 160


def test_non_finite_inputs_raise():
  with pytest.raises(ValueError, match=r'`inputs` must be finite.*1 NaN'):
    resampling.resample(np.array([0.0, np.nan, 1.0]), 12)
  with pytest.raises(ValueError, match='`inputs` must be finite'):
    resampling.upsample_with_windows(np.full([1, 3, 1], np.inf), 12)
