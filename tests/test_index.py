"""Index building on disk: generations, incremental runs, pruning, recovery, the writer lock."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from indexer import store
from indexer.build import build
from indexer.search import search
from tests.conftest import ROOT

SEEDS = ROOT / "seeds"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A writable copy of the seeds."""
    shutil.copytree(SEEDS, tmp_path / "in")
    return tmp_path / "in"


def ids(index_dir: Path, query: str, op: str = "and") -> list[str]:
    return [h["id"] for h in search(index_dir, query, op=op, limit=50)["hits"]]


def file_digests(directory: Path) -> dict[str, str]:
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def test_build_and_search_three_levels(tmp_path: Path) -> None:
    report = build([SEEDS], tmp_path / "ix", jobs=1)
    assert (report.added, report.documents, report.generation, report.ok) == (5, 5, 1, True)
    # انسحاب (noun) finds seed 000, which only has the verb انسحبت / وانسحبت.
    assert "000_02962da82e9d9d32" in ids(tmp_path / "ix", "انسحاب")
    # الرقه (normalized spelling) finds الرقة; every seed mentions Raqqa or not, exact count checked.
    raqqa = ids(tmp_path / "ix", "الرقه")
    assert "000_02962da82e9d9d32" in raqqa and "002_bbbc06b0482fae28" in raqqa
    # Stopwords alone match nothing; "and" needs every word, "or" any.
    assert search(tmp_path / "ix", "من في على")["total"] == 0
    both = set(ids(tmp_path / "ix", "الرقة موسكو"))
    either = set(ids(tmp_path / "ix", "الرقة موسكو", op="or"))
    assert both == {"002_bbbc06b0482fae28"} and both < either


