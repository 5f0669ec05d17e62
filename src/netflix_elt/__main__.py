"""`python -m netflix_elt`: the same as the `netflix-elt` console script (and its shell completion)."""

from netflix_elt.cli import main

if __name__ == "__main__":
    main(prog_name="netflix-elt")
