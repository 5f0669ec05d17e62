"""Documentation site, catalog and column lineage (`netflix-elt docs generate` / `docs serve`)."""

from netflix_elt.docs.generate import DocsResult, generate_docs
from netflix_elt.docs.serve import DEFAULT_PORT, make_server, url_of

__all__ = ["DEFAULT_PORT", "DocsResult", "generate_docs", "make_server", "url_of"]
