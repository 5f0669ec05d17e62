"""The static docs site: an interactive lineage graph (index.html) and one page per node.

The site must open offline, from a file:// URL or `docs serve`: the graph library is vendored
under static/vendor/ and the data is a script (data.js) rather than JSON fetched at run time,
because browsers refuse fetch() on file:// pages. Node pages are rendered here, in Python, so
they read without JavaScript.
"""

from __future__ import annotations

import json
import shutil
from html import escape
from pathlib import Path
from typing import Any

from netflix_elt.config import Settings

STATIC_DIR = Path(__file__).parent / "static"
# what the site needs from static/ (package.json and the README are for maintainers)
SITE_STATIC = ("app.js", "style.css", "vendor")
KIND_LABEL = {"source": "source", "seed": "seed", "transform": "transform", "snapshot": "snapshot"}


def node_page_path(name: str) -> str:
    return f"nodes/{name}.html"


def _badges(node: dict[str, Any]) -> str:
    parts = [node["kind"], node["layer"], node["materialized"], "contract" if node.get("contract") else ""]
    seen: list[str] = []
    for p in parts:
        if p and p not in seen:
            seen.append(p)
    return " ".join(f'<span class="badge b-{escape(p)}">{escape(p)}</span>' for p in seen)


def _fmt_int(value: Any) -> str:
    return "–" if value is None else f"{int(value):,}"


def _links(names: list[str]) -> str:
    if not names:
        return "<em>none</em>"
    return ", ".join(f'<a href="{escape(n)}.html">{escape(n)}</a>' for n in names)


def _lineage_cell(col: dict[str, Any]) -> str:
    lin = col.get("lineage")
    if not lin:
        return ""
    if lin.get("error"):
        return f'<span class="muted">{escape(lin["error"])}</span>'
    out = []
    if lin["direct"]:
        refs = ", ".join(
            f'<a href="{escape(r["node"])}.html">{escape(r["node"])}</a>.{escape(r["column"])}'
            if r["node"]
            else escape(f"{r['relation']}.{r['column']}")
            for r in lin["direct"]
        )
        out.append(f"<div>from {refs}</div>")
    if lin["paths"]:
        paths = "".join(f"<li>{' ← '.join(escape(p) for p in path)}</li>" for path in lin["paths"])
        out.append(f'<ul class="paths">{paths}</ul>')
    if lin.get("expression"):
        out.append(f"<code>{escape(lin['expression'])}</code>")
    return "".join(out)


