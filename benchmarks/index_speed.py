"""Indexing speed, side by side in one run: Kashaf, stock Whoosh and Lucene (one thread).

    .venv/bin/python benchmarks/index_speed.py [--limit N] [--jobs 2] [--lucene-jars DIR]
        [--baseline DIR] [--phases]

Reads ../shared/corpus/ant_multisource_v2.1.jsonl.gz (30,337 articles, titles included)
and indexes it into temporary directories with

- **kashaf**: ``indexer.build.build`` with ``--jobs`` processes: title and body at three
  levels (exact, stem, root), places and groups (mentions table), the SQLite document
  store with full text, story-grouping signatures, verification, publishing;
- **kashaf baseline** (``--baseline DIR``): the same build by another checkout's code (say
  ``git archive main | tar -x -C DIR``), run first, for a same-run comparison;
- **kashaf re-run**: the same input again (nothing changed: no new generation);
- **kashaf re-analysis**: every document analyzed again from the store, as after an edit
  of the gazetteer or overrides (the published generation's recorded analysis version is
  made stale, which is what such an edit does; no input files are read);
- **whoosh**: stock Whoosh, ``StandardAnalyzer``, one TEXT field (title + text), one process;
- **lucene**: ``../shared/tools/lucene/LuceneArabic.java`` (Lucene 8 ``ArabicAnalyzer``, one
  ``body`` field = title + text, one thread, merged to one segment), compiled here with the
  machine's ``javac`` against Debian's liblucene8-java jars (``/usr/share/java``, or
  ``--lucene-jars DIR``: see that folder's README); skipped with a note when absent.

Each system runs in its own child process; its wall time, CPU time (user + system, the
child and the processes it started) and peak RSS (the largest of them) come from
``wait4``. The machine is shared: CPU seconds compare systems better than wall time when
other jobs run; both are printed, with the load average (each row, and a closing
"same run" line). ``--phases`` also prints where the kashaf row's time went: wall and CPU
of each phase of the main process (new words, shard writers, story grouping, engine
arrays, publishing) and each shard writer's CPU split into analysis + tagging, signature,
bulk add and commit (per document: ms of one writer's CPU for its half of the documents).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from indexer import store  # noqa: E402

SHARED = Path(os.environ.get("KASHAF_SHARED", ROOT.parent / "shared"))
CORPUS = SHARED / "corpus/ant_multisource_v2.1.jsonl.gz"
LUCENE_SRC = SHARED / "tools/lucene"
LUCENE_JARS = ("lucene-core-8.7.0.jar", "lucene-analyzers-common-8.7.0.jar", "lucene-queryparser-8.7.0.jar")


def measured(fn: Callable[[], dict]) -> dict:
    """Run ``fn`` in a forked child; its result plus wall s, CPU s and peak RSS MB (wait4)."""
    r, w = os.pipe()
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        try:
            out = {"ok": True, **fn()}
        except BaseException as exc:  # report, never return into the parent's code
            out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        with os.fdopen(w, "w") as f:
            json.dump(out, f)
        os._exit(0)
    os.close(w)
    with os.fdopen(r) as f:
        data = f.read()
    _, _status, usage = os.wait4(pid, 0)
    out = json.loads(data) if data else {"ok": False, "error": "child died"}
    out.update(
        wall=time.perf_counter() - t0,
        cpu=usage.ru_utime + usage.ru_stime,
        rss=usage.ru_maxrss / 1024,
    )
    return out


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _timed_phases(log: Path) -> None:
    """Wrap the build's phases (this child only) to write one JSON line each to ``log``:
    wall s, this process's CPU s, reaped children's CPU s; the shard writers add their own
    line (CPU of analysis, bulk add, signature and commit) when they finish."""
    from indexer import build as b
    from indexer import segments

    def note(row: dict) -> None:
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def wrap(owner, name: str, label: str) -> None:
        fn = getattr(owner, name)

        def timed(*args, **kwargs):
            t, c, cc = time.perf_counter(), time.process_time(), _children_cpu()
            try:
                return fn(*args, **kwargs)
            finally:
                note(
                    {
                        "phase": label,
                        "wall": time.perf_counter() - t,
                        "cpu": time.process_time() - c,
                        "children": _children_cpu() - cc,
                    }
                )

        setattr(owner, name, timed)

    wrap(b, "_warm_words", "load word tables before forking")
    wrap(b, "_warm", "load the other tables (during new words)")
    wrap(b, "_prime_words", "new words (2 pools: find, analyze)")
    wrap(b, "_write_store", "SQLite store (while writers run)")
    wrap(b, "_write", "shard writers + store (whole phase)")
    wrap(b.dedupe, "update", "story grouping")
    wrap(b, "_verify", "verify")
    wrap(b.arrays, "write", "engine arrays")
    wrap(b.store, "publish", "publish")

    shard = b._write_shard
    parts = {"analyze_document": b, "doc_signature": b.dedupe}

    def timed_shard(k: int):
        acc = dict.fromkeys(("analysis + tagging", "signature", "bulk add", "commit"), 0.0)
        saved = {name: getattr(mod, name) for name, mod in parts.items()}
        add, commit = segments.BulkWriter.add_document, segments.BulkWriter.commit

        def counted(label, fn):
            def run(*args, **kwargs):
                c = time.process_time()
                try:
                    return fn(*args, **kwargs)
                finally:
                    acc[label] += time.process_time() - c

            return run

        b.analyze_document = counted("analysis + tagging", saved["analyze_document"])
        b.dedupe.doc_signature = counted("signature", saved["doc_signature"])
        segments.BulkWriter.add_document = counted("bulk add", add)
        segments.BulkWriter.commit = counted("commit", commit)
        t, c = time.perf_counter(), time.process_time()
        out = shard(k)
        docs = len(b._WORK[k][3])
        note(
            {
                "worker": k,
                "docs": docs,
                "wall": time.perf_counter() - t,
                "cpu": time.process_time() - c,
                **acc,
            }
        )
        return out

    # The pool pickles the function by name: let the name lead to this wrapper.
    timed_shard.__module__, timed_shard.__qualname__ = b.__name__, "_write_shard"
    b._write_shard = timed_shard


def print_phases(log: Path) -> None:
    """The phase lines of a ``--phases`` run, as a table (CPU per document in ms)."""
    rows = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    print("  phases of the kashaf row (wall s; CPU s of the main process, of its reaped children):")
    for r in rows:
        if "phase" in r:
            print(
                f"    {r['phase']:<38} wall {r['wall']:7.1f}  main {r['cpu']:6.1f}  "
                f"children {r['children']:6.1f}"
            )
    for r in rows:
        if "worker" in r:
            d = max(r["docs"], 1)
            pieces = ", ".join(
                f"{k} {v:.1f} s ({1000 * v / d:.2f} ms/doc)"
                for k, v in r.items()
                if k not in ("worker", "docs", "wall", "cpu")
            )
            print(
                f"    shard writer {r['worker']} ({r['docs']} docs): wall {r['wall']:.1f} s, "
                f"CPU {r['cpu']:.1f} s ({1000 * r['cpu'] / d:.2f} ms/doc): {pieces}"
            )


def kashaf(src: Path, index_dir: Path, jobs: int, phases: Path | None = None) -> Callable[[], dict]:
    def run() -> dict:
        from indexer.build import build

        if phases is not None:
            _timed_phases(phases)
        t0 = time.perf_counter()
        report = build([src], index_dir, jobs=jobs)
        return {"docs": report.documents, "inner": time.perf_counter() - t0, "summary": report.summary()}

    return run


def kashaf_rerun(src: Path, index_dir: Path, jobs: int) -> Callable[[], dict]:
    def run() -> dict:
        from indexer.build import build

        report = build([src], index_dir, jobs=jobs)
        assert report.generation is None, report.summary()
        return {"docs": report.unchanged, "summary": report.summary()}

    return run


def stale_analysis(index_dir: Path) -> None:
    """Make the published generation's analysis version stale, as a data edit does."""
    gen = store.current_generation(index_dir)
    con = sqlite3.connect(store.generation_dir(index_dir, gen) / store.DB)
    with con:
        con.execute("UPDATE info SET value = 'edited' WHERE key = 'schema_version'")
    con.close()


