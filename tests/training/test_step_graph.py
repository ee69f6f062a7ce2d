"""Tests of the traced training step's graph: no host round trips (Python
calls) and nothing of size [batch, n_samples, n_harmonics] kept from the
forward pass for the backward pass."""

import gin
import numpy as np
import pytest
import tensorflow as tf

from ddsp.training import ddsp_run  # pylint: disable=unused-import
from ddsp.training import gin as ddsp_gin
from ddsp.training import models
from ddsp.training import trainers

# Ops that call back into Python on the host.
HOST_OPS = {'PyFunc', 'PyFuncStateless', 'EagerPyFunc'}
# Ops that read only a tensor's shape (they do not keep its values alive).
SHAPE_OPS = {'Shape', 'ShapeN', 'Size', 'Rank'}
BATCH, N_SAMPLES, N_HARMONICS = 2, 64000, 60


def _graphs(graph, seen=None):
  """`graph` and every function graph nested in it (loop bodies, calls)."""
  seen = set() if seen is None else seen
  yield graph
  for name, function in graph._functions.items():  # pylint: disable=protected-access
    if name not in seen and function.graph is not None:
      seen.add(name)
      yield from _graphs(function.graph, seen)


def _op_types(graph):
  return {op.type for g in _graphs(graph) for op in g.get_operations()}


def _is_backward(op):
  """Ops of the gradient: under the tape's name scope, or calls of a
  custom gradient's backward function."""
  if op.name.startswith('gradient_tape/'):
    return True
  try:
    return 'backward' in op.get_attr('f').name
  except ValueError:
    return False


def _kept_for_backward(graph):
  """Forward tensors whose values the backward ops of `graph` read."""
  kept = {}
  for op in graph.get_operations():
    if not _is_backward(op) or op.type in SHAPE_OPS:
      continue
    for tensor in op.inputs:
      if not _is_backward(tensor.op):
        kept[tensor.name] = tensor
  return list(kept.values())


def _largest(tensors):
  """The largest element count among `tensors`, an unknown dimension
  counted as the batch.

  Unknown dimensions are the batch: a kernel shared between layers (the
  fused GRU's XLA loops) that an earlier trace in the process saw with an
  unknown batch (e.g. a SavedModel export) is reused for any batch. More
  than one unknown dimension counts as inf.
  """
  def size(t):
    dims = t.shape.as_list() if t.shape.rank is not None else None
    if dims is None or dims.count(None) > 1:
      return np.inf
    return int(np.prod([BATCH if d is None else d for d in dims]))
  return max((size(t) for t in tensors), default=0)


def _train_graph():
  """The traced step of the solo-instrument model (4 s, 60 harmonics; a
  narrow decoder to keep it quick)."""
  gin.clear_config()
  gin.add_config_file_search_path(ddsp_gin.GIN_PATH)
  with gin.unlock_config():
    gin.parse_config_files_and_bindings(
        ['models/solo_instrument.gin'],
        ['RnnFcDecoder.rnn_channels = 16', 'RnnFcDecoder.ch = 16',
         'Reverb.reverb_length = 16000'], finalize_config=False)
  rng = np.random.default_rng(0)
  n_frames = N_SAMPLES // 64
  batch = {
      'audio': tf.constant(
          0.1 * rng.normal(size=[BATCH, N_SAMPLES]).astype(np.float32)),
      'f0_hz': tf.constant(
          rng.uniform(100, 800, [BATCH, n_frames]).astype(np.float32)),
      'loudness_db': tf.constant(
          rng.uniform(-60, -20, [BATCH, n_frames]).astype(np.float32))}
  try:
    trainer = trainers.Trainer(models.get_model())
    trainer.build(batch)
    # pylint: disable-next=protected-access
    return trainer._train_fn.get_concrete_function(batch).graph
  finally:
    gin.clear_config()


@pytest.mark.slow
def test_train_step_has_no_host_calls_and_keeps_no_harmonic_tensor():
  graph = _train_graph()
  assert len(list(_graphs(graph))) > 5  # The nested loop and XLA bodies too.
  types = _op_types(graph)
  assert 'StatelessWhile' in types and 'Sin' in types
  assert not types & HOST_OPS
  kept = _kept_for_backward(graph)
  assert len(kept) > 50  # The decoder's activations, the STFTs, ...
  # Nothing kept is as large as [batch, samples, harmonics] / 8: the
  # largest are spectrogram-sized ([2, 4000, 33]).
  assert _largest(kept) < BATCH * N_SAMPLES * N_HARMONICS / 8, [
      f'{t.name} {t.shape}' for t in kept
      if t.shape.num_elements() is None or t.shape.num_elements() > 1e5]


def test_the_graph_checks_catch_a_host_call_and_a_kept_harmonic_tensor():
  """The checks above fail where they should: a py_function, and the
  published-style synthesis (sin of [batch, samples, harmonics] phases,
  differentiated by autodiff, which keeps the sines' cosines)."""
  phase_spec = tf.TensorSpec([BATCH, N_SAMPLES, 1], tf.float32)

  @tf.function
  def naive(phase, amps):
    with tf.GradientTape() as tape:
      tape.watch([phase, amps])
      harmonics = tf.range(1.0, N_HARMONICS + 1.0)
      audio = tf.reduce_sum(tf.sin(phase * harmonics) * amps, axis=-1)
      loss = tf.reduce_sum(tf.py_function(tf.abs, [audio], tf.float32))
    return tape.gradient(loss, [phase, amps])

  graph = naive.get_concrete_function(
      phase_spec, tf.TensorSpec([BATCH, 1, N_HARMONICS])).graph
  assert 'EagerPyFunc' in _op_types(graph) & HOST_OPS
  assert _largest(_kept_for_backward(graph)) >= (
      BATCH * N_SAMPLES * N_HARMONICS)
