"""Deterministic, MovieLens-shaped synthetic data, so every stage can run without GroupLens' licence.

The files mimic GroupLens' releases byte for byte in format: the same file names and headers,
UTF-8, CRLF line endings, a header row, and GroupLens' (= Python's ``QUOTE_MINIMAL``) quoting.
Every quirk listed in ``shared/data/movielens/SOURCES.md`` is present in batch 1 at every scale
(quoted titles with commas, a tag with embedded quotes, ``(no genres listed)``, titles without a
year, one ``(2006–2007)`` en-dash range, trailing spaces, non-ASCII titles, one title under two
movieIds, case-variant tags, empty ``tmdbId``, movies without ratings, 7-digit ``imdbId``).

Same ``(scale, seed, batch)`` gives byte-identical files: every random stream is a numpy
``PCG64`` seeded from ``(seed, batch, stream, chunk)``, and ratings/genome scores are generated and
written in fixed chunks (bounded memory; ``20m`` writes ~0.9 GB in well under a minute).

Batches (``batch=K``), meant to be loaded in order 1, 2, ..., K:

* **Batch 1** is a full release: ``ratings.csv``, ``tags.csv``, ``movies.csv``, ``links.csv``,
  ``genome-scores.csv``, ``genome-tags.csv``. Each ``(userId, movieId)`` occurs at most once in
  ``ratings.csv``; every user has at least 20 ratings, all inside the user's active window
  (1995-01-09 .. 2015-03-31 UTC).
* **Batch K > 1** is derived from batches 1..K-1 (deterministic from ``(seed, K)``):

  - ``ratings.csv`` is a **delta** (~1% of the batch-1 rating count): new ratings by existing
    users, ratings by a few new users (ids above all earlier ones, >= 20 ratings each) and some
    ratings of new movies, plus **re-ratings** of earlier ``(userId, movieId)`` pairs with a
    different rating. Delta timestamps lie in the batch's own 30-day period starting
    2016-01-01 + (K-2)*30 days, so they are later than anything in earlier batches; a re-rating
    therefore supersedes the earlier rating of the pair (latest timestamp wins).
  - ``tags.csv``, ``movies.csv``, ``links.csv`` are **full current extracts**: tags of batch K-1
    with a few deleted, a few changed (same user and movie, a different tag text or a later
    timestamp) and a few new; all earlier movies with a few corrected titles/genres plus a few
    new movies; links for exactly the movies in ``movies.csv``. A row absent from a full extract
    was deleted at the source.
  - No genome files (the genome is computed once per release).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

from netflix_elt.errors import IngestError

__all__ = [
    "BATCH_EPOCH",
    "BATCH_PERIOD",
    "FILE_HEADERS",
    "ML20M_COUNTS",
    "SMALL_COUNTS",
    "WINDOW_END",
    "WINDOW_START",
    "Plan",
    "generate",
    "parse_scale",
    "plan",
    "user_windows",
]

FILE_HEADERS: dict[str, tuple[str, ...]] = {
    "ratings.csv": ("userId", "movieId", "rating", "timestamp"),
    "tags.csv": ("userId", "movieId", "tag", "timestamp"),
    "movies.csv": ("movieId", "title", "genres"),
    "links.csv": ("movieId", "imdbId", "tmdbId"),
    "genome-scores.csv": ("movieId", "tagId", "relevance"),
    "genome-tags.csv": ("tagId", "tag"),
}

ML20M_COUNTS = {
    "ratings": 20_000_263,
    "tags": 465_564,
    "movies": 27_278,
    "genome_movies": 10_381,
    "genome_tags": 1_128,
    "users": 138_493,
}
SMALL_COUNTS = {"ratings": 100_836, "tags": 3_683, "movies": 9_742, "users": 610, "genome_movies": 300}

WINDOW_START = 789_609_600  # 1995-01-09 00:00:00 UTC, the first day of ml-20m
WINDOW_END = 1_427_846_399  # 2015-03-31 23:59:59 UTC, the last day of ml-20m
BATCH_EPOCH = 1_451_606_400  # 2016-01-01 UTC: later batches live after every batch-1 timestamp
BATCH_PERIOD = 30 * 86_400

MIN_RATINGS_PER_USER = 20
_CHUNK_RATINGS = 1 << 20  # ratings generated/written per chunk: bounds memory at any scale
_GENOME_CHUNK_MOVIES = 1_000
_STREAMS = {"users": 1, "movies": 2, "ratings": 3, "tags": 4, "genome": 5, "delta": 6, "vocab": 7}

# ml-20m's rating histogram (0.5 .. 5.0): 4.0 and 3.0 dominate, whole stars beat half stars.
_RATING_SHARE = np.array([0.012, 0.034, 0.014, 0.072, 0.044, 0.214, 0.105, 0.277, 0.077, 0.145])
_RATING_TEXT = np.frombuffer(b"0.51.01.52.02.53.03.54.04.55.0", dtype=np.uint8).reshape(10, 3)
_SIGMA_MOVIE, _SIGMA_USER, _SIGMA_NOISE = 0.45, 0.35, 0.8


# --------------------------------------------------------------------------- scale and plan


def parse_scale(scale: str | int) -> int:
    """Turn ``small``/``500k``/``2m``/``20m``/``123456`` into a rating count (``20m`` = ml-20m exactly)."""
    if isinstance(scale, bool):
        raise IngestError(f"invalid scale {scale!r}: use small, 500k, 2m, 20m or a number of ratings")
    if isinstance(scale, int):
        n = scale
    else:
        text = str(scale).strip().lower().replace("_", "")
        try:
            if text == "small":
                n = SMALL_COUNTS["ratings"]
            elif text == "20m":
                n = ML20M_COUNTS["ratings"]
            elif text.endswith("k"):
                n = round(float(text[:-1]) * 1_000)
            elif text.endswith("m"):
                n = round(float(text[:-1]) * 1_000_000)
            else:
                n = int(text)
        except ValueError:
            raise IngestError(f"invalid scale {scale!r}: use small, 500k, 2m, 20m or a number of ratings") from None
    if n < 100 or n > 200_000_000:
        raise IngestError(f"invalid scale {scale!r}: the number of ratings must be between 100 and 200m")
    return n


@dataclass(frozen=True)
class Plan:
    """Row counts and quirk counts for one scale; ml-latest-small or ml-20m-proportional."""

    ratings: int
    users: int
    movies: int
    tags: int
    genome_movies: int
    genome_tags: int
    unrated: int
    taggers: int
    no_genres: int
    no_year: int
    trailing_space: int
    empty_tmdb: int
    duplicate_titles: int
    user_cap: int = 9_254  # most ratings one user may have (ml-20m's maximum)


def plan(scale: str | int) -> Plan:
    """Counts for a scale: ``small`` follows ml-latest-small, anything else is proportional to ml-20m."""
    n = parse_scale(scale)
    if n == SMALL_COUNTS["ratings"]:
        return Plan(
            ratings=n,
            users=610,
            movies=9_742,
            tags=3_683,
            genome_movies=300,
            genome_tags=1_128,
            unrated=18,
            taggers=58,
            no_genres=34,
            no_year=12,
            trailing_space=11,
            empty_tmdb=8,
            duplicate_titles=5,
            user_cap=int(0.35 * (9_742 - 18)),
        )
    f = n / ML20M_COUNTS["ratings"]
    movies = max(200, round(ML20M_COUNTS["movies"] * f))
    unrated = max(2, round(movies * 534 / 27_278))
    cap = max(MIN_RATINGS_PER_USER, min(int(0.35 * (movies - unrated)), 9_254))
    # enough users that nobody exceeds the cap, never so many that someone has < 20 ratings
    users = max(1, min(max(round(ML20M_COUNTS["users"] * f), math.ceil(n / (0.5 * cap))), n // MIN_RATINGS_PER_USER))
    genome = min((movies - unrated) // 2, max(300, round(ML20M_COUNTS["genome_movies"] * f)))
    return Plan(
        ratings=n,
        users=users,
        movies=movies,
        tags=max(20, round(ML20M_COUNTS["tags"] * f)),
        genome_movies=genome,
        genome_tags=ML20M_COUNTS["genome_tags"],
        unrated=unrated,
        taggers=max(3, min(users, round(users * 7_801 / 138_493))),
        no_genres=max(2, round(movies * 246 / 27_278)),
        no_year=max(1, round(movies * 0.0013)),
        trailing_space=max(1, round(movies * 0.0011)),
        empty_tmdb=max(1, round(movies * 252 / 27_278)),
        duplicate_titles=max(1, round(movies * 0.0005)),
        user_cap=cap,
    )


# --------------------------------------------------------------------------- vocabularies

_GENRES = [
    "Action",
    "Adventure",
    "Animation",
    "Children",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "IMAX",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
]
_GENRE_P = np.array(
    [0.13, 0.08, 0.04, 0.04, 0.33, 0.10, 0.08, 0.48, 0.05, 0.01, 0.09, 0.01, 0.03, 0.05, 0.15, 0.06, 0.16]
    + [0.04, 0.03]
)
_TITLE_WORDS = [
    "Silent",
    "Harbor",
    "Midnight",
    "Express",
    "Last",
    "Summer",
    "Winter",
    "Dark",
    "City",
    "Love",
    "Story",
    "Return",
    "Night",
    "Day",
    "Blood",
    "Money",
    "Dream",
    "King",
    "Queen",
    "House",
    "River",
    "Road",
    "Star",
    "Ghost",
    "Shadow",
    "Fire",
    "Ice",
    "Stone",
    "Heart",
    "War",
    "Game",
    "Secret",
    "Island",
    "Journey",
    "Angel",
    "Devil",
    "Garden",
    "Mirror",
    "Storm",
    "Hunter",
    "Machine",
    "Paradise",
    "Legend",
    "Empire",
    "Family",
    "Friends",
    "Stranger",
    "Wild",
    "Golden",
    "Broken",
    "Lost",
    "Little",
    "Big",
    "Red",
    "Blue",
    "Black",
    "White",
    "Green",
    "Iron",
    "Crystal",
    "Echo",
    "Thunder",
    "Rain",
    "Moon",
    "Sun",
    "Ocean",
    "Mountain",
    "Valley",
    "Castle",
    "Bridge",
    "Street",
    "Train",
    "Letter",
    "Song",
    "Dance",
    "Kiss",
    "Promise",
    "Escape",
    "Chase",
    "Hope",
    "Fear",
    "Memory",
    "Truth",
    "Lie",
    "Wolf",
    "Tiger",
    "Eagle",
    "Horse",
    "Dog",
    "Cat",
    "Doctor",
    "Soldier",
    "Detective",
    "Professor",
    "Pirate",
    "Witch",
    "Wizard",
    "Robot",
    "Alien",
    "Brothers",
    "Sisters",
    "Children",
    "Country",
    "Glass",
    "Paper",
    "Velvet",
]
_FOREIGN_WORDS = [
    "Cité",
    "Léon",
    "Amélie",
    "Mädchen",
    "Señorita",
    "Noël",
    "Fräulein",
    "Être",
    "Kærlighed",
    "Días",
    "Ørnen",
    "Ça",
    "Café",
    "Élan",
    "Größe",
    "Niño",
    "Straße",
    "Liberté",
    "Mañana",
    "Kôkaku",
    "Shôjo",
    "Jûbei",
    "Århus",
    "Łódź",
    "Żywot",
    "Crème",
    "Naïve",
    "Misérables",
    "Garçon",
    "Été",
    "Hôtel",
    "Ñandú",
    "Tōkyō",
]
_FOREIGN_ARTICLES = ("Les", "La", "Le", "Der", "Die", "El", "Il", "Los")
_SUBTITLES = ("The Beginning", "Part II", "Revenge", "Origins", "The Final Chapter", "Reloaded", "Rising")
_CURATED_TAGS = [
    "atmospheric",
    "funny",
    "sci-fi",
    "twist ending",
    "dark comedy",
    "surreal",
    "visually appealing",
    "thought-provoking",
    "based on a book",
    "comedy",
    "classic",
    "action",
    "psychology",
    "romance",
    "quirky",
    "stylized",
    "cinematography",
    "great soundtrack",
    "nonlinear",
    "dystopia",
    "time travel",
    "space",
    "superhero",
    "predictable",
    "boring",
    "overrated",
    "underrated",
    "cult film",
    "violence",
    "black comedy",
    "world war ii",
    "disney",
    "animation",
    "pixar",
    "musical",
    "horror",
    "zombies",
    "vampires",
    "aliens",
    "robots",
    "artificial intelligence",
    "post-apocalyptic",
    "heist",
    "mafia",
    "revenge",
    "coming of age",
    "high school",
    "friendship",
    "family",
    "tearjerker",
    "feel-good",
    "slow",
    "long",
    "beautiful",
    "dialogue",
    "great acting",
    "imdb top 250",
    "netflix queue",
    "franchise",
    "sequel",
    "remake",
    "true story",
    "biography",
    "documentary",
    "politics",
    "satire",
    "parody",
    "philosophical",
    "religion",
    "drugs",
    "music",
    "sports",
    "war",
    "western",
    "film noir",
    "suspense",
    "mystery",
    "crime",
    "police",
    "courtroom",
    "prison",
    "serial killer",
    "psychological",
    "mental illness",
    "dreamlike",
    "magic",
    "fantasy",
    "fairy tale",
    "adventure",
    "historical",
    "period piece",
    "costume drama",
    "british",
    "french",
    "japan",
    "anime",
    "martial arts",
    "kung fu",
    "car chase",
    "explosions",
    "special effects",
    "cgi",
    "epic",
    "trilogy",
    "bittersweet",
    "melancholy",
    "dark",
    "gritty",
    "stylish",
    "quotable",
    "highly quotable",
    "witty",
    "clever",
    "intelligent",
    "original",
    "weird",
    "disturbing",
    "gory",
    "scary",
    "creepy",
    "suspenseful",
    "tense",
    "intense",
    "emotional",
    "moving",
    "inspirational",
    "uplifting",
    "romantic",
    "cute",
    "charming",
    "silly",
    "cheesy",
    "campy",
    "so bad it's good",
    "must see",
    "masterpiece",
    "seen more than once",
    "own it",
    "on dvd",
    "1920s",
    "1930s",
    "1940s",
    "1950s",
    "1960s",
    "1970s",
    "1980s",
    "1990s",
    "2000s",
    "18th century",
    "19th century",
]
_TAG_ADJ = [
    "dark",
    "funny",
    "slow",
    "great",
    "bad",
    "beautiful",
    "violent",
    "quirky",
    "strong",
    "weak",
    "sad",
    "happy",
    "original",
    "clever",
    "stylish",
    "gritty",
    "epic",
    "small-town",
    "big-city",
    "british",
    "french",
    "italian",
    "japanese",
    "korean",
    "german",
    "spanish",
    "indian",
    "classic",
    "modern",
    "futuristic",
    "animated",
    "silent",
    "independent",
    "low-budget",
    "big-budget",
    "cult",
    "political",
    "religious",
    "romantic",
    "tragic",
]
_TAG_NOUN = [
    "comedy",
    "drama",
    "thriller",
    "romance",
    "ending",
    "soundtrack",
    "cinematography",
    "acting",
    "dialogue",
    "plot",
    "villain",
    "hero",
    "heroine",
    "characters",
    "story",
    "atmosphere",
    "visuals",
    "action",
    "humor",
    "satire",
    "war",
    "family",
    "friendship",
    "childhood",
    "love story",
    "revenge",
    "journey",
    "mystery",
    "crime",
    "music",
    "dance",
    "sports",
    "history",
    "politics",
    "science",
    "future",
    "space",
    "ocean",
    "city",
    "road trip",
]
# Forced quirks: case variants of the same meaning, embedded double quotes, a comma.
_CASE_VARIANTS = ("Funny", "FUNNY", "Sci-Fi", "Atmospheric", "Twist Ending", "Dark Comedy", "Classic")
_QUOTE_TAG = '"artsy"'
_COMMA_TAG = "funny, sad"


def _genome_tag_names() -> list[str]:
    """1,128 distinct lowercase genome tags, sorted like ml-20m's genome-tags.csv (seed-independent)."""
    names = dict.fromkeys(_CURATED_TAGS)
    for noun in _TAG_NOUN:
        for adj in _TAG_ADJ:
            if len(names) < ML20M_COUNTS["genome_tags"]:
                names[f"{adj} {noun}"] = None
    result = sorted(names)
    assert len(result) == ML20M_COUNTS["genome_tags"]
    return result


