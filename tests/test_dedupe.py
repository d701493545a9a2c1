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

import pytest

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
    with store.open_current(ix) as snap:
        return dict(snap.db.execute("SELECT doc_id, grp FROM dedupe"))


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
