"""Shared pytest fixtures and settings."""

import os
import pathlib

import numpy as np
import pytest

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')

# Excerpts of real recordings committed with the tests (see tests/data/README.md
# for what they are and their licences), so that every test runs in a fresh
# clone. The full recordings are for the benchmarks only.
TEST_DATA = pathlib.Path(__file__).resolve().parent / 'data'


@pytest.fixture
def test_data():
  """Path to tests/data: violin_6s, flute_10s, trumpet_10s (.flac, .npy)."""
  return TEST_DATA


@pytest.fixture
def rng():
  """A seeded numpy random generator."""
  return np.random.default_rng(0)
