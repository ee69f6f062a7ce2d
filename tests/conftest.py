"""Shared pytest fixtures and settings."""

import os
import pathlib

import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# The real recordings live beside the checkout in ../shared/data (see its README
# for licences). CI always has them; elsewhere tests that need them are skipped.
SHARED_DATA = pathlib.Path(
    os.environ.get('DDSP_SHARED_DATA',
                   pathlib.Path(__file__).resolve().parents[1].parent / 'shared' / 'data'))


@pytest.fixture
def shared_data():
  """Path to ../shared/data; skips (with the reason) where it is absent."""
  if not SHARED_DATA.is_dir():
    if os.environ.get('CI'):
      pytest.fail(f'CI must provide the shared data at {SHARED_DATA}.')
    pytest.skip(f'shared test data not found at {SHARED_DATA} '
                '(set DDSP_SHARED_DATA to its folder).')
  return SHARED_DATA


@pytest.fixture
def rng():
  """A seeded numpy random generator."""
  return np.random.default_rng(0)
