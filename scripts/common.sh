# Sourced by the other scripts: the repository root, the venv location, and
# PYTHONPATH with python/ (the cocomix_tools package).
# The venv lives outside the work tree (in the user's cache) so that a fresh
# clone reuses an existing torch install; COCOMIX_VENV overrides the place.
COCOMIX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
COCOMIX_VENV="${COCOMIX_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/cocomix/venv}"
COCOMIX_PYTHON="$COCOMIX_VENV/bin/python"
COCOMIX_BUILD="${COCOMIX_BUILD:-$COCOMIX_ROOT/build}"
export COCOMIX_ROOT COCOMIX_VENV COCOMIX_PYTHON COCOMIX_BUILD
export PYTHONPATH="$COCOMIX_ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
