"""Shared pieces of the retrieval benchmarks: the ../shared/eval collections and the metrics.

A run is ``{qid: [doc_id, ...]}`` in rank order; qrels are ``{qid: {doc_id: grade}}``.
Metrics follow trec_eval's definitions: MRR@10 (first relevant doc of any grade),
nDCG@10 with gain = grade (linear gain, log2 discount), Recall@100 over docs with grade > 0.
"""

from __future__ import annotations

import gzip
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KASHAF_SHARED", ROOT.parent / "shared"))
ANT = SHARED / "corpus" / "ant_multisource_v2.1.jsonl.gz"


@dataclass
class Collection:
    name: str
    docs: list[dict]  # id, title (may be ""), text
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]


def require_shared() -> None:
    if not SHARED.is_dir():
        raise SystemExit(f"{SHARED} is absent: the benchmarks read ../shared beside the project")


def read_jsonl(path: Path, limit: int | None = None) -> Iterator[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        for i, line in enumerate(f):
            if limit is not None and i >= limit:
                return
            yield json.loads(line)


def read_tsv_pairs(path: Path) -> dict[str, str]:
    out = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            qid, _, text = line.rstrip("\n").partition("\t")
            if qid:
                out[qid] = text
    return out


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8") as f:
        for line in f:
            qid, docid, rel = line.rstrip("\n").split("\t")
            qrels.setdefault(qid, {})[docid] = int(rel)
    return qrels


def load_collection(name: str) -> Collection:
    """``arcd`` and ``xquad_ar`` index title + text; ``ant_title`` indexes ANT article text only."""
    require_shared()
    folder = SHARED / "eval" / name
    queries = read_tsv_pairs(folder / "queries.tsv")
    qrels = read_qrels(folder / "qrels.tsv")
    if name == "ant_title":
        # The queries are the headlines: index the article text without its title.
        docs = [{"id": d["id"], "title": "", "text": d["text"]} for d in read_jsonl(ANT)]
    else:
        docs = [
            {"id": d["id"], "title": d.get("title", ""), "text": d["text"]}
            for d in read_jsonl(folder / "corpus.jsonl")
        ]
    return Collection(name, docs, queries, qrels)


def mrr_at(ranked: list[str], rels: dict[str, int], k: int = 10) -> float:
    for i, doc in enumerate(ranked[:k]):
        if rels.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at(ranked: list[str], rels: dict[str, int], k: int = 10) -> float:
    dcg = sum(rels.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranked[:k]))
    ideal = sorted((g for g in rels.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: list[str], rels: dict[str, int], k: int = 100) -> float:
    relevant = {d for d, g in rels.items() if g > 0}
    return len(relevant & set(ranked[:k])) / len(relevant) if relevant else 0.0


def evaluate(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean MRR@10, nDCG@10 and Recall@100 over every query that has judgments."""
    qids = [q for q in qrels if any(g > 0 for g in qrels[q].values())]
    n = len(qids)
    return {
        "MRR@10": sum(mrr_at(run.get(q, []), qrels[q]) for q in qids) / n,
        "nDCG@10": sum(ndcg_at(run.get(q, []), qrels[q]) for q in qids) / n,
        "R@100": sum(recall_at(run.get(q, []), qrels[q]) for q in qids) / n,
        "queries": n,
    }
