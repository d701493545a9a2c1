"""The cluster engine: Kashaf's analysis and search on Manticore / Sphinx ``searchd``.

Kashaf analyzes; ``searchd`` stores, intersects and counts. Each report becomes one row
of a real-time (RT) index, on every replica of its shard (:func:`shard_of`):

- seven full-text fields of *pre-analyzed* terms (from ``indexer.schema.analyze_doc``,
  the embedded index's own analysis): ``te ts tr`` (title at the exact, light-stem and
  root levels), ``be bs br`` (body), and ``en`` (the entities the report names,
  ``pn_<n>`` / ``gn_<n>``, plus ``zall`` in every row so that a query that only filters
  or excludes has something to start from). Sphinx keeps one dictionary per index, so
  every term carries its field's prefix (``te_قوات``, ``bs_قوه``); a term with a
  character outside :data:`CHARSET` or too long for Sphinx is replaced by a digest
  (``xh…``), the same at write and query time. The index does not analyze again:
  ``dict = keywords``, ``min_word_len = 1``, no morphology, no stopwords.
- attributes: ``kid`` (Kashaf's id), ``date`` (``YYYYMMDDhhmmss``, 0 when unknown),
  ``day`` (``YYYYMMDD``: the date facet and the timeline), ``srch`` (CRC32 of the
  source's case-folded key) and ``srcname`` (its spelling), ``place`` and ``grp``
  (multi-value: CRC32 of the entity ids, rolled up to ancestors like the embedded
  ``place`` / ``group`` fields), and the six fields' lengths (``tel`` … ``brl``).

A query is planned once (``indexer.search.plan``) and its compiled tree translated to
Sphinx's extended syntax by :func:`to_match`; filters become attribute conditions
(:func:`to_where`). One SphinxQL statement to the distributed index answers the total
(``total_found``), the facets (``FACET``) and the best candidates by a cheap Sphinx
pre-ranker. A second gives the candidates' ranking factors (``PACKEDFACTORS()``: each
query keyword's frequency in each candidate; since keywords carry their field's prefix,
that is the frequency per term *and field*), and its ``SHOW META`` each keyword's
document frequency over the whole cluster. Kashaf's BM25F-per-level formula is then
computed from these numbers, the stored field lengths and the cluster's average lengths
(:class:`Ranker`): no candidate is read or analyzed again, and Kashaf's embedded index is
not used to rank. ``SHOW META`` warnings (an agent that did not answer) make the answer
``partial``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from whoosh import query as Q
from whoosh.util.numeric import byte_to_length, length_to_byte

from analyzers import gazetteer
from indexer.engines import Matches
from indexer.facets import source_key, split_organizations, timeline_of_days
from indexer.ranking import CliticPhrase, WordQuery, idf_of
from indexer.schema import analyze_doc
from indexer.termstore import value_positions

if TYPE_CHECKING:
    from indexer.search import Plan, Scoring, SearchOptions
    from indexer.store import Snapshot

INDEX = "kashaf"  # the distributed index on the head node; shards are kashaf_s0, kashaf_s1…
FIELD_PREFIX = {
    "title_exact": "te",
    "title_stem": "ts",
    "title_root": "tr",
    "body_exact": "be",
    "body_stem": "bs",
    "body_root": "br",
}
TEXT_COLUMNS = tuple(FIELD_PREFIX.values())
LENGTHS = {p: f"{p}l" for p in TEXT_COLUMNS}  # the field-length attributes
ALL = "zall"  # in every row's ``en`` field
FILLER = "zz"  # keeps exact positions aligned where a token normalizes to nothing
# Characters a stored term may hold as it is (the charset_table is written from these).
CHARSET_RANGES = ((0x30, 0x39), (0x61, 0x7A), (0x5F, 0x5F), (0x621, 0x63A), (0x641, 0x64A), (0x660, 0x669))
CHARSET = frozenset(chr(c) for lo, hi in CHARSET_RANGES for c in range(lo, hi + 1))
KEYWORD_RE = re.compile(r"\b(?:te|ts|tr|be|bs|br|pn|gn)_[^\s\"()|-]+|\bzall\b")
UNDATED_LAST = 99_991_231_235_959  # ``odate`` of an undated report: after every date
MAX_KEYWORD = 40  # Sphinx cuts keywords at 42 characters
MAX_FACET_VALUES = 100_000  # distinct days or sources a facet may count (centuries of reporting)
DEFAULT_CANDIDATES = 300  # ranked by Kashaf's formula per query (benchmarks/cluster.py)
RETRY = "retry_count=2, retry_delay=50"  # a dead mirror: the next replica answers


# --- terms and rows ------------------------------------------------------------------------


def keyword(prefix: str, term: str) -> str:
    """The Sphinx keyword of a Kashaf term (prefix, and a digest when Sphinx cannot hold it).

    >>> keyword("te", "قوات"), keyword("bs", "Idlib")[:5]
    ('te_قوات', 'bs_xh')
    """
    kw = f"{prefix}_{term}"
    if len(kw) <= MAX_KEYWORD and all(ch in CHARSET for ch in term):
        return kw
    return f"{prefix}_xh" + hashlib.blake2b(term.encode(), digest_size=10).hexdigest()


def entity_number(entity_id: str) -> int:
    """The integer Sphinx stores for an entity id (CRC32; no two gazetteer ids collide)."""
    return zlib.crc32(entity_id.encode())


def source_number(source: str) -> int:
    """The integer Sphinx stores for a source: its case-folded key (``source_key``), so
    ``AFP`` and ``afp`` filter alike, as on the embedded engine."""
    return zlib.crc32(source_key(source).encode())


def row_id(doc_id: str) -> int:
    """Sphinx's integer document id for a Kashaf id (63 bits of a digest, never 0)."""
    return int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") >> 1 or 1


def date_number(value: datetime | date | None) -> int:
    """``YYYYMMDDhhmmss`` as an integer (0 when unknown): ordered like the dates.

    >>> date_number(datetime(2017, 6, 5, 12, 30))
    20170605123000
    """
    if value is None:
        return 0
    if not isinstance(value, datetime):
        value = datetime.combine(value, clock.min)
    d = value
    return ((((d.year * 100 + d.month) * 100 + d.day) * 100 + d.hour) * 100 + d.minute) * 100 + d.second


def shard_of(doc_id: str, shards: int) -> int:
    """The shard a document lives on (a stable hash of its id)."""
    return zlib.crc32(doc_id.encode()) % shards