def kashaf_reanalysis(index_dir: Path, jobs: int) -> Callable[[], dict]:
    def run() -> dict:
        from indexer.build import build

        report = build([], index_dir, jobs=jobs)  # no inputs: everything comes from the store
        assert report.updated == report.documents and report.generation is not None, report.summary()
        return {"docs": report.documents, "summary": report.summary()}

    return run


def stock_whoosh(articles: list[dict], out: Path) -> Callable[[], dict]:
    def run() -> dict:
        from whoosh import fields, index
        from whoosh.analysis import StandardAnalyzer

        schema = fields.Schema(
            id=fields.ID(stored=True, unique=True),
            text=fields.TEXT(analyzer=StandardAnalyzer(), stored=False),
        )
        ix = index.create_in(str(out), schema)
        w = ix.writer(limitmb=256)
        for a in articles:
            w.add_document(id=str(a["id"]), text=f"{a.get('title') or ''}\n{a['text']}")
        w.commit()
        assert ix.doc_count() == len(articles), (ix.doc_count(), len(articles))
        return {"docs": ix.doc_count()}

    return run


def lucene_classpath(tmp: Path, jars_dir: Path | None) -> str | None:
    """Compile LuceneArabic.java against the Lucene jars; None (with a note) when impossible."""
    dirs = [d for d in (jars_dir, Path("/usr/share/java")) if d]
    found = next((d for d in dirs if all((d / j).exists() for j in LUCENE_JARS)), None)
    if found is None:
        print(
            "lucene: skipped (no Lucene 8 jars: `apt-get install liblucene8-java`, or unpack "
            "`apt-get download liblucene8-java` and give --lucene-jars .../usr/share/java)"
        )
        return None
    if not shutil.which("javac") or not (LUCENE_SRC / "LuceneArabic.java").exists():
        print("lucene: skipped (no javac, or ../shared/tools/lucene is absent)")
        return None
    classes = tmp / "lucene-classes"
    classes.mkdir()
    cp = ":".join([*(str(found / j) for j in LUCENE_JARS), str(classes)])
    subprocess.run(
        ["javac", "-d", str(classes), "-cp", cp, str(LUCENE_SRC / "LuceneArabic.java")],
        check=True,
        capture_output=True,
    )
    return cp


