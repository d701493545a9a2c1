"""Countries named by a nationality adjective (analyzers/nisba.py): sentences written for these
tests from the readings a native reader gives them."""

from __future__ import annotations

import pytest

from analyzers.nisba import actor_spans, country_references
from indexer.entities import entities_for


@pytest.mark.parametrize(
    ("text", "countries"),
    [
        ("أعلنت الحكومة اليمنية استئناف المحادثات", {"ye"}),
        ("قال رئيس الوزراء العراقي إن الانتخابات ستجرى في موعدها", {"iq"}),
        ("غرق مركب للمهاجرين قبالة السواحل الليبية", {"ly"}),
        ("وصل الوفد إلى الأراضي الفلسطينية", {"ps"}),
        ("أصدر الرئيس السوداني قرارا بإعفاء وزير الخارجية", {"sd"}),
        ("تعقدت الساحة اللبنانية بعد الانتخابات", {"lb"}),
        ("تحدث عن الأزمة السورية", {"sy"}),
        ("قرب الحدود السورية العراقية", {"sy", "iq"}),  # the head carries along the chain
        ("للحكومة اليمنية ولوزارة الداخلية العراقية", {"ye", "iq"}),  # glued clitics on the head
        ("بيان السلطة الوطنية الفلسطينية", {"ps"}),  # an adjective in between keeps the head
        ("خلال الحرب الأهلية اللبنانية", {"lb"}),
        ("اجتمعت الفصائل الفلسطينية في القاهرة", {"ps"}),  # the country's factions are its affairs
        ("أموال الزعيم الليبي الراحل", {"ly"}),  # the state's leader, like its president
        # the kind of election or council between the head and the nisba keeps the head
        ("تغطية خاصة بالانتخابات البرلمانية اللبنانية", {"lb"}),
        ("المرأة في الانتخابات النيابية اللبنانية", {"lb"}),
        ("نائب في المجلس التشريعي الفلسطيني", {"ps"}),
        ("نسق مع المديرية العامة للأمن العام اللبناني", {"lb"}),
        # a ministry is named by its portfolio: the nisba after it qualifies the ministry
        ("اعتبرت وزارة الإعلام الفلسطينية أن القانون", {"ps"}),
        ("وقالت وزارة الصحة اللبنانية إن", {"lb"}),
        # a court of a country sits in it (an army abroad says nothing of where, a court does)
        ("أصدرته محكمة سودانية بحق الفتاة", {"sd"}),
        ("رئيس الجمهورية اللبناني", {"lb"}),
        # a pair of adjectives naming a conflict: the other side does not break the chain
        ("النزاع الإسرائيلي الفلسطيني في مأزق", {"ps"}),
    ],
)
def test_a_nisba_of_land_state_or_affairs_names_the_country(text, countries):
    assert country_references(text) == countries


@pytest.mark.parametrize(
    "text",
    [
        "هاجم الأمين العام لحزب الله اللبناني إسرائيل",  # a group's own name
        "تطل الفنانة اللبنانية في مسلسل جديد",  # a person's nationality
        "مخيم للاجئين الفلسطينيين",  # people
        "المهندسة المعمارية البريطانية من أصل عراقي",  # origin
        "زيت الفول السوداني مفيد للذاكرة",  # peanuts
        "شاركت قوات سودانية في المعارك",  # an army abroad says nothing of where
        "قاد المدرب مارتشيلو ليبي المنتخب",  # a surname
        "اليمنى",  # "right (hand)", no nisba
        "ابن الصحة اللبنانية",  # a portfolio-like word after anything but وزارة / وزير
        "السلام زغرتا اللبناني - الرجاء المغربي",  # a club
        "عرضت الدراما اللبنانية",  # a thing
        "حقق المنتخب الأرجنتيني فوزا كبيرا على نظيره العراقي",  # a team's counterpart
    ],
)
def test_other_uses_of_a_nisba_name_no_country(text):
    assert country_references(text) == set()


def test_a_document_gets_the_country_for_filters_not_as_a_mention():
    places, _, mentions = entities_for("الحكومة اليمنية تعلن", "قال رئيس الوزراء اليمني إن الحوار مستمر")
    assert places == ["ye"]
    assert mentions == []  # nothing to highlight, and place_named (free-text matching) stays empty


def test_a_nisba_inside_an_actors_name_is_part_of_the_name():
    # Hezbollah's epithet names no country; the state's own army does
    assert entities_for("", "قال حزب الله اللبناني إن الهجوم فشل")[0] == []
    assert entities_for("", "انتشر الجيش اللبناني على الحدود")[0] == ["lb"]
    # ... also when the adjective follows the quoted name (agreeing with جماعة): the span of the
    # name the coverage benchmark leaves out reaches over it
    text = 'وأعلنت جماعة "حزب الله" اللبنانية مسؤوليتها'
    assert entities_for("", text)[0] == []
    ((start, end, _),) = actor_spans(text, [(text.index("حزب"), text.index("الله") + 4, False)])
    assert text[start:end] == 'حزب الله" اللبنانية'

    # ... and over a describing adjective before the nisba (حزب الله الشيعي اللبناني)
    text = "نفى حزب الله الشيعي اللبناني الاتهامات"
    ((start, end, _),) = actor_spans(text, [(text.index("حزب"), text.index("الله") + 4, False)])
    assert text[start:end] == "حزب الله الشيعي اللبناني"
    # a hashtag's name is a name too: #حزب_الله اللبنانية is the group's, not Lebanon's
    text = "تصنيف ميليشيات #حزب_الله اللبنانية"
    places, groups, mentions = entities_for("", text)
    assert (places, groups) == ([], ["hezbollah"])
    ((start, end, _),) = actor_spans(text, [(m.start, m.end, False) for m in mentions])
    assert text[start:end] == "حزب_الله اللبنانية"

    # the head noun rule does not reach into an opposition body's name either
    text = "قال الائتلاف الوطني لقوى الثورة والمعارضة السورية"
    assert country_references(text) == {"sy"}  # without the tagger's spans the head would count
    assert entities_for("", text)[0] == []