def _field_text(prefix: str, postings: list[tuple], exact: bool) -> tuple[str, int]:
    """A field's keywords as Sphinx takes them, and its length as Whoosh counts it.

    Exact levels keep their order (phrases are matched on them): each term is put back at
    the positions its posting holds. Stem and root levels need only frequencies.
    """
    length = sum(int(freq) for _, freq, _, _ in postings)
    if not exact:
        words = [keyword(prefix, t.decode()) for t, freq, _, _ in postings for _ in range(int(freq))]
        return " ".join(words), length
    slots: dict[int, str] = {}
    for t, _, _, value in postings:
        kw = keyword(prefix, t.decode())
        for pos in value_positions(value):
            slots[pos] = kw
    if not slots:
        return "", length
    return " ".join(slots.get(i, FILLER) for i in range(max(slots) + 1)), length


def row(doc_id: str, title: str, body: str, when: datetime | None, source: str | None) -> dict:
    """One report as a Sphinx row: Kashaf's analysis (``analyze_doc``) as prefixed terms
    per field, entity and filter attributes, field lengths.

    >>> r = row("d1", "", "انسحبت القوات من الرقة", datetime(2017, 6, 5), "AFP")
    >>> r["be"], sorted(r["bs"].split()), r["bel"], r["day"]
    ('be_انسحبت be_القوات be_من be_الرقه', ['bs_انسحبت', 'bs_رقه', 'bs_قوه'], 4, 20170605)
    """
    postings, mentions = analyze_doc(title, body)
    out: dict = {"id": row_id(doc_id), "kid": doc_id}
    for fname, prefix in FIELD_PREFIX.items():
        out[prefix], out[LENGTHS[prefix]] = _field_text(
            prefix, postings.get(fname, []), fname.endswith("_exact")
        )
    named = sorted({(m.kind, m.entity_id) for m in mentions})
    out["en"] = " ".join([ALL, *(f"{k[0]}n_{entity_number(i)}" for k, i in named)])
    out["date"] = date_number(when)
    out["odate"] = out["date"] or UNDATED_LAST
    out["day"] = (when.year * 100 + when.month) * 100 + when.day if when else 0
    out["srch"] = source_number(source) if source else 0
    out["srcname"] = source or ""
    for kind, col in (("place", "place"), ("group", "grp")):
        out[col] = sorted(entity_number(t.decode()) for t, *_ in postings.get(kind, []))
    return out


# --- queries -------------------------------------------------------------------------------


def _term(fieldname: str, text: str) -> str:
    if fieldname in FIELD_PREFIX:
        return keyword(FIELD_PREFIX[fieldname], text)
    if fieldname in ("place_named", "group_named"):
        return f"{fieldname[0]}n_{entity_number(text)}"
    raise ValueError(f"no Sphinx column for the field {fieldname!r}")


def _any(parts: list[str | None]) -> str | None:
    kept = list(dict.fromkeys(x for x in parts if x))
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else " | ".join(f"({x})" for x in kept)


def to_match(q: Q.Query | None, broad: bool = False) -> str | None:
    """Sphinx's extended query for a compiled tree's *set*; ``None`` when it matches nothing.

    ``broad``: a word's root level matches too (``level=root``); otherwise it only ranks
    (Kashaf adds its score: :class:`Ranker`).

    >>> from indexer.search import plan
    >>> to_match(plan("=قوات").query)
    '(te_قوات) | (be_قوات)'
    """
    if q is None or q is Q.NullQuery:
        return None
    if isinstance(q, WordQuery):
        return _any([_term(sp[0], sp[1]) for sp in q.spec if broad or sp[2] in q.strict])
    if isinstance(q, CliticPhrase):
        return _any([to_match(f, broad) for f in q.forms])
    if isinstance(q, Q.Term):
        return _term(q.fieldname, q.text)
    if isinstance(q, Q.Phrase):
        return '"' + " ".join(_term(q.fieldname, w) for w in q.words) + '"'
    if isinstance(q, Q.Every):
        return ALL
    if isinstance(q, Q.ConstantScoreQuery):
        return to_match(q.child, broad)
    if isinstance(q, Q.Or):
        return _any([to_match(c, broad) for c in q.subqueries])
    if isinstance(q, Q.And):
        kids = [to_match(c, broad) for c in q.subqueries]
        if not kids or any(k is None for k in kids):
            return None
        return " ".join(f"({k})" for k in kids)
    if isinstance(q, Q.AndNot):
        pos = to_match(q.a, broad)
        neg = to_match(q.b, False)  # an exclusion is the excluded part's default set
        if pos is None:
            return None
        return f"({pos}) -({neg})" if neg else pos
    if isinstance(q, Q.AndMaybe):
        return to_match(q.a, broad)  # the right side only ranks
    raise ValueError(f"cannot translate {type(q).__name__} to Sphinx")


def rank_keywords(q) -> list[str]:
    """Every keyword whose frequency Kashaf's formula may read (all levels of each word,
    phrase words, entities; not what is excluded), in order, once each."""
    out: list[str] = []
    if isinstance(q, WordQuery):
        out = [_term(sp[0], sp[1]) for sp in q.spec]
    elif isinstance(q, Q.Term):
        out = [_term(q.fieldname, q.text)]
    elif isinstance(q, Q.Phrase):
        out = [_term(q.fieldname, w) for w in q.words]
    elif isinstance(q, CliticPhrase):
        out = [k for f in q.forms for k in rank_keywords(f)]
    elif isinstance(q, (Q.And, Q.Or)):
        out = [k for c in q.subqueries for k in rank_keywords(c)]
    elif isinstance(q, Q.AndMaybe):
        out = rank_keywords(q.a) + rank_keywords(q.b)
    elif isinstance(q, Q.AndNot):
        out = rank_keywords(q.a)
    elif isinstance(q, Q.ConstantScoreQuery):
        out = rank_keywords(q.child)
    return list(dict.fromkeys(out))


def _ids_in(kind: str, values: list[str], p: Plan) -> list[str]:
    roots = list(values)
    if kind == "group" and p.with_successors:
        roots += [s for g in values for s in gazetteer.successors(g)]
    if kind == "group" and p.with_predecessors:
        roots += [s for g in values for s in gazetteer.predecessors(g)]
    return list(dict.fromkeys(d for r in roots for d in (r, *gazetteer.descendants(r))))


