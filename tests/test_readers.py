"""Readers: seeds without their page boilerplate, JSONL/CSV records, and every kind of bad input."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from indexer.readers import Doc, Problem, iter_files, read_file
from tests.conftest import ROOT

SEEDS = ROOT / "seeds"
BOILERPLATE = {
    "You might also like",
    "Leave A Reply",
    "Your email address will not be published.",
    "ت + ت - الحجم الطبيعي",
    "Email",
    "واحد × أربعة =",
    "0",
}


def read(path: Path, base: Path | None = None) -> tuple[list[Doc], list[Problem]]:
    items = list(read_file(path, base or path.parent))
    return [i for i in items if isinstance(i, Doc)], [i for i in items if isinstance(i, Problem)]


def test_seed_sentences_survive_and_boilerplate_does_not() -> None:
    files = sorted(SEEDS.glob("*.txt"))
    assert len(files) == 5
    found_boilerplate = set()
    for f in files:
        (doc,), problems = read(f, SEEDS)
        assert problems == []
        assert doc.id == f.stem
        kept = {doc.title, *(ln.strip() for ln in doc.text.splitlines())}
        for raw in f.read_text("utf-8").splitlines():
            line = raw.strip()
            if line in BOILERPLATE:
                found_boilerplate.add(line)
                assert line not in kept, f"{f.name}: boilerplate {line!r} kept"
            elif line:
                assert line in kept, f"{f.name}: article line lost: {line[:60]!r}"
    assert found_boilerplate == BOILERPLATE  # the seeds really carry every pattern tested here


def test_txt_title_is_first_nonempty_line_and_id_is_relative_path(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.txt").write_text(
        "\n\nعنوان الخبر\n\nالفقرة الأولى.\n\n\n\nالفقرة الثانية.\n", "utf-8"
    )
    (tmp_path / "notes.md").write_text("not an input", "utf-8")
    files = list(iter_files([tmp_path]))
    assert [f.name for f, _ in files] == ["a.txt"]
    (doc,), _ = read(*files[0])
    assert (doc.id, doc.title, doc.text) == ("sub/a", "عنوان الخبر", "الفقرة الأولى.\n\nالفقرة الثانية.")


def test_jsonl_fields_metadata_and_dates(tmp_path: Path) -> None:
    rows = [
        {
            "id": 7,
            "title": "عنوان",
            "text": "نص",
            "date": "2018-03-01T10:00:00+02:00",
            "source": "BBC",
            "url": "http://x",
            "category": "world",
        },
        {"title": "بلا معرف", "text": "نص آخر"},
        {"id": "d", "text": "تاريخ سيئ", "date": "yesterday"},
    ]
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(r, ensure_ascii=False) for r in rows).encode()))
    docs, problems = read(path)
    assert docs[0].id == "7" and docs[1].id.startswith("h")
    assert docs[0].date.isoformat() == "2018-03-01T10:00:00+02:00"  # the source's own zone, kept
    assert (docs[0].source, docs[0].url, docs[0].meta) == ("BBC", "http://x", {"category": "world"})
    assert docs[2].date is None and docs[2].text == "تاريخ سيئ"  # kept, date dropped
    shown = [(str(p), p.fatal) for p in problems]
    assert shown == [
        (f"{path}:2: no id: using content hash {docs[1].id}", False),
        (f"{path}:3: unparseable date 'yesterday': kept the document without a date", True),
    ]
    # The hash id is stable: the same content gives the same id on the next run.
    assert read(path)[0][1].id == docs[1].id


def test_csv_same_columns(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    path.write_text(
        'id,title,text,date,source\n1,عنوان,"نص، فيه فاصلة\nوسطر",2017-06-05,الجزيرة\n2,,,,\n', "utf-8"
    )
    docs, problems = read(path)
    assert [(d.id, d.title, d.text, d.source) for d in docs] == [
        ("1", "عنوان", "نص، فيه فاصلة\nوسطر", "الجزيرة")
    ]
    assert [str(p) for p in problems] == [f"{path}:4: missing text"]


def test_encodings_are_detected(tmp_path: Path) -> None:
    text = "عنوان\nانسحبت القوات من الرقة\n"
    (tmp_path / "cp1256.txt").write_bytes(text.encode("cp1256"))
    (tmp_path / "utf16.txt").write_bytes(text.encode("utf-16"))  # with BOM
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + text.encode())
    for name in ("cp1256.txt", "utf16.txt", "bom.txt"):
        (doc,), problems = read(tmp_path / name)
        assert (doc.title, doc.text) == ("عنوان", "انسحبت القوات من الرقة"), name
        assert all(not p.fatal for p in problems), problems
    assert "Windows-1256" in str(read(tmp_path / "cp1256.txt")[1][0])


def test_bad_files_are_reported_with_file_and_line(tmp_path: Path) -> None:
    bad = {
        "damaged.txt": "عنوان\nسطر سليم\n".encode() + b"\xd8\n" + "سطر\n".encode(),
        "binary.txt": bytes(range(256)) * 4,
        "empty.txt": b"  \n\n",
        "only_boilerplate.txt": b"Email\nLeave A Reply\n",
        "lines.jsonl": '{"id": "ok", "text": "نص"}\n{"id": "x", "text": \n["a"]\n{"id": "y"}\n'.encode(),
    }
    for name, data in bad.items():
        (tmp_path / name).write_bytes(data)
    reasons = {}
    for name in bad:
        docs, problems = read(tmp_path / name)
        reasons[name] = [str(p).removeprefix(str(tmp_path) + "/") for p in problems]
        if name == "lines.jsonl":
            assert [d.id for d in docs] == ["ok"]
        else:
            assert docs == []
    assert reasons == {
        "damaged.txt": ["damaged.txt:3: invalid UTF-8 (a few damaged bytes in a UTF-8 file)"],
        "binary.txt": ["binary.txt:1: binary file (not text)"],
        "empty.txt": ["empty.txt:1: empty file"],
        "only_boilerplate.txt": ["only_boilerplate.txt:1: no text (only blank or boilerplate lines)"],
        "lines.jsonl": [
            "lines.jsonl:2: malformed JSON: Expecting value (column 21)",
            "lines.jsonl:3: expected a JSON object, got list",
            "lines.jsonl:4: missing text",
        ],
    }
