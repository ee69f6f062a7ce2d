"""Names of the files `ddsp_prepare_tfrecord` writes, and its settings file.

For an output path prefix such as `/data/train.tfrecord` a run writes:

- without an eval split, the shards `/data/train.tfrecord-SSSSS-of-NNNNN`
  (read them with the pattern `/data/train.tfrecord*`);
- with an eval split, the train shards `/data/train.tfrecord-train-SSSSS-of-
  NNNNN` (read with `/data/train.tfrecord*` or `...-train*`) and the eval
  shards `/data/train_eval.tfrecord-SSSSS-of-NNNNN` (read with
  `/data/train_eval.tfrecord*`). The eval shards lie outside the pattern
  `<prefix>*`, so training on `<prefix>*` never reads eval examples. (The
  published library named them `<prefix>-eval-...`, inside that pattern.)
- the settings of the run, `/data/train_settings.json`: sample rate, frame
  rate, example length and hop, centering, the splits with their shards and
  example counts. `read_dataset_settings(file_pattern)` finds and reads it,
  and `data_layout(file_pattern, ...)` gives the sample rate, frame rate,
  example length and centering a reader needs (`data.TFRecordProvider`).

A prefix without an extension, e.g. `/data/violin`, gets `eval_violin-...`
and `settings_violin.json` instead, for the same reason: no name that starts
with the prefix is anything but a train shard.

Nothing here imports Apache Beam.
"""

import json
import os
import re

import tensorflow as tf

__all__ = [
    'SETTINGS_FORMAT',
    'OutputFiles',
    'DATA_LAYOUT_DEFAULTS',
    'data_layout',
    'find_dataset_settings',
    'read_dataset_settings',
    'write_dataset_settings',
]

SETTINGS_FORMAT = 'ddsp_prepare_tfrecord settings, version 1'


def _sibling(prefix, tag, extension=None):
  """`<stem>_<tag><ext>` beside `prefix`, or `<tag>_<name>` without an ext."""
  folder, name = os.path.split(prefix)
  stem, ext = os.path.splitext(name)
  if ext and stem:
    sibling = f'{stem}_{tag}{ext if extension is None else extension}'
  else:
    sibling = f'{tag}_{name}{extension or ""}'
  return os.path.join(folder, sibling)


def _is_shard_of(name, prefix_name):
  """Whether file `name` is a shard `<prefix_name>-SSSSS-of-NNNNN`."""
  return re.fullmatch(re.escape(prefix_name) + r'-[0-9]{5,}-of-[0-9]{5,}',
                      name) is not None


class OutputFiles:
  """The shard prefixes, patterns and settings path of one output prefix.

  Args:
    output_tfrecord_path: str, the path prefix given to `prepare_tfrecord`.
    eval_split: bool, whether the run writes an eval split.

  Attributes:
    prefixes: {split: shard prefix}; splits 'all' without an eval split, else
      'train' and 'eval'.
    file_patterns: {split: glob of exactly that split's shards}.
    settings_path: str, the settings JSON of the run.

  Example:
    >>> files = OutputFiles('/data/train.tfrecord', eval_split=True)
    >>> files.prefixes['train'], files.prefixes['eval']
    ('/data/train.tfrecord-train', '/data/train_eval.tfrecord')
    >>> files.settings_path
    '/data/train_settings.json'
  """

  def __init__(self, output_tfrecord_path, eval_split=False):
    self.output_tfrecord_path = os.fspath(output_tfrecord_path)
    path = self.output_tfrecord_path
    if eval_split:
      self.prefixes = {'train': f'{path}-train',
                       'eval': _sibling(path, 'eval')}
    else:
      self.prefixes = {'all': path}
    self.file_patterns = {s: f'{p}-?????-of-?????'
                          for s, p in self.prefixes.items()}
    self.settings_path = _sibling(path, 'settings', '.json')
    self.folder = os.path.dirname(path)

  def existing(self):
    """Files of an earlier run with this prefix, sorted.

    They are the shards of every naming a run with this prefix may have
    written (one split, train/eval, and the published `<prefix>-eval-...`),
    and the settings file; nothing else that merely starts with the prefix.
    """
    path = self.output_tfrecord_path
    prefix_names = [os.path.basename(p) for p in (
        path, f'{path}-train', f'{path}-eval', _sibling(path, 'eval'))]
    try:
      names = tf.io.gfile.listdir(self.folder or '.')
    except tf.errors.NotFoundError:
      return []
    settings = os.path.basename(self.settings_path)
    found = [n for n in names
             if n == settings or any(_is_shard_of(n, p) for p in prefix_names)]
    return sorted(os.path.join(self.folder, n) for n in found)

  def shards(self, split):
    """The shards of `split` that exist now, sorted."""
    return sorted(tf.io.gfile.glob(self.file_patterns[split]))