def to_where(p: Plan) -> list[str]:
    """The plan's filters as attribute conditions, as ``indexer.search.filter_query`` reads
    them: places with the places under them, groups with their sub-units (and, on request,
    successors and predecessors), sources case-insensitively, a date range; each required
    filter (``place:A AND place:B``) a condition of its own."""
    f = p.filters
    out: list[str] = []
    for kind, values in (("place", f.place), ("group", f.group), ("source", f.source), *f.required):
        if not values:
            continue
        if kind == "source":
            out.append("srch IN (" + ",".join(str(source_number(s)) for s in values) + ")")
            continue
        col = "place" if kind == "place" else "grp"
        out.append(f"{col} IN (" + ",".join(str(entity_number(i)) for i in _ids_in(kind, values, p)) + ")")
    if f.date_from or f.date_to:
        out.append("date > 0")  # undated reports are outside every date range
        if f.date_from:
            out.append(f"date >= {date_number(f.date_from)}")
        if f.date_to:
            out.append(f"date <= {date_number(datetime.combine(f.date_to, clock(23, 59, 59)))}")
    return out


def sql_string(text: str) -> str:
    """A SphinxQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- the cluster ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One ``searchd``: ``sql`` for SphinxQL (MySQL protocol), ``api`` for agent traffic."""

    name: str
    host: str
    sql: int
    api: int


@dataclass
class Cluster:
    """A cluster file: the head (distributed index), the agents, each shard's replicas."""

    head: Node
    nodes: dict[str, Node]
    shards: list[list[str]]  # shard number -> names of the nodes holding it (first: primary)
    data_dir: str = ""  # where local nodes keep their files (``kashaf cluster start``)
    candidates: int = DEFAULT_CANDIDATES
    path: Path | None = field(default=None, compare=False)

    @classmethod
    def load(cls, path: Path | str) -> Cluster:
        """Read a cluster file (JSON, written by ``kashaf cluster config``)."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a Kashaf cluster file ({exc})") from None
        c = cls.from_json(raw, str(path))
        c.path = path
        if "data_dir" not in raw:
            c.data_dir = str(path.parent)
        return c

    @classmethod
    def from_json(cls, raw: dict, where: str = "cluster") -> Cluster:
        """A cluster from the content of a cluster file."""
        try:
            nodes = {n: Node(n, v["host"], int(v["sql"]), int(v["api"])) for n, v in raw["nodes"].items()}
            h = raw["head"]
            head = Node("head", h["host"], int(h["sql"]), int(h.get("api", 0)))
            shards = [list(s) for s in raw["shards"]]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{where}: not a Kashaf cluster file ({exc!r})") from None
        for replicas in shards:
            for n in replicas:
                if n not in nodes:
                    raise ValueError(f"{where}: shard replica {n!r} is not a node")
        return cls(
            head, nodes, shards, str(raw.get("data_dir", "")), int(raw.get("candidates", DEFAULT_CANDIDATES))
        )

    def as_json(self) -> dict:
        """The cluster file's content."""

        def node(n: Node) -> dict:
            return {"host": n.host, "sql": n.sql, "api": n.api}

        return {
            "head": node(self.head),
            "nodes": {k: node(v) for k, v in self.nodes.items()},
            "shards": self.shards,
            "data_dir": self.data_dir,
            "candidates": self.candidates,
        }


def plan_cluster(
    shards: int = 2,
    mirrors: int = 0,
    hosts: tuple[str, ...] = ("127.0.0.1",),
    port: int = 9306,
    data_dir: str = "",
    *,
    unmirrored: tuple[int, ...] = (),
) -> Cluster:
    """A cluster of ``shards`` shards with ``mirrors`` extra replicas each (shard numbers in
    ``unmirrored`` get none), nodes spread round-robin over ``hosts``; the head on the
    first host at ``port``, node ``i`` at ``port + 2 + 2i`` (SphinxQL) and the next (agents).
    """
    nodes: dict[str, Node] = {}
    layout: list[list[str]] = []
    i = 0
    for s in range(shards):
        replicas = []
        for r in range(1 + (0 if s in unmirrored else mirrors)):
            name = f"s{s}r{r}"
            host = hosts[i % len(hosts)]
            nodes[name] = Node(name, host, port + 2 + 2 * i, port + 3 + 2 * i)
            replicas.append(name)
            i += 1
        layout.append(replicas)
    return Cluster(Node("head", hosts[0], port, port + 1), nodes, layout, data_dir)


def charset_table() -> str:
    """Sphinx's ``charset_table``: exactly the characters a stored term may hold."""
    return ", ".join(f"U+{lo:04X}" if lo == hi else f"U+{lo:04X}..U+{hi:04X}" for lo, hi in CHARSET_RANGES)


def _shard_index(s: int, path: str, idf: str | None) -> str:
    fields = "\n".join(f"    rt_field = {c}" for c in (*TEXT_COLUMNS, "en"))
    lengths = "\n".join(f"    rt_attr_uint = {a}" for a in LENGTHS.values())
    idf_line = f"    global_idf = {idf}\n" if idf else ""
    return f"""index {INDEX}_s{s}
{{
    type = rt
    path = {path}
{fields}
    rt_attr_string = kid
    rt_attr_bigint = date
    rt_attr_bigint = odate
    rt_attr_uint = day
    rt_attr_uint = srch
    rt_attr_string = srcname
    rt_attr_multi = place
    rt_attr_multi = grp
{lengths}
    rt_mem_limit = 256M
    dict = keywords
    min_word_len = 1
    charset_table = {charset_table()}
{idf_line}}}
"""


def _searchd(n: Node, data: str, flavor: str = "sphinx") -> str:
    # Sphinx 2.2 needs a thread per client; Manticore has only its thread pool and
    # rejects or warns about these two lines.
    threads = "    workers = threads\n    max_children = 64\n" if flavor == "sphinx" else ""
    return f"""searchd
{{
    listen = {n.host}:{n.sql}:mysql41
    listen = {n.host}:{n.api}
    log = {data}/searchd.log
    query_log = {data}/query.log
    pid_file = {data}/searchd.pid
    binlog_path = {data}
    binlog_flush = 1
{threads}    read_timeout = 5
    client_timeout = 300
    seamless_rotate = 1
    preopen_indexes = 1
    unlink_old = 1
}}
"""


def node_dir(c: Cluster, name: str) -> str:
    """A node's data directory."""
    return str(Path(c.data_dir) / name)


