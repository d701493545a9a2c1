"""Mention-tagging speed and coverage on the ANT corpus (../shared, never copied).

    .venv/bin/python benchmarks/tagging_speed.py [--docs N] [--runs 3] [--baseline DIR]
        [--no-speed | --no-coverage] [--no-nisba] [--misses lb,ps,sd]

Prints docs/s of tokenize+normalize alone and of tokenize+normalize+tag() over the same
articles in the same run (median of ``--runs``); with ``--baseline DIR`` (a checkout of another
revision: ``mkdir -p .bench/main && git archive main | tar -x -C .bench/main``) that revision's
tag() is timed too, in a child process whose runs alternate with ours. Then coverage per
country, one definition for all seven: among the articles that mention a covered country —
its name, its capital or its nationality adjective as a word, with clitics and endings
(NISBA_RE: سوريا، سورية، دمشق، السوري، السوريين …), outside the name of an actor the tagger
found (حزب الله اللبناني، قوات سوريا الديمقراطية، حركة تحرير السودان are names, not mentions
of the country; a state's own force or government, الجيش اللبناني، قوات الحكومة اليمنية,
does mention it) — the share whose places in the index (``indexer.entities.entities_for``:
the places named and, by analyzers/nisba.py, the country of a nisba phrase such as الحكومة
اليمنية or of a state's force or government) include one of that country. ``--no-nisba``
leaves the nisba phrases out (places named only), ``--inside-names`` also counts the words
inside actors' names (the definition before 2026-12-01), and Syria's earlier substring
definition (سوري or دمشق anywhere in the normalized text, 90.2 % when first measured) is
printed beside it. ``--misses lb,ps,sd`` lists every report of those countries the wider
column misses, with its country words in context, for reading one by one.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analyzers import gazetteer  # noqa: E402
from analyzers.normalize import normalize  # noqa: E402
from analyzers.tagger import tag  # noqa: E402
from analyzers.tokenize import tokenize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "ant_multisource_v2.1.jsonl.gz"
# Text that mentions a country (matched on the raw text, so that اليمنى "right" is not اليمني):
# a word that is its name or its capital, with clitics (so not يمنع "prevents", عراقيل
# "obstacles") — and, in the wider definition, also its nisba (اليمني، العراقيين، اللبنانية …).
_WORD = r"(?:^|[^\w])[وفبل]*(?:{stems}){suffix}(?=[^\w]|$)"
_COUNTRY_WORDS = {
    "sy": ("سوريا|سورية|لسوريا|لسورية|دمشق", "السوري|سوري"),
    "iq": ("العراق|لعراق|بغداد", "العراقي|عراقي"),
    "ye": ("اليمن|ليمن|صنعاء", "اليمني|يمني"),
    "ly": ("ليبيا|طرابلس الغرب", "الليبي|ليبي"),
    "lb": ("لبنان|بيروت", "اللبناني|لبناني"),
    "ps": ("فلسطين|غزة|الضفة الغربية", "الفلسطيني|فلسطيني"),
    "sd": ("السودان|لسودان|الخرطوم|لخرطوم", "السوداني|سوداني"),
}
COUNTRY_RE = {
    cc: re.compile(_WORD.format(stems=names, suffix="")) for cc, (names, _) in _COUNTRY_WORDS.items()
}
NISBA_RE = {
    cc: re.compile(_WORD.format(stems=f"{names}|{nisba}", suffix="(?:ة|ين|ون|ات|تين)?"))
    for cc, (names, nisba) in _COUNTRY_WORDS.items()
}
# Syria's earlier definition (its 90.2 %): the normalized text contains سوري or دمشق.
SYRIA_SUBSTRING_RE = re.compile(r"سوري|دمشق")


def load_parts(path: Path, limit: int | None) -> list[tuple[str, str]]:
    """(title, text) of each article."""
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            docs.append((row.get("title") or "", row.get("text") or ""))
            if limit and len(docs) >= limit:
                break
    return docs


def load(path: Path, limit: int | None) -> list[str]:
    """Title + text of each article."""
    return [f"{title}\n{text}" for title, text in load_parts(path, limit)]


def outside_actors(title: str, text: str, mentions: list) -> str:
    """Title and text with the names of the non-state actors the tagger found blanked out
    (حزب الله اللبناني → spaces), and the places of other countries whose names hold a
    covered country's (جنوب السودان, South Sudan): what is left is what mentions a country."""
    # imported here: the baseline child process (another checkout) only times tag()
    from analyzers.nisba import actor_spans

    out = []
    for field, raw in (("title", title), ("body", text)):
        chars = list(raw)
        actors = [
            (m.start, m.end, gazetteer.is_state(m.entity_id))
            for m in mentions
            if m.field == field and m.kind == "group"
        ]
        for start, end, state in actor_spans(raw, actors):  # the nisba rule's spans
            if not state:
                chars[start:end] = " " * (end - start)
        for m in mentions:
            if m.field != field or m.kind != "place":
                continue
            if gazetteer.country_of(m.entity_id) not in _COUNTRY_WORDS:  # جنوب السودان
                chars[m.start : m.end] = " " * (m.end - m.start)
        out.append("".join(chars))
    return "\n".join(out)


