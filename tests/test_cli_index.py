"""`kashaf index / stats / search / batch` as a user runs them: real subprocesses, real index dirs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from indexer import store
from tests.conftest import ROOT

# The installed console script when there is one, else the same entry point via -m.
_SCRIPT = Path(sys.executable).with_name("kashaf")
KASHAF = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "indexer.cli"]
SEED_LINES = [
    ln
    for f in sorted((ROOT / "seeds").glob("*.txt"))
    for ln in f.read_text("utf-8").splitlines()
    if len(ln) > 60
]


def kashaf(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*KASHAF, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "KASHAF_INDEX": "", **(env or {})},
        timeout=300,
    )


def search_json(index: Path, query: str, *extra: str) -> dict:
    result = kashaf("search", query, "--index", str(index), "--json", *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def write_corpus(path: Path, n: int, prefix: str = "g") -> Path:
    """A generated JSONL corpus of ``n`` articles made of seed sentences."""
    rows = []
    for i in range(n):
        body = " ".join(SEED_LINES[(i * k) % len(SEED_LINES)] for k in range(1, 6))
        rows.append({"id": f"{prefix}{i}", "title": SEED_LINES[i % len(SEED_LINES)][:80], "text": body})
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", "utf-8")
    return path


def test_default_index_is_the_seeds_and_search_finds_them(tmp_path: Path) -> None:
    result = kashaf("index", cwd=tmp_path, env={"KASHAF_INDEX": ""})  # ./kashaf-index
    assert result.returncode == 0, result.stderr
    assert "added 5, updated 0, unchanged 0, removed 0, failed 0" in result.stdout
    index = tmp_path / "kashaf-index"
    assert store.current_generation(index) == 1
    # انسحاب finds seed 000 (which says انسحبت); الرقه finds الرقة.
    assert "000_02962da82e9d9d32" in [h["id"] for h in search_json(index, "انسحاب")["hits"]]
    assert "000_02962da82e9d9d32" in [h["id"] for h in search_json(index, "الرقه")["hits"]]
    # $KASHAF_INDEX is honoured; with no PATH, an existing index is not re-seeded.
    again = kashaf("index", env={"KASHAF_INDEX": str(index)})
    assert again.returncode == 2 and "give PATH" in again.stderr
    human = kashaf("search", "الرقه", "--limit", "2", env={"KASHAF_INDEX": str(index)})
    assert human.returncode == 0 and "hit(s) for 'الرقه'" in human.stdout and "[" in human.stdout


def test_search_json_shape(tmp_path: Path) -> None:
    src = tmp_path / "a.jsonl"
    rows = [
        {
            "id": "d1",
            "title": "غارات على <الرقة>",
            "text": "شنت الطائرات غارات على مدينة الرقة <script>",
            "date": "2017-06-05",
            "source": "الحياة",
            "url": "http://example.org/1",
        },
        {"id": "d2", "text": "قصف مدفعي على أطراف الرقة"},
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    assert kashaf("index", str(src), "--index", str(tmp_path / "ix")).returncode == 0
    out = search_json(tmp_path / "ix", "الرقة", "--limit", "1", "--offset", "0")
    # The contract's keys come first and in this order; later issues may add keys, never rename.
    assert list(out)[:4] == ["query", "total", "hits", "facets"]
    assert (out["query"], out["total"], len(out["hits"])) == ("الرقة", 2, 1)
    assert isinstance(out["facets"], dict)
    hit = out["hits"][0]
    assert list(hit)[:7] == ["id", "title", "date", "source", "url", "score", "snippet"]
    assert (hit["id"], hit["date"], hit["source"], hit["url"]) == (
        "d1",
        "2017-06-05T00:00:00",
        "الحياة",
        "http://example.org/1",
    )
    assert isinstance(hit["score"], float) and hit["score"] > 0
    assert "<mark>الرقة</mark>" in hit["snippet"] and "&lt;script&gt;" in hit["snippet"]
    assert "<script>" not in hit["snippet"]
    second = search_json(tmp_path / "ix", "الرقة", "--limit", "1", "--offset", "1")["hits"][0]
    assert (second["id"], second["date"], second["source"], second["url"]) == ("d2", None, None, None)
    assert search_json(tmp_path / "ix", "غارات قصف", "--op", "and")["total"] == 0
    assert search_json(tmp_path / "ix", "غارات قصف", "--op", "or")["total"] == 2


def test_batch_one_row_per_hit(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    assert kashaf("index", str(ROOT / "seeds"), "--index", str(index)).returncode == 0
    queries = tmp_path / "q.tsv"
    queries.write_text("q1\tانسحاب\nالرقة\nq3\tقمبيز\n\n", "utf-8")
    result = kashaf("batch", str(queries), "--index", str(index), "--limit", "2")
    assert result.returncode == 0, result.stderr
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(r[0], r[2]) for r in rows] == [("q1", "1"), ("q1", "2"), ("الرقة", "1"), ("الرقة", "2")]
    assert all(len(r) == 4 and float(r[3]) > 0 for r in rows)
    single = search_json(index, "انسحاب", "--limit", "2")["hits"]
    assert [r[1] for r in rows[:2]] == [h["id"] for h in single]


def test_bad_inputs_are_reported_and_the_rest_is_indexed(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    (data / "good.txt").write_text("عنوان سليم\nخبر عن قمبيز في الشمال\n", "utf-8")
    (data / "cp1256.txt").write_bytes("عنوان\nخبر عن زرادشت\n".encode("cp1256"))
    (data / "utf16.txt").write_bytes("عنوان\nخبر عن هيرودوت\n".encode("utf-16"))
    (data / "damaged.txt").write_bytes("عنوان\n".encode() + b"\xff\xfe\xfa" + "نص\n".encode())
    (data / "binary.txt").write_bytes(bytes(range(256)) * 8)
    (data / "empty.txt").write_bytes(b"")
    lines = [
        {"id": "j1", "text": "خبر عن أرخميدس", "date": "2018-02-30"},
        "{not json",
        {"id": "j2", "title": "بلا نص"},
        {"id": "j1", "text": "معرف مكرر"},
        {"text": "خبر بلا معرف عن فيثاغورس"},
    ]
    (data / "feed.jsonl").write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False) for x in lines), "utf-8"
    )
    result = kashaf("index", "in", "--index", "ix", cwd=tmp_path)
    assert result.returncode == 1
    problems = [ln for ln in result.stderr.splitlines() if ln.startswith("in/")]
    assert problems == [
        "in/binary.txt:1: binary file (not text)",
        "in/cp1256.txt:1: not UTF-8: decoded as Windows-1256",
        "in/damaged.txt:2: invalid UTF-8 (a few damaged bytes in a UTF-8 file)",
        "in/empty.txt:1: empty file",
        "in/feed.jsonl:1: unparseable date '2018-02-30': kept the document without a date",
        "in/feed.jsonl:2: malformed JSON: Expecting property name enclosed in double quotes (column 2)",
        "in/feed.jsonl:3: missing text",
        "in/feed.jsonl:4: duplicate id 'j1' (first at in/feed.jsonl:1): skipped",
        problems[8],  # the content-hash id, checked below
        "in/utf16.txt:1: decoded as UTF-16 (BOM)",
    ]
    assert problems[8].startswith("in/feed.jsonl:5: no id: using content hash h")
    assert "added 5, updated 0, unchanged 0, removed 0, failed 6" in result.stdout
    assert "7 input problem(s): 6 error(s)" in result.stderr
    for word, doc_id in [("قمبيز", "good"), ("زرادشت", "cp1256"), ("هيرودوت", "utf16"), ("أرخميدس", "j1")]:
        assert [h["id"] for h in search_json(tmp_path / "ix", word)["hits"]] == [doc_id]
    assert search_json(tmp_path / "ix", "فيثاغورس")["total"] == 1
    assert search_json(tmp_path / "ix", "أرخميدس")["hits"][0]["date"] is None


def test_incremental_runs_and_stats(tmp_path: Path) -> None:
    data = tmp_path / "in"
    data.mkdir()
    for f in (ROOT / "seeds").glob("*.txt"):
        (data / f.name).write_bytes(f.read_bytes())
    index = str(tmp_path / "ix")
    assert kashaf("index", str(data), "--index", index).returncode == 0
    same = kashaf("index", str(data), "--index", index)
    assert same.returncode == 0 and same.stdout.startswith("nothing changed; added 0, updated 0, unchanged 5")
    (data / "000_02962da82e9d9d32.txt").write_text("عنوان معدل\nنص معدل عن قمبيز\n", "utf-8")
    edit = kashaf("index", str(data), "--index", index)
    assert "generation 2: added 0, updated 1, unchanged 4, removed 0" in edit.stdout
    (data / "001_fc14a67cbc8c5e77.txt").unlink()
    prune = kashaf("index", str(data), "--index", index, "--prune")
    assert "generation 3: added 0, updated 0, unchanged 4, removed 1, failed 0; 4 documents" in prune.stdout
    stats = json.loads(kashaf("stats", "--index", index, "--json").stdout)
    assert (stats["generation"], stats["documents"]) == (3, 4)
    assert stats["terms"]["body_exact"] > stats["terms"]["body_root"] > 0 and stats["size_bytes"] > 0
    assert {k: stats["last_build"][k] for k in ("added", "updated", "removed", "documents")} == {
        "added": 0,
        "updated": 0,
        "removed": 1,
        "documents": 4,
    }
    assert "documents   4" in kashaf("stats", "--index", index).stdout


def test_concurrent_runs_wait_or_fail_clearly(tmp_path: Path) -> None:
    index = tmp_path / "ix"
    index.mkdir()
    corpus = write_corpus(tmp_path / "c.jsonl", 80)
    with store.write_lock(index):
        busy = kashaf("index", str(corpus), "--index", str(index))
        assert busy.returncode == 75
        assert "being written by another `kashaf index`" in busy.stderr and "--wait" in busy.stderr
        waiting = subprocess.Popen(
            [*KASHAF, "index", str(corpus), "--index", str(index), "--wait", "120"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    out, err = waiting.communicate(timeout=300)  # the lock is released: it goes ahead
    assert waiting.returncode == 0, err
    assert "added 80" in out
    # Two real runs at once on new input: one writes, the other waits and finds nothing left to do.
    more = write_corpus(tmp_path / "more.jsonl", 80, prefix="m")
    runs = [
        subprocess.Popen(
            [*KASHAF, "index", str(corpus), str(more), "--index", str(index), "--wait", "120"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = sorted(p.communicate(timeout=300)[0] for p in runs)
    assert [p.returncode for p in runs] == [0, 0]
    assert "added 80, updated 0, unchanged 80" in outs[0] and outs[1].startswith("nothing changed")
    with store.open_current(index) as snap:
        assert (
            snap.searcher().doc_count() == snap.db.execute("SELECT count(*) FROM docs").fetchone()[0] == 160
        )


def _wait_for(proc: subprocess.Popen, condition: Callable[[], bool]) -> bool:
    """Poll until ``condition()`` holds or the process ends; True when it held first."""
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.001)
    return False


def _new_segment(gdir: Path) -> bool:
    """A shard's new segment file (not a hard link of the previous generation's) exists: a commit is on."""
    for p in gdir.glob("whoosh/*/*.seg"):
        try:
            if p.stat().st_nlink == 1:
                return True
        except FileNotFoundError:  # a merged-away segment being deleted
            continue
    return False


@pytest.mark.parametrize("kill_point", ["generation-dir", "segment-written", "complete-marker"])
def test_sigkill_leaves_the_previous_state_searchable(tmp_path: Path, kill_point: str) -> None:
    index = tmp_path / "ix"
    assert kashaf("index", str(ROOT / "seeds"), "--index", str(index)).returncode == 0
    corpus = write_corpus(tmp_path / "big.jsonl", 300)
    new = store.generation_dir(index, 2)
    points = {
        "generation-dir": new.exists,
        "segment-written": lambda: _new_segment(new),
        "complete-marker": (new / store.COMPLETE).exists,
    }
    proc = subprocess.Popen(
        [*KASHAF, "index", str(corpus), "--index", str(index), "--jobs", "2"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reached = _wait_for(proc, points[kill_point])
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert reached, f"the build ended before {kill_point}"
    # Whatever the kill interrupted, readers see one complete, consistent generation.
    with store.open_current(index) as snap:
        docs = snap.db.execute("SELECT count(*) FROM docs").fetchone()[0]
        assert snap.searcher().doc_count() == docs
        assert (snap.generation, docs) in {(1, 5), (2, 305)}  # 2 only if the kill came after publishing
    assert "000_02962da82e9d9d32" in [h["id"] for h in search_json(index, "الرقة", "--limit", "50")["hits"]]
    # The next run recovers without help.
    rerun = kashaf("index", str(corpus), "--index", str(index))
    assert rerun.returncode == 0, rerun.stderr
    assert "305 documents" in rerun.stdout
    with store.open_current(index) as snap:
        assert snap.searcher().doc_count() == 305
    assert len(store.generations(index)) <= 2