def _columns_table(node: dict[str, Any]) -> str:
    """The columns; a node with a contract gets a column of what it promises (checked before each write)."""
    contract = bool(node.get("contract"))
    rows = []
    for c in node["columns"]:
        missing = "" if c["in_warehouse"] else ' <span class="muted">(declared, not in the warehouse)</span>'
        promised = f'<td class="col-contract">{escape(c.get("contract") or "")}</td>' if contract else ""
        rows.append(
            f'<tr><td class="col-name">{escape(c["name"])}{missing}</td><td>{escape(c["type"] or "")}</td>'
            f"{promised}<td>{escape(c['description'])}</td><td>{_lineage_cell(c)}</td></tr>"
        )
    if not rows:
        return "<p><em>No columns known: the relation is not built yet.</em></p>"
    head = "<th>contract</th>" if contract else ""
    return (
        f'<table class="columns"><thead><tr><th>column</th><th>type</th>{head}<th>description</th>'
        f"<th>lineage</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _tests_section(node: dict[str, Any]) -> str:
    suite, tests = node.get("suite"), node.get("tests") or []
    if not suite and not tests:
        return "<p><em>No expectation suite.</em></p>"
    results = {t.get("expectation"): t for t in tests}
    rows = []
    specs = (
        suite["expectations"] if suite else [{"label": t.get("expectation"), "type": "", "kwargs": {}} for t in tests]
    )
    for e in specs:
        r = results.get(e["label"], {})
        status = r.get("status") or "not run"
        kwargs = json.dumps(e.get("kwargs") or {}, default=str)
        rows.append(
            f"<tr><td>{escape(str(e['label']))}</td><td><code>{escape(kwargs[:200])}</code></td>"
            f"<td>{escape(str(e.get('severity', r.get('severity', ''))))}</td>"
            f'<td class="st st-{escape(status.replace(" ", "-"))}">{escape(status)}</td>'
            f"<td>{_fmt_int(r.get('unexpected'))}</td></tr>"
        )
    head = f"<p>Suite <code>{escape(suite['file'])}</code>: {escape(suite['description'] or '')}</p>" if suite else ""
    return (
        f'{head}<table class="tests"><thead><tr><th>expectation</th><th>kwargs</th><th>severity</th>'
        f"<th>last result</th><th>unexpected</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _run_section(node: dict[str, Any]) -> str:
    run = node.get("last_run")
    items = [
        ("relation", f"<code>{escape(node['relation'] or 'none (inlined where used)')}</code>"),
        ("relation type", escape(node["relation_type"] or "not built")),
        ("row count", _fmt_int(node["row_count"])),
    ]
    if run:
        items += [
            ("last build", escape(str(run.get("completed_at") or "–"))),
            ("status", escape(str(run.get("status")))),
            ("execution time", f"{run.get('execution_time') or 0:.2f}s"),
            ("message", escape(str(run.get("message") or ""))),
        ]
    elif node.get("last_altered"):
        items.append(("last altered", escape(node["last_altered"])))
    else:
        items.append(("last build", "<em>not in target/run_results.json</em>"))
    if node.get("snapshot"):
        snap = node["snapshot"]
        items.append(("snapshot", escape(", ".join(f"{k}={v}" for k, v in snap.items() if v))))
    return "<dl>" + "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in items) + "</dl>"


def render_node_page(node: dict[str, Any], project_name: str) -> str:
    """A node's page: description, columns with lineage, stats, tests, SQL and Python source."""
    name = escape(node["name"])
    sql = (
        f"<pre><code>{escape(node['sql'])}</code></pre>"
        if node.get("sql")
        else f"<p><em>{escape(node.get('sql_error') or 'A ' + node['kind'] + ' has no compiled SQL.')}</em></p>"
    )
    python = f"<pre><code>{escape(node['python'])}</code></pre>" if node.get("python") else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{name} · {escape(project_name)} docs</title>
<link rel="stylesheet" href="../static/style.css"></head>
<body class="page">
<nav><a href="../index.html#node={name}">← lineage graph</a></nav>
<h1 id="node-name">{name}</h1>
<p>{_badges(node)} <span class="muted">{escape(node["unique_id"])} · {escape(node["file"])}</span></p>
<p class="description">{escape(node["description"]) or "<em>No description.</em>"}</p>
<p>Upstream: {_links(node["inputs"])}<br>Downstream: {_links(node["children"])}</p>
<h2>Build</h2>{_run_section(node)}
<h2>Columns</h2>{_columns_table(node)}
<h2>Expectations</h2>{_tests_section(node)}
<h2>Compiled SQL</h2>{sql}
{"<h2>Python source</h2>" + python if python else ""}
</body></html>
"""


def render_index(nodes: list[dict[str, Any]], project_name: str, generated_at: str) -> str:
    """The graph page; a plain list of node pages stays for readers without JavaScript."""
    items = "".join(
        f'<li><a href="{node_page_path(n["name"])}">{escape(n["name"])}</a> ({escape(n["kind"])})</li>' for n in nodes
    )
    title = escape(project_name)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} docs</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="static/style.css"></head>
<body>
<header>
  <h1>{title} <span class="muted">docs</span></h1>
  <div class="search"><input id="search" type="search" autocomplete="off"
    placeholder="Search nodes and columns…" aria-label="Search nodes and columns"><ul id="results"></ul></div>
  <div id="legend">
    <span class="lg lg-raw">source</span><span class="lg lg-seeds">seed</span>
    <span class="lg lg-staging">staging</span><span class="lg lg-core">core</span>
    <span class="lg lg-marts">marts</span><span class="lg lg-snapshots">snapshot</span>
    <span class="lg lg-ephemeral">ephemeral</span><span class="lg lg-analyses">analysis</span>
  </div>
  <span class="muted small">generated {escape(generated_at)}</span>
</header>
<main>
  <div id="graph" aria-label="lineage graph"></div>
  <aside id="panel"><p class="muted">Click a node to see its columns, what it reads and what reads it.</p>
    <noscript><ul>{items}</ul></noscript></aside>
</main>
<script src="static/vendor/cytoscape.min.js"></script>
<script src="static/vendor/cytoscape-dagre.min.js"></script>
<script src="data.js"></script>
<script src="static/app.js"></script>
</body></html>
"""


def site_data(nodes: list[dict[str, Any]], project_name: str, generated_at: str) -> dict[str, Any]:
    """What app.js needs: the graph and, per node, what its side panel shows (not SQL or source)."""
    keep = (
        "name",
        "unique_id",
        "kind",
        "layer",
        "materialized",
        "description",
        "relation",
        "row_count",
        "inputs",
        "children",
        "built",
        "contract",
    )
    out = []
    for n in nodes:
        d = {k: n[k] for k in keep}
        d["page"] = node_page_path(n["name"])
        d["last_build"] = (n.get("last_run") or {}).get("completed_at") or n.get("last_altered")
        d["columns"] = [
            {
                "name": c["name"],
                "type": c["type"],
                "contract": c.get("contract"),
                "description": c["description"],
                "from": [
                    f"{r['node'] or r['relation']}.{r['column']}" for r in (c.get("lineage") or {}).get("direct", [])
                ],
                "origins": [
                    f"{r['node'] or r['relation']}.{r['column']}" for r in (c.get("lineage") or {}).get("origins", [])
                ],
            }
            for c in n["columns"]
        ]
        out.append(d)
    return {"project": project_name, "generated_at": generated_at, "nodes": out}


def write_site(site_dir: Path, nodes: list[dict[str, Any]], settings: Settings, *, generated_at: str) -> Path:
    """Write the whole site afresh (old node pages of removed nodes must not linger)."""
    pname = settings.config.project.name
    if site_dir.exists():
        shutil.rmtree(site_dir)
    (site_dir / "nodes").mkdir(parents=True)
    static = site_dir / "static"
    static.mkdir()
    for item in SITE_STATIC:
        src = STATIC_DIR / item
        if src.is_dir():
            shutil.copytree(src, static / item)
        else:
            shutil.copy2(src, static / item)
    data = json.dumps(site_data(nodes, pname, generated_at), indent=1, default=str)
    # "</" cannot end the script early when the data holds it (e.g. in a description)
    (site_dir / "data.js").write_text(
        "window.NETFLIX_ELT_DOCS = " + data.replace("</", "<\\/") + ";\n", encoding="utf-8"
    )
    for n in nodes:
        (site_dir / node_page_path(n["name"])).write_text(render_node_page(n, pname), encoding="utf-8")
    index = site_dir / "index.html"
    index.write_text(render_index(nodes, pname, generated_at), encoding="utf-8")
    return index
