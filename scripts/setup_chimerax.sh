#!/usr/bin/env bash
# usage: scripts/setup_chimerax.sh VENV
#
# Builds a headless ChimeraX 1.7.1 (the PyPI 'chimerax' wheel, made to work by the helper
# scripts in ../shared/chimerax beside the checkout) in VENV, adds the bundle's runtime and
# test dependencies, then builds this bundle's wheel and installs it into VENV, as
# 'toolshed install' would. An existing VENV is reused; the bundle is always reinstalled.
# Exits non-zero, naming the step, when something fails.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 VENV" >&2
  exit 2
fi
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=$1
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
HELPERS=$(dirname "$REPO")/shared/chimerax
CONSTRAINTS=$(mktemp)
WHEELS=$(mktemp -d)
trap 'rm -rf "$CONSTRAINTS" "$WHEELS"' EXIT
printf 'numpy==1.26.4\nsetuptools<81\n' > "$CONSTRAINTS"

fail() {
  echo "setup_chimerax.sh: $1" >&2
  exit 1
}

if "$VENV/bin/python" -c "import chimerax.core.nogui, chimerax.map" >/dev/null 2>&1; then
  echo "ChimeraX already set up in $VENV"
elif [ -f "$HELPERS/setup_cx.sh" ]; then
  echo "setting up the headless ChimeraX in $VENV (from $HELPERS)"
  bash "$HELPERS/setup_cx.sh" "$VENV" || fail "$HELPERS/setup_cx.sh $VENV failed"
else
  fail "no ChimeraX in $VENV and no helper scripts at $HELPERS (they make the PyPI chimerax wheel usable); the ChimeraX tests cannot run"
fi

# the helpers register a minimal set of bundles; 'open model.pdb|.cif' (the model check) also
# needs the PDB and mmCIF readers' metadata (generated from ChimeraX v1.7.1's bundle_info.xml
# with the helpers' gen_bundle_metadata.py)
if ! "$VENV/bin/python" -c "import importlib.metadata as m; m.version('ChimeraX-PDB'); m.version('ChimeraX-mmCIF')" >/dev/null 2>&1; then
  [ -f "$HELPERS/install_bundle_metadata.py" ] || fail "no $HELPERS/install_bundle_metadata.py to register the PDB and mmCIF readers"
  "$VENV/bin/python" "$HELPERS/install_bundle_metadata.py" "$REPO/scripts/chimerax_bundles_models.json" \
    || fail "registering the PDB and mmCIF readers in $VENV failed"
fi

if ! "$VENV/bin/python" -c "import onnxruntime, mrcfile, pytest, onnx, PyQt6.QtWidgets" >/dev/null 2>&1; then
  "$VENV/bin/pip" install -q --disable-pip-version-check -c "$CONSTRAINTS" \
    onnxruntime mrcfile pytest onnx "PyQt6==6.6.1" "PyQt6-Qt6==6.6.1" \
    || fail "installing onnxruntime, mrcfile, pytest, onnx and PyQt6 into $VENV failed"
fi

# build from a clean copy: an in-tree build would leave build/ (whose stale files later
# builds package) and an .egg-info that ChimeraX's toolshed mistakes for the bundle
mkdir "$WHEELS/src"
(cd "$REPO" && cp -r bundle_info.xml setup.py pyproject.toml LICENSE src "$WHEELS/src/") \
  || fail "copying the bundle sources failed"
find "$WHEELS/src" -name __pycache__ -prune -exec rm -rf {} +
"$VENV/bin/pip" wheel -q --disable-pip-version-check --no-deps --no-build-isolation \
  -w "$WHEELS" "$WHEELS/src" || fail "building the bundle wheel failed"
"$VENV/bin/pip" install -q --disable-pip-version-check --no-deps --force-reinstall \
  "$WHEELS"/ChimeraX_DeepSSETracer-*.whl || fail "installing the bundle wheel into $VENV failed"
(cd "$WHEELS" && "$VENV/bin/python" -m chimerax.core --nogui --exit --silent \
  --cmd "usage deepssetracer" >/dev/null 2>&1) || fail "ChimeraX in $VENV does not know the deepssetracer command"
echo "DeepSSETracer installed in the ChimeraX of $VENV"
