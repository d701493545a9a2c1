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
EXIT_PROBLEMS = 1  # input problems were reported (everything else was indexed)
EXIT_BUSY = 75  # another `kashaf index` holds the lock (EX_TEMPFAIL: try again later)


def seeds_dir() -> Path:
    """The bundled seed articles, indexed by default into an empty index."""
    return Path(indexer.__file__).resolve().parents[1] / "seeds"


@main.command("index")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@INDEX_OPTION
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
    *, paths: tuple[Path, ...], index_dir: Path, rebuild: bool, prune: bool, jobs: int | None, wait: float
) -> None:
    """Index PATHs (folders, .txt, .jsonl, .jsonl.gz, .csv) incrementally.

    With no PATH and an empty index, indexes the bundled seed articles. Input
    problems are printed as file:line: reason; everything else is indexed and the
    exit status is 1. A crash or kill leaves the previous state searchable.
    """
    from indexer import store
    from indexer.build import build
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
    if report.generation is None:
        click.echo(f"nothing changed; {report.summary()}")
    else:
        click.echo(f"generation {report.generation}: {report.summary()}")
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
    help="and: every word must match (at some level); or: any word.",
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
@click.option("--limit", type=click.IntRange(min=0), default=10, show_default=True)
@click.option("--offset", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--place", multiple=True, help="Place id or name (repeatable: any); includes sub-places.")
@click.option("--group", multiple=True, help="Group id or name (repeatable: any); includes sub-units.")
@click.option("--with-successors", is_flag=True, help="--group also takes the groups' successors.")
@click.option(
    "--with-predecessors", is_flag=True, help="--group also takes the groups' predecessors (hts: nusra)."
)
@click.option("--source", multiple=True, help="Source name (repeatable).")
@click.option("--from", "date_from", metavar="DATE", help="First day: YYYY, YYYY-MM or YYYY-MM-DD.")
@click.option("--to", "date_to", metavar="DATE", help="Last day: YYYY, YYYY-MM or YYYY-MM-DD (whole period).")
@click.option("--sort", type=click.Choice(["relevance", "date"]), default="relevance", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the API's shape).")
def search(
    *, query: str, index_dir: Path, op: str, limit: int, offset: int, as_json: bool, **filters
) -> None:
    """Search for QUERY: each word matches its exact form, light stem or root.

    Operators: =word (exact form only), root:word / جذر:word, "a phrase", AND, OR,
    NOT / -word, ( ); filters in the query: place: group: source: date:A..B from: to:
    (see docs/search.md).
    """
    from indexer.query import QueryError
    from indexer.search import search as run_search

    with _open(index_dir) as snap:
        try:
            result = run_search(snap, query, op=op, limit=limit, offset=offset, **filters)
        except QueryError as e:
            raise click.UsageError(str(e)) from None
    if as_json:
        echo_json(result)
        return
    color = sys.stdout.isatty()
    ex = result["explain"]
    click.echo(f"{result['total']} hit(s) for {query!r} (--op {op}), read as: {ex['read_as'] or '-'}")
    for note in ex["notes"]:
        click.echo(f"note: {note}")
    if result.get("suggestion"):
        click.echo(f"did you mean: {result['suggestion']}")
    for rank, hit in enumerate(result["hits"], offset + 1):
        levels = ",".join(hit.get("matched", []))
        click.echo(f"\n{rank:>3}. {hit['score']:8.3f}  {hit['id']}  {hit['date'] or ''}  [{levels}]".rstrip())
        title = hit["title"] if len(hit["title"]) <= 100 else hit["title"][:99] + "…"
        click.echo(f"     {title}")
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
def batch(queries, index_dir: Path, op: str, limit: int) -> None:
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
        found = run_batch(snap, todo, op=op, limit=limit, errors=errors)
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


@main.command()
@INDEX_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (local by default).")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes [2 × cores + 1, ≤ 8].")
def serve(index_dir: Path, host: str, port: int, workers: int | None) -> None:
    """Serve the web UI and JSON API with gunicorn (see docs/serving.md); Ctrl-C stops."""
    from web.serve import serve as run_server

    run_server(index_dir, host=host, port=port, workers=workers)


if __name__ == "__main__":
    main()
