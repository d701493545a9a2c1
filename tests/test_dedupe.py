"""Story groups (indexer/dedupe.py) on a real index updated twice: copies of the real seed
reports (re-titled, trimmed, with boilerplate, from other outlets) join their original's
group incrementally; ``dedupe=1`` in the core, the API, the pages, the CSV and the CLI."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash
from hypothesis import given, settings
from hypothesis import strategies as st

from indexer import dedupe, store
from indexer.build import build
from indexer.search import search
from web import create_app

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
RAQQA = "000_02962da82e9d9d32"  # the regime's withdrawal near Raqqa
SLEEPERS = "003_e39c371191d3715e"  # IS sleeper cells
BOILER = ["تابعونا على تويتر", "جميع الحقوق محفوظة", "اقرأ أيضا: آخر الأخبار"]


def seed(doc_id: str) -> tuple[str, str]:
    """(headline, body) of a seed report."""
    lines = [ln for ln in (SEEDS / f"{doc_id}.txt").read_text("utf-8").splitlines() if ln.strip()]
    return lines[0], "\n".join(lines[1:])


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def first_batch(work: Path) -> Path:
    """Two copies of the Raqqa report by other outlets: re-titled with boilerplate, and trimmed."""
    title, body = seed(RAQQA)
    words = body.split()
    return write_jsonl(
        work / "batch1.jsonl",
        [
            {
                "id": "copy-b",
                "title": "عاجل: النظام ينسحب من موقع قرب الرقة",
                "text": "\n".join([BOILER[0], body, BOILER[1]]),
                "source": "وكالة الشمال",
                "date": "2017-03-02T10:00:00",
                "url": "https://example.org/b",
            },
            {
                "id": "copy-c",
                "title": title,
                "text": " ".join(words[: int(len(words) * 0.7)]),
                "source": "صحيفة الفرات",
                "date": "2017-03-03T08:30:00",
            },
        ],
    )


def second_batch(work: Path) -> Path:
    """A copy of the sleeper-cells report, and a report of another story."""
    _title, body = seed(SLEEPERS)
    return write_jsonl(
        work / "batch2.jsonl",
        [
            {
                "id": "copy-d",
                "title": "خلايا التنظيم النائمة تعود إلى الرقة",
                "text": body + "\n" + BOILER[2],
                "source": "موقع الجزيرة السورية",
                "date": "2017-04-01T12:00:00",
            },
            {
                "id": "other-1",
                "title": "افتتاح مدرسة في الرقة",
                "text": "افتتحت لجنة التربية في الرقة مدرسة ابتدائية جديدة في حي المشلب بعد ترميمها، "
                "وقال مدير المدرسة إن ثلاثمئة تلميذ سجلوا فيها خلال الأسبوع الأول، وإن الدروس "
                "تبدأ صباح الأحد المقبل بعد توزيع الكتب على التلاميذ.",
                "source": "وكالة الشمال",
                "date": "2017-04-02T09:00:00",
            },
        ],
    )


def build_story_index(work: Path, batches: int = 2) -> Path:
    """The seeds, then ``batches`` incremental updates (each its own build and generation)."""
    ix = work / "index"
    build([SEEDS], ix, jobs=1)
    if batches >= 1:
        build([SEEDS, first_batch(work)], ix, jobs=1)
    if batches >= 2:
        build([SEEDS, work / "batch1.jsonl", second_batch(work)], ix, jobs=1)
    return ix


def groups_of(ix: Path) -> dict[str, str]:
    """Each report's group, from the store; checked against the group codes searches read
    (the build's memory-mapped array): one code per group, a different one per group."""
    with store.open_current(ix) as snap:
        g = dict(snap.db.execute("SELECT doc_id, grp FROM dedupe"))
        s = snap.searcher()
        code = dedupe.groups(s, snap.db).code
        assert isinstance(code.base, np.memmap)  # mapped (termstore.mapped_array), not computed
        by_doc = {fields["id"]: int(code[docnum]) for docnum, fields in s.reader().iter_docs()}
        assert set(by_doc) == set(g)
        pairs = {(g[d], c) for d, c in by_doc.items()}
        assert len(pairs) == len(set(g.values())) == len(set(by_doc.values()))
        return g


@pytest.fixture(scope="module")
def ix(tmp_path_factory) -> Path:
    return build_story_index(tmp_path_factory.mktemp("stories"))


def test_copies_join_their_original_incrementally(tmp_path: Path) -> None:
    ix = tmp_path / "index"
    build([SEEDS], ix, jobs=1)
    assert set(groups_of(ix).values()) == {p.stem for p in SEEDS.glob("*.txt")}  # five stories
    logs: list[str] = []
    build([SEEDS, first_batch(tmp_path)], ix, jobs=1, log=logs.append)
    # Only the two new reports were signed and compared: nothing was regrouped from scratch.
    assert any("grouped 2 document(s): 2 joined" in m for m in logs), logs
    g = groups_of(ix)
    assert g["copy-b"] == g["copy-c"] == g[RAQQA] == RAQQA
    logs.clear()
    build([SEEDS, tmp_path / "batch1.jsonl", second_batch(tmp_path)], ix, jobs=1, log=logs.append)
    assert any("grouped 2 document(s): 1 joined" in m for m in logs), logs
    g = groups_of(ix)
    assert g["copy-d"] == SLEEPERS and g["other-1"] == "other-1"
    assert len(set(g.values())) == 6
    # An update that turns a copy into another story takes it out of the group.
    rows = [json.loads(x) for x in (tmp_path / "batch1.jsonl").read_text("utf-8").splitlines()]
    rows[0]["text"] = seed("004_2c5a21b05fd5e448")[1]
    write_jsonl(tmp_path / "batch1.jsonl", rows)
    build([SEEDS, tmp_path / "batch1.jsonl", tmp_path / "batch2.jsonl"], ix, jobs=1)
    g = groups_of(ix)
    assert g["copy-b"] == "004_2c5a21b05fd5e448" and g["copy-c"] == RAQQA


def test_signature_ignores_spelling_and_tells_stories_apart() -> None:
    a, b = seed(RAQQA)[1], seed(SLEEPERS)[1]
    assert dedupe.similarity(dedupe.signature(a), dedupe.signature(a.replace("أ", "ا"))) == 1.0
    assert dedupe.similarity(dedupe.signature(a), dedupe.signature(b)) < 0.1
    assert dedupe.signature("قصف على حلب") is None  # too short to compare


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**32 - 1), max_size=600))
def test_signatures_are_datasketchs(values: list[int]) -> None:
    """A report's signature is what datasketch's MinHash gives its shingle hashes (the
    array path the indexer takes and ``update_batch`` value by value)."""
    perms, scheme = dedupe._permutations()
    m = MinHash(num_perm=dedupe.NUM_PERM, hashfunc=int, permutations=perms, scheme=scheme)
    m.update_batch(values)
    got = dedupe._minhash(np.array(values, dtype=np.uint64))
    assert got.dtype == np.uint32 and got.tolist() == m.hashvalues.astype(np.uint32).tolist()