def test_exact_form_outranks_stem_and_title_outranks_body(tmp_path: Path) -> None:
    src = tmp_path / "docs.jsonl"
    rows = [
        {"id": "stem", "title": "خبر", "text": "أعلنت القوات الانسحاب من المدينة"},
        {"id": "exact", "title": "خبر", "text": "أعلنت القوات انسحبت من المدينة"},
        {"id": "title", "title": "انسحبت القوات", "text": "أعلنت المصادر خبرا من المدينة"},
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    build([src], tmp_path / "ix", jobs=1)
    assert ids(tmp_path / "ix", "انسحبت")[:2] == ["title", "exact"]


def test_unchanged_run_writes_nothing(tmp_path: Path, corpus: Path) -> None:
    ix = tmp_path / "ix"
    build([corpus], ix, jobs=1)
    before = file_digests(ix / "generations")
    report = build([corpus], ix, jobs=1)
    assert (report.generation, report.unchanged, report.added, report.updated) == (None, 5, 0, 0)
    assert store.generations(ix) == [1] and store.current_generation(ix) == 1
    assert file_digests(ix / "generations") == before


def test_update_prune_and_previous_generation_untouched(tmp_path: Path, corpus: Path) -> None:
    ix = tmp_path / "ix"
    build([corpus], ix, jobs=1)
    gen1 = file_digests(store.generation_dir(ix, 1))

    raqqa_before = set(ids(ix, "الرقة", op="or"))
    seed = corpus / "003_e39c371191d3715e.txt"
    seed.write_text(seed.read_text("utf-8") + "\nوأعلن الناطق باسم التحالف عن قمبيز جديد.\n", "utf-8")
    report = build([corpus], ix, jobs=1)
    assert (report.added, report.updated, report.unchanged, report.generation) == (0, 1, 4, 2)
    assert ids(ix, "قمبيز") == ["003_e39c371191d3715e"]
    # The untouched documents are still found as before the update (the added sentence has no الرقة).
    assert raqqa_before and set(ids(ix, "الرقة", op="or")) == raqqa_before
    # Whoosh wrote new files only: the hard-linked files of generation 1 are byte-identical.
    assert file_digests(store.generation_dir(ix, 1)) == gen1

    (corpus / "004_2c5a21b05fd5e448.txt").unlink()
    assert build([corpus], ix, jobs=1).generation is None  # without --prune nothing is removed
    report = build([corpus], ix, prune=True, jobs=1)
    assert (report.removed, report.documents, report.generation) == (1, 4, 3)
    with store.open_current(ix) as snap:
        assert snap.db.execute("SELECT count(*) FROM docs").fetchone()[0] == 4
        assert snap.searcher().doc_count() == 4
    # The current generation and the one before it are kept; older ones are collected.
    assert store.generations(ix) == [2, 3]


def test_prune_keeps_documents_of_files_that_failed_to_read(tmp_path: Path, corpus: Path) -> None:
    ix = tmp_path / "ix"
    build([corpus], ix, jobs=1)
    (corpus / "001_fc14a67cbc8c5e77.txt").write_bytes(b"\x00\x01\x02" * 100)  # now unreadable
    report = build([corpus], ix, prune=True, jobs=1)
    assert (report.removed, report.failed, report.ok) == (0, 1, False)
    assert "001_fc14a67cbc8c5e77" in ids(ix, "حلب")


def test_leftover_generation_of_a_killed_run_is_removed(tmp_path: Path, corpus: Path) -> None:
    ix = tmp_path / "ix"
    build([corpus], ix, jobs=1)
    junk = store.generation_dir(ix, 2) / store.WHOOSH / "0"
    junk.mkdir(parents=True)
    (junk / "MAIN_half.seg").write_bytes(b"partial")
    with store.open_current(ix) as snap:  # readers ignore it: CURRENT still names 1
        assert snap.generation == 1
    (corpus / "new.txt").write_text("عنوان جديد\nنص جديد عن قمبيز\n", "utf-8")
    report = build([corpus], ix, jobs=1)
    assert report.generation == 3 and store.generations(ix) == [1, 3]
    assert ids(ix, "قمبيز") == ["new"]


def test_rebuild_starts_from_scratch(tmp_path: Path, corpus: Path) -> None:
    ix = tmp_path / "ix"
    build([corpus], ix, jobs=1)
    report = build([corpus / "000_02962da82e9d9d32.txt"], ix, rebuild=True, jobs=1)
    assert (report.added, report.documents) == (1, 1)
    assert ids(ix, "حلب", op="or") == ["000_02962da82e9d9d32"]


def test_parallel_shards_give_the_same_results_as_one(tmp_path: Path) -> None:
    src = tmp_path / "docs.jsonl"
    lines = [
        ln for f in sorted(SEEDS.glob("*.txt")) for ln in f.read_text("utf-8").splitlines() if len(ln) > 40
    ]
    rows = [
        {"id": f"p{i}", "title": lines[i % len(lines)], "text": lines[(i * 7) % len(lines)]}
        for i in range(120)
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    one = build([src], tmp_path / "one", jobs=1)
    two = build([src], tmp_path / "two", jobs=2)
    assert one.documents == two.documents == 120
    assert len(store.shard_dirs(store.generation_dir(tmp_path / "two", 1))) == 2
    for query in ("الرقة", "قوات النظام", "داعش حلب"):
        a, b = (search(tmp_path / d, query, limit=200) for d in ("one", "two"))
        assert a["total"] == b["total"] > 0
        # Global statistics: the same documents get the same scores.
        assert sorted((h["id"], h["score"]) for h in a["hits"]) == sorted(
            (h["id"], h["score"]) for h in b["hits"]
        )


def test_writer_lock_is_exclusive(tmp_path: Path, corpus: Path) -> None:
    ix = tmp_path / "ix"
    ix.mkdir()
    with store.write_lock(ix), pytest.raises(store.IndexBusy, match="--wait"):
        build([corpus], ix, jobs=1)
    assert store.current_generation(ix) is None
    assert build([corpus], ix, jobs=1).documents == 5  # free again


def test_edited_analysis_data_reanalyzes_every_stored_document(tmp_path: Path, corpus: Path) -> None:
    # README: "When Kashaf's analysis data changes (for example after editing the gazetteers or
    # analyzers/data/entity_overrides.tsv), the next run re-analyzes every stored document",
    # even those whose files are not given this time. Done for real: a copy of the code whose
    # entity_overrides.tsv a reviewer edits, and `kashaf index` run from that copy.
    code = tmp_path / "code"
    for package in ("analyzers", "indexer"):
        shutil.copytree(ROOT / package, code / package, ignore=shutil.ignore_patterns("__pycache__"))
    other = tmp_path / "other"
    other.mkdir()
    (other / "extra.txt").write_text("عنوان\nقصفت طائرات قمبيز مواقع في مدينة حلب.\n", "utf-8")
    ix = tmp_path / "ix"
    env = {**os.environ, "PYTHONPATH": str(code), "KASHAF_INDEX": ""}

    def kashaf_index(*paths: Path) -> str:
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "indexer.cli",
                "index",
                *map(str, paths),
                "--index",
                str(ix),
                "--jobs",
                "1",
            ],
            cwd=code,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        assert run.returncode == 0, run.stderr
        return run.stdout

    def mentions(doc_id: str) -> list[tuple[str, str]]:
        with store.open_current(ix) as snap:
            text = snap.db.execute("SELECT body FROM docs WHERE id = ?", (doc_id,)).fetchone()[0]
            rows = snap.db.execute(
                "SELECT entity_id, start, \"end\" FROM mentions WHERE doc_id = ? AND field = 'body'",
                (doc_id,),
            ).fetchall()
        return sorted((e, text[a:b]) for e, a, b in rows)

    assert "added 6" in kashaf_index(corpus, other)
    assert kashaf_index(other).startswith("nothing changed")  # same data: nothing to do
    before = mentions("extra")
    assert before, "the tagger found no place in the extra document"
    entity, surface = before[0]
    overrides = code / "analyzers" / "data" / "entity_overrides.tsv"
    with overrides.open("a", encoding="utf-8") as f:
        f.write(f"ignore\t{entity}\t{surface}\ta reviewer's edit made by tests/test_index.py\n")
    out = kashaf_index(other)
    assert "added 0, updated 6, unchanged 0, removed 0" in out, out  # every stored document
    assert (entity, surface) not in mentions("extra")
    assert "000_02962da82e9d9d32" in ids(ix, "انسحاب")  # documents not given this time are kept
    again = kashaf_index(other)
    assert again.startswith("nothing changed"), again  # and the new digest is remembered


def test_words_of_the_written_documents_are_found_while_reading(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's reading hands each batch of rows to word finders (other processes) and
    the new-words step gets exactly the words of the documents written; with documents
    carried from the old store (not read) it finds them itself."""
    from indexer import build as build_module
    from indexer import postings
    from indexer.readers import read_file

    src = tmp_path / "docs.jsonl"
    lines = [
        ln for f in sorted(SEEDS.glob("*.txt")) for ln in f.read_text("utf-8").splitlines() if len(ln) > 40
    ]
    rows = [
        {
            "id": f"p{i}",
            "title": lines[i % len(lines)][:30],
            "text": lines[(i * 7) % len(lines)] + f" كلمة{i}",
        }
        for i in range(120)
    ]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), "utf-8")
    monkeypatch.setattr(build_module._Pending, "BATCH", 25)
    given: list = []
    prime = build_module._prime_words
    monkeypatch.setattr(build_module, "_prime_words", lambda *a: (given.append(a[3]), prime(*a))[1])
    assert build([src], tmp_path / "ix", jobs=2).documents == 120
    want = postings.surfaces(t for r in rows for t in (r["title"], r["text"]))
    assert given == [want]
    assert "119" in want  # the last batch's words too

    gen = build_module._Pending(tmp_path / "other", None, 0, 2)
    try:
        for d in read_file(src, tmp_path, "docs.jsonl"):
            gen.add(d)
        gen.start()
        gen.carried = True
        assert gen.surfaces() is None
    finally:
        gen.close()