# ----------------------------------------------------------------------------
# The settings file.
# ----------------------------------------------------------------------------
def write_dataset_settings(files, settings):
  """Writes the settings JSON of a run (`prepare_tfrecord` calls it).

  Args:
    files: `OutputFiles` of the run; its shards must be written.
    settings: dict of JSON values (the run's arguments and counts); a
      'splits' entry {split: dict} is completed with each split's
      'file_pattern' and 'shards'.

  Returns:
    The dict written: `settings` with the format marker and the splits.

  Example:
    >>> import os, tempfile
    >>> files = OutputFiles(os.path.join(tempfile.mkdtemp(), 'x.tfrecord'))
    >>> open(files.prefixes['all'] + '-00000-of-00001', 'wb').close()
    >>> written = write_dataset_settings(files, {'sample_rate': 16000})
    >>> written['splits']['all']['shards']
    ['x.tfrecord-00000-of-00001']
  """
  settings = dict(settings, format=SETTINGS_FORMAT)
  settings['splits'] = {
      split: dict(settings.get('splits', {}).get(split, {}),
                  file_pattern=files.file_patterns[split],
                  shards=[os.path.basename(p) for p in files.shards(split)])
      for split in files.prefixes
  }
  with tf.io.gfile.GFile(files.settings_path, 'w') as f:
    f.write(json.dumps(settings, indent=2, sort_keys=True) + '\n')
  return settings


def _read_json(path):
  with tf.io.gfile.GFile(path, 'r') as f:
    return json.loads(f.read())


def find_dataset_settings(file_pattern):
  """The settings JSON of the run that wrote the shards `file_pattern` reads.

  Looks in the folder of each matched file for settings files of
  `ddsp_prepare_tfrecord` and picks the one that lists the matched shards.

  Args:
    file_pattern: str or list of str, globs of TFRecord shards (as given to
      `TFRecordProvider`), e.g. '/data/train.tfrecord*'.

  Returns:
    str, the path of the settings JSON, or None when the shards have none
    (written by another tool, or by a version that wrote no settings).

  Raises:
    ValueError: nothing matches `file_pattern`, or the matched shards come
      from more than one run (or from one run and from elsewhere), which would
      mix data sets.

  Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> files = OutputFiles(os.path.join(folder, 'train.tfrecord'))
    >>> open(files.prefixes['all'] + '-00000-of-00001', 'wb').close()
    >>> _ = write_dataset_settings(files, {'sample_rate': 16000})
    >>> path = find_dataset_settings(os.path.join(folder, 'train.tfrecord*'))
    >>> os.path.basename(path)
    'train_settings.json'
  """
  patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) \
      else list(file_pattern)
  matched = sorted({p for pattern in patterns
                    for p in tf.io.gfile.glob(os.fspath(pattern))})
  shards = [p for p in matched if not p.endswith('.json')]
  if not shards:
    raise ValueError('`file_pattern` matches no TFRecord file. Received: '
                     f'file_pattern={file_pattern!r}')
  owners = {}
  for folder in sorted({os.path.dirname(p) for p in shards}):
    for candidate in tf.io.gfile.glob(os.path.join(folder, '*settings*.json')):
      try:
        settings = _read_json(candidate)
      except (ValueError, tf.errors.OpError):
        continue
      if not isinstance(settings, dict) or settings.get(
          'format') != SETTINGS_FORMAT:
        continue
      for split in settings.get('splits', {}).values():
        for name in split.get('shards', []):
          owners.setdefault(os.path.join(folder, name), set()).add(candidate)
  runs = {owner for p in shards for owner in owners.get(p, ())}
  orphans = [p for p in shards if p not in owners]
  if not runs:
    return None
  if len(runs) > 1 or orphans:
    parts = [f'{len(runs)} settings file(s): {sorted(runs)}']
    if orphans:
      parts.append(f'{len(orphans)} file(s) listed in none, e.g. {orphans[0]}')
    raise ValueError(
        f'`file_pattern` {file_pattern!r} matches shards of more than one '
        f'data set ({"; ".join(parts)}). Use a pattern that matches one run '
        'only, e.g. the file_pattern of a split in its settings file.')
  return runs.pop()


