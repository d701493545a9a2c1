"""Unlucky and hostile input files: one bad record never stops a build (issue 13).

Every case runs the real ``kashaf index`` on real files, then reads the index back.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import zlib
from pathlib import Path

import pytest

from benchmarks.load import KASHAF, ROOT, kashaf_index
from indexer import store
from indexer.readers import MAX_TEXT_CHARS, TooLarge, read_bytes, read_file
from indexer.search import search

ARTICLE = "انسحبت قوات النظام من مدينة الرقة بعد معارك عنيفة مع مقاتلي المعارضة"


def line(i: int, **extra) -> bytes:
    row = {"id": f"d{i}", "title": f"خبر {i}", "text": f"{ARTICLE} رقم {i}", **extra}
    return json.dumps(row, ensure_ascii=False).encode() + b"\n"


def problems(run: subprocess.CompletedProcess) -> list[str]:
    return [ln for ln in run.stderr.splitlines() if ".jsonl" in ln or ".txt" in ln or ".csv" in ln]


def count(index_dir: Path) -> int:
    with store.open_current(index_dir) as snap:
        return snap.db.execute("SELECT COUNT(*) FROM docs").fetchone()[0]


def test_bad_records_are_skipped_one_by_one(tmp_path: Path) -> None:
    """Each record that used to abort the whole build is one `file:line: reason`; the rest is indexed."""
    src = tmp_path / "in"
    src.mkdir()
    data = bytearray()
    for i in range(1, 301):
        if i == 150:
            data += line(i)[:-20] + b"\xff" + line(i)[-20:]  # one damaged byte
        elif i == 151:
            data += b"[" * 100_000 + b"\n"  # json.loads: RecursionError
        elif i == 152:
            data += line(i, date="0001-01-01T00:00:00+05:00")  # astimezone(UTC) overflowed
        elif i == 153:
            data += line(i, date="9999-12-31T23:59:59-05:00")
        elif i == 154:
            data += json.dumps({"id": "s\ud800", "text": ARTICLE + " \ud800"}).encode() + b"\n"
        elif i == 155:  # legal inside JSON strings; json.dumps(ensure_ascii=False) writes them raw
            data += line(i, title="فاصل\u2028سطر\u2029فقرة\u0085النهاية")
        elif i == 3:
            data += line(i)[:-3] + b"\x00" + line(i)[-3:]  # a NUL in the first 4 KB: not a binary file
        else:
            data += line(i)
    (src / "mixed.jsonl").write_bytes(bytes(data))
    run = kashaf_index(tmp_path / "ix", src)
    assert run.returncode == 1, run.stderr
    assert "Traceback" not in run.stderr
    shown = problems(run)
    assert any(p.endswith("mixed.jsonl:150: invalid UTF-8 (damaged bytes): line skipped") for p in shown), (
        shown
    )
    assert any(p.endswith("mixed.jsonl:151: malformed JSON: nested too deeply") for p in shown), shown
    assert any(":154: lone surrogate" in p for p in shown), shown
    assert any(":3: malformed JSON: Invalid control character" in p for p in shown), shown
    assert len([p for p in shown if "mixed.jsonl" in p]) == 4, shown
    assert "failed 3" in run.stdout, run.stdout  # the damaged line, the nesting, the NUL
    assert count(tmp_path / "ix") == 297
    with store.open_current(tmp_path / "ix") as snap:
        db = snap.db
        assert db.execute("SELECT line FROM docs WHERE id = 'd200'").fetchone()[0] == 200  # lines not shifted
        title = db.execute("SELECT title FROM docs WHERE id = 'd155'").fetchone()[0]
        assert title == "فاصل\u2028سطر\u2029فقرة\u0085النهاية"
        assert (
            db.execute("SELECT date FROM docs WHERE id = 'd152'").fetchone()[0] == "0001-01-01T00:00:00+05:00"
        )
        assert db.execute("SELECT COUNT(*) FROM docs WHERE id = 's\ufffd'").fetchone()[0] == 1
        r = search(snap, "الرقة", date_from="9999", date_to="9999")
        assert [h["id"] for h in r["hits"]] == ["d153"]
        months = {
            m["month"] for m in search(snap, "الرقة", date_from="0001", date_to="0001")["facets"]["date"]
        }
        assert months == {"0001-01"}
    # A rerun is not blocked by the same records: nothing changed, the same problems.
    again = kashaf_index(tmp_path / "ix", src)
    assert "nothing changed" in again.stdout and "Traceback" not in again.stderr


def test_dates_keep_the_source_time_zone(tmp_path: Path) -> None:
    """00:56 at +04:00 on the 18th is the 18th: in filters, the histogram, JSON and CSV."""
    src = tmp_path / "a.jsonl"
    src.write_bytes(
        line(1, date="2018-02-18T00:56:43+04:00") + line(2, date="2018-02-17T23:30:00-05:00") + line(3)
    )
    assert kashaf_index(tmp_path / "ix", src).returncode == 0
    with store.open_current(tmp_path / "ix") as snap:
        day = search(snap, "الرقة", date_from="2018-02-18", date_to="2018-02-18")
        assert [(h["id"], h["date"]) for h in day["hits"]] == [("d1", "2018-02-18T00:56:43+04:00")]
        feb17 = search(snap, "الرقة", date_from="2018-02-17", date_to="2018-02-17")
        assert [h["id"] for h in feb17["hits"]] == ["d2"]  # 04:30 UTC on the 18th, but the 17th there
        months = search(snap, "الرقة")["facets"]["date"]
        assert months == [{"month": "2018-02", "count": 2}]


def test_truncated_gzip_keeps_its_complete_lines(tmp_path: Path) -> None:
    whole = gzip.compress(b"".join(line(i) for i in range(1, 2001)))
    (tmp_path / "cut.jsonl.gz").write_bytes(whole[: len(whole) * 2 // 3])
    run = kashaf_index(tmp_path / "ix", tmp_path / "cut.jsonl.gz")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    (msg,) = problems(run)
    assert "truncated gzip file: lines from here on are lost" in msg
    kept = count(tmp_path / "ix")
    assert 500 < kept < 2000
    assert f"cut.jsonl.gz:{kept + 1}:" in msg  # the first lost line


def test_gzip_bomb_is_refused_with_bounded_memory(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.jsonl.gz"
    z = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    with open(bomb, "wb") as f:
        for _ in range(64):  # 64 MiB of zeros in ~64 KB
            f.write(z.compress(bytes(1 << 20)))
        f.write(z.flush())
    assert bomb.stat().st_size < 200_000
    with pytest.raises(TooLarge):
        read_bytes(bomb, limit=8 << 20)
    (p,) = list(read_file(bomb, tmp_path))
    assert (
        p.reason.startswith("binary file") or "not read" in p.reason
    )  # under the real limit: read, then refused


def test_special_files_are_refused_before_opening(tmp_path: Path) -> None:
    """A FIFO would block forever holding the write lock; /dev/zero would be read forever."""
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    (tmp_path / "ok.jsonl").write_bytes(line(1))
    run = subprocess.run(
        [
            *KASHAF,
            "index",
            str(fifo),
            "/dev/zero",
            str(tmp_path / "ok.jsonl"),
            "--index",
            str(tmp_path / "ix"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert run.returncode == 1, run.stderr
    assert "pipe.jsonl:1: not a regular file (a FIFO): not read" in run.stderr
    assert "/dev/zero:1: unsupported file type" in run.stderr
    assert count(tmp_path / "ix") == 1


def test_symlinks_out_of_the_tree_are_skipped(tmp_path: Path) -> None:
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    outside = tmp_path / "secret.txt"
    outside.write_text("سر\nكلمة المرور المخزنة على الخادم\n", "utf-8")
    (src / "a.txt").write_text("عنوان\n" + ARTICLE + "\n", "utf-8")
    (src / "host.txt").symlink_to(outside)
    (src / "sub" / "again.txt").symlink_to(src / "a.txt")  # inside the tree: read
    (src / "loop").symlink_to(tmp_path, target_is_directory=True)  # never entered
    run = kashaf_index(tmp_path / "ix", src)
    assert "host.txt:1: symbolic link out of" in run.stderr and "skipped" in run.stderr
    assert run.returncode == 0, run.stderr  # a note, not an input error
    with store.open_current(tmp_path / "ix") as snap:
        ids = {r[0] for r in snap.db.execute("SELECT id FROM docs")}
    assert ids == {"a", "sub/again"}


def test_large_document_is_cut_at_ingest(tmp_path: Path) -> None:
    big = (ARTICLE + " ") * (3 * MAX_TEXT_CHARS // len(ARTICLE))
    (tmp_path / "big.jsonl").write_text(
        json.dumps({"id": "big", "text": big + " الرياض"}, ensure_ascii=False) + "\n" + line(2).decode(),
        "utf-8",
    )
    run = kashaf_index(tmp_path / "ix", tmp_path / "big.jsonl")
    assert run.returncode == 1
    assert f"big.jsonl:1: text longer than {MAX_TEXT_CHARS} characters" in run.stderr
    with store.open_current(tmp_path / "ix") as snap:
        body = snap.db.execute("SELECT body FROM docs WHERE id = 'big'").fetchone()[0]
        assert len(body) == MAX_TEXT_CHARS
        hit = search(snap, "الرقة", limit=5)["hits"]
        big_hit = next(h for h in hit if h["id"] == "big")
        assert len(big_hit["snippet"]) < 1000 and "<mark>" in big_hit["snippet"]


def _mount_tmpfs(where: Path, size: str) -> bool:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        return False
    where.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=False)
    return done.returncode == 0


def test_full_disk_gives_one_message_and_leaves_nothing_behind(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    if not _mount_tmpfs(disk, "6m"):
        pytest.skip("needs root and tmpfs to fill a real disk")
    try:
        small = tmp_path / "small.jsonl"
        small.write_bytes(b"".join(line(i) for i in range(20)))
        assert kashaf_index(disk / "ix", small).returncode == 0
        rows = [{"id": f"b{i}", "text": f"{ARTICLE} {os.urandom(600).hex()} {i}"} for i in range(6000)]
        big = tmp_path / "big.jsonl"
        big.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
        run = kashaf_index(disk / "ix", big)
        assert run.returncode == 74, (run.returncode, run.stderr[-2000:])
        assert "Traceback" not in run.stderr
        errors = [ln for ln in run.stderr.splitlines() if ln.startswith("error:")]
        assert len(errors) == 1 and "no space left" in errors[0], run.stderr[-2000:]
        assert store.generations(disk / "ix") == [store.current_generation(disk / "ix")]
        assert count(disk / "ix") == 20  # the published index is unchanged and searchable
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)
