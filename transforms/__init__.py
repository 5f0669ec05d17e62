"""The MovieLens warehouse as Snowpark transforms: import any of them in a notebook.

from transforms.core.dim_movies import dim_movies
dim_movies(session.table("MOVIELENS.DEV.SRC_MOVIES")).show()
"""
