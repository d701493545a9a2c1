"""Interface labels in Arabic (the default) and English (``?lang=en``)."""

from __future__ import annotations

LANGS = ("ar", "en")

LABELS: dict[str, tuple[str, str]] = {
    "app": ("كشّاف", "Kashaf"),
    "tagline": (
        "بحث في التقارير الإخبارية العربية عن الحروب، بالكلمة وجذرها، مع تصفية حسب المكان والجهة المسلحة.",
        "Search Arabic news reports about wars — by word, stem and root — "
        "and filter by place and armed group.",
    ),
    "skip": ("انتقل إلى النتائج", "Skip to results"),
    "search_label": ("كلمات البحث", "Search words"),
    "search_button": ("ابحث", "Search"),
    "placeholder": ("مثال: انسحاب قوات النظام من الرقة", "e.g. انسحاب قوات النظام من الرقة"),
    "op": ("الربط بين الكلمات", "Combine words"),
    "op_and": ("كل الكلمات", "all words"),
    "op_or": ("أي كلمة", "any word"),
    "sort": ("الترتيب", "Sort"),
    "sort_relevance": ("الأكثر صلة", "relevance"),
    "sort_date": ("الأحدث", "newest"),
    "apply": ("تطبيق", "Apply"),
    "searching": ("البحث عن", "Searching for"),
    "results": ("نتيجة", "results"),
    "results_of": ("النتائج", "Results"),
    "no_results": ("لا نتائج لهذا البحث.", "No reports match this search."),
    "did_you_mean": ("هل تقصد", "Did you mean"),
    "matched_exact": ("مطابقة تامة", "exact"),
    "matched_stem": ("بالجذع", "stem"),
    "matched_root": ("بالجذر", "root"),
    "matched_entity": ("بالاسم", "by name"),
    "prev": ("السابق", "Previous"),
    "next": ("التالي", "Next"),
    "page": ("صفحة", "Page"),
    "filters": ("التصفية", "Filters"),
    "active_filters": ("عوامل التصفية المفعّلة", "Active filters"),
    "remove_filter": ("إزالة", "remove"),
    "clear_filters": ("إزالة الكل", "Clear all"),
    "places": ("الأماكن", "Places"),
    "groups": ("الجهات المسلحة", "Armed groups"),
    "organizations": ("جهات غير مسلحة", "Other organizations"),
    "sources": ("المصادر", "Sources"),
    "timeline": ("التقارير حسب الشهر", "Reports by month"),
    "map": ("الخريطة", "Map"),
    "map_note": (
        "مخطط تقريبي: حدود سوريا من Natural Earth؛ مناطق المحافظات (الخطوط المتقطعة) مقرّبة "
        "من مراكزها، وليست الحدود الإدارية.",
        "Schematic: Syria's outline from Natural Earth; governorate areas (dashed) are approximated "
        "from their centres, not the administrative borders.",
    ),
    "from": ("من", "From"),
    "to": ("إلى", "To"),
    "date": ("التاريخ", "Date"),
    "source": ("المصدر", "Source"),
    "unknown": ("غير معروف", "unknown"),
    "original": ("الرابط الأصلي", "Original link"),
    "mentions": ("الأماكن والجهات المذكورة", "Places and groups mentioned"),
    "similar": ("تقارير مشابهة", "Similar reports"),
    "back": ("العودة إلى النتائج", "Back to results"),
    "metadata": ("البيانات الوصفية", "Metadata"),
    "doc_id": ("المعرّف", "ID"),
    "not_found": ("لم نجد هذه الصفحة أو هذا التقرير.", "We could not find this page or report."),
    "bad_request": ("تعذّر تنفيذ هذا البحث", "This search could not be run"),
    "not_ready": ("الفهرس غير جاهز بعد. أعد المحاولة لاحقاً.", "The index is not ready yet. Try again later."),
    "welcome": ("مرحباً بك في كشّاف", "Welcome to Kashaf"),
    "welcome_text": (
        "كشّاف محرّك بحث نصي مفتوح المصدر في التقارير الإخبارية العربية عن الحروب. يقرأ العربية كما تُكتب: "
        "يتجاهل التشكيل والتطويل واختلاف الهمزات، ويطابق الكلمة وجذعها وجذرها، "
        "فتجد «انسحاب» تقارير فيها «وانسحبت» و«المنسحبين».",
        "Kashaf is an open-source full-text search engine for Arabic news reports about wars. "
        "It reads Arabic as it is written: it ignores diacritics and spelling variants of hamza and "
        "alef, and matches words by exact form, stem and root — so انسحاب finds وانسحبت and المنسحبين.",
    ),
    "doc_count": ("تقرير في الفهرس", "reports in the index"),
    "examples": ("جرّب", "Try"),
    "export_csv": ("تنزيل كل النتائج (CSV)", "Download all results (CSV)"),
    "json": ("JSON", "JSON"),
    "language": ("English", "العربية"),
    "count": ("عدد", "count"),
    "more": ("المزيد", "more"),
}

# Group kinds (the gazetteer's ``level`` for groups), for facet headings.
KINDS: dict[str, tuple[str, str]] = {
    "state force": ("قوات حكومية", "State forces"),
    "foreign state force": ("قوات دول أجنبية", "Foreign state forces"),
    "rebel": ("فصائل معارضة", "Rebels"),
    "jihadist": ("تنظيمات جهادية", "Jihadists"),
    "kurdish": ("قوى كردية", "Kurdish forces"),
    "militia": ("ميليشيات", "Militias"),
    "armed group": ("جماعات مسلحة", "Armed groups"),
    "monitor": ("جهات رصد", "Monitors"),
    "ngo": ("منظمات غير حكومية", "NGOs"),
    "political": ("هيئات سياسية", "Political bodies"),
    "government": ("حكومات وبرلمانات", "Governments and parliaments"),
    "peacekeeping": ("قوات حفظ السلام", "Peacekeepers"),
}


# Place levels (the gazetteer's ``level`` for places), to tell same-named places apart.
PLACE_LEVELS: dict[str, tuple[str, str]] = {
    "country": ("دولة", "country"),
    "governorate": ("محافظة", "governorate"),
    "district": ("منطقة", "district"),
    "subdistrict": ("ناحية", "subdistrict"),
    "locality": ("مدينة أو بلدة", "town"),
    "neighbourhood": ("حي", "neighbourhood"),
    "site": ("موقع", "site"),
    "region": ("منطقة جغرافية", "region"),
}


def lang_of(value: str | None) -> str:
    """The interface language: ``en`` when asked for, else Arabic."""
    return value if value in LANGS else "ar"


def t(key: str, lang: str) -> str:
    """The label ``key`` in ``lang``; the key itself when missing (visible, never a crash).

    >>> t("search_button", "en")
    'Search'
    """
    pair = LABELS.get(key)
    return key if pair is None else pair[lang == "en"]


def kind_label(kind: str, lang: str) -> str:
    """Heading for a group kind, or the name of a place level."""
    pair = KINDS.get(kind) or PLACE_LEVELS.get(kind)
    return kind if pair is None else pair[lang == "en"]
