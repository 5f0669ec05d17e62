"""Everything MovieLens-specific: the seeded synthetic generator and the GroupLens download.

The generic ``netflix_elt.ingest`` (landing, parse, records, load, external_stage, extract) knows
nothing of how MovieLens files are made; ``ingest.extract`` calls in here for ``--source synthetic``
and ``grouplens:<name>``. ``generator.generate`` is the generator's public entry point; the other
modules are its parts, one job each (underscored names are shared inside this package only):

* ``scale``: scale -> row and quirk counts (``Plan``), the batch-1 time window and batch calendar
* ``vocabulary``: word lists and the titles, genres and tag vocabularies made from them
* ``sampling``: seeded random streams and vectorised sampling helpers
* ``csv_format``: GroupLens file headers, quoting and vectorised row formatting
* ``world``: batch 1's users and movies (with every quirk)
* ``ratings``, ``tags``, ``genome``: batch 1's ratings (per user chunk), tags and tag genome
* ``deltas``: later batches (rating deltas, full extracts of tags/movies/links)
* ``grouplens``: verified, cached, resumable downloads of the real GroupLens releases
"""
