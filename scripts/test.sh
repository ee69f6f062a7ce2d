#!/usr/bin/env bash
# Runs the whole test suite. Creates .venv and installs ddsp with its test extras
# the first time (a few minutes: TensorFlow is about 2 GB), then runs pytest.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh tests/test_core.py -x`.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup_env.sh
python -m pytest -n "${DDSP_TEST_WORKERS:-2}" --durations=15 "$@"