def coverage(
    parts: list[tuple[str, str]],
    nisba: bool = True,
    inside_names: bool = False,
    misses: dict[str, list[tuple[int, str]]] | None = None,
) -> list[tuple[str, str, int, int]]:
    """``(country, definition, covered, related)`` per covered country and definition.

    ``misses``, when given, is filled with ``country -> [(article number, text outside actors'
    names)]`` for the articles of the wider definition that get no place of the country."""
    # imported here: the baseline child process (another checkout) only times tag()
    from indexer.entities import entities_for

    table = gazetteer.entities()
    docs = [f"{title}\n{text}" for title, text in parts]
    any_country = re.compile("|".join(p.pattern for p in NISBA_RE.values()))
    # places of each article that names a country at all, and its text outside actors' names
    places: dict[int, set[str]] = {}
    outside: dict[int, str] = {}
    for k, d in enumerate(docs):
        if not any_country.search(d):
            continue
        found, _, mentions = entities_for(*parts[k])
        places[k] = (
            set(found)
            if nisba
            else {i for m in mentions for i in (m.entity_id, *gazetteer.ancestors(m.entity_id))}
        )
        outside[k] = d if inside_names else outside_actors(*parts[k], mentions)
    out = []
    for cc, wider in NISBA_RE.items():
        definitions = [("by name or capital", COUNTRY_RE[cc]), ("by name, capital or nisba", wider)]
        if cc == "sy":
            definitions.append(("substring سوري|دمشق (earlier)", SYRIA_SUBSTRING_RE))
        for label, pattern in definitions:
            if pattern is SYRIA_SUBSTRING_RE:  # as first measured: anywhere, tagger's places only
                related = [k for k, d in enumerate(docs) if pattern.search(normalize(d))]
                named = {k: {m.entity_id for m in tag(docs[k])} for k in related}
                covered = sum(any(gazetteer.is_syrian(i) for i in named[k]) for k in related)
                out.append((cc, label, covered, len(related)))
                continue
            related = [k for k, d in outside.items() if pattern.search(d)]
            hit = {
                k
                for k in related
                if any(table[i].kind == "place" and gazetteer.country_of(i) == cc for i in places[k])
            }
            if misses is not None and pattern is wider:
                misses[cc] = [(k, outside[k]) for k in related if k not in hit]
            out.append((cc, label, len(hit), len(related)))
    return out


def baseline(docs: list[str]) -> None:
    for d in docs:
        for t in tokenize(d):
            normalize(t.text)


def tagging(docs: list[str]) -> None:
    for d in docs:
        tag(d)


def rates(fns: list, docs: list[str], runs: int) -> list[float]:
    """docs/s of each function, median of ``runs``; runs are interleaved so caches warm alike."""
    times: list[list[float]] = [[] for _ in fns]
    for _ in range(runs):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter()
            fn(docs)
            times[i].append(time.perf_counter() - t0)
    return [len(docs) / statistics.median(t) for t in times]


