"""Changing a warehouse safely: compare a node between targets (diff), read unbuilt upstream
from another target (defer), and copy another target's relations and build state (clone)."""
