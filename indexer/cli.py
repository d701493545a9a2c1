"""The ``kashaf`` command line. Every command is a thin shell over a library call."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

import analyzers
import indexer


def echo_json(obj: object) -> None:
    """Print JSON with Arabic left readable (no \\u escapes)."""
    click.echo(json.dumps(obj, ensure_ascii=False, indent=2))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="kashaf")
def main() -> None:
    """Kashaf (كشّاف): full-text search for Arabic conflict reporting."""


@main.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of token objects.")
def analyze(text: str | None, as_json: bool) -> None:
    """Show every analysis stage for each token of TEXT (or of standard input).

    Columns: surface token, character offsets, normalized form, stopword flag,
    light stem and root.
    """
    if text is None:
        if sys.stdin.isatty():
            raise click.UsageError("give TEXT or pipe text on standard input")
        text = sys.stdin.read()
    rows = analyzers.analyze(text)
    if as_json:
        echo_json(rows)
        return
    header = ("token", "start", "end", "normalized", "stopword", "stem", "root")
    table = [header] + [
        (
            r["token"],
            str(r["start"]),
            str(r["end"]),
            r["normalized"],
            "yes" if r["stopword"] else "",
            r["stem"],
            r["root"],
        )
        for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


INDEX_OPTION = click.option(
    "--index",
    "index_dir",
    envvar="KASHAF_INDEX",
    default="kashaf-index",
    show_default="$KASHAF_INDEX or ./kashaf-index",
    type=click.Path(file_okay=False, path_type=Path),
    help="Index directory.",
)
CLUSTER_OPTION = click.option(
    "--cluster",
    "cluster_file",
    envvar="KASHAF_CLUSTER",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cluster file (kashaf cluster config): use the Manticore/Sphinx cluster [$KASHAF_CLUSTER].",
)
EXIT_PROBLEMS = 1  # input problems were reported (everything else was indexed)
EXIT_BUSY = 75  # another `kashaf index` holds the lock (EX_TEMPFAIL: try again later)
EXIT_DISK_FULL = 74  # the disk filled up while writing (EX_IOERR); nothing was published


def seeds_dir() -> Path:
    """The bundled seed articles, indexed by default into an empty index."""
    return Path(indexer.__file__).resolve().parents[1] / "seeds"


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@INDEX_OPTION
@CLUSTER_OPTION
@click.option("--rebuild", is_flag=True, help="Start from scratch instead of updating.")
@click.option("--prune", is_flag=True, help="Remove documents whose source file vanished from PATHs.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Analysis processes [CPU count].")
@click.option(
    "--wait",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds to wait for another running `kashaf index` to finish.",
)
def index_cmd(
    *,
    paths: tuple[Path, ...],
    index_dir: Path,
    cluster_file: Path | None,
    rebuild: bool,
    prune: bool,
    jobs: int | None,
    wait: float,
) -> None:
    """Index PATHs (folders, .txt, .jsonl, .jsonl.gz, .csv) incrementally.

    With no PATH and an empty index, indexes the bundled seed articles. Input
    problems are printed as file:line: reason; everything else is indexed and the
    exit status is 1. A crash or kill leaves the previous state searchable.
    With --cluster, every changed document is then written to the cluster's shards
    and mirrors (see `kashaf cluster sync`).
    """
    from indexer import store
    from indexer.build import DiskFull, build
    from indexer.progress import Progress

    if not paths:
        if store.current_generation(index_dir) is not None and not rebuild:
            raise click.UsageError(f"{index_dir} already holds an index: give PATH(s) to index")
        paths = (seeds_dir(),)
        click.echo(f"indexing the bundled seeds: {paths[0]}", err=True)
    try:
        report = build(
            list(paths),
            index_dir,
            rebuild=rebuild,
            prune=prune,
            jobs=jobs,
            wait=wait,
            progress=Progress(sys.stderr),
            on_problem=lambda p: click.echo(str(p), err=True),
            log=lambda msg: click.echo(msg, err=True),
        )
    except store.IndexBusy as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_BUSY)
    except DiskFull as e:
        click.echo(f"\nerror: {e}", err=True)
        sys.exit(EXIT_DISK_FULL)
    if report.generation is None:
        click.echo(f"nothing changed; {report.summary()}")
    else:
        click.echo(f"generation {report.generation}: {report.summary()}")
    if cluster_file is not None:
        _sync(index_dir, cluster_file, full=rebuild)
    fatal = [p for p in report.problems if p.fatal]
    if fatal:
        errors = sum(p.level == "error" for p in fatal)
        click.echo(
            f"{len(fatal)} input problem(s): {errors} error(s) (not indexed), "
            f"{len(fatal) - errors} warning(s) (indexed with a field dropped); see above",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)


def _open(index_dir: Path):
    from indexer import store

    try:
        return store.open_current(index_dir)
    except store.IndexNotFound as e:
        raise click.ClickException(str(e)) from None


@main.command()
@INDEX_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def stats(index_dir: Path, as_json: bool) -> None:
    """Documents, terms per field, size on disk and the last build."""
    from indexer.stats import index_stats

    with _open(index_dir) as snap:
        info = index_stats(snap)
    if as_json:
        echo_json(info)
        return
    click.echo(f"index       {info['index']} (generation {info['generation']})")
    click.echo(f"documents   {info['documents']}")
    click.echo(f"size        {info['size_bytes'] / 1e6:.1f} MB")
    for fname, count in info["terms"].items():
        click.echo(f"terms       {fname:<12} {count}")
    b = info["last_build"]
    if b:
        click.echo(
            f"last build  {b['finished']} in {b['seconds']:.1f} s: added {b['added']}, "
            f"updated {b['updated']}, unchanged {b['unchanged']}, removed {b['removed']}, "
            f"failed {b['failed']}"
        )


OP_OPTION = click.option(
    "--op",
    type=click.Choice(["and", "or"]),
    default="and",
    show_default=True,
    help="and: every word must match; or: any word (ranked).",
)
LEVEL_OPTION = click.option(
    "--level",
    type=click.Choice(["stem", "root"]),
    default="stem",
    show_default=True,
    help="stem: words match their exact form and light stem; root: their root too (broader).",
)


def _terminal_snippet(snippet: str, color: bool) -> str:
    """<mark> → bold on a colour terminal, [brackets] otherwise; entities unescaped."""
    import html

    def mark(m: re.Match) -> str:
        word = html.unescape(m.group(1))
        return click.style(word, bold=True, fg="yellow") if color else f"[{word}]"

    parts = re.split(r"(<mark>.*?</mark>)", snippet)
    return "".join(
        mark(re.match(r"<mark>(.*?)</mark>", p)) if p.startswith("<mark>") else html.unescape(p)
        for p in parts
    )


@main.command()
@click.argument("query")
@INDEX_OPTION
@OP_OPTION
@click.option("--limit", type=click.IntRange(min=0), default=20, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--place", multiple=True, help="Place id or name (repeatable: any); includes sub-places.")
@click.option("--group", multiple=True, help="Group id or name (repeatable: any); includes sub-units.")
@click.option("--with-successors", is_flag=True, help="--group also takes the groups' successors.")
@click.option(
    "--with-predecessors", is_flag=True, help="--group also takes the groups' predecessors (hts: nusra)."
)
@click.option("--source", multiple=True, help="Source name, any case (repeatable).")
@click.option("--from", "date_from", metavar="DATE", help="First day: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--to", "date_to", metavar="DATE", help="Last day: YYYY, YYYY-MM or YYYY-MM-DD (whole period).")
@click.option(
    "--sort",
    type=click.Choice(["relevance", "newest", "oldest", "date"]),
    default="relevance",
    show_default=True,
    help="newest (or date) / oldest: by date, undated reports last.",
)
@LEVEL_OPTION
@click.option("--dedupe", is_flag=True, help="One entry per story group; totals and facets count groups.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the API's shape).")
@CLUSTER_OPTION
def search(
    *,
    query: str,
    index_dir: Path,
    op: str,
    limit: int,
    offset: int,
    as_json: bool,
    cluster_file: Path | None,
    **filters,
) -> None:
    """Search for QUERY: each word matches its exact form or light stem (--level root: or its
    root); a known place or group name matches as the name.

    Operators: =word (exact form only), root:word / جذر:word, "a phrase", AND, OR,
    NOT / -word, ( ); filters in the query: place: group: source: date:A..B from: to:
    (see docs/search.md).
    """
    from indexer.query import QueryError
    from indexer.search import search as run_search

    with _open(index_dir) as snap:
        try:
            result = run_search(
                snap, query, op=op, limit=limit, offset=offset, engine=_engine(cluster_file), **filters
            )
        except QueryError as e:
            raise click.UsageError(str(e)) from None
        except _cluster_error() as e:
            raise click.ClickException(f"cluster: {e}") from None
    if as_json:
        echo_json(result)
        return
    color = sys.stdout.isatty()
    ex = result["explain"]
    if result.get("partial"):
        warned = "; ".join(result["warnings"])
        click.echo(f"warning: PARTIAL results (part of the cluster did not answer): {warned}")
    click.echo(f"{result['total']} hit(s) for {query!r} (--op {op}), read as: {ex['read_as'] or '-'}")
    if ex["ignored"]:
        click.echo(f"ignored: {', '.join(ex['ignored'])}")
    for note in ex["notes"]:
        click.echo(f"note: {note}")
    if result.get("broaden"):
        click.echo(f"--level root would add {result['broaden']['more']} more (words matched at their root)")
    if result.get("suggestion"):
        click.echo(f"did you mean: {result['suggestion']}")
    for rank, hit in enumerate(result["hits"], offset + 1):
        levels = ",".join(hit.get("matched", []))
        click.echo(f"\n{rank:>3}. {hit['score']:8.3f}  {hit['id']}  {hit['date'] or ''}  [{levels}]".rstrip())
        title = hit["title"] if len(hit["title"]) <= 100 else hit["title"][:99] + "…"
        click.echo(f"     {title}")
        if hit.get("copies"):
            click.echo(
                f"     +{len(hit['copies'])} other outlet(s): " + ", ".join(c["id"] for c in hit["copies"])
            )
        click.echo(f"     {_terminal_snippet(hit['snippet'], color)}")
    facets = result.get("facets") or {}
    for name in ("place", "group", "organization"):
        top = facets.get(name, [])[:8]
        if top:
            click.echo(f"\n{name}: " + ", ".join(f"{f['label']} ({f['count']})" for f in top))
    if facets.get("date"):
        click.echo("months: " + ", ".join(f"{d['month']} ({d['count']})" for d in facets["date"]))


@main.command()
@click.argument("queries", type=click.File("r", encoding="utf-8"))
@INDEX_OPTION
@OP_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=10, show_default=True)
@LEVEL_OPTION
def batch(queries, index_dir: Path, op: str, limit: int, level: str) -> None:
    """Run every query of QUERIES.tsv (qid<TAB>query a line) with one searcher.

    Prints TSV rows qid<TAB>doc_id<TAB>rank<TAB>score. A query that cannot be read
    is reported on standard error and has no rows.
    """
    from indexer.search import batch as run_batch

    todo = []
    for raw in queries:
        line = raw.rstrip("\r\n")
        if line.strip():
            qid, _, query = line.partition("\t") if "\t" in line else (line, "", line)
            todo.append((qid, query))
    errors: dict[str, str] = {}
    with _open(index_dir) as snap:
        found = run_batch(snap, todo, op=op, limit=limit, errors=errors, level=level)
    for qid, _query in todo:
        if qid in errors:
            click.echo(f"{qid}: {errors[qid]}", err=True)
        for rank, (doc_id, score) in enumerate(found.get(qid, []), 1):
            click.echo(f"{qid}\t{doc_id}\t{rank}\t{score:.4f}")


@main.command()
@click.argument("entity", required=False)
@INDEX_OPTION
@click.option("--kind", type=click.Choice(["place", "group"]), help="Only places or only groups.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the shape of /api/entities[/ID]).")
@click.option("--all", "show_all", is_flag=True, help="Also list entities no document names.")
def entities(entity: str | None, index_dir: Path, kind: str | None, as_json: bool, show_all: bool) -> None:
    """Known places and armed groups with the number of documents counted for each; with
    ENTITY (an id, or an Arabic or English name), that entity's record: names and aliases,
    kind, parent and children, predecessors and successors with dates, reports per month.

    Counts roll up: a report on البوكمال counts for دير الزور governorate and Syria.
    """
    from indexer.entities import listing, record, resolve

    if entity is not None:
        entity_id = resolve(entity)
        if entity_id is None:
            raise click.UsageError(f"unknown place or group {entity!r} (see `kashaf entities --all`)")
        with _open(index_dir) as snap:
            rec = record(snap.searcher(), entity_id)
        if as_json:
            echo_json(rec)
            return
        click.echo(f"{rec['id']}  {rec['label']} / {rec['label_en']}  ({rec['kind']}, {rec['level']})")
        click.echo(f"aliases: {' | '.join(rec['aliases_ar'] + rec['aliases_en'])}")
        for key in ("parent", "children", "predecessors", "successors"):
            value = rec.get(key)
            refs = [value] if isinstance(value, dict) else value or []
            if refs:
                click.echo(f"{key}: " + ", ".join(f"{r['id']} ({r['label_en']})" for r in refs))
        click.echo(f"documents: {rec['count']}")
        for m in rec["months"]:
            click.echo(f"  {m['month']}  {m['count']:>6}")
        return
    with _open(index_dir) as snap:
        rows = listing(snap.searcher(), kind, show_all)
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['kind']:<6} {r['count']:>7}  {r['id']:<34} {r['label']}  ({r['level']})")


# --- saved searches and alerts (indexer/saved.py, indexer/watch.py) --------------------------


@main.group()
def saved() -> None:
    """Named searches stored beside the index, for `kashaf watch`."""


@saved.command("add")
@click.argument("name")
@click.argument("query", required=False, default="")
@INDEX_OPTION
@click.option("--url", help="A search page URL (or its query string) to save as it is.")
@OP_OPTION
@click.option("--place", multiple=True, help="Place id or name (repeatable).")
@click.option("--group", multiple=True, help="Group id or name (repeatable).")
@click.option("--with-successors", is_flag=True, help="--group also takes the groups' successors.")
@click.option("--source", multiple=True, help="Source name (repeatable).")
@click.option("--from", "date_from", metavar="DATE", help="First day: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--to", "date_to", metavar="DATE", help="Last day.")
@click.option("--dedupe", is_flag=True, help="Report each story group once.")
@click.option("--report-existing", is_flag=True, help="The first watch also reports what matches now.")
def saved_add(
    *, name: str, query: str, index_dir: Path, url: str | None, report_existing: bool, **opts
) -> None:
    """Save a search as NAME: QUERY with options, or --url of a search page.

    What it matches now counts as known (unless --report-existing): `kashaf watch`
    reports only reports that are new after this.
    """
    from urllib.parse import urlencode

    from indexer import saved as store_saved
    from indexer import watch as w
    from indexer.query import QueryError

    if url and (query or any(v for k, v in opts.items() if k != "op")):
        raise click.UsageError("give --url or QUERY with options, not both")
    if url:
        raw = url
    else:
        pairs = [("q", query)] if query else []
        pairs += [(k, v) for k in ("place", "group", "source") for v in opts[k]]
        if opts["op"] != "and":
            pairs.append(("op", opts["op"]))
        for key, flag in (("with_successors", "with_successors"), ("dedupe", "dedupe")):
            if opts[flag]:
                pairs.append((key, "1"))
        pairs += [(k, opts[o]) for k, o in (("from", "date_from"), ("to", "date_to")) if opts[o]]
        raw = urlencode(pairs)
    try:
        params = store_saved.normalize_params(raw)
        with _open(index_dir) as snap:
            found = w.matches(snap, params)
            baseline = [] if report_existing else [k for h in found for k in w.keys_of(h, params)]
        con = store_saved.connect(index_dir)
        try:
            store_saved.add(con, name, params, baseline)
        finally:
            con.close()
    except (store_saved.SavedSearchError, QueryError) as e:
        raise click.UsageError(str(e)) from None
    click.echo(f"saved {name!r}: /search?{params} ({len(found)} match(es) now)")


@saved.command("list")
@INDEX_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list.")
def saved_list(index_dir: Path, as_json: bool) -> None:
    """The saved searches: name, URL, reports known, events pending."""
    from indexer import saved as store_saved

    con = store_saved.connect(index_dir)
    try:
        rows = store_saved.listing(con)
    finally:
        con.close()
    if as_json:
        echo_json(rows)
        return
    for r in rows:
        click.echo(f"{r['name']}\t{r['url']}\tknown {r['known']}\tpending {r['pending']}")


@saved.command("remove")
@click.argument("name")
@INDEX_OPTION
def saved_remove(name: str, index_dir: Path) -> None:
    """Forget the saved search NAME and what it reported."""
    from indexer import saved as store_saved

    con = store_saved.connect(index_dir)
    try:
        if not store_saved.remove(con, name):
            raise click.ClickException(f"no saved search named {name!r}")
    finally:
        con.close()
    click.echo(f"removed {name!r}")


@main.command()
@INDEX_OPTION
@click.option("--output", type=click.Path(dir_okay=False, path_type=Path), help="Append JSONL to FILE.")
@click.option("--webhook", metavar="URL", help="POST each event as JSON to URL.")
@click.option("--name", "names", multiple=True, help="Only these saved searches (repeatable).")
def watch(index_dir: Path, output: Path | None, webhook: str | None, names: tuple[str, ...]) -> None:
    """Run every saved search; report each report that is new since the last run, once.

    Events are JSONL on standard output (default), appended to --output FILE, or POSTed
    to --webhook URL (header Idempotency-Key: event_id). Run it after `kashaf index`.
    A crash or kill between or during runs loses nothing and repeats nothing: the next
    run delivers what was left (see README, "kashaf watch"). Exit 1 when a delivery
    failed (the rest waits for the next run), 75 when another watch is running.
    """
    from indexer import store
    from indexer import watch as w

    if output and webhook:
        raise click.UsageError("give --output or --webhook, not both")
    try:
        sink = w.FileSink(output) if output else w.WebhookSink(webhook) if webhook else w.StreamSink()
    except ValueError as e:
        raise click.UsageError(str(e)) from None
    try:
        report = w.watch(index_dir, sink, list(names) or None)
    except w.WatchBusy as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(EXIT_BUSY)
    except store.IndexNotFound as e:
        raise click.ClickException(str(e)) from None
    except w.DeliveryError as e:
        click.echo(f"error: {e} (undelivered events wait for the next run)", err=True)
        sys.exit(EXIT_PROBLEMS)
    click.echo(
        f"{report.searches} saved search(es): {report.planned} new, {report.delivered} delivered"
        + (f", {report.recovered} recovered from an interrupted run" if report.recovered else ""),
        err=True,
    )


@main.command()
@INDEX_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (local by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes [2 × cores + 1, ≤ 8].")
@CLUSTER_OPTION
def serve(index_dir: Path, host: str, port: int, workers: int | None, cluster_file: Path | None) -> None:
    """Serve the web UI and JSON API with gunicorn (see docs/serving.md); Ctrl-C stops.

    With --cluster (or $KASHAF_CLUSTER), searches run on the cluster; documents and
    snippets still come from the index directory's store.
    """
    import os

    from web.serve import serve as run_server

    if cluster_file is not None:
        _engine(cluster_file)  # a bad cluster file fails here, not in every worker
        os.environ["KASHAF_CLUSTER"] = str(cluster_file.resolve())

    run_server(index_dir, host=host, port=port, workers=workers)


# --- the cluster -----------------------------------------------------------------------


def _cluster_error():
    from indexer.engines.sphinx import ClusterError

    return ClusterError


def _engine(cluster_file: Path | None):
    if cluster_file is None:
        return None
    from indexer.engines.sphinx import engine_for

    try:
        return engine_for(cluster_file)
    except ValueError as e:
        raise click.ClickException(str(e)) from None


def _load_cluster(cluster_file: Path):
    from indexer.engines.sphinx import Cluster

    try:
        return Cluster.load(cluster_file)
    except ValueError as e:
        raise click.ClickException(str(e)) from None


def _sync(index_dir: Path, cluster_file: Path, full: bool = False, dask=None) -> None:
    from indexer.engines.sphinx import ClusterError, sync

    c = _load_cluster(cluster_file)
    with _open(index_dir) as snap:
        try:
            done = sync(snap, c, full=full, dask=dask)
        except ClusterError as e:
            click.echo(f"error: cluster write failed ({e}); run again once every replica is up", err=True)
            sys.exit(EXIT_PROBLEMS)
    click.echo(
        f"cluster: wrote {done['written']}, deleted {done['deleted']}; {done['documents']} documents "
        f"on {len(c.shards)} shard(s)"
    )
    if done["cluster"] != done["documents"]:
        click.echo(
            f"error: the cluster holds {done['cluster']} documents, the index {done['documents']} "
            "(a replica replaced or wiped?): run `kashaf cluster sync --full`",
            err=True,
        )
        sys.exit(EXIT_PROBLEMS)


CLUSTER_FILE = click.option(
    "--cluster",
    "cluster_file",
    envvar="KASHAF_CLUSTER",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Cluster file [$KASHAF_CLUSTER].",
)


@main.group()
def cluster() -> None:
    """Run Kashaf on a Manticore / Sphinx cluster (docs/cluster.md)."""


@cluster.command("config")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--shards", type=click.IntRange(min=1), default=2, show_default=True)
@click.option(
    "--mirrors", type=click.IntRange(min=0), default=1, show_default=True, help="Replicas per shard, less 1."
)
@click.option("--host", "hosts", multiple=True, help="Agent host (repeatable: round-robin) [127.0.0.1].")
@click.option(
    "--port", type=click.IntRange(1, 65000), default=9306, show_default=True, help="Head's SphinxQL port"
)
@click.option("--data-dir", default=None, help="Nodes' data directory [OUT_DIR/data].")
@click.option(
    "--flavor",
    type=click.Choice(["sphinx", "manticore"]),
    default="sphinx",
    show_default=True,
    help="searchd to write for.",
)
@INDEX_OPTION
def cluster_config(  # noqa: PLR0917 - click passes the options by keyword
    out_dir: Path,
    shards: int,
    mirrors: int,
    hosts: tuple[str, ...],
    port: int,
    data_dir: str | None,
    flavor: str,
    index_dir: Path,
) -> None:
    """Write OUT_DIR/cluster.json, one searchd config per node (head + agents) and, when
    the index exists, the global IDF file from Kashaf's statistics."""
    from indexer import store
    from indexer.engines import sphinx as sx

    out_dir = out_dir.resolve()
    c = sx.plan_cluster(shards, mirrors, hosts or ("127.0.0.1",), port, data_dir or str(out_dir / "data"))
    idf = out_dir / "kashaf.idf"
    confs = sx.write_configs(c, out_dir, str(idf), flavor)
    (out_dir / "cluster.json").write_text(json.dumps(c.as_json(), indent=2) + "\n", encoding="utf-8")
    if store.current_generation(index_dir) is not None:
        with _open(index_dir) as snap:
            n = sx.write_global_idf(snap, idf)
        click.echo(f"global IDF: {idf} ({n} keywords)")
    else:
        idf.write_bytes(b"\0" * 8)  # no statistics yet: an empty file searchd accepts
        click.echo(f"global IDF: {idf} is empty (no index yet; run `kashaf cluster idf` after indexing)")
    for name, path in confs.items():
        click.echo(f"{name}: {path}")
    click.echo(f"cluster file: {out_dir / 'cluster.json'}")