def _child(docs: int, rounds: int) -> None:
    """Baseline mode: time this process's tag() each time a line comes in; print docs/s."""
    sample = load(CORPUS, docs)
    tag(sample[0])
    for _ in range(rounds):
        sys.stdin.readline()
        t0 = time.perf_counter()
        tagging(sample)
        print(len(sample) / (time.perf_counter() - t0), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    ap.add_argument("--docs", type=int, default=3000, help="articles for the speed runs")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", type=Path, help="checkout whose tag() to time alongside")
    ap.add_argument("--no-nisba", action="store_true", help="coverage by places named only")
    ap.add_argument(
        "--inside-names", action="store_true", help="also count country words inside actors' names"
    )
    ap.add_argument("--no-speed", action="store_true", help="coverage only")
    ap.add_argument(
        "--misses",
        metavar="CC",
        help="list every miss of these countries (comma-separated ids: lb,ps,sd), each with"
        " its country words in context, after the table",
    )
    ap.add_argument("--no-coverage", action="store_true", help="speed only")
    args = ap.parse_args()
    if not args.corpus.exists():
        sys.exit(f"{args.corpus} is absent: the ANT corpus lives in ../shared beside the project")

    parts = load_parts(args.corpus, None)
    docs = [f"{title}\n{text}" for title, text in parts]
    if not args.no_speed:
        speed(args, docs)
    if args.no_coverage:
        return
    how = "places named" if args.no_nisba else "places named or a nisba phrase's country"
    print(f"coverage on {len(docs)} ANT articles ({how}): reports with a place of the country / reports")
    print("  country  by name or capital      by name, capital or nisba")
    misses: dict[str, list[tuple[int, str]]] = {}
    rows = coverage(parts, nisba=not args.no_nisba, inside_names=args.inside_names, misses=misses)
    for cc in NISBA_RE:
        cells = [(label, c, n) for k, label, c, n in rows if k == cc]
        line = f"  {cc:7}"
        for label, c, n in cells:
            extra = f"  ({label})" if label.startswith("substring") else ""
            line += f"  {c:5}/{n:<5} {c / max(1, n):6.1%}{extra}"
        print(line)
    for cc in (args.misses or "").split(","):
        if cc:
            print_misses(cc, misses.get(cc, []), parts)


def print_misses(cc: str, rows: list[tuple[int, str]], parts: list[tuple[str, str]]) -> None:
    """Each miss of ``cc``: its number, title and every country word outside actors' names,
    with 60 characters either side (newlines shown as ⏎)."""
    print(f"\n== {cc}: {len(rows)} reports mention the country and get no place of it")
    for k, outside in rows:
        print(f"\n#{k} {parts[k][0][:120]}")
        for m in NISBA_RE[cc].finditer(outside):
            a, b = max(0, m.start() - 60), min(len(outside), m.end() + 60)
            ctx = (
                outside[a : m.start()]
                + "["
                + outside[m.start() : m.end()].strip()
                + "]"
                + outside[m.end() : b]
            )
            print("   …" + ctx.replace("\n", " ⏎ ") + "…")


def speed(args: argparse.Namespace, docs: list[str]) -> None:
    """The speed lines: tokenize+normalize, tag(), and the baseline's tag() alternating."""
    sample = docs[: args.docs]
    tag(sample[0])  # build the name index outside the timed runs (about 0.1 s)
    child = None
    if args.baseline:
        # The child imports the baseline's analyzers first, then this file (whose own
        # ``from analyzers... import`` then finds the baseline's modules already loaded).
        code = (
            f"import sys, importlib.util; sys.path.insert(0, {str(args.baseline.resolve())!r}); "
            "import analyzers.tagger; "
            f"spec = importlib.util.spec_from_file_location('child', {str(Path(__file__).resolve())!r}); "
            "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod); "
            f"mod._child({args.docs}, {args.runs})"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=args.baseline,
        )
    times: dict[str, list[float]] = {"base": [], "tag": [], "baseline": []}
    for _ in range(args.runs):
        for name, fn in (("base", baseline), ("tag", tagging)):
            t0 = time.perf_counter()
            fn(sample)
            times[name].append(len(sample) / (time.perf_counter() - t0))
        if child:
            child.stdin.write("go\n")
            child.stdin.flush()
            times["baseline"].append(float(child.stdout.readline()))
    if child:
        child.wait()
    print(f"speed on {len(sample)} ANT articles, median of {args.runs} runs (interleaved):")
    print(f"  tokenize+normalize            {statistics.median(times['base']):8.1f} docs/s")
    print(f"  tokenize+normalize+tag()      {statistics.median(times['tag']):8.1f} docs/s")
    if child:
        print(f"  same, baseline {args.baseline}: {statistics.median(times['baseline']):8.1f} docs/s")


if __name__ == "__main__":
    main()
