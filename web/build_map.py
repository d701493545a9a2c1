"""The offline map: Syria's outline (and its neighbours' edges) as a small SVG fragment.

The outline comes from Natural Earth 1:50m admin-0 countries (public domain), as
redistributed in TopoJSON by the npm package ``world-atlas`` 2.0.2 (ISC, Mike
Bostock). No package we may use ships governorate (admin-1) boundaries, so the
map is a schematic: the country outline plus governorate names at the
gazetteer's approximate centroids. Rebuild (output is committed)::

    npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    python -m web.build_map package/countries-50m.json

The page uses :func:`project` (a plain equirectangular projection) for its circles,
so the outline and the circles always agree.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

# Lon/lat window: Syria (35.7–42.4 E, 32.3–37.3 N) with a margin of its neighbours.
WEST, EAST, SOUTH, NORTH = 35.0, 42.8, 32.0, 37.6
WIDTH = 600.0
KX = WIDTH / ((EAST - WEST) * math.cos(math.radians((SOUTH + NORTH) / 2)))
SCALE_X = KX * math.cos(math.radians((SOUTH + NORTH) / 2))  # pixels per degree of longitude
HEIGHT = round((NORTH - SOUTH) * KX, 1)
OUT = Path(__file__).parent / "templates" / "map_outline.html"
NEIGHBOURS = ("Turkey", "Iraq", "Jordan", "Lebanon", "Israel", "Palestine", "Cyprus")


def project(lat: float, lon: float) -> tuple[float, float]:
    """SVG coordinates of a point: equirectangular, x grows eastward, y southward.

    >>> project(NORTH, WEST)
    (0.0, 0.0)
    """
    return round((lon - WEST) * SCALE_X, 1), round((NORTH - lat) * KX, 1)


def in_window(lat: float | None, lon: float | None) -> bool:
    """True when the point falls on the map."""
    return lat is not None and lon is not None and SOUTH <= lat <= NORTH and WEST <= lon <= EAST


LABEL_SIZE = 22.0  # the labels' font size in SVG units (.map-label in kashaf.css)


def label_box(x: float, y: float, text: str) -> tuple[float, float, float, float]:
    """The approximate box ``(left, top, right, bottom)`` of a bold, centred label whose
    baseline is at ``y``: Latin letters are wider than Arabic ones at the same size."""
    latin = sum(c.isascii() for c in text)
    width = LABEL_SIZE * (0.62 * latin + 0.5 * (len(text) - latin)) + 6  # + the white halo
    return x - width / 2, y - LABEL_SIZE * 0.8, x + width / 2, y + LABEL_SIZE * 0.3


def spread_labels(labels: list[dict]) -> list[dict]:
    """Move labels (``{x, y, label}``) that would overlap one already placed to the nearest
    free spot above, below or beside their point, so that long English names (Rif Dimashq
    beside Damascus, As-Suwayda beside Daraa) stay readable; the first ones keep their place.

    >>> out = spread_labels([{"x": 100, "y": 100, "label": "Damascus"},
    ...                      {"x": 130, "y": 104, "label": "Rif Dimashq"}])
    >>> [(o["x"], o["y"]) for o in out]
    [(100, 100), (130, 128.0)]
    """
    placed: list[tuple[float, float, float, float]] = []
    out = []
    for item in labels:
        x, y, text = item["x"], item["y"], item["label"]
        left, _, right, _ = label_box(x, y, text)
        half = (right - left) / 2
        step = LABEL_SIZE + 2
        for dx, dy in (
            (0, 0), (0, step), (0, -step), (half, 0), (-half, 0), (half, step), (-half, step),
            (half, -step), (-half, -step), (0, 2 * step), (0, -2 * step),
        ):  # fmt: skip
            box = label_box(x + dx, y + dy, text)
            inside = box[0] >= 0 and box[2] <= WIDTH and box[1] >= 0 and box[3] <= HEIGHT
            if inside and not any(_overlap(box, other) for other in placed):
                x, y = x + dx, y + dy
                break
        placed.append(label_box(x, y, text))
        out.append({**item, "x": x, "y": y})
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _arcs(topo: dict) -> list[list[tuple[float, float]]]:
    """Decode TopoJSON's quantized, delta-encoded arcs into lon/lat lists."""
    (sx, sy), (tx, ty) = topo["transform"]["scale"], topo["transform"]["translate"]
    out = []
    for arc in topo["arcs"]:
        x = y = 0
        pts = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            pts.append((x * sx + tx, y * sy + ty))
        out.append(pts)
    return out


def _ring(indexes: list[int], arcs: list[list[tuple[float, float]]]) -> list[tuple[float, float]]:
    pts: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else arcs[~i][::-1]
        pts.extend(arc[1:] if pts else arc)  # consecutive arcs share an end point
    return pts


