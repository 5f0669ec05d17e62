#!/usr/bin/env bash
# The README's newcomer path on a fresh clone: `git clone`, `make demo`, then the commands the
# README and the end of `make demo` give (`.venv/bin/netflix-elt show dim_movies`, `... tables`).
# tests/integration/test_install.py runs it and checks what it printed; it also runs by hand.
#
# Usage: scripts/newcomer_path.sh DEST    (DEST must not exist; it is left in place for inspection)
# Environment:
#   NETFLIX_ELT_WHEELHOUSE=DIR  install the lock offline from the wheels in DIR (`make wheelhouse`)
#                               instead of the package index
#   PYTHON                      the interpreter `make demo` builds .venv with (default: python3)
#   REV                         the commit to check out (default: this checkout's HEAD); the clone
#                               holds committed work only, as a newcomer's would
set -euo pipefail

# one function, read whole before it runs: editing this file meanwhile cannot change a running copy
main() {
  repo="$(cd "$(dirname "$0")/.." && pwd)"
  dest="${1:?usage: newcomer_path.sh DEST}"
  rev="$(git -C "$repo" rev-parse "${REV:-HEAD}")"
  [ -e "$dest" ] && { echo "newcomer_path.sh: $dest exists; give a new folder" >&2; exit 2; }

  # A newcomer's shell: none of this session's project settings or import paths.
  unset PYTHONPATH VIRTUAL_ENV NETFLIX_ELT_HOME NETFLIX_ELT_PROJECT_DIR NETFLIX_ELT_TARGET NETFLIX_ELT_PROFILE \
    NETFLIX_ELT_TARGET_PATH NETFLIX_ELT_LANDING MAKEFLAGS MFLAGS MAKELEVEL
  if [ -n "${NETFLIX_ELT_WHEELHOUSE:-}" ]; then
    export PIP_NO_INDEX=1 PIP_FIND_LINKS="$NETFLIX_ELT_WHEELHOUSE"
  fi

  run() { echo "\$ $*"; "$@"; }
  run git clone -q --no-checkout "$repo" "$dest"
  git -C "$dest" checkout -q "$rev"
  cd "$dest"
  run make demo
  run .venv/bin/netflix-elt show dim_movies
  run .venv/bin/netflix-elt tables
}

main "$@"
