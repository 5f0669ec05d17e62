"""Changing a warehouse safely: see what `build` would do before it does it (plan), select what
changed (state:modified), compare a node between targets (diff), read unbuilt upstream from
another target (defer), and copy another target's relations and build state (clone)."""
