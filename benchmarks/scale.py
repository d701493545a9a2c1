"""Scale: build indexes of 100k, 300k and 1M documents and time queries on each.

    .venv/bin/python benchmarks/scale.py [--sizes 100000,300000,1000000] [--work .bench/scale]
        [--kashaf CMD] [--jobs N] [--headlines 1000] [--short 300] [--grow] [--keep]
        [--build-only] [--part 100000] [--serve-sizes 1000000]

Documents: the 71,131 real articles of ../shared/corpus/ (ANT v2.1, SaudiNewsNet, ANT
Jawhara FM; three .jsonl.gz files) first, then *variants* of them: each variant copies
a real article with a distinct id (``v<k>-<id>``) and its paragraphs shuffled (seeded;
an article of one paragraph has its sentences shuffled). Variants keep the title, date
and source, so facets and the timeline look like the real collection's, and the
vocabulary does not grow past the real articles' (a real million would have more
distinct words: the lexicon here is smaller than it would be). The output says how
many of each size are real and how many are variants. The corpus is written once as
part files of ``--part`` documents (``<work>/parts/``; a single file of a million
documents would be over the reader's 1 GiB limit), and each size is indexed from its
first parts (``kashaf index part... --index <work>/kashaf_<n>``).

Each size is built fresh (``--rebuild``), or with ``--grow`` every size after the first
by updating the previous size's index (moved, or hard-linked with ``--keep`` /
``--build-only``) with ``kashaf index`` of the bigger corpus: the documents it holds
already are read, found unchanged and skipped, the new ones added, as a user's next
``kashaf index`` would. The output says which way each size was built, with the update's
own time and the total from the first build.

Per size it prints build time, index size (the published generation), peak RSS of the
build (the largest of its processes), and query latency p50/p95 for (a) the 1,000
``ant_title`` headlines with ``op=or``, top 10 (``indexer.search.batch``) and (b) 1–3-word
queries with total, facets and snippets (``indexer.search.search``: what ``/api/search``
answers), first pass (a fresh process, its caches empty, the page cache dropped of
nothing: the files may be warm in the OS) and warm (the same queries again), with each
pass's CPU time per query, plus the query process's RSS after them; main's engine and
stock Whoosh at ``--baseline-sizes`` / ``--stock-sizes``. At ``--serve-sizes``: real
gunicorn with one worker on the index, its cold start to the first answer and its memory
after the (b) queries and 100 headlines over HTTP.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SHARED = Path(os.environ.get("KASHAF_SHARED", ROOT.parent / "shared"))
CORPORA = ("ant_multisource_v2.1.jsonl.gz", "saudinewsnet.jsonl.gz", "ant_jawharafm_v1.1.jsonl.gz")
SENTENCE = re.compile(r"(?<=[.!؟?])\s+")


def real_articles() -> list[dict]:
    """The real articles of ../shared/corpus/, in file order (fields as the files give them)."""
    out = []
    for name in CORPORA:
        with gzip.open(SHARED / "corpus" / name, "rt", encoding="utf-8") as f:
            out.extend(json.loads(line) for line in f if line.strip())
    return out


def variant(doc: dict, k: int, rng: random.Random) -> dict:
    """A copy of ``doc`` with the id ``v<k>-<id>`` and its paragraphs (else sentences) shuffled."""
    parts = [p for p in doc["text"].split("\n") if p.strip()]
    sep = "\n"
    if len(parts) < 2:
        parts, sep = SENTENCE.split(doc["text"]), " "
    rng.shuffle(parts)
    return {**doc, "id": f"v{k}-{doc['id']}", "text": sep.join(parts)}


def documents(n: int, seed: int = 0) -> Iterator[dict]:
    """``n`` documents: the real articles first, then variants of them (round after round)."""
    real = real_articles()
    rng = random.Random(seed)
    for i in range(n):
        k, j = divmod(i, len(real))
        yield real[j] if k == 0 else variant(real[j], k, rng)


def part_bounds(sizes: list[int], part: int) -> list[tuple[int, int]]:
    """The ``[start, end)`` document ranges of the corpus's part files: cut every ``part``
    documents and at each size, so that each size is a run of whole parts from the first.

    >>> part_bounds([150, 300], 100)
    [(0, 100), (100, 150), (150, 200), (200, 300)]
    """
    cuts = sorted({*range(0, max(sizes), part), *sizes})
    return list(itertools.pairwise(cuts))


def part_path(parts: Path, start: int, end: int) -> Path:
    return parts / f"part_{start:07d}_{end:07d}.jsonl.gz"


def write_parts(parts: Path, bounds: list[tuple[int, int]]) -> None:
    """Write the part files not yet written: one pass over :func:`documents` (each part holds
    the same documents whatever the sizes asked; a file over 1 GiB would not be read at all)."""
    if all(part_path(parts, a, b).exists() for a, b in bounds):
        return
    parts.mkdir(parents=True, exist_ok=True)
    stream = documents(bounds[-1][1])
    for a, b in bounds:
        out = part_path(parts, a, b)
        if out.exists():
            for _ in range(b - a):
                next(stream)
            continue
        tmp = out.with_suffix(".tmp")
        with gzip.open(tmp, "wt", encoding="utf-8", compresslevel=1) as f:
            for doc in itertools.islice(stream, b - a):
                f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        tmp.replace(out)


def grow_from(prev: Path, ix: Path, keep: bool) -> None:
    """Start index ``ix`` as the index ``prev`` (moved, or with ``keep`` a copy whose
    generations are hard links: a published generation is never written again)."""
    if not keep:
        prev.replace(ix)
        return
    ix.mkdir(parents=True)
    for f in prev.iterdir():
        if f.is_dir():
            shutil.copytree(f, ix / f.name, copy_function=os.link)
        elif f.name != "build.json":
            shutil.copy2(f, ix / f.name)


# --- building -------------------------------------------------------------------------------


def run_measured(
    cmd: list[str], env: dict | None = None, log: Path | None = None
) -> tuple[float, float, int]:
    """Run ``cmd``; returns ``(seconds, peak RSS in MB of the process and the children it waited
    for, return code)`` (``wait4``'s rusage: the largest of them, not their sum)."""
    t0 = time.monotonic()
    out = log.open("w") if log else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(proc.pid, 0)
    finally:
        if log:
            out.close()
    return time.monotonic() - t0, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def index_mb(ix: Path) -> float:
    """The published generation's size (an update keeps the one before it until the next)."""
    from indexer import store

    return dir_mb(store.generation_dir(ix, store.current_generation(ix)))


def stock_whoosh(files: list[Path], out: Path) -> float:
    """Stock Whoosh (StandardAnalyzer, one TEXT field of title + text, BM25F): seconds to build."""
    from whoosh import fields as wf
    from whoosh import index as wi

    if (out / "done").exists():
        return float((out / "done").read_text())
    out.mkdir(parents=True, exist_ok=True)
    ix = wi.create_in(str(out), wf.Schema(id=wf.ID(stored=True, unique=True), text=wf.TEXT()))
    t0 = time.monotonic()
    with ix.writer(limitmb=512) as w:
        for src in files:
            with gzip.open(src, "rt", encoding="utf-8") as f:
                for row in f:
                    d = json.loads(row)
                    w.add_document(id=d["id"], text=f"{d.get('title') or ''}\n{d['text']}".strip())
    seconds = time.monotonic() - t0
    (out / "done").write_text(f"{seconds:.1f}")
    return seconds


# --- querying (in a fresh process per engine and query set) -----------------------------------


def rss_mb() -> dict[str, float]:
    """This process's resident memory: total, private (anonymous) and file-backed (shared)."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
            out[key] = int(value.split()[0]) / 1024
    return out


def query_pass(index: Path, kind: str, queries: list, stock: Path | None = None) -> dict:
    """Time each query twice in this (fresh) process: the first pass, then warm."""
    if stock is not None:
        from whoosh import index as wi
        from whoosh.qparser import OrGroup, QueryParser

        ix = wi.open_dir(str(stock))
        with ix.searcher() as s:
            parser = QueryParser("text", ix.schema, group=OrGroup)

            def one(q):
                return [h["id"] for h in s.search(parser.parse(q[1]), limit=10)]

            passes, cpu = _passes(one, queries)
        return {"first": passes[0], "warm": passes[1], "cpu": cpu, "rss": rss_mb()}
    from indexer.search import batch, search
    from indexer.store import open_current

    with open_current(index) as snap:
        if kind == "a":

            def one(q):
                return batch(snap, [q], op="or", limit=10)
        else:

            def one(q):
                return search(snap, q, limit=10)

        passes, cpu = _passes(one, queries)
        return {
            "first": passes[0],
            "warm": passes[1],
            "cpu": cpu,
            "rss": rss_mb(),
            "docs": snap.searcher().doc_count(),
        }


def _passes(one, queries: list) -> tuple[list[list[float]], list[float]]:
    """Each query timed twice (first pass, then warm), with each pass's CPU seconds: on a
    shared machine wall times carry other jobs' load, CPU time much less."""
    passes, cpu = [], []
    for _ in range(2):
        t0 = time.process_time()
        passes.append([_timed(one, q) for q in queries])
        cpu.append(time.process_time() - t0)
    return passes, cpu


def _timed(fn, arg) -> float:
    t0 = time.perf_counter()
    fn(arg)
    return (time.perf_counter() - t0) * 1000


def run_queries(
    index: Path, kind: str, qfile: Path, engine_root: Path | None, stock: Path | None = None
) -> dict:
    """:func:`query_pass` in a fresh interpreter; ``engine_root``: another checkout's code."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--query", str(index), kind, str(qfile)]
    if engine_root:
        cmd += ["--engine-root", str(engine_root)]
    if stock:
        cmd += ["--stock", str(stock)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(ms: list[float], p: float) -> float:
    ms = sorted(ms)
    return ms[min(len(ms) - 1, int(p * len(ms)))]


def line(label: str, r: dict) -> str:
    f, w = r["first"], r["warm"]
    rss = r["rss"]
    cpu = r.get("cpu")  # CPU seconds of each pass (absent in older outputs)
    per_query = f"CPU {cpu[0] * 1000 / len(f):5.1f} / {cpu[1] * 1000 / len(w):5.1f} ms/q | " if cpu else ""
    return (
        f"  {label:<34} first p50 {statistics.median(f):6.1f} p95 {pct(f, 0.95):7.1f} ms | "
        f"warm p50 {statistics.median(w):6.1f} p95 {pct(w, 0.95):7.1f} ms | {per_query}"
        f"RSS {rss.get('VmRSS', 0):5.0f} MB "
        f"(private {rss.get('RssAnon', 0):4.0f}, files {rss.get('RssFile', 0):4.0f})"
    )


def serving(ix: Path, queries_b: list[str], queries_a: list, log_dir: Path) -> dict:
    """Real gunicorn (this checkout's config, one worker) on ``ix``: the first ``/api/search``
    of a fresh worker, ``kill -9`` of it to its replacement's first answer, then the (b)
    queries and the first 100 (a) headlines as ``/api/search``, and the worker's RSS / PSS /
    USS after them (``benchmarks/serving.py``'s measures)."""
    import requests

    from benchmarks.serving import cpu_seconds, memory, serve

    def get(q: str) -> float:
        t0 = time.perf_counter()
        resp = requests.get(f"{server.url}/api/search", params={"q": q}, timeout=600)
        if resp.status_code != 200:
            raise RuntimeError(f"/api/search?q={q}: {resp.status_code} {resp.text[:300]}")
        return (time.perf_counter() - t0) * 1000

    out: dict = {}
    with serve(ROOT, Path(sys.executable), ix, 1, log_dir) as server:
        (pid,) = server.workers()
        out["fresh_worker_rss"] = memory(pid)
        cpu0 = cpu_seconds(pid)
        out["cold_first_ms"] = get(queries_b[0])
        out["cold_first_cpu_ms"] = (cpu_seconds(pid) - cpu0) * 1000
        (old,) = server.workers()
        t0 = time.perf_counter()
        os.kill(old, 9)
        while True:
            try:
                resp = requests.get(f"{server.url}/api/search", params={"q": queries_b[1]}, timeout=60)
                if resp.status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.002)
        out["kill_to_first_answer_ms"] = (time.perf_counter() - t0) * 1000
        (pid,) = server.workers()
        cpu0 = cpu_seconds(pid)
        ms = [get(q) for q in [*queries_b, *(q for _qid, q in queries_a[:100])]]
        out["mix"] = {"requests": len(ms), "p50": statistics.median(ms), "p95": pct(ms, 0.95)}
        out["mix_cpu_ms"] = (cpu_seconds(pid) - cpu0) * 1000 / len(ms)
        out["worker"] = {**memory(pid), "anon": _anonymous_mb(pid)}
    return out


def _anonymous_mb(pid: int) -> float:
    """A process's anonymous memory (heap, numpy arrays): what it holds apart from mapped files.
    With one worker, USS also counts the index pages only it maps (page cache all the same)."""
    for row in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if row.startswith("Anonymous:"):
            return int(row.split()[1]) / 1024
    return 0.0


def serving_line(r: dict) -> str:
    w, f = r["worker"], r["fresh_worker_rss"]
    return (
        f"  gunicorn, 1 worker: first answer of a fresh worker {r['cold_first_ms']:.0f} ms "
        f"({r['cold_first_cpu_ms']:.0f} ms CPU); kill -9 to the replacement's first answer "
        f"{r['kill_to_first_answer_ms']:.0f} ms\n"
        f"  after {r['mix']['requests']} /api/search (the (b) queries, 100 headlines; p50 "
        f"{r['mix']['p50']:.0f} / p95 {r['mix']['p95']:.0f} ms, {r['mix_cpu_ms']:.0f} CPU ms each): "
        f"worker RSS {w['rss']:.0f} / PSS {w['pss']:.0f} / USS {w['uss']:.0f} MB, "
        f"anonymous {w.get('anon', 0):.0f} MB (the rest: mapped index files), written by this worker "
        f"alone (private dirty) {w.get('dirty', 0):.0f} MB "
        f"(fresh, before any query: RSS {f['rss']:.0f} / USS {f['uss']:.0f})"
    )


def export_ref(ref: str, dest: Path) -> Path:
    """The code of git ``ref`` (e.g. ``main``) unpacked at ``dest``: the baseline engine."""
    if not (dest / "indexer").exists():
        dest.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
    return dest


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100000,300000,1000000")
    ap.add_argument("--work", type=Path, default=ROOT / ".bench" / "scale")
    ap.add_argument(
        "--kashaf", default=str(Path(sys.executable).with_name("kashaf")), help="the index command"
    )
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--headlines", type=int, default=1000)
    ap.add_argument("--short", type=int, default=300)
    ap.add_argument("--baseline-ref", default="main", help="git ref of the previous engine ('' for none)")
    ap.add_argument("--baseline-sizes", default="100000", help="sizes the previous engine runs at")
    ap.add_argument("--stock-sizes", default="100000", help="sizes stock Whoosh runs (a) at ('' for none)")
    ap.add_argument(
        "--serve-sizes",
        default="1000000",
        help="sizes to serve with gunicorn after the queries ('' for none)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the indexes (else each is deleted after use)")
    ap.add_argument(
        "--build-only",
        action="store_true",
        help="build (or grow) the indexes and keep them, time no query (a second run times them)",
    )
    ap.add_argument(
        "--part", type=int, default=100_000, help="documents per corpus file (each size is whole files)"
    )
    ap.add_argument(
        "--grow",
        action="store_true",
        help="build each size after the first by updating the previous size's index (moved, or "
        "hard-linked with --keep) with `kashaf index` of the bigger corpus: its documents are unchanged "
        "and skipped",
    )
    ap.add_argument("--query", nargs=3, metavar=("INDEX", "KIND", "QFILE"), help=argparse.SUPPRESS)
    ap.add_argument("--engine-root", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--stock", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.query:
        if args.engine_root:
            sys.path.insert(0, str(args.engine_root))
        index, kind, qfile = args.query
        queries = json.loads(Path(qfile).read_text("utf-8"))
        print(json.dumps(query_pass(Path(index), kind, queries, args.stock)))
        return
    if not (SHARED / "corpus" / CORPORA[0]).exists():
        sys.exit(f"{SHARED / 'corpus'} is absent: the corpora live in ../shared beside the project")
    args.work.mkdir(parents=True, exist_ok=True)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    nreal = len(real_articles())
    heads = list(_tsv(SHARED / "eval" / "ant_title" / "queries.tsv"))[: args.headlines]
    qa = args.work / "queries_a.json"
    qa.write_text(json.dumps(heads, ensure_ascii=False), "utf-8")
    qb = args.work / "queries_b.json"
    baseline = export_ref(args.baseline_ref, args.work / "baseline-code") if args.baseline_ref else None
    print(
        f"# machine: {os.cpu_count()} cores, {_mem_gib():.0f} GiB; other work may share it"
        " (one run, side by side)\n"
        f"# documents: the {nreal:,} real articles of ../shared/corpus/ ({', '.join(CORPORA)}) first, then\n"
        "#   variants of them: distinct ids, paragraphs (else sentences) shuffled;"
        " titles, dates, sources kept\n"
        f"# build: {args.kashaf} index (jobs={args.jobs or 'default'}); queries: this checkout's engine"
        + (f"; baseline: git {args.baseline_ref}'s engine" if baseline else "")
        + "\n# (a) ant_title headlines, op=or, top 10 (indexer.search.batch); (b) 1-3 words, search(): total,"
        " facets, snippets\n# first = a fresh process, each query once (its caches empty;"
        " the OS page cache may hold the files); warm = the same queries again",
        flush=True,
    )
    parts = args.work / "parts"
    bounds = part_bounds(sizes, args.part)
    write_parts(parts, bounds)
    prev: tuple[int, Path] | None = None
    for n in sizes:
        real, variants = min(n, nreal), max(0, n - nreal)
        files = [part_path(parts, a, b) for a, b in bounds if b <= n]
        ix = args.work / f"kashaf_{n}"
        if not (ix / "CURRENT").exists():
            shutil.rmtree(ix, ignore_errors=True)  # a build that did not finish
            cmd = [*args.kashaf.split(), "index", *map(str, files), "--index", str(ix)]
            record: dict = {"how": "fresh"}
            if args.grow and prev is not None and (prev[1] / "CURRENT").exists():
                before = json.loads((prev[1] / "build.json").read_text())
                grow_from(prev[1], ix, args.keep or args.build_only)
                record = {"how": "update", "from": prev[0], "before": before}
            else:
                cmd.append("--rebuild")
            if args.jobs:
                cmd += ["--jobs", str(args.jobs)]
            seconds, peak, rc = run_measured(cmd, log=args.work / f"build_{n}.log")
            # 1: input problems reported (a record skipped or a field dropped), the rest indexed
            # (the corpora hold a few unparseable dates): a published index is a finished build.
            if rc and not (rc == 1 and (ix / "CURRENT").exists()):
                sys.exit(f"build of {n} failed (rc {rc}): see {args.work / f'build_{n}.log'}")
            (ix / "build.json").write_text(json.dumps({"seconds": seconds, "peak_mb": peak, **record}))
        prev = (n, ix)
        b = json.loads((ix / "build.json").read_text())
        print(
            f"\n{n:,} documents ({real:,} real + {variants:,} variants): {_built(n, b)}, "
            f"index {index_mb(ix):,.0f} MB",
            flush=True,
        )
        if args.build_only:
            continue
        if not qb.exists():
            qb.write_text(json.dumps(_short_queries(ix, args.short), ensure_ascii=False), "utf-8")
        for kind, qfile in (("b", qb), ("a", qa)):
            label = "(a) headlines or top10" if kind == "a" else "(b) 1-3 words +facets"
            print(line(f"{label}  kashaf", run_queries(ix, kind, qfile, None)), flush=True)
            if baseline and str(n) in args.baseline_sizes.split(","):
                print(
                    line(f"{label}  {args.baseline_ref}", run_queries(ix, kind, qfile, baseline)), flush=True
                )
        if str(n) in args.stock_sizes.split(","):
            stock_dir = args.work / f"whoosh_{n}"
            secs = stock_whoosh(files, stock_dir)
            print(f"  stock Whoosh index: {secs:.0f} s ({n / secs:.0f} docs/s), {dir_mb(stock_dir):,.0f} MB")
            print(
                line("(a) headlines or top10  stock", run_queries(ix, "a", qa, None, stock_dir)), flush=True
            )
        if str(n) in args.serve_sizes.split(","):
            qs_b = json.loads(qb.read_text("utf-8"))
            print(serving_line(serving(ix, qs_b, heads, args.work)), flush=True)
        if not args.keep and not args.build_only and not (args.grow and n != sizes[-1]):
            shutil.rmtree(ix, ignore_errors=True)


def _built(n: int, b: dict) -> str:
    """How an index was built, its time and peak RSS (an update: also the total from scratch)."""
    own = f"{b['seconds']:.0f} s, peak RSS {b['peak_mb']:.0f} MB"
    if b.get("how") != "update":
        return f"built fresh in {own} ({n / b['seconds']:.0f} docs/s)"
    added = n - b["from"]
    total = b["seconds"] + _total(b["before"])
    return (
        f"built as an update of the {b['from']:,}-document index adding {added:,} in {own} "
        f"({added / b['seconds']:.0f} docs/s added); with the builds before it {total:.0f} s "
        f"({n / total:.0f} docs/s)"
    )


def _total(b: dict) -> float:
    return b["seconds"] + (_total(b["before"]) if b.get("how") == "update" else 0.0)


def _tsv(path: Path) -> Iterator[tuple[str, str]]:
    for row in path.read_text("utf-8").splitlines():
        if "\t" in row:
            qid, q = row.split("\t", 1)
            yield qid, q


def _mem_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30


def _short_queries(ix: Path, n: int) -> list[str]:
    """The (b) queries of benchmarks/query_speed.py, drawn once (from the first size's index)."""
    from benchmarks.query_speed import short_queries
    from indexer.store import open_current

    with open_current(ix) as snap:
        return short_queries(snap, n)


if __name__ == "__main__":
    main()
