# Sourced by the scripts in this folder: makes .venv with Python >= 3.11 and
# installs ddsp (editable) with its test and data-preparation extras, once.
# Re-installs when setup.py changes.
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.ddsp-installed
if [ ! -f "$stamp" ] || [ setup.py -nt "$stamp" ]; then
  echo "Installing ddsp and its dependencies into .venv (first run: a few minutes)..."
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[test,data_preparation]"
  touch "$stamp"
fi
# shellcheck disable=SC1091
source .venv/bin/activate
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}"