def searchd_configs(c: Cluster, idf: str | None = None, flavor: str = "sphinx") -> dict[str, str]:
    """``{node name: searchd.conf text}`` for the head and every agent.

    Each agent holds the RT index of its shard(s); the head holds the ``distributed``
    index whose ``agent`` lines list each shard's replicas as mirrors (``a|b``).
    ``idf``: the global IDF file (``kashaf cluster idf``) each agent reads; ``flavor``
    ``sphinx`` (2.2.11, tested here) or ``manticore`` (no ``workers`` / ``max_children``).
    """
    out: dict[str, str] = {}
    held: dict[str, list[int]] = {}
    for s, replicas in enumerate(c.shards):
        for n in replicas:
            held.setdefault(n, []).append(s)
    for name, node in c.nodes.items():
        data = node_dir(c, name)
        parts = [_shard_index(s, f"{data}/{INDEX}_s{s}", idf) for s in held.get(name, [])]
        out[name] = "".join(parts) + _searchd(node, data, flavor)
    agents = "\n".join(
        "    agent = " + "|".join(f"{c.nodes[n].host}:{c.nodes[n].api}:{INDEX}_s{s}" for n in replicas)
        for s, replicas in enumerate(c.shards)
    )
    head = f"""index {INDEX}
{{
    type = distributed
{agents}
    agent_connect_timeout = 300
    agent_query_timeout = 10000
    ha_strategy = nodeads
}}
"""
    head_searchd = _searchd(c.head, node_dir(c, "head"), flavor).replace(
        "    binlog_flush = 1\n",
        "    binlog_flush = 1\n    ha_ping_interval = 100\n    ha_period_karma = 10\n",
    )
    out["head"] = head + head_searchd
    return out


def fnv64(data: bytes) -> int:
    """Sphinx's ``sphFNV64`` (FNV-1a, 64 bits), the key of its global IDF file."""
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def write_global_idf(snap: Snapshot, path: Path) -> int:
    """Write Sphinx's global IDF file from Kashaf's own statistics: the number of documents,
    then ``(FNV64(keyword), documents)`` sorted by hash. Returns the number of keywords."""
    import struct

    reader = snap.searcher().reader()
    counts: dict[int, int] = {}
    for fname, prefix in FIELD_PREFIX.items():
        for raw in reader.lexicon(fname):
            term = raw.decode("utf-8")
            h = fnv64(keyword(prefix, term).encode())
            counts[h] = max(counts.get(h, 0), reader.doc_frequency(fname, term))
    for fname in ("place_named", "group_named"):
        if fname in reader.schema:
            for raw in reader.lexicon(fname):
                term = raw.decode("utf-8")
                counts[fnv64(_term(fname, term).encode())] = reader.doc_frequency(fname, term)
    n = reader.doc_count()
    counts[fnv64(ALL.encode())] = n
    tmp = Path(path).with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(struct.pack("<q", n))
        for h in sorted(counts):
            fh.write(struct.pack("<QI", h, counts[h]))
    tmp.replace(path)
    return len(counts)


# --- connections ---------------------------------------------------------------------------


class ClusterError(RuntimeError):
    """A node of the cluster could not be reached or refused a statement."""


def connect(node: Node, timeout: float = 10.0):
    """A SphinxQL connection (PyMySQL; searchd speaks the MySQL 4.1 protocol)."""
    import pymysql

    try:
        return pymysql.connect(
            host=node.host,
            port=node.sql,
            user="",
            password="",
            autocommit=True,
            connect_timeout=timeout,
            read_timeout=timeout * 2,  # a request's work stays bounded (gunicorn's timeout is 30 s)
            write_timeout=timeout * 2,
            charset="utf8",
        )
    except pymysql.err.MySQLError as exc:
        raise ClusterError(f"{node.name} ({node.host}:{node.sql}): {exc}") from None


def _values(r: dict) -> str:
    mva = lambda v: "(" + ",".join(str(x) for x in v) + ")"  # noqa: E731
    cols = [
        str(r["id"]),
        *(sql_string(r[c]) for c in (*TEXT_COLUMNS, "en", "kid")),
        str(r["date"]),
        str(r["odate"]),
        str(r["day"]),
        str(r["srch"]),
        sql_string(r["srcname"]),
        mva(r["place"]),
        mva(r["grp"]),
        *(str(r[a]) for a in LENGTHS.values()),
    ]
    return "(" + ",".join(cols) + ")"


ATTRIBUTES = ("kid", "date", "odate", "day", "srch", "srcname", "place", "grp", *LENGTHS.values())
COLUMNS = ",".join(("id", *TEXT_COLUMNS, "en", *ATTRIBUTES))


class Writer:
    """Writes rows to every replica of their shard (Sphinx 2.2.11 does not replicate)."""

    def __init__(self, c: Cluster, batch: int = 200) -> None:
        self.c = c
        self.batch = batch
        self._conns: dict[str, object] = {}

    def _conn(self, name: str):
        if name not in self._conns:
            self._conns[name] = connect(self.c.nodes[name])
        return self._conns[name]

    def _run(self, name: str, sql: str) -> None:
        import pymysql

        try:
            with self._conn(name).cursor() as cur:
                cur.execute(sql)
        except pymysql.err.MySQLError as exc:
            self._conns.pop(name, None)
            raise ClusterError(f"{name}: {exc}") from None

    def replace(self, rows: list[dict]) -> None:
        """``REPLACE`` the rows on every replica of their shards (all replicas or an error)."""
        by_shard: dict[int, list[dict]] = {}
        for r in rows:
            by_shard.setdefault(shard_of(r["kid"], len(self.c.shards)), []).append(r)
        for s, part in by_shard.items():
            for i in range(0, len(part), self.batch):
                chunk = part[i : i + self.batch]
                sql = f"REPLACE INTO {INDEX}_s{s} ({COLUMNS}) VALUES " + ",".join(_values(r) for r in chunk)
                for name in self.c.shards[s]:
                    self._run(name, sql)

    def delete(self, doc_ids: list[str]) -> None:
        """Remove documents from every replica of their shards."""
        by_shard: dict[int, list[int]] = {}
        for d in doc_ids:
            by_shard.setdefault(shard_of(d, len(self.c.shards)), []).append(row_id(d))
        for s, ids in by_shard.items():
            for i in range(0, len(ids), 1000):
                sql = f"DELETE FROM {INDEX}_s{s} WHERE id IN (" + ",".join(map(str, ids[i : i + 1000])) + ")"
                for name in self.c.shards[s]:
                    self._run(name, sql)

    def flush(self, shards: list[int] | None = None) -> None:
        """``FLUSH RTINDEX`` on every replica: what was written is on disk, not only in the
        binlog. (Sphinx 2.2.11's binlog replay after ``kill -9`` rejected our commits with
        "CRC mismatch" and restored none of them — measured; so Kashaf does not rely on it.)"""
        for s, replicas in enumerate(self.c.shards):
            if shards is None or s in shards:
                for name in replicas:
                    self._run(name, f"FLUSH RTINDEX {INDEX}_s{s}")

    def close(self) -> None:
        """Close every connection."""
        for conn in self._conns.values():
            conn.close()
        self._conns.clear()


SYNC_DB = "cluster-sync.sqlite"


