"""Evaluate and rank compiled queries with numpy, term at a time.

Whoosh stays the index: its readers give the posting lists, field lengths and
columns through their public API. Scoring, however, happens here: each term's
postings are decoded once into two arrays (document numbers, term frequencies)
and kept in a bounded cache, and a query is evaluated as whole-collection
vectors — a boolean *matched* mask and a float *score* — so an OR of sixty
terms costs sixty vector additions instead of a Python loop per posting.
The same masks give the total and the facets, so they always agree with the
ranked hits.

The mask has two rows: row 0 is the *default* set (a word matched at its exact or stem
level, a name, a phrase), row 1 the set *broadened to the root level* (a word's root
terms match too). A :class:`WordQuery` says which of its levels define the default row;
its other levels (roots) add score and the broad row only. One evaluation thus gives the
default set, its scores (root evidence included), and how many more documents the root
level would add ("broaden to the root: +N").

Semantics follow Whoosh's (a test checks the scores against Whoosh's own when
Whoosh's IDF is chosen): ``Or`` sums the scores of the children that match,
``And`` sums and requires all, ``AndNot`` keeps the left side's score,
``ConstantScoreQuery`` gives its constant, ``AndMaybe`` matches its left side and adds
the right side's score where it matches, a ``Phrase`` scores as the sum of its
words' scores in the documents where the words are consecutive, and anything
else (dates, ``Every``) only filters.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from whoosh import query as Q
from whoosh.searching import Searcher

# Decoded postings kept per open index (8 bytes per posting for ids, 4 for frequencies).
CACHE_POSTINGS = 6_000_000
POSITION_BITS = 20  # phrase keys: document number << 20 | position (longer documents: tail unmatched)


@dataclass(frozen=True)
class BM25:
    """Parameters of the per-field BM25 (``idf`` ``"lucene"`` or ``"whoosh"``)."""

    K1: float = 1.2
    B: float = 0.75
    field_B: tuple[tuple[str, float], ...] = ()
    idf: str = "lucene"
    fusion: str = "fields"  # "fields" (BM25F, see WordQuery) or "sum" (Whoosh's: every field apart)

    def b_of(self, fieldname: str) -> float:
        return dict(self.field_B).get(fieldname, self.B)


class WordQuery(Q.AndMaybe):
    """One query word's terms, with what each term stands for.

    To Whoosh it is ``AndMaybe(Or(default-level terms), Or(other terms))``: the word
    matches at its default levels (``strict``: exact and stem for a plain word) and the
    other levels (the root) only add to the score, so Whoosh's own matching gives the
    default set. The ranking engine also marks the other levels' documents in the broad
    row (see the module docstring).

    ``spec`` holds ``(fieldname, form, level, field_weight, level_weight)``, one per term
    in ``terms``. Under ``fusion="fields"`` (BM25F) each level's title and body
    frequencies, each normalized by its field's length and times the field's weight, are
    added *before* BM25's saturation: a word in the title counts as ``title`` extra
    occurrences rather than as a second, independently saturated match with its own
    (short-field) IDF. A level with several forms (a word and its broken plural) pools
    them as one term. The level's score is ``level_weight * idf * t * (K1 + 1) / (t + K1)``,
    with the IDF of the level's most frequent form.
    """

    def __init__(
        self,
        terms: list[Q.Term],
        spec: list[tuple[str, str, str, float, float]],
        strict: frozenset[str] | set[str] | tuple[str, ...],
    ) -> None:
        strict = frozenset(strict)
        inner = [t for t, sp in zip(terms, spec, strict=True) if sp[2] in strict]
        outer = [t for t, sp in zip(terms, spec, strict=True) if sp[2] not in strict]
        super().__init__(Q.Or(inner) if inner else Q.NullQuery, Q.Or(outer) if outer else Q.NullQuery)
        self.terms = terms
        self.spec = spec
        self.strict = strict


class CliticPhrase(Q.Or):
    """A phrase whose first word may carry a conjunction or preposition, and whose
    neighbouring words may be written joined: to Whoosh the ``Or`` of its written forms
    (``Phrase`` objects, or a ``Term`` for a one-token form). The engine evaluates only
    the forms whose every word is in the index, and scores a document once."""

    def __init__(self, forms: list[Q.Query]) -> None:
        super().__init__(forms)
        self.forms = forms


class Corpus:
    """Per-reader arrays: live documents, field lengths, dates and a postings cache."""

    def __init__(self, reader) -> None:
        # Weakly: the cache of corpora is keyed by the reader and must not keep it alive.
        self._reader = weakref.ref(reader)
        self.n = reader.doc_count_all()
        self._lock = threading.Lock()
        self._lengths: dict[str, np.ndarray] = {}
        self._postings: OrderedDict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._cached = 0
        self._dates: np.ndarray | None = None
        live = np.ones(self.n, dtype=bool)
        if reader.has_deletions():
            live[:] = False
            live[np.fromiter(reader.all_doc_ids(), dtype=np.int64)] = True
        self.live = live

    @property
    def reader(self):
        return self._reader()

    def postings(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(document numbers, term frequencies) of a term; empty arrays if absent."""
        key = (fieldname, text)
        with self._lock:
            found = self._postings.get(key)
            if found is not None:
                self._postings.move_to_end(key)
                return found
        if key in self.reader:
            m = self.reader.postings(fieldname, text)
            ids: list[int] = []
            tfs: list[float] = []
            while m.is_active():
                ids.append(m.id())
                tfs.append(m.weight())
                m.next()
            found = (np.array(ids, dtype=np.int64), np.array(tfs, dtype=np.float32))
        else:
            found = (np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32))
        with self._lock:
            if key not in self._postings:
                self._postings[key] = found
                self._cached += len(found[0])
                while self._cached > CACHE_POSTINGS and len(self._postings) > 1:
                    _, (old, _tf) = self._postings.popitem(last=False)
                    self._cached -= len(old)
        return found

    def positions(self, fieldname: str, text: str) -> np.ndarray:
        """A term's occurrences as sorted keys ``document number << 20 | position`` (phrases
        are matched on them with numpy); empty if absent. Cached with the postings."""
        key = ("\0pos", fieldname, text)
        with self._lock:
            found = self._postings.get(key)
            if found is not None:
                self._postings.move_to_end(key)
                return found[0]
        keys: list[int] = []
        if (fieldname, text) in self.reader:
            m = self.reader.postings(fieldname, text)
            while m.is_active():
                base = m.id() << POSITION_BITS
                keys.extend(base | p for p in m.value_as("positions") if p < 1 << POSITION_BITS)
                m.next()
        arr = np.array(keys, dtype=np.int64)
        with self._lock:
            if key not in self._postings:
                self._postings[key] = (arr, arr[:0])
                self._cached += len(arr)
                while self._cached > CACHE_POSTINGS and len(self._postings) > 1:
                    _, (old, _tf) = self._postings.popitem(last=False)
                    self._cached -= len(old)
        return arr

    def phrase_docs(self, fieldname: str, words: list[str]) -> np.ndarray:
        """Document numbers holding ``words`` at consecutive positions."""
        keys = self.positions(fieldname, words[0])
        for i, word in enumerate(words[1:], 1):
            if not len(keys):
                break
            keys = np.intersect1d(keys, self.positions(fieldname, word) - i, assume_unique=True)
        return np.unique(keys >> POSITION_BITS)

    def lengths(self, fieldname: str) -> np.ndarray:
        """Every document's length in a field (as Whoosh stores it: one byte, approximate)."""
        found = self._lengths.get(fieldname)
        if found is None:
            dfl = self.reader.doc_field_length
            found = np.fromiter((dfl(d, fieldname, 0) for d in range(self.n)), dtype=np.float64, count=self.n)
            self._lengths[fieldname] = found
        return found

    def length_norm(self, searcher: Searcher, fieldname: str, ids: np.ndarray, b: float) -> np.ndarray:
        """BM25's ``1 - b + b * length / average length`` of the documents ``ids``."""
        avg = searcher.avg_field_length(fieldname) or 1.0
        return (1 - b) + b * self.lengths(fieldname)[ids] / avg

    def dates(self) -> np.ndarray:
        """Each document's date as an integer (older is smaller; none is the smallest).

        Read segment by segment: a segment whose documents carry no date has no column,
        and in a column a missing date is the largest unsigned 64-bit value.
        """
        if self._dates is None:
            dates = np.zeros(self.n, dtype=np.int64)
            for leaf, base in self.reader.leaf_readers():
                if leaf.has_column("date"):
                    col = leaf.column_reader("date", translate=False)
                    values = [v if v and v < 1 << 63 else 0 for v in col]
                    dates[base : base + len(values)] = values
            self._dates = dates
        return self._dates

    def mask(self, ids) -> np.ndarray:
        out = np.zeros(self.n, dtype=bool)
        out[np.asarray(ids, dtype=np.int64)] = True
        return out


