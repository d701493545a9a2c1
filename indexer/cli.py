"""The ``kashaf`` command line. Every command is a thin shell over a library call."""

from __future__ import annotations

import json
import sys

import click

import analyzers


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


if __name__ == "__main__":
    main()