@cluster.command("idf")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@INDEX_OPTION
def cluster_idf(out: Path, index_dir: Path) -> None:
    """Write Sphinx's global IDF file from the index's statistics (copy it to every agent)."""
    from indexer.engines.sphinx import write_global_idf

    with _open(index_dir) as snap:
        n = write_global_idf(snap, out)
    click.echo(f"{out}: {n} keywords")


@cluster.command("sync")
@INDEX_OPTION
@CLUSTER_FILE
@click.option("--full", is_flag=True, help="Rewrite every document (e.g. after replacing a replica).")
@click.option(
    "--jobs", type=click.IntRange(min=1), default=None, help="Dask worker processes on this machine."
)
@click.option("--scheduler", default=None, help="Address of a running Dask scheduler (tcp://host:8786).")
def cluster_sync(
    index_dir: Path, cluster_file: Path, full: bool, jobs: int | None, scheduler: str | None
) -> None:
    """Write what changed in the index to every shard replica (and delete what is gone).

    With --jobs or --scheduler the (re)indexing is spread over Dask workers: each task
    analyzes one chunk of one shard's documents and writes that shard's replicas. Workers
    on other machines must read the index directory at the same path.
    """
    if jobs is None and scheduler is None:
        _sync(index_dir, cluster_file, full=full)
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise click.ClickException("Dask is not installed: pip install -e '.[bulk]'") from None
    if scheduler:
        with Client(scheduler) as client:
            _sync(index_dir, cluster_file, full=full, dask=client)
        return
    with LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None) as lc:
        with Client(lc) as client:
            _sync(index_dir, cluster_file, full=full, dask=client)


@cluster.command("start")
@click.argument("conf_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def cluster_start(conf_dir: Path) -> None:
    """Start every searchd whose config is in CONF_DIR on this machine (trials, tests)."""
    from indexer.engines.sphinx import ClusterError, start_node

    for conf in sorted(conf_dir.glob("*.conf")):
        try:
            start_node(conf)
        except ClusterError as e:
            raise click.ClickException(str(e)) from None
        click.echo(f"started {conf.stem}")


@cluster.command("stop")
@click.argument("conf_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
def cluster_stop(conf_dir: Path) -> None:
    """Stop every searchd whose config is in CONF_DIR (cleanly: RT data flushed)."""
    from indexer.engines.sphinx import stop_node

    for conf in sorted(conf_dir.glob("*.conf")):
        stop_node(conf)
        click.echo(f"stopped {conf.stem}")


if __name__ == "__main__":
    main()