_corpora: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_corpora_lock = threading.Lock()


def corpus(searcher: Searcher) -> Corpus:
    """The :class:`Corpus` of a searcher's reader (one per open index)."""
    reader = searcher.reader()
    with _corpora_lock:
        found = _corpora.get(reader)
        if found is None:
            found = _corpora[reader] = Corpus(reader)
        return found


def idf_of(df: int, n: int, kind: str) -> float:
    """Inverse document frequency: Lucene's ``log(1 + (N - df + .5) / (df + .5))`` (always
    positive, steeper) or Whoosh's ``log(N / (df + 1)) + 1``."""
    if kind == "whoosh":
        return math.log(n / (df + 1)) + 1
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def idf(searcher: Searcher, fieldname: str, text: str, kind: str) -> float:
    """The IDF of one term of the searcher's index."""
    reader = searcher.reader()
    return idf_of(reader.doc_frequency(fieldname, text), reader.doc_count_all(), kind)


def term_scores(searcher: Searcher, c: Corpus, q: Q.Term, bm: BM25) -> tuple[np.ndarray, np.ndarray]:
    """The term's documents and their BM25 scores (times the term's boost)."""
    ids, tf = c.postings(q.fieldname, q.text)
    if not len(ids):
        return ids, tf.astype(np.float64)
    field = searcher.schema[q.fieldname]
    if not field.scorable:
        return ids, tf.astype(np.float64) * q.boost
    tf64 = tf.astype(np.float64)
    norm = (
        tf64 * (bm.K1 + 1) / (tf64 + bm.K1 * c.length_norm(searcher, q.fieldname, ids, bm.b_of(q.fieldname)))
    )
    return ids, norm * (idf(searcher, q.fieldname, q.text, bm.idf) * q.boost)


