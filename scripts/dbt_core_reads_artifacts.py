"""Read a target folder's artifacts with dbt-core's own classes (a manual interoperability check).

dbt-core is not a dependency of netflix-elt (it pins its own versions of jsonschema, protobuf,
...), so run this with a Python where it is installed, e.g.:

    python -m venv /tmp/dbt-core && /tmp/dbt-core/bin/pip install "dbt-core~=1.11.0"
    /tmp/dbt-core/bin/python scripts/dbt_core_reads_artifacts.py target/

It loads manifest.json and run_results.json (and catalog.json when present) with dbt-core's
`read_and_check_versions` (the check that refused the old files: "Artifact is missing schema
version"), then each manifest node with dbt's own node classes, and prints what it found.
Exit 1 when any of them is refused.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path


def main(target: Path) -> int:
    from dbt.artifacts.schemas.catalog import CatalogArtifact
    from dbt.artifacts.schemas.run import RunResultsArtifact
    from dbt.contracts.graph.manifest import WritableManifest
    from dbt.contracts.graph.nodes import ParsedNode, SourceDefinition

    manifest = WritableManifest.read_and_check_versions(str(target / "manifest.json"))
    print(f"manifest.json: {len(manifest.nodes)} nodes, {len(manifest.sources)} sources")
    raw = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    kinds = Counter(type(ParsedNode._deserialize(n)).__name__ for n in raw["nodes"].values())
    kinds.update(type(SourceDefinition.from_dict(s)).__name__ for s in raw["sources"].values())
    print("  as dbt's node classes:", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    results = RunResultsArtifact.read_and_check_versions(str(target / "run_results.json"))
    statuses = Counter(str(r.status) for r in results.results)
    which = results.args.get("which")
    print(f"run_results.json: {len(results.results)} results ({dict(statuses)}), args.which={which}")
    if (target / "catalog.json").is_file():
        catalog = CatalogArtifact.read_and_check_versions(str(target / "catalog.json"))
        print(f"catalog.json: {len(catalog.nodes)} nodes, {len(catalog.sources)} sources")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2 or not Path(sys.argv[1]).is_dir():
        print("usage: dbt_core_reads_artifacts.py TARGET_DIR", file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(main(Path(sys.argv[1])))
    except Exception as e:  # dbt's own error names the artifact and the key
        print(f"refused: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