def _tag_vocabulary(size: int, rng: np.random.Generator) -> list[str]:
    """User tags ordered by popularity: curated head with case variants, then a long idiosyncratic tail."""
    head = list(_CURATED_TAGS)
    for i, variant in enumerate(_CASE_VARIANTS):
        head.insert(2 + 3 * i, variant)
    pairs = [f"{a} {n}" for a in _TAG_ADJ for n in _TAG_NOUN]
    tail = [pairs[i] for i in rng.permutation(len(pairs))]
    vocab = head + tail
    if size > len(vocab):
        need = size - len(vocab)
        a1 = rng.integers(len(_TAG_ADJ), size=need * 2)
        a2 = rng.integers(len(_TAG_ADJ), size=need * 2)
        nn = rng.integers(len(_TAG_NOUN), size=need * 2)
        triples = (f"{_TAG_ADJ[x]} {_TAG_ADJ[y]} {_TAG_NOUN[z]}" for x, y, z in zip(a1, a2, nn, strict=True))
        vocab = list(dict.fromkeys(vocab + [t for t in triples if t.split()[0] != t.split()[1]]))
    return vocab[: max(size, len(head))]


# --------------------------------------------------------------------------- helpers


def _rng(seed: int, batch: int, stream: str, *extra: int) -> np.random.Generator:
    """One independent stream per (seed, batch, purpose, chunk): chunking never changes the output."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, batch, _STREAMS[stream], *extra])))


def _allocate(total: int, weights: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """Integers in [lo, hi] summing exactly to ``total``, roughly proportional to ``weights`` above lo."""
    n = len(weights)
    if not lo * n <= total <= hi * n:
        raise IngestError(f"cannot split {total} rows over {n} owners with {lo}..{hi} each")
    x = np.full(n, float(lo))
    free = np.ones(n, dtype=bool)
    for _ in range(200):
        remaining = total - x.sum()
        if remaining <= 1e-6 or not free.any():
            break
        share = np.where(free, weights, 0.0)
        x = x + share / share.sum() * remaining
        over = x >= hi
        x = np.minimum(x, hi)
        free &= ~over
    counts = np.floor(x + 1e-9).astype(np.int64)
    rest = total - int(counts.sum())
    frac = np.where(counts < hi, x - counts, -1.0)
    counts[np.argsort(-frac, kind="stable")[:rest]] += 1
    return counts


def _isin_sorted(values: np.ndarray, sorted_ref: np.ndarray) -> np.ndarray:
    """Vectorised membership against a sorted array (no re-sort of the reference)."""
    if len(sorted_ref) == 0:
        return np.zeros(len(values), dtype=bool)
    idx = np.minimum(np.searchsorted(sorted_ref, values), len(sorted_ref) - 1)
    return sorted_ref[idx] == values


def _unique(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values; much faster than ``np.unique`` (hash based in numpy 2.3+) for int keys."""
    s = np.sort(values)
    if len(s) == 0:
        return s
    keep = np.empty(len(s), dtype=bool)
    keep[0] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return s[keep]


