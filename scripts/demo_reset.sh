#!/usr/bin/env bash
# `make demo`'s first step: make the state folder ready for a fresh demo run, saying what it resets.
#
# The demo builds into the default state folder (<project>/.netflix_elt, or $NETFLIX_ELT_HOME), the
# one every later `netflix-elt` command reads, so `netflix-elt show dim_movies` right after it shows
# the demo's warehouse. To stay rerunnable it deletes the warehouse/ and landing/ it made before,
# recognised by the marker file it leaves (.made-by-make-demo). A warehouse or landing without the
# marker is the user's own: it is left untouched and the demo stops (exit 2) unless RESET=1.
#
# Usage: scripts/demo_reset.sh STATE_DIR [RESET]
set -euo pipefail
state="${1:?usage: demo_reset.sh STATE_DIR [RESET]}"
reset="${2:-}"
marker="$state/.made-by-make-demo"
owned=()
for name in warehouse landing; do
  [ -e "$state/$name" ] && owned+=("$state/$name")
done
if [ "${#owned[@]}" -gt 0 ] && [ ! -e "$marker" ] && [ "$reset" != 1 ]; then
  echo "make demo: ${owned[*]} was not made by make demo; it is left as it is." >&2
  echo "  Move it away, point NETFLIX_ELT_HOME at another folder, or run 'make demo RESET=1' to delete it." >&2
  exit 2
fi
if [ "${#owned[@]}" -gt 0 ]; then
  echo "make demo: resetting ${owned[*]} (from an earlier make demo run$([ "$reset" = 1 ] && echo ', RESET=1'))"
  rm -rf "${owned[@]}"
fi
mkdir -p "$state"
echo "made by make demo: it deletes warehouse/ and landing/ here when it runs again" > "$marker"
