"""Search engines behind one small interface.

The query planner (``indexer.search.plan``: parsing, levels, the default-set rules,
filters, prefix expansion) is shared, so a query means the same on every engine; an
engine only answers *which documents match, how many, with which facet counts, and which
k rank first*. Hits are then filled by ``indexer.search`` from Kashaf's own store and
highlighter, whichever engine matched.

- The embedded engine (the default, ``engine=None``): the Whoosh index + numpy evaluator
  of ``indexer.ranking`` / ``indexer.facets``, on one machine.
- :mod:`indexer.engines.sphinx`: a Manticore / Sphinx cluster (``searchd`` agents,
  mirrors and a ``distributed`` index) over SphinxQL; selected by a cluster file
  (``--cluster FILE`` or ``$KASHAF_CLUSTER``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from indexer.search import Plan, Scoring, SearchOptions
    from indexer.store import Snapshot


@dataclass
class Matches:
    """What an engine found for a plan.

    ``hits``: ``(doc_id, score)`` of the first ``k`` in order; ``more``: documents the
    root level would add (0 when the plan is already broad); ``facets``: the search API's
    ``facets`` object; ``partial``: some part of the index did not answer, so ``total``
    and the facets are lower bounds (and ``warnings`` say which part).
    """

    total: int = 0
    hits: list[tuple[str, float]] = field(default_factory=list)
    facets: dict | None = None
    more: int = 0
    partial: bool = False
    warnings: list[str] = field(default_factory=list)


CLUSTER_ENV = "KASHAF_CLUSTER"


def from_env() -> Engine | None:
    """The cluster engine when ``$KASHAF_CLUSTER`` names a cluster file, else ``None``
    (the embedded index): how ``kashaf serve`` and gunicorn workers pick their engine."""
    import os

    path = os.environ.get(CLUSTER_ENV, "").strip()
    if not path:
        return None
    from indexer.engines.sphinx import engine_for

    return engine_for(path)


class Engine(Protocol):
    """Answers a planned query; the same plan means the same set on every engine."""

    name: str

    def run(
        self,
        snap: Snapshot,
        p: Plan,
        opts: SearchOptions,
        sc: Scoring,
        *,
        k: int,
        facets: bool,
    ) -> Matches:
        """Total, the first ``k`` hits (in ``opts.sort`` order), facets when asked."""
        ...