_PAIRS16 = np.frombuffer("".join(f"{i:02d}" for i in range(100)).encode(), dtype=np.uint16)


def _digits(values: np.ndarray, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """ASCII digits of non-negative ints, right-aligned, plus a mask that drops the leading zeros.

    Two digits per step through a 100-entry uint16 table: ~10x faster than per-digit ``% 10``.
    """
    n = len(values)
    big = int(values.max()) if n else 0
    width = width or max(1, len(str(big)))
    even = width + (width & 1)
    v = values.astype(np.uint32 if big < 2**32 else np.uint64)
    buf = np.empty((n, even // 2), dtype=np.uint16)
    for j in range(even // 2 - 1, -1, -1):
        q = v // 100
        buf[:, j] = _PAIRS16[v - q * 100]
        v = q
    out = buf.view(np.uint8).reshape(n, even)[:, even - width :]
    thresholds = 10 ** np.arange(1, width, dtype=np.int64)
    nd = 1 + np.searchsorted(thresholds, values, side="right")
    mask = np.arange(width)[None, :] >= (width - nd)[:, None]
    return out, mask


class _Alias:
    """Walker/Vose alias table: O(1) weighted draws, ~4x faster than a CDF binary search."""

    def __init__(self, weights: np.ndarray) -> None:
        n = len(weights)
        scaled = weights / weights.sum() * n
        prob = np.ones(n)
        alias = np.arange(n)
        small = [i for i in range(n) if scaled[i] < 1.0]
        large = [i for i in range(n) if scaled[i] >= 1.0]
        sc = scaled.tolist()
        while small and large:
            s, g = small.pop(), large.pop()
            prob[s], alias[s] = sc[s], g
            sc[g] -= 1.0 - sc[s]
            (small if sc[g] < 1.0 else large).append(g)
        self.prob, self.alias = prob, alias

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        i = rng.integers(len(self.prob), size=size)
        return np.where(rng.random(size) < self.prob[i], i, self.alias[i])


_Field = bytes | tuple[np.ndarray, np.ndarray | None]


def _format_rows(n: int, fields: list[_Field]) -> bytes:
    """Lay fixed-width byte columns side by side and keep the masked bytes: vectorised CSV rows."""
    widths = [len(f) if isinstance(f, bytes) else f[0].shape[1] for f in fields]
    mat = np.empty((n, sum(widths)), dtype=np.uint8)
    mask = np.ones(mat.shape, dtype=bool)
    col = 0
    for f, wd in zip(fields, widths, strict=True):
        if isinstance(f, bytes):
            mat[:, col : col + wd] = np.frombuffer(f, dtype=np.uint8)
        else:
            mat[:, col : col + wd] = f[0]
            if f[1] is not None:
                mask[:, col : col + wd] = f[1]
        col += wd
    return mat[mask].tobytes()


def _csv_bytes(rows: list[tuple[object, ...]]) -> bytes:
    """GroupLens quoting = csv.QUOTE_MINIMAL with CRLF: quotes only around commas/quotes, doubled quotes."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return buf.getvalue().encode("utf-8")


def _header(name: str) -> bytes:
    return (",".join(FILE_HEADERS[name]) + "\r\n").encode("ascii")


# --------------------------------------------------------------------------- the world (batch 1)


@dataclass
class _World:
    """Everything about batch 1 except the ratings themselves, which are regenerated chunk by chunk."""

    seed: int
    plan: Plan
    n_activity: np.ndarray  # ratings per user (index = userId - 1)
    user_bias: np.ndarray
    win_start: np.ndarray
    win_end: np.ndarray
    movie_ids: np.ndarray  # ascending
    weight: np.ndarray  # popularity over movie positions (0 = unrated)
    pop: _Alias
    rateable: np.ndarray  # positions with ratings possible
    quality: np.ndarray
    genome_pos: np.ndarray
    chunks: list[tuple[int, int]]  # user index ranges [u0, u1)
    titles: list[str]
    genres: list[str]
    imdb: np.ndarray
    tmdb: list[int | None]
    thresholds: np.ndarray
    special: dict[str, list[int]] = field(default_factory=dict)


def _title_words(rng: np.random.Generator, k: int) -> str:
    return " ".join(_TITLE_WORDS[i] for i in rng.integers(len(_TITLE_WORDS), size=k))


def _make_title(rng: np.random.Generator, year: int, foreign: bool) -> str:
    """A plausible title in GroupLens style: leading articles moved to the end ('City, The (1995)')."""
    style = rng.random()
    if foreign:
        fw = " ".join(_FOREIGN_WORDS[i] for i in rng.integers(len(_FOREIGN_WORDS), size=rng.integers(1, 3)))
        if rng.random() < 0.5:
            art = _FOREIGN_ARTICLES[rng.integers(len(_FOREIGN_ARTICLES))]
            return f"{fw}, {art} ({year})"
        return f"{_title_words(rng, int(rng.integers(1, 3)))} ({fw}) ({year})"
    base = _title_words(rng, int(rng.integers(1, 4)))
    if style < 0.08:
        base = f"{base} {rng.integers(2, 5)}"
    elif style < 0.14:
        base = f"{base}: {_SUBTITLES[rng.integers(len(_SUBTITLES))]}"
    elif style < 0.20:
        base = f"{_TITLE_WORDS[rng.integers(len(_TITLE_WORDS))]}, {base}"
    if rng.random() < 0.18:
        art = ("The", "A", "An")[int(rng.integers(3))]
        base = f"{base}, {art}"
    return f"{base} ({year})"


def _make_genres(rng: np.random.Generator) -> str:
    picked = [g for g, p in zip(_GENRES, _GENRE_P, strict=True) if rng.random() < p]
    return "|".join(picked or ["Drama"])


def _build_world(seed: int, pl: Plan) -> _World:
    """Users, movies and their quirks: O(users + movies) memory even at 20m."""
    # Users: heavy-tailed activity (>= 20 each), a bias and an active time window.
    ru = _rng(seed, 1, "users")
    n_users, n_movies = pl.users, pl.movies
    activity_w = ru.lognormal(0.0, 1.3, size=n_users)
    n_activity = _allocate(pl.ratings, activity_w, MIN_RATINGS_PER_USER, pl.user_cap)
    user_bias = ru.normal(0.0, _SIGMA_USER, size=n_users)
    span = WINDOW_END - WINDOW_START
    start = WINDOW_START + np.floor(ru.random(n_users) ** 0.8 * span).astype(np.int64)
    one_session = ru.random(n_users) < 0.45
    dur = np.where(
        one_session,
        600 + ru.exponential(5_400, size=n_users),
        ru.lognormal(math.log(90 * 86_400), 1.5, size=n_users),
    ).astype(np.int64)
    end = np.minimum(start + dur, WINDOW_END)

    # Movies: sparse ascending ids, long-tailed (Zipf-Mandelbrot) popularity, older ids more popular.
    rm = _rng(seed, 1, "movies")
    movie_ids = np.cumsum(rm.geometric(0.25, size=n_movies))
    movie_ids = movie_ids - movie_ids[0] + 1
    order_key = np.arange(n_movies) / n_movies + 0.6 * rm.random(n_movies)
    rank = np.empty(n_movies, dtype=np.int64)
    rank[np.argsort(order_key, kind="stable")] = np.arange(n_movies)
    weight = 1.0 / (rank + 25.0) ** 1.05
    # Unrated movies: rare ones, preferably recently added (high ids), as in GroupLens' releases.
    tail = np.flatnonzero(rank >= n_movies - max(4 * pl.unrated, n_movies // 5))
    unrated = np.sort(rm.choice(tail, size=pl.unrated, replace=False))
    weight[unrated] = 0.0
    rateable = np.flatnonzero(weight > 0)
    quality = rm.normal(0.0, _SIGMA_MOVIE, size=n_movies)
    by_pop = np.argsort(rank, kind="stable")
    genome_pos = np.sort(by_pop[np.isin(by_pop, rateable)][: pl.genome_movies])

    years = np.clip(2015 - np.floor(rm.exponential(16.0, size=n_movies)), 1902, 2015).astype(int)
    foreign = rm.random(n_movies) < 0.03
    titles = [_make_title(rm, int(y), bool(f)) for y, f in zip(years, foreign, strict=True)]
    genres = [_make_genres(rm) for _ in range(n_movies)]

    # Quirks on disjoint, randomly chosen movies (never a genome movie, so the genome stays clean).
    pool = rm.permutation(np.setdiff1d(np.arange(n_movies), genome_pos))
    take = iter(pool.tolist())
    special: dict[str, list[int]] = {}

    def pick(name: str, k: int) -> list[int]:
        special[name] = [next(take) for _ in range(k)]
        return special[name]

    for p in pick("no_genres", pl.no_genres):
        genres[p] = "(no genres listed)"
    for p in pick("no_year", pl.no_year):
        titles[p] = _title_words(rm, int(rm.integers(1, 4)))
    for p in pick("year_range", 1):
        titles[p] = f"{_title_words(rm, 2)}: {_FOREIGN_WORDS[int(rm.integers(len(_FOREIGN_WORDS)))]} (2006–2007)"
    for p in pick("trailing_space", pl.trailing_space):
        titles[p] = titles[p] + " "
    for p in pick("quoted", 1):
        titles[p] = f'"{_title_words(rm, 2)}" {_title_words(rm, 1)} ({years[p]})'
    for p in pick("comma", 1):
        titles[p] = f"American {_title_words(rm, 1)}, The ({years[p]})"
    for p in pick("non_ascii", 1):
        titles[p] = f"Misérables, Les ({years[p]})"
    for p in pick("duplicate", pl.duplicate_titles):
        src = next(take)
        titles[p] = titles[src] = f"{_title_words(rm, 1)} ({years[src]})"
        special.setdefault("duplicate_source", []).append(src)

    imdb = np.sort(rm.choice(np.arange(10_000, 9_999_999), size=n_movies, replace=False))
    imdb = imdb[np.argsort(np.argsort(years, kind="stable"), kind="stable")]  # newer films, larger ids
    tmdb_vals = rm.choice(np.arange(2, 500_000), size=n_movies, replace=False)
    tmdb: list[int | None] = [int(x) for x in tmdb_vals]
    for p in pick("empty_tmdb", pl.empty_tmdb):
        tmdb[p] = None

    chunks: list[tuple[int, int]] = []
    bounds = np.cumsum(n_activity)
    u0 = 0
    while u0 < n_users:
        u1 = int(np.searchsorted(bounds, (bounds[u0 - 1] if u0 else 0) + _CHUNK_RATINGS, side="right"))
        u1 = max(u1, u0 + 1)
        chunks.append((u0, min(u1, n_users)))
        u0 = u1

    share = _RATING_SHARE / _RATING_SHARE.sum()
    sd = math.sqrt(_SIGMA_MOVIE**2 + _SIGMA_USER**2 + _SIGMA_NOISE**2)
    thresholds = np.array([NormalDist(0.0, sd).inv_cdf(c) for c in np.cumsum(share)[:-1]])
    return _World(
        seed=seed,
        plan=pl,
        n_activity=n_activity,
        user_bias=user_bias,
        win_start=start,
        win_end=end,
        movie_ids=movie_ids.astype(np.int64),
        weight=weight,
        pop=_Alias(weight),
        rateable=rateable,
        quality=quality,
        genome_pos=genome_pos,
        chunks=chunks,
        titles=titles,
        genres=genres,
        imdb=imdb,
        tmdb=tmdb,
        thresholds=thresholds,
        special=special,
    )


def _sample_distinct(rng: np.random.Generator, counts: np.ndarray, pop: _Alias, rateable: np.ndarray) -> np.ndarray:
    """Sorted keys ``local_user * M + movie_pos`` with exactly ``counts[u]`` distinct movies per user.

    Popular movies are drawn first (Zipf), the shortfall of heavy users is topped up uniformly
    over rateable movies, which converges because no user rates more than 35% of them.
    """
    m = len(pop.prob)
    nu = len(counts)
    users = np.repeat(np.arange(nu, dtype=np.int64), counts)
    keys = _unique(users * m + pop.draw(rng, len(users)))
    for rnd in range(1, 1_000):
        short = counts - np.bincount(keys // m, minlength=nu)
        if not short.any():
            return keys
        su = np.repeat(np.arange(nu, dtype=np.int64), short)
        uniform = rateable[rng.integers(len(rateable), size=len(su))] if rnd >= 2 else None
        draws = pop.draw(rng, len(su)) if uniform is None else uniform
        new = _unique(su * m + draws)
        new = new[~_isin_sorted(new, keys)]
        keys = np.sort(np.concatenate([keys, new]), kind="stable")
    raise AssertionError("distinct sampling did not converge")  # pragma: no cover


def _ratings_chunk(w: _World, c: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Batch-1 ratings of one user chunk, sorted by (userId, movieId): user idx, movie pos, rating idx, ts."""
    u0, u1 = w.chunks[c]
    rng = _rng(w.seed, 1, "ratings", c)
    keys = _sample_distinct(rng, w.n_activity[u0:u1], w.pop, w.rateable)
    m = len(w.movie_ids)
    users = keys // m + u0
    pos = keys % m
    latent = w.quality[pos] + w.user_bias[users] + rng.normal(0.0, _SIGMA_NOISE, size=len(keys))
    rating_idx = np.searchsorted(w.thresholds, latent)
    s, e = w.win_start[users], w.win_end[users]
    ts = s + np.floor(rng.random(len(keys)) * (e - s + 1)).astype(np.int64)
    return users, pos, rating_idx, ts


def _ratings_bytes(user_ids: np.ndarray, movie_ids: np.ndarray, rating_idx: np.ndarray, ts: np.ndarray) -> bytes:
    return _format_rows(
        len(user_ids),
        [
            _digits(user_ids),
            b",",
            _digits(movie_ids),
            b",",
            (_RATING_TEXT[rating_idx], None),
            b",",
            _digits(ts),
            b"\r\n",
        ],
    )


def _build_tags(w: _World) -> list[tuple[int, int, str, int]]:
    """Batch-1 tags: few heavy taggers, popular movies, Zipf tag texts with case variants; unique triples."""
    pl = w.plan
    rt = _rng(w.seed, 1, "tags")
    n_users, n_movies = len(w.n_activity), len(w.movie_ids)
    p_user = w.n_activity / w.n_activity.sum()
    taggers = np.sort(rt.choice(n_users, size=pl.taggers, replace=False, p=p_user))
    per = _allocate(pl.tags, rt.lognormal(0.0, 1.6, size=pl.taggers), 1, pl.tags)
    ratio = min(0.6, 0.43 * (pl.tags / 3_683) ** -0.35)
    vocab = _tag_vocabulary(max(40, round(pl.tags * ratio)), _rng(w.seed, 1, "vocab"))
    vw = 1.0 / (np.arange(len(vocab)) + 3.0) ** 0.9
    vcdf = np.cumsum(vw) / vw.sum()
    mw = w.weight**0.7 + 1e-9
    mcdf = np.cumsum(mw) / mw.sum()
    v = len(vocab)
    owners = np.repeat(taggers, per)
    keys = np.empty(0, dtype=np.int64)
    need = pl.tags
    while need > 0:
        u = owners[rt.integers(len(owners), size=need)] if len(keys) else owners
        mv = np.minimum(np.searchsorted(mcdf, rt.random(len(u)), side="right"), n_movies - 1)
        tg = np.minimum(np.searchsorted(vcdf, rt.random(len(u)), side="right"), v - 1)
        new = _unique((u * n_movies + mv) * v + tg)
        new = new[~_isin_sorted(new, keys)][:need]
        keys = np.sort(np.concatenate([keys, new]))
        need = pl.tags - len(keys)
    tag_idx = keys % v
    um = keys // v
    users, pos = um // n_movies, um % n_movies
    texts = [vocab[i] for i in tag_idx]
    # Force the quirks onto random rows unless that would duplicate a (user, movie, tag) triple.
    triples = set(zip(users.tolist(), pos.tolist(), texts, strict=True))
    rows_for_quirks = rt.choice(len(texts), size=min(4, len(texts)), replace=False)
    for row, text in zip(rows_for_quirks.tolist(), [_QUOTE_TAG, _COMMA_TAG, "funny", "Funny"], strict=False):
        triple = (int(users[row]), int(pos[row]), text)
        if triple not in triples:
            triples.discard((triple[0], triple[1], texts[row]))
            triples.add(triple)
            texts[row] = text
    s, e = w.win_start[users], w.win_end[users]
    ts = s + np.floor(rt.random(len(keys)) * (e - s + 1)).astype(np.int64)
    rows = [(int(u) + 1, int(w.movie_ids[p]), t, int(x)) for u, p, t, x in zip(users, pos, texts, ts, strict=True)]
    rows.sort(key=lambda r: (r[0], r[1], r[3], r[2]))
    return rows


# --------------------------------------------------------------------------- later batches


@dataclass
class _State:
    """The source system after batch k: full tables plus what the rating deltas have touched."""

    movies: dict[int, tuple[str, str]]
    links: dict[int, tuple[int, int | None]]
    tags: list[tuple[int, int, str, int]]
    n_users: int
    touched: dict[int, int]  # userId * KEY + movieId -> latest rating index, from deltas only
    max_movie_id: int
    new_movies: list[int] = field(default_factory=list)
    delta: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None


_KEY = 1 << 24  # movieIds stay far below this, so userId * _KEY + movieId is a unique pair key


def _initial_state(w: _World) -> _State:
    movies = {int(i): (t, g) for i, t, g in zip(w.movie_ids, w.titles, w.genres, strict=True)}
    links = {int(i): (int(im), tm) for i, im, tm in zip(w.movie_ids, w.imdb, w.tmdb, strict=True)}
    return _State(
        movies=movies,
        links=links,
        tags=_build_tags(w),
        n_users=len(w.n_activity),
        touched={},
        max_movie_id=int(w.movie_ids[-1]),
    )


def _evolve(w: _World, st: _State, k: int) -> _State:
    """Apply batch k's changes to the state (k >= 2); deterministic from (seed, k)."""
    rng = _rng(w.seed, k, "delta")
    pl = w.plan
    t0 = BATCH_EPOCH + (k - 2) * BATCH_PERIOD

    def stamp(n: int) -> np.ndarray:
        return t0 + rng.integers(0, BATCH_PERIOD, size=n)

    # Movies: a few corrections and a few new titles (ids above every earlier id).
    movies = dict(st.movies)
    protected = set(
        int(w.movie_ids[p]) for name in ("year_range", "quoted", "comma", "non_ascii") for p in w.special.get(name, [])
    )
    candidates = [m for m in movies if m not in protected]
    quirky = [
        int(w.movie_ids[p]) for name in ("trailing_space", "no_genres", "no_year") for p in w.special.get(name, [])
    ]
    n_fix = max(1, round(0.001 * len(movies)))
    fix = list(rng.choice(quirky, size=min(len(quirky), max(1, n_fix // 2)), replace=False))
    fix += list(rng.choice(candidates, size=n_fix, replace=False))
    for mid in dict.fromkeys(int(x) for x in fix):
        title, genres = movies[mid]
        if title.endswith(" "):
            title = title.rstrip()
        elif genres == "(no genres listed)":
            genres = _make_genres(rng)
        elif not title.rstrip().endswith(")"):
            title = f"{title} ({int(rng.integers(1990, 2016))})"
        else:
            new_genres = _make_genres(rng)
            genres = new_genres if new_genres != genres else "|".join(sorted({*genres.split("|"), "Drama"}))
            if genres == movies[mid][1]:
                genres = "Comedy" if genres != "Comedy" else "Drama"
        movies[mid] = (title, genres)
    links = dict(st.links)
    n_new = max(1, round(0.002 * len(w.movie_ids)))
    new_ids = st.max_movie_id + np.cumsum(rng.integers(1, 8, size=n_new))
    used_imdb = {v[0] for v in links.values()}
    used_tmdb = {v[1] for v in links.values() if v[1] is not None}
    for mid in new_ids.tolist():
        movies[mid] = (_make_title(rng, 2015 + (k - 2) // 12, bool(rng.random() < 0.05)), _make_genres(rng))
        imdb = int(rng.integers(3_000_000, 9_999_999))
        while imdb in used_imdb:
            imdb += 1
        tmdb = int(rng.integers(300_000, 600_000))
        while tmdb in used_tmdb:
            tmdb += 1
        used_imdb.add(imdb)
        used_tmdb.add(tmdb)
        links[mid] = (imdb, tmdb)

    # Tags: full extract with some deleted, some changed, some new rows.
    tags = list(st.tags)
    nt = len(tags)
    n_del, n_chg, n_add = max(1, round(0.005 * nt)), max(2, round(0.01 * nt)), max(1, round(0.01 * nt))
    idx = rng.permutation(nt)
    deleted = set(idx[:n_del].tolist())
    changed = idx[n_del : n_del + n_chg].tolist()
    triples = {(u, m, t) for u, m, t, _ in tags}
    vocab = _tag_vocabulary(200, _rng(w.seed, 1, "vocab"))
    for j, i in enumerate(changed):
        u, m, t, ts = tags[i]
        if j % 2 == 0:
            for _ in range(20):
                nt_text = vocab[int(rng.integers(len(vocab)))]
                if (u, m, nt_text) not in triples:
                    triples.discard((u, m, t))
                    triples.add((u, m, nt_text))
                    t = nt_text
                    break
        tags[i] = (u, m, t, int(stamp(1)[0]))
    tags = [row for i, row in enumerate(tags) if i not in deleted]
    tag_users = sorted({u for u, *_ in st.tags})
    movie_list = sorted(movies)
    for _ in range(n_add):
        u = tag_users[int(rng.integers(len(tag_users)))]
        m = movie_list[int(rng.integers(len(movie_list)))]
        t = vocab[int(rng.integers(len(vocab)))]
        if (u, m, t) not in triples:
            triples.add((u, m, t))
            tags.append((u, m, t, int(stamp(1)[0])))
    tags.sort(key=lambda r: (r[0], r[1], r[3], r[2]))

    # Ratings delta: regenerate one batch-1 chunk so new pairs avoid, and re-ratings hit, real pairs.
    target = max(20, round(0.01 * pl.ratings))
    c = int(rng.integers(len(w.chunks)))
    cu, cp, cr, _ = _ratings_chunk(w, c)
    chunk_keys = (cu + 1) * _KEY + w.movie_ids[cp]
    out_keys: list[np.ndarray] = []
    out_rating: list[np.ndarray] = []
    n_re = min(len(chunk_keys), max(1, round(0.15 * target)))
    pick = np.sort(rng.choice(len(chunk_keys), size=n_re, replace=False))
    re_keys = chunk_keys[pick]
    current = np.array([st.touched.get(int(key), int(r)) for key, r in zip(re_keys, cr[pick], strict=True)])
    out_keys.append(re_keys)
    out_rating.append((current + rng.integers(1, 10, size=n_re)) % 10)  # always a different rating
    # New users: >= 20 ratings each, distinct movies, some of this batch's new movies among them.
    n_new_users = max(1, round(0.10 * target / 25))
    new_counts = rng.integers(MIN_RATINGS_PER_USER, 31, size=n_new_users)
    nk = _sample_distinct(rng, new_counts, w.pop, w.rateable)
    m = len(w.movie_ids)
    new_user_keys = (st.n_users + 1 + nk // m) * _KEY + w.movie_ids[nk % m]
    out_keys.append(new_user_keys)
    out_rating.append(np.searchsorted(w.thresholds, rng.normal(0.0, 1.2, size=len(nk))))
    # Existing users of the chunk: new movies for them (never a pair rated before), incl. new titles.
    n_exist = max(1, target - n_re - len(nk))
    cu0, cu1 = w.chunks[c]
    pu = w.n_activity[cu0:cu1] / w.n_activity[cu0:cu1].sum()
    n_draw = 4 * n_exist  # oversample: most popular pairs are already rated and get filtered out
    users = cu0 + 1 + rng.choice(cu1 - cu0, size=n_draw, p=pu)
    draws = w.pop.draw(rng, n_draw)
    mids = w.movie_ids[draws]
    newest = rng.random(n_draw) < 0.03
    mids[newest] = new_ids[rng.integers(len(new_ids), size=int(newest.sum()))]
    ek = _unique(users * _KEY + mids)
    touched_sorted = np.array(sorted(st.touched), dtype=np.int64)
    ek = ek[~_isin_sorted(ek, np.sort(chunk_keys)) & ~_isin_sorted(ek, touched_sorted)]
    if len(ek) > n_exist:
        ek = np.sort(rng.choice(ek, size=n_exist, replace=False))
    out_keys.append(ek)
    out_rating.append(np.searchsorted(w.thresholds, rng.normal(0.0, 1.2, size=len(ek))))
    keys = np.concatenate(out_keys)
    ratings = np.concatenate(out_rating)
    order = np.argsort(keys, kind="stable")
    keys, ratings = keys[order], ratings[order]
    touched = dict(st.touched)
    touched.update(zip(keys.tolist(), ratings.tolist(), strict=True))
    delta = (keys // _KEY, keys % _KEY, ratings, stamp(len(keys)))
    return _State(
        movies=movies,
        links=links,
        tags=tags,
        n_users=st.n_users + n_new_users,
        touched=touched,
        max_movie_id=int(new_ids[-1]),
        new_movies=new_ids.tolist(),
        delta=delta,
    )


# --------------------------------------------------------------------------- public API


def user_windows(scale: str | int = "small", seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """Each batch-1 user's active window ``(start, end)`` in Unix seconds (index = userId - 1), for tests."""
    w = _build_world(seed, plan(scale))
    return w.win_start.copy(), w.win_end.copy()


def generate(
    out_dir: Path,
    *,
    scale: str | int = "small",
    seed: int = 42,
    batch: int = 1,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, int]:
    """Write batch ``batch`` of the synthetic data set as GroupLens CSVs; returns {file name: data rows}."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise IngestError(f"invalid seed {seed!r}: use a non-negative integer")
    if not isinstance(batch, int) or isinstance(batch, bool) or batch < 1:
        raise IngestError(f"invalid batch {batch!r}: batches are numbered from 1")
    pl = plan(scale)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise IngestError(f"cannot create output directory {out_dir}: {exc}") from exc
    report = progress or (lambda _name, _rows: None)
    w = _build_world(seed, pl)
    st = _initial_state(w)
    counts: dict[str, int] = {}

    def write_small(name: str, rows: list[tuple[object, ...]]) -> None:
        (out_dir / name).write_bytes(_header(name) + _csv_bytes(rows))
        counts[name] = len(rows)
        report(name, len(rows))

    if batch == 1:
        with open(out_dir / "ratings.csv", "wb") as fh:
            fh.write(_header("ratings.csv"))
            done = 0
            for c in range(len(w.chunks)):
                users, pos, rating_idx, ts = _ratings_chunk(w, c)
                fh.write(_ratings_bytes(users + 1, w.movie_ids[pos], rating_idx, ts))
                done += len(users)
                report("ratings.csv", done)
        counts["ratings.csv"] = done
    else:
        for k in range(2, batch + 1):
            st = _evolve(w, st, k)
        assert st.delta is not None
        du, dm, dr, dts = st.delta
        (out_dir / "ratings.csv").write_bytes(_header("ratings.csv") + _ratings_bytes(du, dm, dr, dts))
        counts["ratings.csv"] = len(du)
        report("ratings.csv", len(du))

    write_small("tags.csv", list(st.tags))
    write_small("movies.csv", [(m, t, g) for m, (t, g) in sorted(st.movies.items())])
    write_small(
        "links.csv",
        [(m, f"{im:07d}", "" if tm is None else tm) for m, (im, tm) in sorted(st.links.items())],
    )
    if batch == 1:
        names = _genome_tag_names()
        write_small("genome-tags.csv", [(i + 1, t) for i, t in enumerate(names)])
        counts["genome-scores.csv"] = _write_genome(w, out_dir / "genome-scores.csv", report)
    return counts


def _write_genome(w: _World, path: Path, report: Callable[[str, int], None]) -> int:
    """Dense movie x tag relevance in (0, 1], written in movie chunks; printed with <= 5 decimals."""
    n_tags = ML20M_COUNTS["genome_tags"]
    rg0 = _rng(w.seed, 1, "genome")
    tag_power = rg0.uniform(2.0, 9.0, size=n_tags)  # larger = rarer tag
    gids = w.movie_ids[w.genome_pos]
    tag_ids = np.arange(1, n_tags + 1)
    done = 0
    with open(path, "wb") as fh:
        fh.write(_header("genome-scores.csv"))
        for c, s in enumerate(range(0, len(gids), _GENOME_CHUNK_MOVIES)):
            mids = gids[s : s + _GENOME_CHUNK_MOVIES]
            rg = _rng(w.seed, 1, "genome", c)
            x = rg.random((len(mids), n_tags)) ** tag_power[None, :]
            strong = rg.random(x.shape) < 0.025
            x[strong] = 0.45 + 0.55 * rg.random(int(strong.sum()))
            units = np.clip(np.rint(x * 4_000), 1, 4_000).astype(np.int64).ravel() * 25  # 1e-5 units
            n = len(units)
            whole = (units // 100_000).astype(np.uint8) + 48
            frac, _ = _digits(units % 100_000, 5)
            nonzero = frac != 48
            keep = np.ones_like(nonzero)
            # keep a fraction digit unless it and every digit after it are zero (first digit always kept)
            keep[:, 1:] = np.logical_or.accumulate(nonzero[:, ::-1], axis=1)[:, ::-1][:, 1:]
            fh.write(
                _format_rows(
                    n,
                    [
                        _digits(np.repeat(mids, n_tags)),
                        b",",
                        _digits(np.tile(tag_ids, len(mids))),
                        b",",
                        (whole[:, None], None),
                        b".",
                        (frac, keep),
                        b"\r\n",
                    ],
                )
            )
            done += n
            report("genome-scores.csv", done)
    return done
