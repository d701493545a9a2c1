"""The Whoosh schema and the per-document analysis that feeds it.

Documents are analyzed in worker processes (:func:`analyze_doc`) into Whoosh's
own posting tuples; the single writer in the main process only adds them
(:class:`PreText` / :class:`PreKeyword` accept an :class:`Analyzed` value).
Queries and highlights still go through the real analyzers of the same fields.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import NamedTuple

import numpy as np
from whoosh import fields
from whoosh.system import pack_uint

from analyzers.whoosh_analysis import exact_analyzer, root_analyzer, stem_analyzer
from indexer.entities import Mention, entities_for
from indexer.postings import Postings, analyze_text

# Bump when analysis or schema changes: an index built by another version is rebuilt.
SCHEMA_VERSION = "4"
LEVELS = ("exact", "stem", "root")


@lru_cache(maxsize=1)
def analysis_version() -> str:
    """SCHEMA_VERSION plus a digest of every analysis data file (gazetteers, overrides,
    stopwords, stemmer and root data): when a reviewer edits one, the next
    ``kashaf index`` re-analyzes every stored document.

    >>> analysis_version().startswith(SCHEMA_VERSION + ":")
    True
    """
    digest = hashlib.sha256()
    data = resources.files("analyzers") / "data"
    for item in sorted(data.iterdir(), key=lambda p: p.name):
        if item.is_file():
            digest.update(item.name.encode() + b"\0" + item.read_bytes() + b"\0")
    return f"{SCHEMA_VERSION}:{digest.hexdigest()[:16]}"


TEXT_FIELDS = ("title_exact", "title_stem", "title_root", "body_exact", "body_stem", "body_root")


class Analyzed(list):
    """Posting tuples ``(term bytes, freq, weight, value bytes)`` computed elsewhere."""


class PreText(fields.TEXT):
    """TEXT that takes :class:`Analyzed` or :class:`~indexer.postings.Postings` as they are
    (analysis already done)."""

    def index(self, value, **kwargs):
        return value if isinstance(value, (Analyzed, Postings)) else super().index(value, **kwargs)


class PreKeyword(fields.KEYWORD):
    """KEYWORD that takes :class:`Analyzed` postings as they are."""

    def index(self, value, **kwargs):
        return value if isinstance(value, Analyzed) else super().index(value, **kwargs)


@lru_cache(maxsize=1)
def schema() -> fields.Schema:
    """Title and body at three levels, plus id, date, month, source, place and group (with
    ancestors) and place_named and group_named (as mentioned).

    Exact fields keep positions (phrases); stem and root fields keep frequencies only:
    phrases are matched on exact forms, and positions there would only cost writing time
    and disk. No field keeps character offsets: highlights and snippets read the stored
    text, and a position finds its word there (``indexer.search.surface_form``); offsets
    made every exact posting ~60 % bigger to write, compress and read.
    """
    return fields.Schema(
        id=fields.ID(unique=True, stored=True),
        title_exact=PreText(analyzer=exact_analyzer(), phrase=True),
        title_stem=PreText(analyzer=stem_analyzer(), phrase=False),
        title_root=PreText(analyzer=root_analyzer(), phrase=False),
        body_exact=PreText(analyzer=exact_analyzer(), phrase=True),
        body_stem=PreText(analyzer=stem_analyzer(), phrase=False),
        body_root=PreText(analyzer=root_analyzer(), phrase=False),
        date=fields.DATETIME(sortable=True),
        month=fields.ID(sortable=True),  # YYYY-MM, for the date facet
        source=fields.ID(sortable=True),
        place=PreKeyword(commas=True, scorable=False),
        group=PreKeyword(commas=True, scorable=False),
        # The entities a document names itself, without the ancestors ``place`` / ``group``
        # roll up to: a query word naming حلب matches reports naming حلب (or an alias),
        # not those naming only عفرين; the ``place:`` filter keeps the hierarchy.
        place_named=PreKeyword(commas=True, scorable=False),
        group_named=PreKeyword(commas=True, scorable=False),
    )


class DocAnalysis(NamedTuple):
    """One document analyzed: postings per field, mentions, and the title's and body's
    normalized words (what the story-grouping signature is taken on, ``indexer.dedupe``)."""

    postings: dict[str, Analyzed | Postings]
    mentions: list[Mention]
    words: tuple[list[str], list[str]]
    hashes: tuple[np.ndarray, np.ndarray]  # the words' CRC-32s (indexer.dedupe.word_hashes)


def analyze_document(title: str, body: str) -> DocAnalysis:
    """Postings for the six text fields and the place/group keywords (rolled up to
    ancestors, and as named), mentions, and each text's normalized words.

    Runs in the shard writer processes. Not pure: new terms are numbered in the process's
    numbering (``indexer.postings``), which the text fields' :class:`Postings` refer to
    (so they are not picklable; their ``terms`` and iteration give the bytes).

    >>> a = analyze_document("الرقّة", "انسحبت القوات من الرقة")
    >>> sorted(t.decode() for t, *_ in a.postings["body_exact"])
    ['الرقه', 'القوات', 'انسحبت', 'من']
    >>> [t.decode() for t, *_ in a.postings["title_exact"]], a.words[0]
    (['الرقه'], ['الرقه'])
    """
    out: dict[str, Analyzed | Postings] = {}
    tokenized = {}
    hashes = []
    for name, value in (("title", title), ("body", body)):
        a = analyze_text(value)
        hashes.append(a.hashes)
        out[f"{name}_exact"], out[f"{name}_stem"], out[f"{name}_root"] = a.exact, a.stem, a.root
        tokenized[name] = (a.tokens, a.norms, a.forms)
    places, groups, mentions = entities_for(title, body, tokenized)
    if places:
        out["place"] = keywords(places)
    if groups:
        out["group"] = keywords(groups)
    for kind in ("place", "group"):
        named = sorted({m.entity_id for m in mentions if m.kind == kind})
        if named:
            out[f"{kind}_named"] = keywords(named)
    return DocAnalysis(out, mentions, (tokenized["title"][1], tokenized["body"][1]), tuple(hashes))


_ONCE = pack_uint(1)  # the Frequency format's value of one occurrence


def keywords(ids: list[str]) -> Analyzed:
    """A keyword field's postings of distinct entity ids: what the field's own ``index`` gives
    for them joined by commas (each once, as a Frequency posting), without its analyzer.

    >>> keywords(["sy", "sy-aleppo"]) == list(schema()["place"].index("sy,sy-aleppo"))
    True
    """
    return Analyzed([(i.encode(), 1, 1.0, _ONCE) for i in ids])


def analyze_doc(title: str, body: str) -> tuple[dict[str, Analyzed | Postings], list[Mention]]:
    """The postings and mentions of :func:`analyze_document`.

    >>> postings, mentions = analyze_doc("", "انسحبت القوات من الرقة")
    >>> [m.entity_id for m in mentions]
    ['sy-raqqa-raqqa']
    """
    a = analyze_document(title, body)
    return a.postings, a.mentions


def month_of(date: datetime | None) -> str | None:
    """``YYYY-MM`` for the date facet.

    >>> month_of(datetime(2017, 6, 5))
    '2017-06'
    """
    return f"{date.year:04d}-{date.month:02d}" if date else None  # strftime writes year 1 as "1"
