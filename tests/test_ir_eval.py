"""The retrieval metrics used by benchmarks/quality.py, on hand-computed cases."""

import math

import pytest

from benchmarks.ir_eval import evaluate, mrr_at, ndcg_at, recall_at


def test_mrr_counts_the_first_relevant_doc_of_any_grade() -> None:
    assert mrr_at(["a", "b", "c"], {"c": 1, "b": 2}) == 0.5
    assert mrr_at(["x"] * 10 + ["a"], {"a": 1}) == 0.0  # rank 11 is outside @10


def test_ndcg_uses_grades() -> None:
    rels = {"a": 2, "b": 1}
    assert ndcg_at(["a", "b"], rels) == pytest.approx(1.0)
    swapped = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    assert ndcg_at(["b", "a"], rels) == pytest.approx(swapped)


def test_recall_and_mean_over_judged_queries() -> None:
    assert recall_at(["a"], {"a": 1, "b": 2}) == 0.5
    scores = evaluate({"q1": ["a"], "q2": []}, {"q1": {"a": 1}, "q2": {"b": 1}})
    assert scores["MRR@10"] == 0.5 and scores["queries"] == 2