def _rows(db, ids: list[str]) -> list[dict]:
    marks = ",".join("?" * len(ids))
    out = []
    for r in db.execute(f"SELECT id, title, body, date, source FROM docs WHERE id IN ({marks})", ids):
        when = datetime.fromisoformat(r["date"]) if r["date"] else None
        out.append(row(r["id"], r["title"] or "", r["body"] or "", when, r["source"]))
    return out


def write_shard_chunk(db_path: str, cluster: dict, shard: int, ids: list[str]) -> list[str]:
    """One bulk task: analyze ``ids`` (all of shard ``shard``) from a generation's store and
    write them to that shard's replicas, flushed. Pure inputs, so it runs on any Dask
    worker that can read ``db_path`` (a shared or copied index directory)."""
    from indexer.store import connect_ro

    c = Cluster.from_json(cluster)
    db = connect_ro(Path(db_path))
    w = Writer(c)
    try:
        w.replace(_rows(db, ids))
        w.flush([shard])
    finally:
        w.close()
        db.close()
    return ids


def sync(
    snap: Snapshot, c: Cluster, *, full: bool = False, progress=None, dask=None, chunk: int = 500
) -> dict:
    """Bring the cluster to the snapshot's documents: rows whose content hash changed since
    the last sync are written to every replica, removed documents deleted.

    The ledger (``INDEX_DIR/cluster-sync.sqlite``) records a document only after every
    replica took it, so a failed run is simply repeated. ``full``: rewrite everything.
    ``dask``: a ``distributed.Client``; each task analyzes one chunk of one shard's
    documents and writes that shard's replicas itself (:func:`write_shard_chunk`).
    """
    import sqlite3

    from indexer.store import DB, generation_dir

    ledger = sqlite3.connect(Path(snap.index_dir) / SYNC_DB)
    ledger.execute("CREATE TABLE IF NOT EXISTS synced (id TEXT PRIMARY KEY, hash TEXT NOT NULL)")
    if full:
        ledger.execute("DELETE FROM synced")
    known = dict(ledger.execute("SELECT id, hash FROM synced"))
    current = {r[0]: r[1] for r in snap.db.execute("SELECT id, hash FROM docs")}
    todo = [d for d, h in current.items() if known.get(d) != h]
    gone = [d for d in known if d not in current]
    by_shard: dict[int, list[str]] = {}
    for d in todo:
        by_shard.setdefault(shard_of(d, len(c.shards)), []).append(d)
    chunks = [
        (s, ids[i : i + chunk]) for s, ids in sorted(by_shard.items()) for i in range(0, len(ids), chunk)
    ]
    done = 0

    def record(ids: list[str]) -> None:
        nonlocal done
        ledger.executemany("REPLACE INTO synced VALUES (?, ?)", [(d, current[d]) for d in ids])
        ledger.commit()
        done += len(ids)
        if progress:
            progress(done, len(todo))

    w = Writer(c)
    try:
        if gone:
            w.delete(gone)
            w.flush()
            ledger.executemany("DELETE FROM synced WHERE id = ?", [(d,) for d in gone])
            ledger.commit()
        if dask is not None and chunks:
            from distributed import as_completed

            db_path = str(generation_dir(snap.index_dir, snap.generation) / DB)
            spec = c.as_json()
            futures = [dask.submit(write_shard_chunk, db_path, spec, s, ids, pure=False) for s, ids in chunks]
            for fut in as_completed(futures):
                record(fut.result())  # a failed task raises here; the ledger keeps what is done
        else:
            for s, ids in chunks:
                w.replace(_rows(snap.db, ids))
                w.flush([s])  # durable before the ledger says so
                record(ids)
    finally:
        w.close()
        ledger.close()
    # The ledger lives beside the index: a cluster wiped or replaced behind its back would
    # silently miss documents. Count what the cluster holds and say so.
    _, meta = SphinxEngine(c)._query(f"SELECT id FROM {INDEX} WHERE MATCH('{ALL}') LIMIT 1")
    held = int(meta.get("total_found", 0))
    return {"written": len(todo), "deleted": len(gone), "documents": len(current), "cluster": held}


# --- ranking from Sphinx's factors ---------------------------------------------------------

FACTOR_RE = re.compile(r"word(\d+)=\(tf=(\d+)")


def keyword_positions(match: str) -> list[str]:
    """The keywords of a match expression in query order: ``PACKEDFACTORS()`` reports
    ``word<i>`` for the i-th (a keyword written twice is reported at its first place).

    >>> keyword_positions('(te_a) | (("be_a be_b") -(zall))')
    ['te_a', 'be_a', 'be_b', 'zall']
    """
    return KEYWORD_RE.findall(match)


def parse_factors(packed: str, positions: list[str]) -> dict[str, int]:
    """``{keyword: frequency in this document}`` from one ``PACKEDFACTORS()`` value."""
    out: dict[str, int] = {}
    for pos, freq in FACTOR_RE.findall(packed):
        i, tf = int(pos), int(freq)
        if tf and i < len(positions):
            kw = positions[i]
            out[kw] = max(out.get(kw, 0), tf)
    return out


def whoosh_length(n: np.ndarray) -> np.ndarray:
    """Field lengths as the embedded index keeps them (one byte each, approximate), so
    both engines normalize by the same number."""
    table = np.array([byte_to_length(length_to_byte(i)) for i in range(256)], dtype=np.float64)
    small = n < 256
    out = np.empty(len(n), dtype=np.float64)
    out[small] = table[n[small].astype(np.int64)]
    out[~small] = [byte_to_length(length_to_byte(int(x))) for x in n[~small]]
    return out