def lucene(cp: str, src: Path, out: Path) -> dict:
    t0 = time.perf_counter()
    p = subprocess.Popen(
        ["java", "-cp", cp, "LuceneArabic", "index", str(src), str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    _, _status, usage = os.wait4(p.pid, 0)
    err = p.stderr.read()
    p.returncode = _status
    return {
        "ok": _status == 0,
        "error": err.strip()[-300:],
        "note": err.strip().splitlines()[-1] if err.strip() else "",
        "wall": time.perf_counter() - t0,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
    }


def kashaf_tree(tree: Path, src: Path, index_dir: Path, jobs: int, expected: int) -> dict:
    """``indexer.build.build`` of another checkout (``--baseline``: main's code, say), in a
    child Python whose import path starts with that tree; measured like the others (wait4)."""
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); from indexer.build import build; "
        f"r = build([{str(src.resolve())!r}], {str(index_dir.resolve())!r}, jobs={jobs}); print(r.documents)"
    )
    t0 = time.perf_counter()
    p = subprocess.Popen(
        [sys.executable, "-c", code], cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(p.pid, 0)
    out, err = p.stdout.read(), p.stderr.read()
    return {
        "ok": status == 0 and out.strip() == str(expected),
        "error": f"indexed {out.strip() or '?'} of {expected} documents; {err.strip()[-300:]}",
        "wall": time.perf_counter() - t0,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
    }


def row(name: str, n: int, r: dict, size: float | None, what: str) -> None:
    if not r.get("ok", True):
        print(f"{name:<20} FAILED: {r.get('error')}")
        return
    size_s = f"{size / 1e6:7.1f} MB" if size is not None else "       —  "
    print(
        f"{name:<20} {n / r['wall']:7.0f} docs/s {r['wall']:7.1f} s  CPU {r['cpu']:7.1f} s "
        f"({n / r['cpu']:5.0f} docs/CPU-s)  peak RSS {r['rss']:6.0f} MB  index {size_s}  "
        f"load {os.getloadavg()[0]:4.1f}  {what}",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=0, help="index only the first N articles")
    ap.add_argument("--jobs", type=int, default=2, help="Kashaf worker processes [2]")
    ap.add_argument("--skip-whoosh", action="store_true", help="do not run stock Whoosh")
    ap.add_argument("--skip-lucene", action="store_true", help="do not run Lucene")
    ap.add_argument("--lucene-jars", type=Path, help="folder holding the Lucene 8 jars [/usr/share/java]")
    ap.add_argument("--tmp", type=Path, help="where the temporary indexes go [system temp]")
    ap.add_argument(
        "--phases",
        action="store_true",
        help="also time the kashaf row's phases (main process, shard writers; small timer overhead)",
    )
    ap.add_argument(
        "--baseline",
        type=Path,
        help="another checkout of Kashaf (e.g. `git archive main`) whose build runs first, same input",
    )
    args = ap.parse_args()
    if not CORPUS.exists():
        sys.exit(f"{CORPUS} is absent: benchmark data lives in ../shared beside the project")

    with tempfile.TemporaryDirectory(prefix="kashaf-bench-", dir=args.tmp) as tmpdir:
        tmp = Path(tmpdir)
        src = tmp / "input.jsonl"
        articles = []
        with gzip.open(CORPUS, "rt", encoding="utf-8") as f, open(src, "w", encoding="utf-8") as out:
            for line in f:
                articles.append(json.loads(line))
                out.write(line)
                if args.limit and len(articles) >= args.limit:
                    break
        n = len(articles)
        start_load = os.getloadavg()[0]
        chars = sum(len(a["text"]) + len(a.get("title") or "") for a in articles)
        print(
            f"{n} articles with titles, {chars / 1e6:.1f} M characters; "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start"
        )

        if args.baseline:
            b = kashaf_tree(args.baseline.resolve(), src, tmp / "baseline", args.jobs, n)
            row(
                "kashaf baseline",
                n,
                b,
                store.dir_size(tmp / "baseline") if b["ok"] else None,
                f"({args.baseline}, --jobs {args.jobs}: the same build from that checkout's code)",
            )
            shutil.rmtree(tmp / "baseline", ignore_errors=True)

        phases = tmp / "phases.jsonl" if args.phases else None
        k = measured(kashaf(src, tmp / "kashaf", args.jobs, phases))
        row(
            "kashaf",
            n,
            k,
            store.dir_size(tmp / "kashaf") if k["ok"] else None,
            f"(--jobs {args.jobs}; 3 levels x title+body, tagging, store, story signatures)",
        )
        if phases is not None and phases.exists():
            print_phases(phases)
        if k["ok"]:
            again = measured(kashaf_rerun(src, tmp / "kashaf", args.jobs))
            row("kashaf re-run", n, again, None, "(unchanged input: nothing written)")
            stale_analysis(tmp / "kashaf")
            re = measured(kashaf_reanalysis(tmp / "kashaf", args.jobs))
            row(
                "kashaf re-analysis",
                n,
                re,
                None,
                "(analysis data edited: every document again, from the store)",
            )
            shutil.rmtree(tmp / "kashaf")

        if not args.skip_whoosh:
            (tmp / "whoosh").mkdir()
            w = measured(stock_whoosh(articles, tmp / "whoosh"))
            row(
                "whoosh",
                n,
                w,
                store.dir_size(tmp / "whoosh"),
                "(stock: StandardAnalyzer, 1 field, 1 process)",
            )
            shutil.rmtree(tmp / "whoosh")

        if not args.skip_lucene:
            cp = lucene_classpath(tmp, args.lucene_jars)
            if cp:
                lu = lucene(cp, src, tmp / "lucene")
                row(
                    "lucene",
                    n,
                    lu,
                    store.dir_size(tmp / "lucene") if lu["ok"] else None,
                    f"(ArabicAnalyzer, 1 field, 1 thread; {lu.get('note', '')})",
                )
                if k["ok"] and lu["ok"]:
                    print(
                        f"kashaf / lucene: {k['wall'] / lu['wall']:.1f}x the wall time, "
                        f"{k['cpu'] / lu['cpu']:.1f}x the CPU time"
                    )
        one, five, fifteen = os.getloadavg()
        print(
            f"same run: every row above ran one after another in this run, on {os.cpu_count()} CPUs; "
            f"load average {start_load:.1f} at the start, {one:.1f} / {five:.1f} / {fifteen:.1f} "
            "(1 / 5 / 15 min) at the end (each row's 'load' is the 1-minute average when it "
            "finished). Under load compare CPU seconds, not wall time."
        )


if __name__ == "__main__":
    main()
