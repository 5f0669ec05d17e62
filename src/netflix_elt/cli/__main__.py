"""`python -m netflix_elt.cli`: the same as the `netflix-elt` console script."""

from netflix_elt.cli import main

main()