@dataclass
class Ranker:
    """Kashaf's scoring (``indexer.ranking``'s semantics: BM25F per level, ``Or`` sums,
    ``And`` requires all, ``AndMaybe`` adds, phrases score their words where consecutive,
    a constant for an entity) over ``n`` candidates, from numbers the cluster gave: each
    keyword's frequency per candidate, its document frequency and the document count of
    the whole cluster, stored field lengths and the cluster's average lengths."""

    n: int
    tf: dict[str, np.ndarray]  # keyword -> frequency per candidate
    df: dict[str, int]  # keyword -> documents holding it, cluster-wide
    total: int  # documents in the cluster
    lengths: dict[str, np.ndarray]  # field prefix -> length per candidate (as Whoosh stores it)
    avg: dict[str, float]  # field prefix -> average length over the cluster
    phrases: dict[str, np.ndarray]  # phrase expression -> candidates holding it
    bm: object  # indexer.ranking.BM25

    def _tf(self, fieldname: str, text: str) -> np.ndarray:
        found = self.tf.get(_term(fieldname, text))
        return found if found is not None else np.zeros(self.n)

    def _df(self, fieldname: str, text: str) -> int:
        return self.df.get(_term(fieldname, text), 0)

    def _norm(self, fieldname: str) -> np.ndarray:
        prefix = FIELD_PREFIX[fieldname]
        b = self.bm.b_of(fieldname)
        return (1 - b) + b * self.lengths[prefix] / (self.avg.get(prefix) or 1.0)

    def term(self, q: Q.Term) -> tuple[np.ndarray, np.ndarray]:
        tf = self._tf(q.fieldname, q.text)
        hit = tf > 0
        if q.fieldname not in FIELD_PREFIX:  # entity fields are not scored by BM25
            return hit, tf * q.boost
        k1 = self.bm.K1
        s = tf * (k1 + 1) / (tf + k1 * self._norm(q.fieldname))
        return hit, s * idf_of(self._df(q.fieldname, q.text), self.total, self.bm.idf) * q.boost

    def fresh(self, q) -> tuple[np.ndarray, np.ndarray]:
        mask = np.zeros((2, self.n), dtype=bool)
        score = np.zeros(self.n, dtype=np.float64)
        self.add(q, mask, score)
        return mask, score

    def add(self, q, mask: np.ndarray, score: np.ndarray) -> None:
        """OR ``q``'s matches into ``mask`` (default row, broad row); add its scores."""
        if isinstance(q, Q.Term):
            hit, s = self.term(q)
            mask[:, hit] = True
            score[hit] += s[hit]
            return
        if isinstance(q, WordQuery):
            self.word(q, mask, score)
            return
        if isinstance(q, CliticPhrase):
            best = np.zeros(self.n)
            hit = np.zeros((2, self.n), dtype=bool)
            for form in q.forms:
                words = form.words if isinstance(form, Q.Phrase) else [form.text]
                if not all(self._df(form.fieldname, w) for w in words):
                    continue  # as the embedded engine: only forms whose words are all indexed
                m, s = self.fresh(form)
                hit |= m
                np.maximum(best, np.where(m[1], s, 0.0), out=best)
            mask |= hit
            score[hit[1]] += best[hit[1]]
            return
        if isinstance(q, Q.Or):
            for child in q.subqueries:
                self.add(child, mask, score)
            return
        if isinstance(q, Q.Every):
            mask[:] = True
            return
        if isinstance(q, Q.And):
            m, s = self.fresh(q.subqueries[0])
            for child in q.subqueries[1:]:
                cm, cs = self.fresh(child)
                m &= cm
                s += cs
        elif isinstance(q, Q.AndNot):
            m, s = self.fresh(q.a)
            m &= ~self.fresh(q.b)[0][0]
        elif isinstance(q, Q.AndMaybe):
            m, s = self.fresh(q.a)
            s += self.fresh(q.b)[1]
        elif isinstance(q, Q.ConstantScoreQuery):
            m, _ = self.fresh(q.child)
            s = np.full(self.n, q.score)
        elif isinstance(q, Q.Phrase):
            held = self.phrases.get(to_match(q) or "", np.zeros(self.n, dtype=bool))
            m = np.broadcast_to(held, (2, self.n)).copy()
            s = np.zeros(self.n)
            for word in dict.fromkeys(q.words):
                hit, ws = self.term(Q.Term(q.fieldname, word, boost=q.boost))
                s[hit] += ws[hit]
        else:
            return
        mask |= m
        score[m[1]] += s[m[1]]

    def word(self, q: WordQuery, mask: np.ndarray, score: np.ndarray) -> None:
        """BM25F over a word's title and body, level by level (``indexer.ranking.WordQuery``)."""
        levels: dict[str, list] = {}
        for spec in q.spec:
            levels.setdefault(spec[2], []).append(spec)
        k1 = self.bm.K1
        for level, specs in levels.items():
            acc = np.zeros(self.n)
            df = 0
            for fieldname, form, _level, field_weight, _ in specs:
                d = self._df(fieldname, form)
                if not d:
                    continue
                acc += field_weight * self._tf(fieldname, form) / self._norm(fieldname)
                df = max(df, d)
            if not df:
                continue
            hit = acc > 0
            t = acc[hit]
            w = specs[0][4] * idf_of(df, self.total, self.bm.idf)
            mask[1] |= hit
            if level in q.strict:
                mask[0] |= hit
            score[hit] += w * t * (k1 + 1) / (t + k1)


def _phrases(q) -> list[Q.Phrase]:
    if isinstance(q, Q.Phrase):
        return [q]
    if isinstance(q, CliticPhrase):
        return [p for f in q.forms for p in _phrases(f)]
    if isinstance(q, (Q.And, Q.Or)):
        return [p for c in q.subqueries for p in _phrases(c)]
    if isinstance(q, (Q.AndNot, Q.AndMaybe)):
        return _phrases(q.a) + _phrases(q.b)
    if isinstance(q, Q.ConstantScoreQuery):
        return _phrases(q.child)
    return []


def _entity_row(entity_id: str, count: int) -> dict:
    e = gazetteer.entities().get(entity_id)
    return {
        "id": entity_id,
        "label": e.label if e else entity_id,
        "label_en": e.name_en if e else None,
        "level": e.level if e else None,
        "parent": e.parent if e else None,
        "count": count,
    }