def _clip(ring: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Sutherland–Hodgman clip of a lon/lat ring to the window."""
    edges = (
        (lambda p: p[0] >= WEST, lambda a, b: _cut_x(a, b, WEST)),
        (lambda p: p[0] <= EAST, lambda a, b: _cut_x(a, b, EAST)),
        (lambda p: p[1] >= SOUTH, lambda a, b: _cut_y(a, b, SOUTH)),
        (lambda p: p[1] <= NORTH, lambda a, b: _cut_y(a, b, NORTH)),
    )
    for inside, cut in edges:
        if not ring:
            break
        ring = _clip_edge(ring, inside, cut)
    return ring


def _clip_edge(poly: list[tuple[float, float]], inside, cut) -> list[tuple[float, float]]:
    """One Sutherland–Hodgman step: keep the part of ``poly`` where ``inside`` holds,
    with ``cut(p, q)`` the point where edge p→q crosses the boundary."""
    out: list[tuple[float, float]] = []
    prev = poly[-1]
    for cur in poly:
        if inside(cur):
            if not inside(prev):
                out.append(cut(prev, cur))
            out.append(cur)
        elif inside(prev):
            out.append(cut(prev, cur))
        prev = cur
    return out


def _cut_x(a: tuple[float, float], b: tuple[float, float], x: float) -> tuple[float, float]:
    return x, a[1] + (b[1] - a[1]) * (x - a[0]) / (b[0] - a[0])


def _cut_y(a: tuple[float, float], b: tuple[float, float], y: float) -> tuple[float, float]:
    return a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]), y


def _path(rings: list[list[tuple[float, float]]]) -> str:
    parts = []
    for ring in rings:
        pts: list[tuple[float, float]] = []
        for lon, lat in ring:
            p = project(lat, lon)
            if not pts or p != pts[-1]:
                pts.append(p)
        if len(pts) >= 3:
            parts.append("M" + "L".join(f"{x:g},{y:g}" for x, y in pts) + "Z")
    return "".join(parts)


def country_paths(topo: dict) -> dict[str, str]:
    """SVG path data of Syria and the clipped neighbours, by Natural Earth name."""
    arcs = _arcs(topo)
    out = {}
    for geom in topo["objects"]["countries"]["geometries"]:
        name = geom.get("properties", {}).get("name")
        if name != "Syria" and name not in NEIGHBOURS:
            continue
        polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
        rings = [_clip(_ring(r, arcs)) for poly in polys for r in poly[:1]]  # outer rings only
        path = _path(rings)
        if path:
            out[name] = path
    return out


def _half_plane(poly: list[tuple[float, float]], a: tuple[float, float], b: tuple[float, float]):
    """The part of ``poly`` nearer to point ``a`` than to point ``b`` (Sutherland–Hodgman)."""
    nx, ny = b[0] - a[0], b[1] - a[1]
    c = (b[0] ** 2 + b[1] ** 2 - a[0] ** 2 - a[1] ** 2) / 2

    def inside(p: tuple[float, float]) -> bool:
        return nx * p[0] + ny * p[1] <= c

    def cut(p: tuple[float, float], q: tuple[float, float]) -> tuple[float, float]:
        fp, fq = nx * p[0] + ny * p[1] - c, nx * q[0] + ny * q[1] - c
        t = fp / (fp - fq)
        return (p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1]))

    return _clip_edge(poly, inside, cut)


def governorate_cells(syria: list[tuple[float, float]]) -> dict[str, str]:
    """Approximate governorate areas: Voronoi cells of the gazetteer's governorate centres,
    clipped to Syria's outline (projected). A schematic, not the administrative borders.

    >>> square = [(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)]
    >>> _half_plane(square, (2.0, 5.0), (8.0, 5.0))
    [(0.0, 0.0), (5.0, 0.0), (5.0, 10.0), (0.0, 10.0)]
    """
    from analyzers.gazetteer import entities  # the build script only: pages import this module

    centres = {
        e.id: project(e.lat, e.lon)
        for e in entities().values()
        if e.kind == "place" and e.level == "governorate" and e.parent == "sy" and e.lat is not None
    }
    cells = {}
    for gid, c in sorted(centres.items()):
        cell = list(syria)
        for other, d in centres.items():
            if other != gid and cell:
                cell = _half_plane(cell, c, d)
        if len(cell) >= 3:
            cells[gid] = "M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in cell) + "Z"
    return cells


def _syria_ring(topo: dict) -> list[tuple[float, float]]:
    """Syria's largest outer ring, projected."""
    arcs = _arcs(topo)
    for geom in topo["objects"]["countries"]["geometries"]:
        if geom.get("properties", {}).get("name") == "Syria":
            polys = geom["arcs"] if geom["type"] == "MultiPolygon" else [geom["arcs"]]
            rings = [_ring(poly[0], arcs) for poly in polys]
            return [project(lat, lon) for lon, lat in max(rings, key=len)]
    raise ValueError("no Syria in the TopoJSON")


def main(topojson: str) -> None:
    topo = json.loads(Path(topojson).read_text())
    paths = country_paths(topo)
    cells = governorate_cells(_syria_ring(topo))
    lines = [
        "{# Generated by web/build_map.py from Natural Earth 1:50m (public domain) via world-atlas 2.0.2. #}",
        *(f'<path class="map-neighbour" d="{d}"/>' for n, d in sorted(paths.items()) if n != "Syria"),
        f'<path class="map-syria" d="{paths["Syria"]}"/>',
        *(f'<path class="map-gov" data-id="{gid}" d="{d}"/>' for gid, d in cells.items()),
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes), viewBox 0 0 {WIDTH:g} {HEIGHT:g}")


if __name__ == "__main__":
    main(sys.argv[1])
