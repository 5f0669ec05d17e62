"""The synthetic generator: GroupLens format and quirks, data shapes, determinism, later batches."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netflix_elt.errors import IngestError
from netflix_elt.movielens.generator import (
    BATCH_EPOCH,
    FILE_HEADERS,
    WINDOW_END,
    WINDOW_START,
    generate,
    parse_scale,
    user_windows,
)

HALF_STARS = [f"{x / 2:.1f}" for x in range(1, 11)]
YEAR_AT_END = re.compile(r"\((\d{4})\)\s*$")
RANGE_AT_END = re.compile(r"\(\d{4}–\d{4}\)\s*$")


def read(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def sha(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    generate(out, scale="small", seed=42)
    return out


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory, small: Path) -> dict[int, Path]:
    result = {1: small}
    for k in (2, 3):
        result[k] = tmp_path_factory.mktemp(f"batch{k}")
        generate(result[k], scale="small", seed=42, batch=k)
    return result


def ratings_of(folder: Path) -> list[tuple[int, int, str, int]]:
    return [(int(u), int(m), r, int(t)) for u, m, r, t in read(folder / "ratings.csv")[1:]]


# --------------------------------------------------------------------------- format


def test_parse_scale() -> None:
    assert parse_scale("small") == 100_836
    assert parse_scale("500k") == 500_000
    assert parse_scale("2m") == 2_000_000
    assert parse_scale("20m") == 20_000_263
    assert parse_scale("123456") == 123_456
    assert parse_scale(5000) == 5000
    for bad in ("huge", "-5", "12x", "10"):
        with pytest.raises(IngestError, match=re.escape(repr(bad))):
            parse_scale(bad)


def test_invalid_arguments_name_the_setting(tmp_path: Path) -> None:
    with pytest.raises(IngestError, match="seed"):
        generate(tmp_path, seed=-1)
    with pytest.raises(IngestError, match="batch"):
        generate(tmp_path, batch=0)


def test_exact_counts_at_small_scale(small: Path) -> None:
    counts = {name: len(read(small / name)) - 1 for name in FILE_HEADERS}
    assert counts["ratings.csv"] == 100_836
    assert counts["tags.csv"] == 3_683
    assert counts["movies.csv"] == 9_742
    assert counts["links.csv"] == 9_742
    assert counts["genome-tags.csv"] == 1_128
    genome_movies = {row[0] for row in read(small / "genome-scores.csv")[1:]}
    assert 100 <= len(genome_movies) <= 1_000
    assert counts["genome-scores.csv"] == len(genome_movies) * 1_128
    assert len({row[0] for row in read(small / "ratings.csv")[1:]}) == 610


def test_headers_crlf_utf8(small: Path) -> None:
    for name, header in FILE_HEADERS.items():
        raw = (small / name).read_bytes()
        raw.decode("utf-8")  # strict
        assert raw.startswith((",".join(header) + "\r\n").encode()), name
        assert raw.endswith(b"\r\n"), name
        assert raw.count(b"\n") == raw.count(b"\r\n") == raw.count(b"\r"), name


@pytest.mark.parametrize("name", ["movies.csv", "tags.csv", "links.csv", "genome-tags.csv"])
def test_quoting_round_trips_with_python_csv(small: Path, name: str) -> None:
    raw = (small / name).read_bytes()
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(read(small / name))
    assert buf.getvalue().encode("utf-8") == raw
    # and quotes appear only around fields that need them
    quoted = re.findall(r'(?:^|,)"((?:[^"]|"")*)"(?=,|\r\n)', raw.decode("utf-8"), flags=re.M)
    assert all("," in q or '"' in q for q in quoted)


def test_numbers_are_printed_like_grouplens(small: Path) -> None:
    rows = read(small / "ratings.csv")[1:]
    assert {r[2] for r in rows} <= set(HALF_STARS)
    assert all(r[3].isdigit() and 9 <= len(r[3]) <= 10 for r in rows)
    links = read(small / "links.csv")[1:]
    assert all(len(imdb) == 7 and imdb.isdigit() for _, imdb, _ in links)
    assert any(imdb.startswith("0") for _, imdb, _ in links)
    rel = [r[2] for r in read(small / "genome-scores.csv")[1:2000]]
    assert all(re.fullmatch(r"[01]\.\d{1,5}", x) and 0 < float(x) <= 1 for x in rel)


# --------------------------------------------------------------------------- quirks


def test_every_sources_md_quirk_is_present(small: Path) -> None:
    movies = read(small / "movies.csv")[1:]
    raw_movies = (small / "movies.csv").read_text(encoding="utf-8")
    titles = [t for _, t, _ in movies]
    assert re.search(r'^\d+,"[^"\r\n]*, The \(\d{4}\)",', raw_movies, flags=re.M)  # quoted comma title
    assert sum("," in t for t in titles) > 0.1 * len(titles)
    assert sum(g == "(no genres listed)" for _, _, g in movies) == 34
    no_year = [t for t in titles if not YEAR_AT_END.search(t) and not RANGE_AT_END.search(t)]
    assert len(no_year) >= 1
    assert sum("(2006–2007)" in t for t in titles) == 1
    assert sum(t != t.rstrip() for t in titles) >= 1
    assert sum(not t.isascii() for t in titles) >= 1
    assert any(title == "Misérables, Les" + title[15:] for title in titles)
    by_title: dict[str, set[str]] = defaultdict(set)
    for mid, title, _ in movies:
        by_title[title].add(mid)
    assert any(len(ids) >= 2 for ids in by_title.values())
    assert any('"' in t for t in titles)

    tags = read(small / "tags.csv")[1:]
    raw_tags = (small / "tags.csv").read_text(encoding="utf-8")
    assert '"""artsy"""' in raw_tags
    assert any(t == '"artsy"' for _, _, t, _ in tags)
    texts = {t for _, _, t, _ in tags}
    assert len({t.lower() for t in texts}) < len(texts)  # case variants of the same tag

    links = read(small / "links.csv")[1:]
    assert sum(tmdb == "" for _, _, tmdb in links) == 8
    rated = {r[1] for r in read(small / "ratings.csv")[1:]}
    assert {mid for mid, _, _ in movies} - rated  # movies without ratings
    assert rated <= {mid for mid, _, _ in movies}
    assert {m for _, m, _, _ in tags} <= {mid for mid, _, _ in movies}


# --------------------------------------------------------------------------- shapes


def test_rating_shapes(small: Path) -> None:
    rows = ratings_of(small)
    per_user = Counter(u for u, *_ in rows)
    assert min(per_user.values()) >= 20
    activity = sorted(per_user.values())
    assert activity[-1] > 8 * activity[len(activity) // 2]  # heavy-tailed users
    hist = Counter(r for _, _, r, _ in rows)
    assert set(hist) == set(HALF_STARS)
    top_two = [r for r, _ in hist.most_common(2)]
    assert top_two == ["4.0", "3.0"]
    whole = sum(n for r, n in hist.items() if r.endswith(".0"))
    assert whole > 1.5 * (len(rows) - whole)
    per_movie = sorted(Counter(m for _, m, _, _ in rows).values(), reverse=True)
    top_decile = sum(per_movie[: len(per_movie) // 10])
    assert top_decile > 0.5 * len(rows)  # long-tailed popularity
    assert per_movie[0] > 0.3 * len(per_user)


def test_unique_user_movie_pairs(small: Path) -> None:
    rows = ratings_of(small)
    pairs = [(u, m) for u, m, _, _ in rows]
    assert len(set(pairs)) == len(pairs)
    assert pairs == sorted(pairs)


def test_timestamps_stay_in_each_users_window(small: Path) -> None:
    start, end = user_windows("small", 42)
    assert (start >= WINDOW_START).all() and (end <= WINDOW_END).all() and (start <= end).all()
    spans: dict[int, list[int]] = {}
    for u, _, _, t in ratings_of(small):
        assert start[u - 1] <= t <= end[u - 1]
        lo_hi = spans.setdefault(u, [t, t])
        lo_hi[0], lo_hi[1] = min(lo_hi[0], t), max(lo_hi[1], t)
    for u, _, _, t in read(small / "tags.csv")[1:]:
        assert start[int(u) - 1] <= int(t) <= end[int(u) - 1]
    one_day = sum(hi - lo <= 86_400 for lo, hi in spans.values())
    assert one_day > 0.2 * len(spans)  # many users rate in one session, unlike uniform timestamps


def test_genome_is_dense(small: Path) -> None:
    tag_ids = [int(r[0]) for r in read(small / "genome-tags.csv")[1:]]
    assert tag_ids == list(range(1, 1_129))
    per_movie: dict[str, list[int]] = defaultdict(list)
    for mid, tid, rel in read(small / "genome-scores.csv")[1:]:
        per_movie[mid].append(int(tid))
        assert 0 < float(rel) <= 1
    assert all(ids == tag_ids for ids in per_movie.values())
    assert set(per_movie) <= {r[0] for r in read(small / "movies.csv")[1:]}


def test_same_seed_same_bytes_and_other_seed_differs(small: Path, tmp_path: Path) -> None:
    generate(tmp_path / "again", scale="small", seed=42)
    assert sha(tmp_path / "again") == sha(small)
    generate(tmp_path / "other", scale=2_000, seed=43)
    generate(tmp_path / "other2", scale=2_000, seed=44)
    assert sha(tmp_path / "other")["ratings.csv"] != sha(tmp_path / "other2")["ratings.csv"]


def test_progress_is_reported(tmp_path: Path) -> None:
    seen: dict[str, int] = {}
    counts = generate(tmp_path, scale=1_000, progress=lambda name, rows: seen.__setitem__(name, rows))
    assert seen == counts
    assert counts["ratings.csv"] == 1_000


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(min_value=100, max_value=4_000), seed=st.integers(min_value=0, max_value=2**32))
def test_any_small_scale_is_exact_and_quirky(tmp_path_factory: pytest.TempPathFactory, n: int, seed: int) -> None:
    out = tmp_path_factory.mktemp("hyp")
    counts = generate(out, scale=n, seed=seed)
    rows = ratings_of(out)
    assert counts["ratings.csv"] == len(rows) == n
    assert min(Counter(u for u, *_ in rows).values()) >= 20
    assert len({(u, m) for u, m, _, _ in rows}) == n
    movies = read(out / "movies.csv")[1:]
    assert len(movies) == counts["movies.csv"] >= 200
    assert sum("(2006–2007)" in t for _, t, _ in movies) == 1
    assert any(g == "(no genres listed)" for *_, g in movies)
    assert any(t.endswith(" ") for _, t, _ in movies)
    assert '"""artsy"""' in (out / "tags.csv").read_text(encoding="utf-8")
    assert counts["genome-scores.csv"] == 1_128 * len({r[0] for r in read(out / "genome-scores.csv")[1:]})


# --------------------------------------------------------------------------- later batches


def test_batch2_is_a_delta_plus_full_extracts(batches: dict[int, Path]) -> None:
    b1, b2 = batches[1], batches[2]
    assert not (b2 / "genome-scores.csv").exists() and not (b2 / "genome-tags.csv").exists()
    r1 = {(u, m): (r, t) for u, m, r, t in ratings_of(b1)}
    delta = ratings_of(b2)
    assert 0.005 * len(r1) <= len(delta) <= 0.015 * len(r1)
    pairs = [(u, m) for u, m, _, _ in delta]
    assert len(set(pairs)) == len(pairs)
    assert min(t for *_, t in delta) >= BATCH_EPOCH > max(t for _, t in r1.values())
    rerated = [(u, m, r) for u, m, r, _ in delta if (u, m) in r1]
    assert len(rerated) >= 0.05 * len(delta)
    assert all(r != r1[(u, m)][0] for u, m, r in rerated)
    old_users = {u for u, _ in r1}
    new_users = Counter(u for u, _, _, _ in delta if u not in old_users)
    assert new_users and min(new_users) > max(old_users)
    assert min(new_users.values()) >= 20
    assert any((u, m) not in r1 and u in old_users for u, m, _, _ in delta)

    m1 = {mid: (t, g) for mid, t, g in read(b1 / "movies.csv")[1:]}
    m2 = {mid: (t, g) for mid, t, g in read(b2 / "movies.csv")[1:]}
    assert set(m1) < set(m2)
    new_movies = set(m2) - set(m1)
    assert min(int(x) for x in new_movies) > max(int(x) for x in m1)
    assert any(m2[mid] != m1[mid] for mid in m1)  # corrections
    assert {r[0] for r in read(b2 / "links.csv")[1:]} == set(m2)
    assert any(str(m) in new_movies for _, m, _, _ in delta)  # new movies get ratings

    t1 = {(int(u), int(m), t): int(ts) for u, m, t, ts in read(b1 / "tags.csv")[1:]}
    t2 = {(int(u), int(m), t): int(ts) for u, m, t, ts in read(b2 / "tags.csv")[1:]}
    um2 = {(u, m) for u, m, _ in t2}
    deleted = [k for k in t1 if k not in t2 and k[:2] not in um2]
    retexted = [k for k in t1 if k not in t2 and k[:2] in um2]
    restamped = [k for k in t1 if k in t2 and t2[k] > t1[k]]
    added = [k for k in t2 if k[:2] not in {(u, m) for u, m, _ in t1}]
    assert deleted and retexted and restamped and added


def test_batch3_builds_on_batch2(batches: dict[int, Path]) -> None:
    b1, b2, b3 = batches[1], batches[2], batches[3]
    latest = {(u, m): r for u, m, r, _ in ratings_of(b1)}
    latest.update({(u, m): r for u, m, r, _ in ratings_of(b2)})
    d3 = ratings_of(b3)
    assert min(t for *_, t in d3) > max(t for *_, t in ratings_of(b2))
    rerated = [(u, m, r) for u, m, r, _ in d3 if (u, m) in latest]
    assert rerated and all(latest[(u, m)] != r for u, m, r in rerated)
    assert {r[0] for r in read(b2 / "movies.csv")[1:]} < {r[0] for r in read(b3 / "movies.csv")[1:]}
    new_users2 = {u for u, *_ in ratings_of(b2)} - {u for u, *_ in ratings_of(b1)}
    new_users3 = {u for u, *_ in d3} - {u for u, *_ in ratings_of(b1)} - new_users2
    assert new_users3 and min(new_users3) > max(new_users2)


def test_later_batches_are_deterministic(batches: dict[int, Path], tmp_path: Path) -> None:
    generate(tmp_path, scale="small", seed=42, batch=3)
    assert sha(tmp_path) == sha(batches[3])
