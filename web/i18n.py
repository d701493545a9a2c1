"""Interface labels in Arabic (the default) and English (``?lang=en``).

Counts agree with their noun by the language's CLDR plural rules, read from Babel
(Arabic has six forms: zero, one, two, few, many, other), see :func:`count_label`.
A label that is missing is a defect: :func:`t` shows the raw key, and raises when
``KASHAF_STRICT_I18N`` is set (the browser tests serve the app that way).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache

from babel import Locale

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
    "placeholder": ("مثال: قصف الرقة", "e.g. قصف الرقة (shelling Raqqa)"),
    "op": ("الربط بين الكلمات", "Combine words"),
    "op_and": ("كل الكلمات", "all words"),
    "op_or": ("أي كلمة", "any word"),
    "level": ("المطابقة", "Match"),
    "level_stem": ("الكلمة وصيغها", "words and their forms"),
    "level_root": ("الجذر أيضًا (أوسع)", "their roots too (broader)"),
    "broaden_root": ("توسيع البحث إلى الجذر", "Broaden to the root"),
    "broaden_more": ("عدد التقارير الإضافية", "more reports"),
    "level_root_on": ("تشمل النتائج ما يطابق بالجذر فقط.", "Includes reports that match only by a root."),
    "level_back": ("العودة إلى البحث الدقيق", "Back to the precise search"),
    "sort": ("الترتيب", "Sort"),
    "sort_relevance": ("الأكثر صلة", "relevance"),
    "sort_newest": ("الأحدث أولاً", "newest first"),
    "sort_oldest": ("الأقدم أولاً", "oldest first"),
    "sort_date": ("الأحدث أولاً", "newest first"),
    "apply": ("تطبيق", "Apply"),
    "searching": ("البحث عن", "Searching for"),
    "results": ("نتيجة", "results"),
    "partial": (
        "نتائج جزئية: لم يجب جزء من الفهرس، فالعدد والتصنيفات أقل من الحقيقة.",
        "Partial results: part of the index did not answer, so the total and the facet counts are too low.",
    ),
    "results_of": ("النتائج", "Results"),
    "no_results": ("لا نتائج لهذا البحث.", "No reports match this search."),
    "did_you_mean": ("هل تقصد", "Did you mean"),
    "qmark": ("؟", "?"),
    "all_of": ("كل ما يلي", "all of"),
    "any_of": ("أيٌّ مما يلي", "any of"),
    "word_and": ("و", "AND"),
    "word_or": ("أو", "OR"),
    "list_sep": ("، ", ", "),
    "excluding": ("باستثناء", "excluding"),
    "phrase": ("عبارة", "phrase"),
    "exact_only": ("مطابقة تامة فقط", "exact form only"),
    "root_only": ("بالجذر فقط", "root only"),
    "in_title": ("في العنوان", "in titles"),
    "prefix_forms": ("كلمات تبدأ بها", "forms searched"),
    "kind_place": ("مكان", "place"),
    "kind_group": ("جهة", "group"),
    "filter_place": ("المكان", "place"),
    "filter_group": ("الجهة", "group"),
    "filter_source": ("المصدر", "source"),
    "filter_date": ("التاريخ", "date"),
    "and_also": ("وأيضاً", "and also"),
    "ignored": ("تم تجاهل", "ignored"),
    "facet_note": (
        "قيم الفئة الواحدة تُجمع بـ«أو» (أيٌّ منها)، والفئات المختلفة بـ«و» (كلها معاً). "
        "اختيار مكان داخل مكان مختار يحلّ محله ويضيّق النتائج.",
        "Values of one filter combine with OR (any of them), different filters with AND (all of them). "
        "Choosing a place inside a chosen place replaces it and narrows the results.",
    ),
    "matched_exact": ("مطابقة تامة", "exact"),
    "matched_stem": ("بالجذع", "stem"),
    "matched_root": ("بالجذر", "root"),
    "matched_entity": ("مكان أو جهة بالاسم", "named place or group"),
    "matched_help": ("كيف طابق التقرير البحث", "How the report matched"),
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
    "timeline": ("التقارير عبر الزمن", "Reports over time"),
    "unit_day": ("يوم", "day"),
    "unit_week": ("أسبوع", "week"),
    "unit_month": ("شهر", "month"),
    "unit_year": ("سنة", "year"),
    "timeline_per": ("عدد التقارير في كل", "Reports per"),
    "timeline_direction": (
        "الزمن من اليمين (الأقدم) إلى اليسار (الأحدث)، باتجاه القراءة.",
        "Time runs left (oldest) to right (newest), the reading direction.",
    ),
    "timeline_hint": (
        "انقر عموداً لعرض فترته، أو اسحب فوق عدة أعمدة لاختيار مدة.",
        "Click a bar to show its period, or drag across bars to choose a range.",
    ),
    "timeline_table": ("الأعداد", "Counts"),
    "timeline_before": ("تقارير خارج المخطط قبل", "Reports off the chart before"),
    "timeline_after": ("تقارير خارج المخطط بعد", "Reports off the chart after"),
    "timeline_all": ("كل التواريخ", "All dates"),
    "timeline_undated": ("بلا تاريخ", "Undated"),
    "period": ("الفترة", "Period"),
    "comma": ("،", ","),
    "range_from": ("من", "from"),
    "range_to": ("إلى", "to"),
    "date_range": ("المدة", "Date range"),
    "with_successors": ("مع الجهات التي خلفتها", "include successor groups"),
    "all_sources": ("كل المصادر", "all sources"),
    "beyond_last": ("هذه الصفحة بعد آخر النتائج.", "This page is past the last result."),
    "first_page": ("الصفحة الأولى", "First page"),
    "last_page": ("الصفحة الأخيرة", "Last page"),
    "map_legend": ("حجم الدائرة = عدد التقارير", "Circle size = number of reports"),
    "place_in": ("في", "in"),
    "error_title": ("خطأ", "Error"),
    "back_to_search": ("العودة إلى البحث", "Back to search"),
    "error_bad_request": ("تعذّر فهم هذا الطلب.", "This request could not be understood."),
    "error_not_found": ("لا يوجد تقرير أو صفحة بهذا العنوان.", "There is no report or page at this address."),
    "error_not_ready": (
        "الفهرس غير جاهز بعد؛ أعد المحاولة بعد قليل.",
        "The index is not ready yet; try again shortly.",
    ),
    "error_invalid_parameter": (
        "أحد خيارات البحث في العنوان غير صالح (مثل رقم الصفحة أو التاريخ).",
        "One of the search options in the address is not valid (such as the page number or a date).",
    ),
    "error_invalid_query": (
        "تعذّر قراءة البحث: مكان أو جهة غير معروفة، أو تاريخ أو مدة غير صالحة.",
        "The search could not be read: an unknown place or group, or an invalid date or range.",
    ),
    "error_query_too_long": (
        "نص البحث أطول من 1000 حرف.",
        "The search text is longer than 1,000 characters.",
    ),
    "error_index_not_ready": (
        "الفهرس غير جاهز بعد؛ أعد المحاولة بعد قليل.",
        "The index is not ready yet; try again shortly.",
    ),
    "error_detail": ("التفاصيل", "Details"),
    "export_jsonl": ("JSON Lines", "JSON Lines"),
    "export": ("تنزيل كل النتائج", "Download all results"),
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
    "export_csv": ("CSV", "CSV"),
    "json": ("JSON", "JSON"),
    "language": ("English", "العربية"),
    "count": ("عدد", "count"),
    "more": ("المزيد", "more"),
}

# Counted nouns, one string per CLDR plural category ("{n}" is the number). Arabic: 0 zero,
# 1 one, 2 two, 3-10 few, 11-99 many, 100-102 other (then again by the last two digits).
PLURALS: dict[str, dict[str, dict[str, str]]] = {
    "results": {
        "ar": {
            "zero": "لا نتائج",
            "one": "نتيجة واحدة",
            "two": "نتيجتان",
            "few": "{n} نتائج",
            "many": "{n} نتيجة",
            "other": "{n} نتيجة",
        },
        "en": {"one": "{n} result", "other": "{n} results"},
    },
    "reports": {
        "ar": {
            "zero": "لا تقارير",
            "one": "تقرير واحد",
            "two": "تقريران",
            "few": "{n} تقارير",
            "many": "{n} تقريراً",
            "other": "{n} تقرير",
        },
        "en": {"one": "{n} report", "other": "{n} reports"},
    },
    "stories": {
        "ar": {
            "zero": "لا أخبار",
            "one": "خبر واحد",
            "two": "خبران",
            "few": "{n} أخبار",
            "many": "{n} خبرًا",
            "other": "{n} خبر",
        },
        "en": {"one": "{n} story", "other": "{n} stories"},
    },
    "docs_in_index": {
        "ar": {
            "zero": "لا تقارير في الفهرس",
            "one": "تقرير واحد في الفهرس",
            "two": "تقريران في الفهرس",
            "few": "{n} تقارير في الفهرس",
            "many": "{n} تقريراً في الفهرس",
            "other": "{n} تقرير في الفهرس",
        },
        "en": {"one": "{n} report in the index", "other": "{n} reports in the index"},
    },
}

# Stored metadata fields of the readers (JSONL keys beyond id/title/date/source/url/text).
META_KEYS: dict[str, tuple[str, str]] = {
    "category": ("التصنيف", "Category"),
    "author": ("الكاتب", "Author"),
    "authors": ("الكتّاب", "Authors"),
    "section": ("القسم", "Section"),
    "tags": ("الوسوم", "Tags"),
    "keywords": ("الكلمات المفتاحية", "Keywords"),
    "language": ("اللغة", "Language"),
    "country": ("البلد", "Country"),
    "publisher": ("الناشر", "Publisher"),
    "file": ("الملف", "File"),
    "line": ("السطر", "Line"),
}
# Story groups, feeds (indexer/dedupe.py, web/feeds.py): one block, so it merges apart from the rest.
LABELS.update(
    {
        "dedupe": ("تقرير واحد لكل خبر", "one entry per story"),
        "other_outlets": ("وسائل إعلام أخرى", "other outlets"),
        "other_outlet": ("وسيلة إعلام أخرى", "other outlet"),
        "stories": ("خبر", "stories"),
        "group_members": ("نسخ الخبر نفسه", "Copies of this story"),
        "this_report": ("هذا التقرير", "this report"),
        "feed": ("موجز Atom لهذا البحث", "Atom feed of this search"),
        "feed_title": ("كشّاف: أحدث التقارير", "Kashaf: newest reports"),
    }
)

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
    "international": ("منظمات دولية وإقليمية", "International and regional organizations"),
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


# The query parser's notes (English, as in the JSON ``explain.notes``) for the Arabic page:
# a pattern over the note and its Arabic wording ({0}, {1}… are the pattern's groups).
NOTES_AR: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(pattern), text)
    for pattern, text in (
        (r"ignored a misplaced (.+)", "تم تجاهل «{0}» في غير موضعه"),
        (r"ignored a trailing (.+)", "تم تجاهل «{0}» في آخر البحث"),
        (r"ignored a (.+) with nothing after it", "تم تجاهل «{0}» إذ لا شيء بعده"),
        (r"ignored an unmatched '\)'", "تم تجاهل قوس «)» بلا قوس فاتح"),
        (r"closed an unclosed '\(' at the end", "أُغلق القوس «(» في آخر البحث"),
        (r"closed an unclosed quote at the end", "أُغلقت علامة التنصيص في آخر البحث"),
        (r"only the first (\d+) words are searched", "يُبحث عن أول {0} كلمة فقط"),
        (
            r"only common words: nothing to search.*",
            "كلمات شائعة فقط: لا شيء يُبحث عنه (ضعها بين علامتي تنصيص)",
        ),
        (
            r"ignored (.+) in '(.+)': not part of the query language.*",
            "تم تجاهل {0} في «{1}»: ليس من لغة البحث",
        ),
        (r"ignored the '\+' of '(.+)':.*", "تم تجاهل «+» في «{0}»: كل كلمة مطلوبة أصلاً"),
        (r"ignored the '\*' of '(.+)': .*", "تم تجاهل «*» في «{0}»: لا بحث بالبادئة مع = أو جذر:"),
        (r"ignored the '\*' in \"(.+)\": .*", "تم تجاهل «*» في «{0}»: لا بحث بالبادئة داخل عبارة"),
        (r"ignored '(.+)': a filter cannot be excluded", "تم تجاهل «{0}»: لا يمكن استثناء عامل تصفية"),
        (r"unknown field '(.+)': '(.+)' searched as words.*", "حقل غير معروف «{0}:»: بُحث عن «{1}» ككلمات"),
        (
            r"(.+)\*: a prefix needs at least (\d+) letters.*",
            "«{0}*»: تحتاج البادئة إلى {1} أحرف على الأقل؛ بُحث عنها ككلمة",
        ),
        (r"(.+)\*: no word in the index starts with it", "«{0}*»: لا كلمة في الفهرس تبدأ بها"),
        (
            r"(.+)\*: more than (\d+) words start with it; the (\d+) most frequent are searched",
            "«{0}*»: أكثر من {1} كلمة تبدأ بها؛ يُبحث عن أكثرها تكراراً ({2})",
        ),
        (
            r"(.+)\*: (\d+) words start with it; the (\d+) most frequent are searched",
            "«{0}*»: {1} كلمة تبدأ بها؛ يُبحث عن أكثرها تكراراً ({2})",
        ),
    )
)


def note_text(note: str, lang: str) -> str:
    """A parser note in the page's language (the English note itself when no wording fits).

    >>> note_text("ignored a trailing OR", "ar")
    'تم تجاهل «OR» في آخر البحث'
    """
    if lang == "en":
        return note
    for pattern, text in NOTES_AR:
        if m := pattern.fullmatch(note):
            return text.format(*m.groups())
    return note


def lang_of(value: str | None) -> str:
    """The interface language: ``en`` when asked for, else Arabic."""
    return value if value in LANGS else "ar"


class MissingLabel(KeyError):
    """A label the interface asked for has no translation."""


def _missing(key: str) -> str:
    if os.environ.get("KASHAF_STRICT_I18N"):
        raise MissingLabel(key)
    return key


def t(key: str, lang: str) -> str:
    """The label ``key`` in ``lang``; the key itself when missing (visible, and an error
    under ``KASHAF_STRICT_I18N``).

    >>> t("search_button", "en"), t("matched_entity", "ar")
    ('Search', 'مكان أو جهة بالاسم')
    """
    pair = LABELS.get(key)
    return _missing(key) if pair is None else pair[lang == "en"]


@lru_cache(maxsize=8)
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


def plural_category(n: int, lang: str) -> str:
    """The CLDR plural category of ``n`` in ``lang`` (Babel's rules).

    >>> [plural_category(n, "ar") for n in (0, 1, 2, 5, 11, 100)]
    ['zero', 'one', 'two', 'few', 'many', 'other']
    """
    return _locale(lang).plural_form(abs(n))


def count_label(key: str, n: int, lang: str) -> str:
    """``n`` with its noun in the right form ("{n}" stays for the caller to fill).

    >>> [count_label("results", n, "ar") for n in (1, 2, 5, 83)]
    ['نتيجة واحدة', 'نتيجتان', '{n} نتائج', '{n} نتيجة']
    >>> count_label("reports", 1, "en")
    '{n} report'
    """
    forms = PLURALS.get(key, {}).get(lang)
    if not forms:
        return _missing(key)
    return forms.get(plural_category(n, lang)) or forms["other"]


def meta_label(key: str, lang: str) -> str:
    """A stored metadata field's name; an unknown field shows as stored.

    >>> meta_label("category", "ar"), meta_label("x_custom", "ar")
    ('التصنيف', 'x_custom')
    """
    pair = META_KEYS.get(key)
    return key if pair is None else pair[lang == "en"]


def kind_label(kind: str, lang: str) -> str:
    """Heading for a group kind, or the name of a place level."""
    pair = KINDS.get(kind) or PLACE_LEVELS.get(kind)
    return kind if pair is None else pair[lang == "en"]
