"""``/search.atom?…``: an Atom 1.0 feed (RFC 4287) of any search's newest matching reports.

It takes every parameter of the search page (``q``, filters, ``op``, ``dedupe``,
``limit``, ``lang``…) and answers the newest ``limit`` matches, newest first, whatever
``sort`` says: a feed reader polls it to hear about new reports. The search page links
it with ``<link rel="alternate" type="application/atom+xml">`` and a visible link.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from urllib.parse import urlencode
from xml.etree import ElementTree as ET

from flask import Blueprint, Response, request, url_for

from indexer.store import Snapshot
from web import error_response, index_state
from web.i18n import t
from web.state import IndexNotFound

bp = Blueprint("feeds", __name__)

ATOM = "http://www.w3.org/2005/Atom"
MIME = "application/atom+xml; charset=utf-8"
_TAG = re.compile(r"</?mark>")


def rfc3339(value: str | None, default: str) -> str:
    """An Atom date (RFC 3339, UTC) from the store's naive-UTC ISO date; ``default`` when missing.

    >>> rfc3339("2018-03-01T08:00:00", "x"), rfc3339(None, "2020-01-01T00:00:00Z")
    ('2018-03-01T08:00:00Z', '2020-01-01T00:00:00Z')
    """
    if not value:
        return default
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        return default
    if d.tzinfo is not None:
        d = d.astimezone(UTC).replace(tzinfo=None)
    return d.replace(microsecond=0).isoformat() + "Z"


def built_at(snap: Snapshot) -> str:
    """When the served generation was published (the feed's fallback ``updated``)."""
    row = snap.db.execute("SELECT finished FROM builds ORDER BY generation DESC LIMIT 1").fetchone()
    return rfc3339(row[0] if row else None, "1970-01-01T00:00:00Z")


def feed_xml(result: dict, p: dict, snap: Snapshot, *, self_url: str, page_url: str, doc_href) -> bytes:
    """The Atom document for a search result (hits newest first)."""
    ET.register_namespace("", ATOM)
    lang = p["lang"]
    feed = ET.Element(f"{{{ATOM}}}feed", {"{http://www.w3.org/XML/1998/namespace}lang": lang})

    def sub(parent, tag, text=None, **attrs):
        el = ET.SubElement(parent, f"{{{ATOM}}}{tag}", {k: v for k, v in attrs.items() if v is not None})
        if text is not None:
            el.text = text
        return el

    fallback = built_at(snap)
    title = t("feed_title", lang) + (f": {p['q']}" if p["q"] else "")
    # The id names the search, not the host it was fetched from: a stable tag URI (RFC 4151).
    key = hashlib.sha256(urlencode(sorted((k, v) for k, v in _params(p) if k != "lang")).encode()).hexdigest()
    sub(feed, "id", f"tag:kashaf,2026:search/{key[:32]}")
    sub(feed, "title", title)
    dates = [rfc3339(h.get("date"), fallback) for h in result["hits"]]
    sub(feed, "updated", max(dates, default=fallback))
    sub(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    sub(feed, "link", rel="alternate", type="text/html", href=page_url)
    author = sub(feed, "author")
    sub(author, "name", t("app", lang))
    sub(feed, "generator", "Kashaf")
    for h, updated in zip(result["hits"], dates, strict=True):
        entry = sub(feed, "entry")
        sub(entry, "id", f"tag:kashaf,2026:doc/{h['id']}")
        sub(entry, "title", h.get("title") or h["id"])
        sub(entry, "updated", updated)
        if h.get("date"):
            sub(entry, "published", updated)
        sub(entry, "link", rel="alternate", type="text/html", href=doc_href(h["id"]))
        if h.get("url") and h["url"].startswith(("http://", "https://")):
            sub(entry, "link", rel="related", href=h["url"])
        a = sub(entry, "author")
        sub(a, "name", h.get("source") or t("app", lang))
        if h.get("group"):  # the story group; with dedupe=1 the label counts its other outlets
            label = f"+{len(h['copies'])}" if h.get("copies") else None
            sub(entry, "category", term=f"group:{h['group']}", label=label)
        if h.get("snippet"):
            sub(entry, "summary", h["snippet"], type="html")  # escaped HTML: the snippet's <mark>s
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(
        feed, encoding="utf-8", xml_declaration=False
    )


def _params(p: dict) -> list[tuple[str, str]]:
    from web.pages import pairs

    return [(k, v) for k, v in pairs({**p, "offset": 0}) if k not in ("sort", "offset")]


@bp.get("/search.atom")
def search_atom():
    """The newest ``limit`` reports matching the search page's parameters, as Atom."""
    from web import api, pages

    try:
        p = pages.parse_params(request.args)
        p = {**p, "sort": "date", "offset": 0}
        snap = index_state().snapshot()
        result = pages.run_search(snap, p, limit=p["limit"], offset=0, facets=False)
    except api.BadRequest as exc:
        return error_response(400, exc.code, str(exc))
    except IndexNotFound as exc:
        return error_response(503, "index_not_ready", str(exc))
    qs = urlencode(_params(p))
    self_url = url_for("feeds.search_atom", _external=True) + ("?" + qs if qs else "")
    page_url = url_for("pages.search_page", _external=True) + ("?" + qs if qs else "")

    def doc_href(doc_id: str) -> str:
        args = {"lang": "en"} if p["lang"] == "en" else {}
        return url_for("pages.document_page", doc_id=doc_id, _external=True, **args)

    body = feed_xml(result, p, snap, self_url=self_url, page_url=page_url, doc_href=doc_href)
    return Response(body, mimetype=MIME, headers={"Cache-Control": "max-age=60"})