def test_bands_are_datasketchs_optimal_banding() -> None:
    """The banding written out in indexer/dedupe.py is what datasketch computes for the
    threshold and weights (it is not computed there: that imports scipy)."""
    from datasketch.lsh import _optimal_param

    assert (dedupe.BANDS, dedupe.ROWS) == _optimal_param(dedupe.THRESHOLD, dedupe.NUM_PERM, 0.2, 0.8)


def test_importing_the_search_core_leaves_datasketch_and_scipy_out() -> None:
    """A web worker or a CLI run that signs nothing does not load datasketch (and scipy,
    which datasketch's package imports): 0.3 s and tens of MB per process."""
    code = (
        "import sys; import indexer.build, indexer.search, indexer.cli, web; "
        "print(sorted(m for m in ('datasketch', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_dedupe_counts_stories(ix: Path) -> None:
    plain = search(ix, "الرقة", limit=50)
    grouped = search(ix, "الرقة", limit=50, dedupe=True)
    plain_ids = {h["id"] for h in plain["hits"]}
    assert {"copy-b", "copy-c", "copy-d", RAQQA, SLEEPERS} <= plain_ids
    assert grouped["total"] == plain["total"] - 3  # two copies of one story, one of another
    by_id = {h["id"]: h for h in grouped["hits"]}
    assert len(by_id) == grouped["total"]
    assert len({h["group"] for h in grouped["hits"]}) == grouped["total"]
    raqqa = next(h for h in grouped["hits"] if h["group"] == RAQQA)
    assert {c["id"] for c in raqqa["copies"]} == {RAQQA, "copy-b", "copy-c"} - {raqqa["id"]}
    assert all(h["group"] for h in plain["hits"]) and "copies" not in plain["hits"][0]

    def facet(r: dict, kind: str, key: str) -> int:
        return next(f["count"] for f in r["facets"][kind] if f.get("id", f.get("month")) == key)

    assert facet(grouped, "place", "sy-raqqa") == facet(plain, "place", "sy-raqqa") - 3
    months = {m["month"]: m["count"] for m in grouped["facets"]["date"]}
    assert (
        months["2017-03"] == 1 and {m["month"]: m["count"] for m in plain["facets"]["date"]}["2017-03"] == 2
    )


def test_dedupe_with_date_sort_keeps_the_newest_copy(ix: Path) -> None:
    r = search(ix, "الرقة", sort="date", dedupe=True, limit=50)
    raqqa = next(h for h in r["hits"] if h["group"] == RAQQA)
    assert raqqa["id"] == "copy-c"  # the newest of the three


def test_api_pages_csv(ix: Path) -> None:
    client = create_app(ix).test_client()
    api = client.get("/api/search", query_string={"q": "الرقة", "dedupe": "1", "limit": 50}).json
    assert any(len(h.get("copies", [])) == 2 for h in api["hits"])
    assert client.get("/api/search", query_string={"q": "x", "dedupe": "maybe"}).status_code == 400
    doc = client.get(f"/api/documents/{RAQQA}").json
    assert doc["group"] == RAQQA
    assert [m["id"] for m in doc["group_members"]] == ["copy-b", "copy-c", RAQQA]  # dated first, oldest first
    page = client.get("/search", query_string={"q": "الرقة", "dedupe": "1"}).data.decode()
    assert '<details class="copies">' in page and "+2 وسائل إعلام أخرى" in page
    assert 'name="dedupe" value="1" checked' in page
    assert "/documents/copy-b" in page or "/documents/copy-c" in page
    doc_page = client.get("/documents/copy-b").data.decode()
    assert "نسخ الخبر نفسه" in doc_page and "صحيفة الفرات" in doc_page and f"/documents/{RAQQA}" in doc_page
    rows = list(
        csv.DictReader(io.StringIO(client.get("/search.csv?q=الرقة&dedupe=1").data.decode("utf-8-sig")))
    )
    assert rows and all(r["group"] for r in rows)
    assert len(rows) == api["total"] and len({r["group"] for r in rows}) == len(rows)


def test_cli_dedupe(ix: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "indexer.cli", "search", "الرقة", "--dedupe", "--index", str(ix)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert "+2 other outlet(s)" in out
    js = subprocess.run(
        [sys.executable, "-m", "indexer.cli", "search", "الرقة", "--dedupe", "--json", "--index", str(ix)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert json.loads(js)["total"] == search(ix, "الرقة", dedupe=True)["total"]


# Pairs from benchmarks/dedupe.py's sample that a reader judged one story told by two outlets
# (Sky News Arabia and Al Arabiya re-writing the same wire copy).
ANT_SAME = [
    ("SK-sport-1644-20180614", "AL-sport-1969-20180615"),  # Griezmann stays at Atlético
    ("SK-internationalNews-1934-20180603", "AL-internationalNews-1435-20180603"),  # Duterte
    ("SK-internationalNews-1534-20180512", "AL-internationalNews-1134-20180512"),  # Myanmar clashes
]


def test_real_wire_copies_group_in_ant() -> None:
    """On ANT (real reports nobody here wrote): copies by two outlets join one group, and
    none of 400 other reports joins theirs."""
    import gzip
    import random
    import sqlite3

    from tests.conftest import shared_file

    path = shared_file("corpus/ant_multisource_v2.1.jsonl.gz")
    wanted = {i for pair in ANT_SAME for i in pair}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        articles = [json.loads(line) for line in f]
    rng = random.Random(7)
    others = rng.sample([a for a in articles if a["id"] not in wanted], 400)
    picked = [a for a in articles if a["id"] in wanted] + others
    con = sqlite3.connect(":memory:")
    con.executescript(store.DDL)
    con.executemany(
        "INSERT INTO docs (id, title, body, date, source, url, hash, path, line) "
        "VALUES (?,?,?,?,?,?,'','',0)",
        [(a["id"], a["title"], a["text"], a["date"], a["source"], a["url"]) for a in picked],
    )
    dedupe.update(con, [])
    grp = dict(con.execute("SELECT doc_id, grp FROM dedupe"))
    for a, b in ANT_SAME:
        assert grp[a] == grp[b], (a, b)
    pair_groups = {grp[a] for a, _ in ANT_SAME}
    assert not [a["id"] for a in others if grp[a["id"]] in pair_groups]


# --- the grouping itself against the plain algorithm it replaced ------------------------


def _reference_update(con, changed: list[str], signatures: dict[str, bytes | None]) -> None:
    """The grouping as it was written before it became one sort (a dict of each band's
    members, one document at a time): the oracle the sorted version must equal."""
    import numpy as np

    dedupe.ensure(con)
    for doc_id in changed:
        con.execute("DELETE FROM dedupe WHERE doc_id = ?", (doc_id,))
        con.execute("DELETE FROM dedupe_bands WHERE doc_id = ?", (doc_id,))
    todo = con.execute(
        "SELECT id, title, body FROM docs WHERE id NOT IN (SELECT doc_id FROM dedupe) "
        "ORDER BY date IS NULL, date, id"
    ).fetchall()
    work = []
    for doc_id, title, body in todo:
        if doc_id in signatures:
            sig = signatures[doc_id]
            sig = None if sig is None else np.frombuffer(sig, dtype=np.uint32)
        else:
            sig = dedupe.report_signature(title, body)
        work.append((doc_id, sig, dedupe.band_keys(sig[None])[0].tolist() if sig is not None else None))
    bands: dict[int, list[str]] = {}
    known: dict = {}
    for key, other, other_grp, other_sig in con.execute(
        "SELECT b.key, d.doc_id, d.grp, d.sig FROM dedupe_bands b JOIN dedupe d ON d.doc_id = b.doc_id"
    ):
        bands.setdefault(key, []).append(other)
        known[other] = (other_grp, np.frombuffer(other_sig, dtype=np.uint32))
    for doc_id, sig, keys in work:
        grp = doc_id
        if sig is not None:
            best, best_sim = None, dedupe.THRESHOLD
            for other in {o for k in keys for o in bands.get(k, ())}:
                other_grp, other_sig = known[other]
                s = dedupe.similarity(sig, other_sig)
                if s >= best_sim and (best is None or s > best_sim or other < best[0]):
                    best, best_sim = (other, other_grp), s
            if best is not None:
                grp = best[1]
            for k in keys:
                bands.setdefault(k, []).append(doc_id)
                con.execute("INSERT INTO dedupe_bands VALUES (?, ?)", (k, doc_id))
            known[doc_id] = (grp, sig)
        con.execute(
            "INSERT INTO dedupe VALUES (?, ?, ?)", (doc_id, grp, None if sig is None else sig.tobytes())
        )


def _synthetic_signatures(rng, n: int) -> dict[str, bytes | None]:
    """Stories of one to six copies: each copy keeps a random share (30-100 %) of its story's
    slots, so similarities fall on both sides of THRESHOLD and tie often (whole bands equal);
    some documents too short to sign."""
    import numpy as np

    out: dict[str, bytes | None] = {}
    i = 0
    while i < n:
        base = rng.integers(0, 2**32, dedupe.NUM_PERM, dtype=np.uint64).astype(np.uint32)
        for _ in range(int(rng.integers(1, 7))):
            sig = base.copy()
            # whole bands kept or redrawn: copies share bands (candidates) at chosen similarities
            for b in np.flatnonzero(rng.random(dedupe.BANDS) > rng.uniform(0.3, 1.0)):
                rows = slice(b * dedupe.ROWS, (b + 1) * dedupe.ROWS)
                sig[rows] = rng.integers(0, 2**32, dedupe.ROWS, dtype=np.uint64).astype(np.uint32)
            out[f"d{i:05d}"] = None if rng.random() < 0.03 else sig.tobytes()
            i += 1
    return out


def test_grouping_by_one_sort_equals_the_band_dict_algorithm(tmp_path, monkeypatch):
    """dedupe.update (candidates from one sort of all band keys) gives the same groups, band
    rows and signatures as the dict-of-members algorithm, on a new store and on two updates
    (new reports joining old groups, changed reports regrouped), with dates out of order."""
    import numpy as np

    monkeypatch.setattr(dedupe, "KEY_CHUNK", 700)  # band keys in several chunks, the last short
    monkeypatch.setattr(dedupe, "_BAND_ROWS", 7000)  # band rows inserted in several chunks too

    rng = np.random.default_rng(7)
    sigs = _synthetic_signatures(rng, 3000)
    ids = list(sigs)
    rng.shuffle(ids)
    dates = {d: f"2017-{1 + int(rng.integers(0, 12)):02d}-{1 + int(rng.integers(0, 28)):02d}" for d in ids}
    for d in ids[::50]:
        dates[d] = None  # undated reports come last
    cons = [store.open_build_db(tmp_path / f"{name}.sqlite") for name in ("sorted", "reference")]

    def add(con, batch):
        con.executemany(
            "INSERT OR REPLACE INTO docs (id, title, body, date, hash, path, line) "
            "VALUES (?, '', '', ?, '', '', 0)",
            [(d, dates[d]) for d in batch],
        )

    batches = [ids[:2000], ids[2000:2600], ids[2600:]]
    for k, batch in enumerate(batches):
        changed = list(batch)
        if k == 2:  # an update: a few old reports changed (new signatures, new dates)
            for d in ids[:40]:
                sigs[d] = rng.integers(0, 2**32, dedupe.NUM_PERM, dtype=np.uint64).astype(np.uint32).tobytes()
                dates[d] = "2016-06-01"
            changed += ids[:40]
        sorted_con, ref_con = cons
        add(sorted_con, changed)
        add(ref_con, changed)
        got = dedupe.update(sorted_con, changed, None, {d: sigs[d] for d in changed})
        _reference_update(ref_con, changed, {d: sigs[d] for d in changed})
        for table in ("dedupe", "dedupe_bands"):
            mine = sorted(sorted_con.execute(f"SELECT * FROM {table}"))
            theirs = sorted(ref_con.execute(f"SELECT * FROM {table}"))
            assert mine == theirs, (k, table)
        joined = sorted_con.execute("SELECT count(*) FROM dedupe WHERE grp != doc_id").fetchone()[0]
        assert joined > 100 and got["joined"] > 0  # the stories did group


def test_a_store_of_the_earlier_bands_layout_is_converted(tmp_path, monkeypatch):
    """A store made before the bands became one ``WITHOUT ROWID`` table (a rowid table and an
    index on each column, as an index built by an earlier version holds) is converted by its
    next grouping: the table has the new layout, its rows are the band keys of the stored
    signatures (a stale row of the old table is gone), and the update groups as on a store
    made in the new layout."""
    import numpy as np

    # signatures read and band rows inserted in several chunks, the last ones short
    monkeypatch.setattr(dedupe, "KEY_CHUNK", 170)
    monkeypatch.setattr(dedupe, "_BAND_ROWS", 2000)
    rng = np.random.default_rng(11)
    sigs = _synthetic_signatures(rng, 600)
    ids = list(sigs)
    old_ddl = dedupe.DDL.replace(
        dedupe.DDL[dedupe.DDL.index("CREATE TABLE IF NOT EXISTS dedupe_bands") :],
        "CREATE TABLE IF NOT EXISTS dedupe_bands (key INTEGER NOT NULL, doc_id TEXT NOT NULL);\n"
        "CREATE INDEX IF NOT EXISTS dedupe_bands_key ON dedupe_bands(key);\n"
        "CREATE INDEX IF NOT EXISTS dedupe_bands_doc ON dedupe_bands(doc_id);\n",
    )
    cons = {}
    for name in ("old", "new"):
        con = cons[name] = store.open_build_db(tmp_path / f"{name}.sqlite")
        con.executemany(
            "INSERT INTO docs (id, title, body, date, hash, path, line) VALUES (?, '', '', ?, '', '', 0)",
            [(d, f"2017-01-{1 + k % 28:02d}") for k, d in enumerate(ids)],
        )
        if name == "old":
            con.executescript(old_ddl)
        dedupe.update(con, ids[:500], None, {d: sigs[d] for d in ids[:500]})
    old = cons["old"]
    # make the first grouping's store look as an earlier version left it
    rows = old.execute("SELECT key, doc_id FROM dedupe_bands").fetchall()
    old.execute("DROP TABLE dedupe_bands")
    old.executescript(old_ddl)
    old.executemany("INSERT INTO dedupe_bands VALUES (?, ?)", [*rows, (12345, ids[0])])  # one stale row
    old.commit()
    assert (
        "WITHOUT ROWID"
        not in old.execute("SELECT sql FROM sqlite_master WHERE name = 'dedupe_bands'").fetchone()[0]
    )

    changed = ids[500:] + ids[:20]  # new reports, and a few old ones changed
    for d in ids[:20]:
        sigs[d] = rng.integers(0, 2**32, dedupe.NUM_PERM, dtype=np.uint64).astype(np.uint32).tobytes()
    for con in cons.values():
        dedupe.update(con, changed, None, {d: sigs[d] for d in changed})
    sql = old.execute("SELECT sql FROM sqlite_master WHERE name = 'dedupe_bands'").fetchone()[0]
    assert "WITHOUT ROWID" in sql.upper()
    assert not old.execute("SELECT name FROM sqlite_master WHERE name LIKE 'dedupe_bands_%'").fetchall()
    assert old.execute("PRAGMA freelist_count").fetchone()[0] < 5  # vacuumed: the old pages are not kept
    for table in ("dedupe", "dedupe_bands"):
        assert sorted(old.execute(f"SELECT * FROM {table}")) == sorted(
            cons["new"].execute(f"SELECT * FROM {table}")
        )
    signed = [(d, s) for d, s in old.execute("SELECT doc_id, sig FROM dedupe WHERE sig IS NOT NULL")]
    keys = dedupe.band_keys(np.stack([np.frombuffer(s, dtype=np.uint32) for _, s in signed]))
    want = sorted((k, d) for (d, _), row in zip(signed, keys.tolist(), strict=True) for k in row)
    assert sorted(old.execute("SELECT key, doc_id FROM dedupe_bands")) == want