def read_dataset_settings(file_pattern):
  """The settings of the `ddsp_prepare_tfrecord` run behind `file_pattern`.

  Args:
    file_pattern: str or list of str, globs of TFRecord shards (see
      `find_dataset_settings`), or the path of a settings JSON itself.

  Returns:
    dict (see `prepare_tfrecord`: 'sample_rate', 'frame_rate',
    'example_secs', 'hop_secs', 'center', 'example_samples',
    'example_frames', 'frame_hop_samples', 'features', 'splits' with each
    split's 'file_pattern', 'shards' and 'examples', and the counts of files),
    or None when the shards have no settings file.

  Raises:
    ValueError: as `find_dataset_settings`, or the JSON is not a settings file
      of `ddsp_prepare_tfrecord`.

  Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> files = OutputFiles(os.path.join(folder, 'train.tfrecord'))
    >>> open(files.prefixes['all'] + '-00000-of-00001', 'wb').close()
    >>> _ = write_dataset_settings(files, {'sample_rate': 16000,
    ...                                    'example_secs': 4})
    >>> settings = read_dataset_settings(os.path.join(folder, 'train*'))
    >>> settings['sample_rate'], settings['example_secs']
    (16000, 4)
  """
  if isinstance(file_pattern, (str, os.PathLike)) and os.fspath(
      file_pattern).endswith('.json'):
    path = os.fspath(file_pattern)
  else:
    path = find_dataset_settings(file_pattern)
    if path is None:
      return None
  settings = _read_json(path)
  if not isinstance(settings, dict) or settings.get(
      'format') != SETTINGS_FORMAT:
    raise ValueError(f'{path} is not a settings file of ddsp_prepare_tfrecord '
                     f'(no "format": "{SETTINGS_FORMAT}").')
  return settings


# What a reader assumes for shards without a settings file (the published
# library's defaults): 4 s examples at 16 kHz, 250 frames/s, 'same' padding.
DATA_LAYOUT_DEFAULTS = {'example_secs': 4, 'sample_rate': 16000,
                        'frame_rate': 250, 'centered': False}
# Argument of a reader -> key of the settings file.
_LAYOUT_KEYS = {'example_secs': 'example_secs', 'sample_rate': 'sample_rate',
                'frame_rate': 'frame_rate', 'centered': 'center'}


def _same(given, stored):
  if isinstance(given, bool) or isinstance(stored, bool):
    return bool(given) == bool(stored)
  try:
    return abs(float(given) - float(stored)) <= 1e-9 * max(1.0, abs(stored))
  except (TypeError, ValueError):
    return given == stored


def data_layout(file_pattern, example_secs=None, sample_rate=None,
                frame_rate=None, centered=None):
  """The layout of the examples `file_pattern` reads, from the settings file.

  Each argument left None is taken from the settings JSON that
  `ddsp_prepare_tfrecord` wrote beside the shards (`read_dataset_settings`),
  or, for shards without one (published data sets, other tools), from
  `DATA_LAYOUT_DEFAULTS`. A given value must agree with the file.

  Args:
    file_pattern: str or list of str, globs of the shards. A pattern that
      matches nothing yet gives the given values and the defaults.
    example_secs: float or None, seconds per example.
    sample_rate: int or None, Hz.
    frame_rate: int or None, frames per second.
    centered: bool or None, features with 'center' padding (one more frame).

  Returns:
    dict with 'example_secs', 'sample_rate', 'frame_rate', 'centered' and
    'settings_path' (None without a settings file).

  Raises:
    ValueError: a given value contradicts the settings file (the message
      names both), or as `find_dataset_settings` (shards of several runs).

  Example:
    >>> import os, tempfile
    >>> folder = tempfile.mkdtemp()
    >>> files = OutputFiles(os.path.join(folder, 'train.tfrecord'))
    >>> open(files.prefixes['all'] + '-00000-of-00001', 'wb').close()
    >>> _ = write_dataset_settings(files, {
    ...     'sample_rate': 48000, 'frame_rate': 250, 'example_secs': 2,
    ...     'center': True})
    >>> layout = data_layout(os.path.join(folder, 'train.tfrecord*'))
    >>> layout['sample_rate'], layout['example_secs'], layout['centered']
    (48000, 2, True)
  """
  given = {'example_secs': example_secs, 'sample_rate': sample_rate,
           'frame_rate': frame_rate, 'centered': centered}
  patterns = [file_pattern] if isinstance(file_pattern, (str, os.PathLike)) \
      else list(file_pattern or ())
  matches = any(tf.io.gfile.glob(os.fspath(p)) for p in patterns)
  settings = read_dataset_settings(file_pattern) if matches else None
  path = find_dataset_settings(file_pattern) if settings else None
  layout = {}
  for name, key in _LAYOUT_KEYS.items():
    stored = settings.get(key) if settings else None
    value = given[name]
    if value is not None and stored is not None and not _same(value, stored):
      raise ValueError(
          f'`{name}`={value!r} contradicts the settings of the data set: '
          f'{path} says {key}={stored!r} (the value given to '
          'ddsp_prepare_tfrecord). Leave it unset to read it from the file, '
          'or prepare the data again with that value.')
    if value is None:
      value = stored if stored is not None else DATA_LAYOUT_DEFAULTS[name]
    layout[name] = bool(value) if name == 'centered' else value
  layout['settings_path'] = path
  return layout
