"""Plain numpy (float64) forward passes of the ddsp.training.nn blocks.

Independent references for the tests: each function takes the weights of the
Keras layer as numpy arrays and recomputes its output from the textbook
definition, with explicit loops where the layer vectorizes.
"""

import numpy as np


def sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


def leaky_relu(x, slope=0.2):
  return np.where(x >= 0, x, slope * x)


def dense(x, kernel, bias):
  return x @ kernel + bias


def layer_norm(x, gamma, beta, eps=1e-3):
  mean = x.mean(axis=-1, keepdims=True)
  var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
  return (x - mean) / np.sqrt(var + eps) * gamma + beta


def fc(x, weights, nonlinearity=leaky_relu):
  """weights: [kernel, bias, gamma, beta] of an nn.Fc layer."""
  kernel, bias, gamma, beta = (np.asarray(w, np.float64) for w in weights)
  return nonlinearity(layer_norm(dense(x, kernel, bias), gamma, beta))


def fc_stack(x, layer):
  """Runs an nn.FcStack's blocks with numpy."""
  for fc_layer in layer.fc_layers:
    x = fc(x, [w.numpy() for w in fc_layer.weights])
  return x


def gru(x, kernel, recurrent_kernel, bias, h0=None, go_backwards=False):
  """GRU (Keras gate order z, r, h; reset gate after the recurrent matmul).

  Returns:
    outputs [batch, n_frames, units] in processing order, final state.
  """
  x, kernel, recurrent_kernel, bias = (
      np.asarray(a, np.float64) for a in (x, kernel, recurrent_kernel, bias))
  batch, n_frames, _ = x.shape
  units = recurrent_kernel.shape[0]
  h = np.zeros([batch, units]) if h0 is None else np.asarray(h0, np.float64)
  frames = range(n_frames - 1, -1, -1) if go_backwards else range(n_frames)
  outputs = []
  for t in frames:
    x_z = x[:, t] @ kernel[:, :units] + bias[0, :units]
    x_r = x[:, t] @ kernel[:, units:2 * units] + bias[0, units:2 * units]
    x_h = x[:, t] @ kernel[:, 2 * units:] + bias[0, 2 * units:]
    h_z = h @ recurrent_kernel[:, :units] + bias[1, :units]
    h_r = h @ recurrent_kernel[:, units:2 * units] + bias[1, units:2 * units]
    h_h = h @ recurrent_kernel[:, 2 * units:] + bias[1, 2 * units:]
    z = sigmoid(x_z + h_z)
    r = sigmoid(x_r + h_r)
    candidate = np.tanh(x_h + r * h_h)
    h = z * h + (1.0 - z) * candidate
    outputs.append(h)
  return np.stack(outputs, axis=1), h


def lstm(x, kernel, recurrent_kernel, bias):
  """LSTM (Keras gate order i, f, c, o). Returns [batch, n_frames, units]."""
  x, kernel, recurrent_kernel, bias = (
      np.asarray(a, np.float64) for a in (x, kernel, recurrent_kernel, bias))
  batch, n_frames, _ = x.shape
  units = recurrent_kernel.shape[0]
  h = np.zeros([batch, units])
  c = np.zeros([batch, units])
  outputs = []
  for t in range(n_frames):
    gates = x[:, t] @ kernel + h @ recurrent_kernel + bias
    i, f, g, o = np.split(gates, 4, axis=-1)
    c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
    h = sigmoid(o) * np.tanh(c)
    outputs.append(h)
  return np.stack(outputs, axis=1)


def linear_resample(x, n_out, axis=1):
  """Linear interpolation along `axis` at positions t * n / n_out, the last
  frame held (`core.resample` with add_endpoint=True)."""
  x = np.asarray(x, np.float64)
  n = x.shape[axis]
  positions = np.minimum(np.arange(n_out) * n / n_out, n - 1)
  return np.apply_along_axis(lambda row: np.interp(positions, np.arange(n),
                                                   row), axis, x)