def evaluate(q: Q.Query, searcher: Searcher, bm: BM25) -> tuple[np.ndarray, np.ndarray]:
    """``(matched, score)`` over every document number for a compiled query: the default set."""
    default, _broad, score = evaluate_levels(q, searcher, bm)
    return default, score


def evaluate_levels(q: Q.Query, searcher: Searcher, bm: BM25) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(default, broad, score)``: the default set, the set broadened to the root level
    (a superset) and the scores (valid on both)."""
    ev = _Evaluation(searcher, corpus(searcher), bm)
    mask, score = ev.fresh(q)
    mask &= ev.c.live
    return mask[0], mask[1], score


@dataclass
class _Evaluation:
    searcher: Searcher
    c: Corpus
    bm: BM25

    def fresh(self, q: Q.Query) -> tuple[np.ndarray, np.ndarray]:
        mask = np.zeros((2, self.c.n), dtype=bool)
        score = np.zeros(self.c.n, dtype=np.float64)
        self.add(q, mask, score)
        return mask, score

    def add(self, q: Q.Query, mask: np.ndarray, score: np.ndarray) -> None:
        """OR ``q``'s matches into ``mask`` (both rows) and add its scores to ``score``."""
        if isinstance(q, Q.Term):
            ids, s = term_scores(self.searcher, self.c, q, self.bm)
            mask[:, ids] = True
            score[ids] += s
            return
        if isinstance(q, WordQuery):
            if self.bm.fusion == "fields":
                self.add_word(q, mask, score)
            else:
                self.add_word_sum(q, mask, score)
            return
        if isinstance(q, CliticPhrase):
            self.add_phrase(q, mask, score)
            return
        if isinstance(q, Q.Or):
            for child in q.subqueries:
                self.add(child, mask, score)
            return
        if isinstance(q, Q.Every):
            mask |= self.c.live
            return
        if isinstance(q, Q.And):
            m, s = self.fresh(q.subqueries[0])
            for child in q.subqueries[1:]:
                cm, cs = self.fresh(child)
                m &= cm
                s += cs
        elif isinstance(q, Q.AndNot):
            m, s = self.fresh(q.a)
            m &= ~self.fresh(q.b)[0][0]  # excluded: whatever the default set of the excluded matches
        elif isinstance(q, Q.AndMaybe):
            m, s = self.fresh(q.a)
            s += self.fresh(q.b)[1]  # scores outside m are never read
        elif isinstance(q, Q.ConstantScoreQuery):
            m, _ = self.fresh(q.child)
            s = np.full(self.c.n, q.score)
        elif isinstance(q, Q.Phrase):
            m = np.broadcast_to(
                self.c.mask(self.c.phrase_docs(q.fieldname, list(q.words))), (2, self.c.n)
            ).copy()
            s = np.zeros(self.c.n, dtype=np.float64)
            for word in dict.fromkeys(q.words):
                term = Q.Term(q.fieldname, word, boost=q.boost)
                ids, ws = term_scores(self.searcher, self.c, term, self.bm)
                s[ids] += ws
        elif isinstance(q, Q.NullQuery.__class__):
            return
        else:  # date ranges and other filters: matched, not scored
            mask[:, np.fromiter(q.docs(self.searcher), dtype=np.int64)] = True
            return
        mask |= m
        score[m[1]] += s[m[1]]

    def add_phrase(self, q: CliticPhrase, mask: np.ndarray, score: np.ndarray) -> None:
        """The forms of a phrase present in the index; a document scores its best form."""
        reader = self.searcher.reader()
        best = np.zeros(self.c.n, dtype=np.float64)
        hit = np.zeros((2, self.c.n), dtype=bool)
        for form in q.forms:
            terms = form.words if isinstance(form, Q.Phrase) else [form.text]
            if not all((form.fieldname, t) in reader for t in terms):
                continue
            m, s = self.fresh(form)
            hit |= m
            np.maximum(best, np.where(m[1], s, 0.0), out=best)
        mask |= hit
        score[hit[1]] += best[hit[1]]

    def add_word(self, q: WordQuery, mask: np.ndarray, score: np.ndarray) -> None:
        """BM25F over a word's title and body, level by level (see :class:`WordQuery`)."""
        levels: dict[str, list] = {}
        for spec in q.spec:
            levels.setdefault(spec[2], []).append(spec)
        reader = self.searcher.reader()
        for level, specs in levels.items():
            acc = np.zeros(self.c.n, dtype=np.float64)
            df = 0
            for fieldname, form, _level, field_weight, _ in specs:
                ids, tf = self.c.postings(fieldname, form)
                if not len(ids):
                    continue
                norm = self.c.length_norm(self.searcher, fieldname, ids, self.bm.b_of(fieldname))
                acc[ids] += field_weight * tf / norm
                df = max(df, reader.doc_frequency(fieldname, form))
            if not df:
                continue
            hit = acc > 0
            t = acc[hit]
            w = specs[0][4] * idf_of(df, self.c.n, self.bm.idf)
            mask[1] |= hit
            if level in q.strict:
                mask[0] |= hit
            score[hit] += w * t * (self.bm.K1 + 1) / (t + self.bm.K1)

    def add_word_sum(self, q: WordQuery, mask: np.ndarray, score: np.ndarray) -> None:
        """Whoosh's own fusion: every term scored apart (benchmarks and the Whoosh test)."""
        for term, spec in zip(q.terms, q.spec, strict=True):
            ids, s = term_scores(self.searcher, self.c, term, self.bm)
            mask[1, ids] = True
            if spec[2] in q.strict:
                mask[0, ids] = True
            score[ids] += s


def top(
    mask: np.ndarray, score: np.ndarray, k: int, dates: np.ndarray | None = None
) -> list[tuple[int, float]]:
    """The ``k`` best ``(docnum, score)``: by score (or by date, newest first, then score),
    ties by document number."""
    cand = np.flatnonzero(mask)
    if k <= 0 or not len(cand):
        return []
    s = score[cand]
    if dates is None:
        if len(cand) > k:
            kth = np.partition(s, len(s) - k)[len(s) - k]
            keep = s >= kth
            cand, s = cand[keep], s[keep]
        order = np.lexsort((cand, -s))[:k]
    else:
        order = np.lexsort((cand, -s, -dates[cand]))[:k]
    return [(int(cand[i]), float(s[i])) for i in order]