def timeline_of(days: dict[int, int], date_from: date | None = None, date_to: date | None = None) -> dict:
    """``indexer.facets.timeline`` from day counts (``{YYYYMMDD: n}``, 0 for undated)
    instead of a mask: the same range, unit, outlier rule and buckets."""
    ords = sorted((date(k // 10000, k // 100 % 100, k % 100).toordinal(), v) for k, v in days.items() if k)
    ordinals = np.repeat(np.array([o for o, _ in ords], dtype=np.int64), [v for _, v in ords])
    return timeline_of_days(ordinals, int(days.get(0, 0)), date_from, date_to)


# --- the engine ----------------------------------------------------------------------------


class SphinxEngine:
    """Answers plans from the cluster's distributed index (see the module docstring)."""

    name = "sphinx"

    def __init__(self, c: Cluster) -> None:
        self.c = c
        self._local = threading.local()
        self.last_sql: list[str] = []
        self._stats: tuple[float, int, dict[str, float], int] | None = None
        self.stats_ttl = 30.0  # seconds the document count and average lengths are reused
        self.mismatches = 0  # candidates Kashaf's formula does not match (tests: stays 0)

    def _cursor(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = connect(self.c.head)
        return conn.cursor()

    def _query(self, sql: str) -> tuple[list[list[tuple]], dict[str, str]]:
        """Every result set of ``sql`` and the ``SHOW META`` that follows it."""
        import pymysql

        self.last_sql.append(sql)
        del self.last_sql[:-20]
        # A dead mirror costs one answer: the head marks it and sends the next query to a
        # live replica (ha_strategy); so an answer with an agent warning is asked again
        # once, and only what is still missing then is reported as partial.
        for attempt in range(3):
            try:
                cur = self._cursor()
                cur.execute(sql)
                sets = [list(cur.fetchall())]
                while cur.nextset():
                    sets.append(list(cur.fetchall()))
                cur.execute("SHOW META")
                meta = {str(k): str(v) for k, v in cur.fetchall()}
                cur.close()
                if "agent" in meta.get("warning", "") and attempt < 2:
                    time.sleep(0.15 * (attempt + 1))  # > ha_ping_interval: the head has re-pinged
                    continue
                return sets, meta
            except (pymysql.err.OperationalError, pymysql.err.InterfaceError) as exc:
                self._local.conn = None  # a head restart: reconnect
                if attempt == 2:
                    raise ClusterError(f"head ({self.c.head.host}:{self.c.head.sql}): {exc}") from None
            except pymysql.err.MySQLError as exc:
                if "agent" in str(exc) and attempt < 2:
                    time.sleep(0.15 * (attempt + 1))
                    continue
                raise ClusterError(f"{exc} in: {sql[:300]}") from None
        raise AssertionError("unreachable")

    def stats(self, out: Matches | None = None) -> tuple[int, dict[str, float], int]:
        """The cluster's document count, average field lengths, and how many facet values a
        query may meet at most (distinct days and sources, entities): cached ``stats_ttl``.

        The last sizes ``max_matches``: Sphinx's FACET counts are exact only when it is at
        least the number of values, and a larger one costs every query (measured: 85 ms
        at 40,000 against 14 ms at 2,000 for the same statement on 3,000 reports)."""
        now = time.monotonic()
        if self._stats is None or now - self._stats[0] > self.stats_ttl:
            cols = ", ".join(f"SUM({a})" for a in LENGTHS.values())
            sets, meta = self._query(f"SELECT COUNT(*), {cols} FROM {INDEX} OPTION {RETRY}")
            big = f"LIMIT {MAX_FACET_VALUES} OPTION max_matches={MAX_FACET_VALUES}, {RETRY}"
            _, dmeta = self._query(f"SELECT day FROM {INDEX} GROUP BY day {big}")
            _, smeta = self._query(f"SELECT srcname FROM {INDEX} GROUP BY srcname {big}")
            warned = any(m.get("warning") for m in (meta, dmeta, smeta))
            if out is not None:
                for m in (meta, dmeta, smeta):
                    self._check_partial(m, out)
            got = sets[0][0] if sets[0] else (0,) * (1 + len(LENGTHS))
            n = int(got[0])
            avg = {p: (float(v) / n if n else 0.0) for p, v in zip(LENGTHS, got[1:], strict=True)}
            values = max(int(dmeta.get("total_found", 0)), int(smeta.get("total_found", 0)))
            # Room for the values written until the next look (twice, and more entities).
            values = min(max(2 * values + 100, len(gazetteer.entities()) + 100), MAX_FACET_VALUES)
            if warned:
                return n, avg, values  # not cached: the next answer may be whole
            self._stats = (now, n, avg, values)
        return self._stats[1], self._stats[2], self._stats[3]

    def run(
        self, snap: Snapshot, p: Plan, opts: SearchOptions, sc: Scoring, *, k: int, facets: bool
    ) -> Matches:
        """Total, facets and candidates from one statement; Kashaf's ranking from factors."""
        # The set as it is: a pre-ranker that also saw the root levels (``M | (M roots)``,
        # since 2.2.11's MAYBE is broken) chose no better candidates (top-10 overlap 0.999
        # either way on 3,000 reports, 300 candidates) and cost up to 4× per statement.
        match = to_match(p.query, p.broad)
        if match is None:
            return Matches()
        where = " AND ".join([f"MATCH({sql_string(match)})", *to_where(p)])
        want = max(k, 0)
        if opts.sort == "relevance":
            cand = min(max(self.c.candidates, 4 * want), 10_000) if want else 1
            order, extra = "WEIGHT() DESC, id ASC", ""
        else:
            cand = max(want, 1)
            newest = opts.sort in ("newest", "date")
            # ``odate``: the date, or past every date when unknown (undated reports last).
            order = "date DESC, WEIGHT() DESC, id ASC" if newest else "odate ASC, WEIGHT() DESC, id ASC"
            extra = ""
        values = self.stats()[2] if facets else 0
        lens = ", ".join(LENGTHS.values())
        weights = ", ".join(
            f"{FIELD_PREFIX[f'{fld}_{lv}']}={round(4 * getattr(sc, fld) * sc.weight(lv))}"
            for fld in ("title", "body")
            for lv in ("exact", "stem", "root")
        )
        sql = (
            f"SELECT id, kid, date, {lens}{extra} FROM {INDEX} WHERE {where}"
            f" ORDER BY {order} LIMIT {cand}"
            # The pre-ranking only picks candidates: a saturated, IDF-weighted count per field.
            f" OPTION ranker=expr('sum((sum_idf*4+tf_idf)*user_weight)*1000'),"
            f" field_weights=({weights}, en=2),"
            f" idf='plain,tfidf_unnormalized', global_idf=1, retry_count=2, retry_delay=50,"
            f" max_matches={max(cand, values if facets else cand)}"
        )
        if facets:
            sql += (
                f" FACET place ORDER BY COUNT(*) DESC LIMIT {values}"
                f" FACET grp ORDER BY COUNT(*) DESC LIMIT {values}"
                f" FACET day ORDER BY day ASC LIMIT {values}"
                f" FACET srcname ORDER BY COUNT(*) DESC LIMIT {values}"
            )
        sets, meta = self._query(sql)
        out = Matches(total=int(meta.get("total_found", 0)))
        self._check_partial(meta, out)
        if facets:
            out.facets = self._facets(sets[1:5], p)
        if not p.broad:
            broad = to_match(p.query, True)
            if broad != to_match(p.query, False):
                bwhere = " AND ".join([f"MATCH({sql_string(broad)})", *to_where(p)])
                _, bmeta = self._query(
                    f"SELECT id FROM {INDEX} WHERE {bwhere} LIMIT 1 OPTION ranker=none, {RETRY}"
                )
                self._check_partial(bmeta, out)
                out.more = max(int(bmeta.get("total_found", 0)) - out.total, 0)
        if want and sets[0]:
            out.hits = self._rank(p, sc, sets[0], want, opts.sort, out)
        return out

    def _rank(  # noqa: PLR0917 - private, one caller
        self,
        p: Plan,
        sc: Scoring,
        rows: list[tuple],
        k: int,
        sort: str,
        out: Matches,
    ) -> list[tuple[str, float]]:
        n = len(rows)
        ids = [int(r[0]) for r in rows]
        # The candidates' frequencies of every keyword the formula reads, from a flat OR:
        # in the matching statement a phrase's words would also count the phrase's own hits
        # (measured: tf 2 for a word once in the text), so its factors are not used.
        keys = " | ".join(rank_keywords(p.query))
        got: list[list[tuple]] = [[]]
        kmeta: dict[str, str] = {}
        if keys:  # (filters alone score nothing; 2.2.11 crashes on PACKEDFACTORS of an empty match)
            got, kmeta = self._query(
                f"SELECT id, PACKEDFACTORS() FROM {INDEX} WHERE MATCH({sql_string(keys)})"
                f" AND id IN ({','.join(map(str, ids))}) LIMIT {n}"
                f" OPTION ranker=expr('1'), max_matches={n}, {RETRY}"
            )
            self._check_partial(kmeta, out)
        positions = keyword_positions(keys)
        where = {rid: i for i, rid in enumerate(ids)}
        tf: dict[str, np.ndarray] = {}
        for rid, packed in got[0]:
            i = where.get(int(rid))
            if i is None:
                continue
            for kw, f in parse_factors(str(packed), positions).items():
                tf.setdefault(kw, np.zeros(n))[i] = f
        df: dict[str, int] = {}
        for key, value in kmeta.items():
            if key.startswith("keyword["):
                df[value] = int(kmeta.get("docs[" + key[8:], 0))
        lengths = {
            prefix: whoosh_length(np.array([r[3 + j] for r in rows], dtype=np.int64))
            for j, prefix in enumerate(LENGTHS)
        }
        total, avg, _ = self.stats(out)
        phrases: dict[str, np.ndarray] = {}
        for ph in _phrases(p.query):
            expr = to_match(ph) or ""
            if expr in phrases:
                continue
            if not all(df.get(_term(ph.fieldname, w)) for w in ph.words):
                phrases[expr] = np.zeros(n, dtype=bool)
                continue
            got, _ = self._query(
                f"SELECT id FROM {INDEX} WHERE MATCH({sql_string(expr)})"
                f" AND id IN ({','.join(map(str, ids))}) LIMIT {n}"
                f" OPTION ranker=none, max_matches={n}, {RETRY}"
            )
            held = {int(x[0]) for x in got[0]}
            phrases[expr] = np.array([i in held for i in ids], dtype=bool)
        rk = Ranker(n, tf, df, total, lengths, avg, phrases, sc.bm25())
        mask, score = rk.fresh(p.query)
        self.mismatches += int(np.count_nonzero(~mask[1 if p.broad else 0]))
        kids = [str(r[1]) for r in rows]
        if sort == "relevance":
            order = sorted(range(n), key=lambda i: (-score[i], kids[i]))
        elif sort == "oldest":
            order = sorted(range(n), key=lambda i: (rows[i][2] == 0, rows[i][2], -score[i], kids[i]))
        else:
            order = sorted(range(n), key=lambda i: (-rows[i][2], -score[i], kids[i]))
        return [(kids[i], float(score[i])) for i in order[:k]]

    @staticmethod
    def _check_partial(meta: dict[str, str], out: Matches) -> None:
        warning = meta.get("warning", "")
        if warning:
            out.partial = True
            if warning not in out.warnings:
                out.warnings.append(warning)

    @staticmethod
    def _facets(sets: list[list[tuple]], p: Plan) -> dict:
        names = {entity_number(i): i for i in gazetteer.entities()}
        out: dict = {}
        for key, rows in (("place", sets[0]), ("group", sets[1])):
            found = sorted((-int(n), names[int(v)]) for v, n in rows if int(v) in names)
            out[key] = [_entity_row(i, -neg) for neg, i in found]
        split_organizations(out)
        days = {int(v): int(n) for v, n in sets[2]}
        months: dict[str, int] = {}
        for d, n in sorted(days.items()):
            if d:
                key = f"{d // 10000:04d}-{d // 100 % 100:02d}"
                months[key] = months.get(key, 0) + n
        out["date"] = [{"month": m, "count": n} for m, n in months.items()]
        spellings: dict[str, dict[str, int]] = {}
        for v, n in sets[3]:
            if v:
                spellings.setdefault(source_key(str(v)), {})[str(v)] = int(n)
        rows_ = []
        for sp in spellings.values():
            best = max(sorted(sp), key=lambda t: sp[t])
            rows_.append({"value": best, "count": sum(sp.values())})
        rows_.sort(key=lambda r: (-r["count"], r["value"]))
        out["source"] = rows_
        out["timeline"] = timeline_of(days, p.filters.date_from, p.filters.date_to)
        return out


_engines: dict[str, SphinxEngine] = {}
_engines_lock = threading.Lock()


def engine_for(path: Path | str) -> SphinxEngine:
    """The (per-process) engine of a cluster file."""
    key = str(Path(path).resolve())
    with _engines_lock:
        if key not in _engines:
            _engines[key] = SphinxEngine(Cluster.load(path))
        return _engines[key]


# --- local nodes (tests, one-machine trials) ------------------------------------------------


def write_configs(
    c: Cluster, conf_dir: Path, idf: str | None = None, flavor: str = "sphinx"
) -> dict[str, Path]:
    """Write every node's ``searchd`` config into ``conf_dir`` (and create the data dirs)."""
    conf_dir = Path(conf_dir)
    conf_dir.mkdir(parents=True, exist_ok=True)
    out = {}
    for name, text in searchd_configs(c, idf, flavor).items():
        Path(node_dir(c, name)).mkdir(parents=True, exist_ok=True)
        path = conf_dir / f"{name}.conf"
        path.write_text(text, encoding="utf-8")
        out[name] = path
    return out


def start_node(conf: Path) -> None:
    """Start one ``searchd`` (it daemonizes; returns once it listens)."""
    import subprocess

    done = subprocess.run(["searchd", "-c", str(conf)], capture_output=True, text=True, check=False)
    if done.returncode:
        raise ClusterError(f"searchd -c {conf} failed: {done.stdout[-500:]} {done.stderr[-500:]}")


def node_pid(c: Cluster, name: str) -> int | None:
    """The pid a running node wrote, or ``None``."""
    try:
        return int((Path(node_dir(c, name)) / "searchd.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_node(conf: Path) -> None:
    """Stop one ``searchd`` cleanly (``--stopwait``: flushes its RT indexes)."""
    import subprocess

    subprocess.run(["searchd", "-c", str(conf), "--stopwait"], capture_output=True, check=False)
