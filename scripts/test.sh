#!/usr/bin/env bash
# The project's test command (README, .ci/run): builds what it needs, then runs
#   1. the core, CLI and training tests in a plain venv (.venv: the package with its
#      'train' and 'test' extras; torch is the CPU build),
#   2. the ChimeraX tests inside the real headless ChimeraX 1.7.1 (.venv-cx), which
#      scripts/setup_chimerax.sh builds from ../shared/chimerax; they skip with a
#      reason where that cannot be set up.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/pip install -q --disable-pip-version-check -e ".[train,test]"

if [ -n "${CI:-}" ] && command -v apt-get >/dev/null 2>&1; then
  # offscreen rendering for the picture test; optional, the test skips without it
  (apt-get install -y -q libosmesa6 >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q libosmesa6 >/dev/null 2>&1; }) || echo "libosmesa6 not installed: the render test will skip"
fi
cx_ok=1
bash scripts/setup_chimerax.sh .venv-cx || cx_ok=0

status=0
.venv/bin/python -m pytest tests --ignore=tests/chimerax -q -ra || status=$?
if [ "$cx_ok" = 1 ]; then
  .venv-cx/bin/python -m pytest tests/chimerax -q -ra || status=$?
else
  echo "ChimeraX could not be set up (see above): ChimeraX tests not run"
fi
exit $status
