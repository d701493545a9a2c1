"""Mutation testing of Kashaf's core: does the suite notice when the code is wrong?

    .venv/bin/python -m benchmarks.mutation --budget 1500 --sample 150
    .venv/bin/python -m benchmarks.mutation --modules indexer/query.py --tests tests/test_query.py
    .venv/bin/python -m benchmarks.mutation --list            # the mutants, without running them

A small AST mutation runner (mutmut 3 and cosmic-ray both assume the tests import the
code in-process, while Kashaf's suite also runs ``kashaf`` and gunicorn as subprocesses;
here every mutant is written to a file of a *copy* of the project, so subprocesses see
it too). For each mutant: one source change (a comparison, boolean, arithmetic or
unary operator swapped, a number moved by one, True/False swapped, a returned value
replaced by None, a condition negated), spliced into the file by the node's position so
the rest of the file keeps its text; then the tests that cover that module run with
``pytest -x`` against the copy. A failing (or timed-out) run kills the mutant; a green
one is a survivor: either a missing test or an equivalent mutant (no behaviour change),
which a person judges.

Bounded: ``--budget SECONDS`` (wall time; stops starting mutants after it), ``--sample N``
(a random, seeded sample of the mutants), ``--modules`` and ``--tests`` for a subset. One
pytest at a time (the machine is shared). The worktree is never modified. Results go to
``.bench/mutation.json`` (every mutant, its status and diff) and a summary to stdout.

Default scope: ``analyzers/``, ``indexer/query.py``, ``indexer/search.py``, ``web/api.py``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import difflib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODULES = ["analyzers", "indexer/query.py", "indexer/search.py", "web/api.py"]
# Which tests exercise a module (the fast, direct ones; a subset of the suite).
TESTS_FOR = {
    "analyzers/normalize.py": [
        "tests/test_normalize.py",
        "tests/test_cli_analyze.py",
        "tests/test_properties.py",
    ],
    "analyzers/tokenize.py": [
        "tests/test_tokenize.py",
        "tests/test_properties.py",
        "tests/test_cli_analyze.py",
    ],
    "analyzers/stopwords.py": [
        "tests/test_cli_analyze.py",
        "tests/test_lucene_vectors.py",
        "tests/test_search.py",
    ],
    "analyzers/stem.py": [
        "tests/test_stem.py",
        "tests/test_lucene_vectors.py",
        "tests/test_cli_analyze.py",
        "tests/test_core_edges.py",
    ],
    "analyzers/roots.py": ["tests/test_roots.py", "tests/test_cli_analyze.py", "tests/test_core_edges.py"],
    "analyzers/lexicon.py": ["tests/test_roots.py", "tests/test_stem.py"],
    "analyzers/gazetteer.py": [
        "tests/test_gazetteer.py",
        "tests/test_tagger.py",
        "tests/test_cli_analyze.py",
        "tests/test_core_edges.py",
    ],
    "analyzers/tagger.py": ["tests/test_tagger.py", "tests/test_gazetteer.py"],
    "analyzers/whoosh_analysis.py": ["tests/test_whoosh_analysis.py", "tests/test_search.py"],
    "analyzers/__init__.py": ["tests/test_cli_analyze.py", "tests/test_whoosh_analysis.py"],
    "indexer/query.py": ["tests/test_query.py", "tests/test_search.py", "tests/test_core_edges.py"],
    "indexer/search.py": [
        "tests/test_search.py",
        "tests/test_facets.py",
        "tests/test_api.py",
        "tests/test_core_edges.py",
    ],
    "web/api.py": ["tests/test_api.py", "tests/test_pages.py", "tests/test_core_edges.py"],
}
COPY = ["analyzers", "indexer", "web", "tests", "benchmarks", "seeds", "docs", "README.md", "pyproject.toml"]

SWAP_CMP = {
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
SWAP_BIN = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.Div: ast.Mult,
    ast.FloorDiv: ast.Mult,
}


@dataclass
class Mutant:
    """One change to one module: where, what, and (after a run) what the tests said."""

    module: str
    line: int
    what: str
    start: tuple[int, int]
    end: tuple[int, int]
    replacement: str
    status: str = "pending"  # killed | survived | timeout | pending
    seconds: float = 0.0
    diff: str = ""


def _skip_zones(tree: ast.AST) -> set[int]:
    """ids of nodes that are annotations or docstrings: changing them changes no behaviour."""
    skip: set[int] = set()

    def mark(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for d in node.decorator_list:  # @lru_cache(maxsize=...) and the like: tuning, not behaviour
                mark(d)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            mark(node.returns)
            for a in [*node.args.args, *node.args.kwonlyargs, *node.args.posonlyargs]:
                mark(a.annotation)
            mark(node.args.vararg and node.args.vararg.annotation)
            mark(node.args.kwarg and node.args.kwarg.annotation)
        if isinstance(node, ast.AnnAssign):
            mark(node.annotation)
        if isinstance(node, ast.JoinedStr):
            mark(node)  # f-string parts cannot be spliced one by one
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                mark(body[0])
    return skip


def _variants(node: ast.AST) -> Iterator[tuple[str, ast.AST]]:
    """The mutated copies of one expression node, each with a short description."""
    if isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in SWAP_CMP:
                new = copy.deepcopy(node)
                new.ops[i] = SWAP_CMP[type(op)]()
                yield f"{type(op).__name__} -> {SWAP_CMP[type(op)].__name__}", new
    elif isinstance(node, ast.BoolOp):
        new = copy.deepcopy(node)
        new.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield f"{type(node.op).__name__} -> {type(new.op).__name__}", new
    elif isinstance(node, ast.BinOp) and type(node.op) in SWAP_BIN:
        new = copy.deepcopy(node)
        new.op = SWAP_BIN[type(node.op)]()
        yield f"{type(node.op).__name__} -> {type(new.op).__name__}", new
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        yield "drop not", copy.deepcopy(node.operand)
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            yield f"{node.value} -> {not node.value}", ast.Constant(not node.value)
        elif isinstance(node.value, int) and not isinstance(node.value, bool):
            yield f"{node.value} -> {node.value + 1}", ast.Constant(node.value + 1)
        elif isinstance(node.value, float):
            yield f"{node.value} -> {node.value * 2 or 1.0}", ast.Constant(node.value * 2 or 1.0)


def mutants_of(module: str) -> list[Mutant]:
    """Every mutant of one module (relative path), in source order."""
    source = (ROOT / module).read_text("utf-8")
    tree = ast.parse(source)
    skip = _skip_zones(tree)
    found: list[Mutant] = []
    for node in ast.walk(tree):
        if id(node) in skip or not hasattr(node, "end_lineno"):
            continue
        start, end = (node.lineno, node.col_offset), (node.end_lineno, node.end_col_offset)
        if isinstance(node, ast.Return) and node.value is not None:
            v = node.value
            if not (isinstance(v, ast.Constant) and v.value is None):
                found.append(
                    Mutant(
                        module,
                        node.lineno,
                        "return None",
                        (v.lineno, v.col_offset),
                        (v.end_lineno, v.end_col_offset),
                        "None",
                    )
                )
            continue
        if isinstance(node, (ast.If, ast.While)) and id(node.test) not in skip:
            t = node.test
            found.append(
                Mutant(
                    module,
                    node.lineno,
                    "negate condition",
                    (t.lineno, t.col_offset),
                    (t.end_lineno, t.end_col_offset),
                    f"not ({ast.unparse(t)})",
                )
            )
        if isinstance(node, ast.expr):
            for what, new in _variants(node):
                found.append(Mutant(module, node.lineno, what, start, end, f"({ast.unparse(new)})"))
    found.sort(key=lambda m: (m.start, m.what))
    return found


def apply(source: str, m: Mutant) -> str:
    """``source`` with the span of ``m`` replaced by its replacement text."""
    lines = source.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))

    def pos(line_col: tuple[int, int]) -> int:
        line, col = line_col
        # ast columns are UTF-8 byte offsets
        return offsets[line - 1] + len(lines[line - 1].encode("utf-8")[:col].decode("utf-8"))

    return source[: pos(m.start)] + m.replacement + source[pos(m.end) :]


def module_files(modules: list[str]) -> list[str]:
    out: list[str] = []
    for m in modules:
        path = ROOT / m
        if path.is_dir():
            out += sorted(str(p.relative_to(ROOT)) for p in path.glob("*.py"))
        else:
            out.append(m)
    return out


def round_robin(mutants: list[Mutant]) -> list[Mutant]:
    """One mutant of each module in turn (each module's in source order), so that a run stopped
    by its budget has sampled every module alike."""
    by_module: dict[str, list[Mutant]] = {}
    for m in sorted(mutants, key=lambda m: (m.module, m.start, m.what)):
        by_module.setdefault(m.module, []).append(m)
    queues = list(by_module.values())
    return [q[i] for i in range(max(map(len, queues), default=0)) for q in queues if i < len(q)]


def save(mutants: list[Mutant], out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps([asdict(m) for m in mutants], ensure_ascii=False, indent=1), "utf-8")


def make_copy() -> Path:
    """A throwaway copy of the project; mutants are written there, never in the worktree."""
    work = Path(tempfile.mkdtemp(prefix="kashaf-mutation-"))
    for name in COPY:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, work / name)
    return work


def run_tests(work: Path, tests: list[str], timeout: float) -> tuple[str, float]:
    """``pytest -x`` on ``tests`` in the copy: 'passed', 'failed' or 'timeout', and seconds."""
    # The copy is not beside ../shared: point the tests at the real one. CI mode, so that a
    # test that would skip fails instead, and the unmutated baseline run shows it at once.
    shared = os.environ.get("KASHAF_SHARED") or str(ROOT.parent / "shared")
    env = {**os.environ, "PYTHONPATH": str(work), "PYTHONDONTWRITEBYTECODE": "1", "CI": "true"}
    env["KASHAF_SHARED"] = shared
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-o",
        "addopts=--import-mode=importlib",
        *tests,
    ]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=work, env=env, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return "timeout", time.monotonic() - t0
    return ("passed" if proc.returncode == 0 else "failed"), time.monotonic() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--modules", nargs="+", default=DEFAULT_MODULES, help="files or folders to mutate")
    ap.add_argument("--tests", nargs="+", help="tests to run for every mutant (default: per module)")
    ap.add_argument("--sample", type=int, default=0, help="run a random sample of N mutants (0: all)")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--budget", type=float, default=1500, help="wall-time budget in seconds")
    ap.add_argument("--out", type=Path, default=ROOT / ".bench" / "mutation.json")
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--rerun", type=Path, help="run only the survivors of an earlier --out file")
    args = ap.parse_args(argv)

    files = module_files(args.modules)
    mutants = [m for f in files for m in mutants_of(f)]
    print(f"{len(mutants)} mutants in {len(files)} modules", flush=True)
    if args.list:
        for m in mutants:
            print(f"{m.module}:{m.line}: {m.what}: {m.replacement[:80]}")
        return 0
    if args.rerun:
        earlier = json.loads(args.rerun.read_text("utf-8"))
        wanted = {(m["module"], tuple(m["start"]), m["what"]) for m in earlier if m["status"] == "survived"}
        mutants = [m for m in mutants if (m.module, m.start, m.what) in wanted]
        print(f"re-running {len(mutants)} survivors of {args.rerun}", flush=True)
    elif args.sample and args.sample < len(mutants):
        mutants = random.Random(args.seed).sample(mutants, args.sample)
    mutants = round_robin(mutants)

    started = time.monotonic()
    # SIGTERM (kill PID) ends the run like Ctrl-C: the copy is removed, results are kept.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    work = make_copy()
    try:
        baseline: dict[tuple[str, ...], float] = {}
        for i, m in enumerate(mutants, 1):
            if time.monotonic() - started > args.budget:
                print(f"budget of {args.budget:.0f} s reached after {i - 1} mutants", flush=True)
                break
            tests = tuple(args.tests or TESTS_FOR.get(m.module, ["tests"]))
            if tests not in baseline:  # the unmutated copy must pass these tests, and how long they take
                status, secs = run_tests(work, list(tests), timeout=900)
                if status != "passed":
                    raise SystemExit(f"the unmutated tests fail: {' '.join(tests)}")
                baseline[tests] = secs
                print(f"baseline {' '.join(tests)}: {secs:.1f} s", flush=True)
            target = work / m.module
            original = target.read_text("utf-8")
            mutated = apply(original, m)
            try:
                compile(mutated, m.module, "exec")
            except SyntaxError:
                m.status = "invalid"
                continue
            m.diff = "".join(
                difflib.unified_diff(
                    original.splitlines(True), mutated.splitlines(True), m.module, m.module, n=0
                )
            )
            target.write_text(mutated, "utf-8")
            try:
                status, m.seconds = run_tests(work, list(tests), timeout=3 * baseline[tests] + 30)
            finally:
                target.write_text(original, "utf-8")
            m.status = {"passed": "survived", "failed": "killed", "timeout": "timeout"}[status]
            save(mutants, args.out)  # a run stopped early keeps what it found
            print(
                f"[{i}/{len(mutants)}] {m.status:8} {m.module}:{m.line} {m.what} ({m.seconds:.1f} s)",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    ran = [m for m in mutants if m.status in ("killed", "survived", "timeout")]
    tally = {s: sum(m.status == s for m in ran) for s in ("killed", "timeout", "survived")}
    print(
        f"\n{len(ran)} mutants run in {time.monotonic() - started:.0f} s: "
        f"{tally['killed']} killed, {tally['timeout']} timed out (killed), {tally['survived']} survived"
    )
    for m in ran:
        if m.status == "survived":
            print(f"\nSURVIVED {m.module}:{m.line} {m.what}\n{m.diff}")
    save(mutants, args.out)
    print(f"\nall mutants: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
