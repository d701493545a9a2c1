"""Mention tagger: matching rules, false positives on common words, and the five seeds read by hand."""

from __future__ import annotations

from pathlib import Path

import pytest

from analyzers import gazetteer
from analyzers.tagger import tag, tag_ids

SEEDS = Path(__file__).resolve().parents[1] / "seeds"


def ids(text: str) -> list[str]:
    return [m.entity_id for m in tag(text)]


def surfaces(text: str) -> list[str]:
    return [m.surface for m in tag(text)]


def test_offsets_index_the_original_text():
    text = "قصفت الطائرات الرَّقّة، ثم وصلت «قوات سوريا الديمقراطية» إلى الطبقة."
    for m in tag(text):
        assert text[m.start : m.end] == m.surface
    assert surfaces(text) == ["الرَّقّة", "قوات سوريا الديمقراطية"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("هجوم على بلدة خان شيخون بريف إدلب", ["sy-idlib-khan-shaykhun", "sy-idlib"]),
        ("معارك في جبل الزاوية", ["region-jabal-zawiya"]),
        ("تقدمت قوات سوريا الديمقراطية شرق الفرات", ["sdf"]),
        ("قوات سورية الديموقراطية", ["sdf"]),
    ],
)
def test_multi_word_names(text, expected):
    assert ids(text) == expected


def test_longest_match_wins():
    # not سوريا inside قوات سوريا الديمقراطية, not العراق inside the old name of داعش
    assert ids("قوات سوريا الديمقراطية") == ["sdf"]
    assert ids("الدولة الإسلامية في العراق والشام") == ["isis"]
    assert ids("مطار الطبقة العسكري") == ["site-tabqa-airbase"]
    assert ids("الجيش السوري الحر") == ["fsa"]


@pytest.mark.parametrize(
    ("text", "entity", "surface"),
    [
        ("غارات بالرقة", "sy-raqqa-raqqa", "الرقة"),
        ("اشتباكات اليوم وإدلب", "sy-idlib-idlib", "إدلب"),
        ("قافلة لحلب", "sy-aleppo-aleppo", "حلب"),
        ("الطريق للرقة", "sy-raqqa-raqqa", "لرقة"),
        ("ووصلت وللرقة", "sy-raqqa-raqqa", "لرقة"),
        ("تعزيزات وبدمشق", "sy-damascus-damascus", "دمشق"),
        ("فالبوكمال سقطت", "sy-deirezzor-abukamal", "البوكمال"),
    ],
)
def test_clitics_glued_to_the_first_word(text, entity, surface):
    (m,) = tag(text)
    assert (m.entity_id, m.surface) == (entity, surface)


def test_names_after_a_clitic_with_tatweel_and_quotes():
    text = 'التصدي لـ"داعش" ودعم بـ"قسد" ضد «جبهة النصرة»'
    assert ids(text) == ["isis", "sdf", "nusra"]
    assert surfaces(text) == ["داعش", "قسد", "جبهة النصرة"]


def test_quoted_name_after_its_type_word():
    # تنظيم "الدولة الإسلامية": the quoted name is matched, without the quote
    assert surfaces('مقاتلي تنظيم "الدولة الإسلامية" في الرقة') == ["الدولة الإسلامية", "الرقة"]


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("اشتباكات في البو كمال", "sy-deirezzor-abukamal"),
        ("اشتباكات في أبو كمال", "sy-deirezzor-abukamal"),
        ("معارك كوباني", "sy-aleppo-kobani"),
        ("تظاهرة في قامشلو", "sy-hasakah-qamishli"),
        ("في ديرالزور", "sy-deirezzor-deirezzor"),
        ("زيارة إلى سورية", "sy"),
        ("زيارة إلى سوريا", "sy"),
        ("هاجم عناصر تنظيم الدولة", "isis"),
        ("قصفت قوات الأسد", "sy-regime-forces"),
        ("أعلن الجيش العربي السوري", "sy-regime-forces"),
    ],
)
def test_spelling_variants_via_aliases(text, entity):
    assert ids(text) == [entity]


@pytest.mark.parametrize(
    "text",
    [
        "فتح الباب أمام المفاوضات",  # al-Bab the city vs "the door"
        "وقف عند الباب",
        "الدار التي ولد فيها",  # الدار "the house"
        "الحصن المنيع",  # الحصن "the fortress"
        "الفيلم القصير",  # القصير "short"
        "حماة الديار عليكم سلام",  # حماة "protectors"
        "صعد إلى قمة التل",  # التل "the hill"
        "احتفالات في الميادين العامة",  # الميادين "the squares"
        "الأسابيع المقبلة حاسمة",  # المقبلة "the coming"
        "الطبقة الوسطى",  # الطبقة "the class"
        "من وحي الثورة الفلسطينية",  # الثورة "the revolution"
        "حل سلمي للأزمة",  # سلمى / سلمية
        "قالت فاطمة",  # ف + أطمة
    ],
)
def test_no_false_positives_on_common_words(text):
    assert ids(text) == []


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("سيطرت القوات على مدينة الباب", "sy-aleppo-bab"),
        ("قصف بلدة الدار في ريف حمص", "sy-homs-dar-kabira"),
        ("معارك في مدينة القصير", "sy-homs-qusayr"),
        ("اشتباكات في ريف حماة", "sy-hama"),
        ("غارات على محافظة حماة", "sy-hama"),
        ("دخلت القوات مدينة الميادين", "sy-deirezzor-mayadin"),
        ("خرج المقاتلون من حي الوعر", "nbh-homs-waer"),
    ],
)
def test_ambiguous_names_after_a_cue_word(text, entity):
    assert entity in ids(text)


def test_ambiguous_group_names_need_a_cue_or_a_neighbour():
    assert ids("جاء النصرة للمظلوم واجبا") == []  # النصرة "support"
    assert ids("اشتباكات مع مقاتلي النصرة") == ["nusra"]
    assert ids("وعناصر النصرة") == ["nusra"]  # the cue itself may carry a clitic
    assert ids("القاعدة العسكرية") == []  # "the base", not al-Qaeda


def test_ambiguous_name_vouched_by_a_nearby_place_or_list():
    # الميادين needs context; the unambiguous البوكمال nearby vouches for it
    assert ids("معارك بين البوكمال والميادين") == ["sy-deirezzor-abukamal", "sy-deirezzor-mayadin"]
    # a name listed right after an accepted one: حلب وحماة
    assert ids("غارات على حلب وحماة") == ["sy-aleppo-aleppo", "sy-hama-hama"]


def test_places_of_two_countries_sharing_a_name():
    assert ids("أحرقوا منزلا في قرية دوما بالضفة الغربية") == ["ps-duma", "ps-west-bank"]
    assert ids("قصف على مدينة دوما في الغوطة الشرقية") == ["sy-rifdimashq-douma", "region-eastern-ghouta"]
    assert ids("قصف على دوما في الغوطة الشرقية")[0] == "sy-rifdimashq-douma"


def test_no_names_with_tanween():
    assert ids("كان درعًا حصينا") == []  # "a shield", not Daraa


def test_cue_picks_the_level_of_a_shared_name():
    assert ids("في محافظة حلب") == ["sy-aleppo"]
    assert ids("في مدينة حلب") == ["sy-aleppo-aleppo"]
    assert ids("في منطقة حارم") == ["sy-idlib-harem-district"]
    # a coordinated list keeps the cue: the countryside of Aleppo, Idlib and Hasakah
    assert ids("في ريف حلب وإدلب والحسكة") == ["sy-aleppo", "sy-idlib", "sy-hasakah"]


def test_overrides_are_applied():
    assert ids("قالت صحيفة واشنطن بوست") == []
    assert ids("قالت واشنطن") == ["us-washington"]
    assert ids("مقاتلو لواء الإسلام في مدينة دوما") == ["jaysh-al-islam", "sy-rifdimashq-douma"]  # merge


def test_deterministic():
    text = (SEEDS / "004_2c5a21b05fd5e448.txt").read_text("utf-8")
    assert tag(text) == tag(text)


# What a careful reader tags in each seed (headline included). Conventions (docs/entities.md):
# a bare governorate-seat name is the city; after محافظة / ريف it is the governorate; nisba
# adjectives (الحدود السورية التركية) and generic words (المعارضة، النظام alone) are not mentions.
# Ids starting with "?" are things a reader tags that the gazetteer does not hold (counted as misses).
EXPECTED = {
    "000_02962da82e9d9d32.txt": {
        "sy", "sy-raqqa", "sy-raqqa-raqqa", "site-division-17", "site-brigade-93", "sy-raqqa-tabqa",
        "site-tabqa-airbase",  # "المطار العسكري في مدينة الطبقة" (described, not named: a known miss)
        "sy-aleppo", "sy-aleppo-aleppo", "sy-aleppo-muqbila", "sy-aleppo-rahmaniya", "sy-aleppo-taana",
        "sy-aleppo-iabd", "gb",
        "sy-regime-forces", "isis", "sohr",
        "un", "unsc",  # the UN's bodies (kind international, the organizations facet)
    },
    "001_fc14a67cbc8c5e77.txt": {
        "sy", "sy-aleppo", "sy-aleppo-aleppo", "sy-hama", "sy-raqqa", "sy-raqqa-raqqa", "sy-idlib",
        "sy-idlib-khan-shaykhun", "us-washington", "site-shayrat-airbase", "nbh-raqqa-sinaa",
        "isis", "sy-regime-forces", "sohr", "sdf", "opcw",
    },
    "002_bbbc06b0482fae28.txt": {
        "ru-moscow", "ch-geneva", "kz-astana", "sy-raqqa-raqqa", "sy", "iq", "site-naim-roundabout",
        "eg-cairo",
        "?raqqa-municipal-stadium",  # "الملعب البلدي" in Raqqa: a generic name, not in the gazetteer
        "isis", "sdf", "sohr", "irgc", "unsc",
    },
    "003_e39c371191d3715e.txt": {
        "sy", "ru", "us", "sy-deirezzor-abukamal", "sy-deirezzor", "sy-daraa", "sy-daraa-daraa", "il",
        "sy-idlib", "sy-idlib-idlib", "sy-idlib-zardana", "site-tanf", "sy-raqqa-raqqa", "ir",
        "isis", "sy-regime-forces", "sohr", "hezbollah", "fsa", "white-helmets", "us-forces", "nusra",
        "un", "amnesty", "nato",  # مقر الحلف الأطلسي: NATO's headquarters
    },
    "004_2c5a21b05fd5e448.txt": {
        "sy", "sy-idlib-atmeh", "sy-idlib-dana", "sy-aleppo", "sy-aleppo-aleppo", "sy-idlib", "sy-hasakah",
        "sy-aleppo-tarmanin", "sy-aleppo-tawama", "sy-aleppo-daret-azza", "site-regiment-46",
        "site-regiment-111", "sy-aleppo-tell-rifaat", "sy-aleppo-hreitan", "sy-idlib-harem-district",
        "sy-idlib-maghara", "region-jabal-zawiya", "sy-raqqa", "sy-raqqa-tabqa", "sy-latakia",
        "sy-rifdimashq", "sy-deirezzor-deirezzor", "sy-homs-dar-kabira", "sy-homs-hosn", "sy-homs",
        "sy-daraa",
        "?taama-checkpoint",  # "حاجز طعمة": a checkpoint we cannot place, not in the gazetteer
        "isis", "nusra", "ahrar-al-sham", "liwa-al-tawhid", "sy-regime-forces", "sohr",
        "?aleppo-sharia-commission",  # "الهيئة الشرعية في حلب": a rebel court, not in the gazetteer
    },
}  # fmt: skip


def test_seeds_tagged_as_a_careful_reader_would():
    tp = fp = fn = 0
    lines = []
    for name, expected in EXPECTED.items():
        got = tag_ids((SEEDS / name).read_text("utf-8"))
        tp += len(got & expected)
        fp += len(got - expected)
        fn += len(expected - got)
        lines.append(f"{name}: extra {sorted(got - expected)} missing {sorted(expected - got)}")
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    print(f"\nseed tagging: precision {precision:.3f} recall {recall:.3f} (tp {tp} fp {fp} fn {fn})")
    print("\n".join(lines))
    # measured: precision 1.000, recall 0.960 (misses: the Tabqa airbase, only described, and the
    # three "?" entries the gazetteer does not hold)
    assert precision >= 0.99
    assert recall >= 0.95


# Evidence rules (docs/entities.md, "Tagger rules" 4 and 8): sentences written for these tests
# from the readings a native reader gives them.
@pytest.mark.parametrize(
    "text",
    [
        "وتابع: أكدنا دوما أن عودة اللاجئين إلى سوريا مرتبطة بالحل",  # دوما "always", a Syrian place nearby
        "كان الشعب السوري دوما يطالب بالحرية في حلب",
        "تغني فرقة الدانة في مهرجان حلب",  # الدانة, a song genre
        "الدولة الإسلامية في عهد عمر بن الخطاب امتدت إلى العراق",  # the 7th-century state
        "قالت الفنانة داريا إن الجمهور في حلب رائع",  # a person called Darayya
        "نقلت صحيفة القدس عن مصادر",  # a newspaper
        "فاز سسكا موسكو على ريال مدريد",  # clubs named after towns
        "المحادثات الإسرائيلية السعودية",  # the adjective "Saudi"
        "روت فاطمة الزهراء قصتها",  # a personal name, not the Aleppo village
        "تماثيل تحرس مداخل القصور والبيوت",  # "the palaces' entrances", not the Deir ez-Zor quarter
        "قال احمد أبو غزة مدير التنسيق",  # a family name (kunya), not Gaza
        "انضمام تركيا إلى الاتحاد كعضو كامل",  # كامل "complete", not ك + أمل (Amal) after a cue
        "من روايات نجيب محفوظ » القاهرة 30 « و » اللص والكلاب «",  # a title in reversed guillemets
    ],
)
def test_ambiguous_names_without_evidence_stay_untagged(text):
    bad = {"sy-rifdimashq-douma", "sy-idlib-dana", "isis", "sy-rifdimashq-darayya", "ps-jerusalem"}
    bad |= {"ru-moscow", "sa", "sy-aleppo-zahraa", "nbh-deirezzor-qusur", "ps-gaza", "eg-cairo", "amal"}
    assert not bad & set(ids(text))


@pytest.mark.parametrize(
    ("text", "entity"),
    [
        ("قصف مدفعي على دوما في الغوطة الشرقية", "sy-rifdimashq-douma"),
        ("وصلت قافلة إلى دوما", "sy-rifdimashq-douma"),  # a preposition: not the adverb
        ("خرج المقاتلون من مدينة دوما", "sy-rifdimashq-douma"),
        ("أحرق مستوطنون منزلا في قرية دوما قرب نابلس", "ps-duma"),
        ("داهمت القوات الإسرائيلية مدينة أريحا بالضفة الغربية", "ps-jericho"),
        ("قصف على مدينة أريحا في ريف إدلب", "sy-idlib-ariha"),
        ("غارات على بلدة الدانة شمال إدلب", "sy-idlib-dana"),
        ('مقاتلو تنظيم "الدولة الإسلامية" في الرقة', "isis"),
        ("هجوم لعناصر الدولة الإسلامية", "isis"),
        ("اشتباكات عند مشارف القصور في دير الزور", "nbh-deirezzor-qusur"),  # a vicinity cue and a place
        ("نفت حركتا « حماس » و « الجهاد الإسلامي » التوصل إلى اتفاق", "hamas"),  # a dual cue
        ("نفت حركتا « حماس » و « الجهاد الإسلامي » التوصل إلى اتفاق", "pij"),
        ("قال المتحدث باسم كتلة « حماس » في المجلس التشريعي", "hamas"),
        ("يعتقد أنه عضو بالقاعدة", "al-qaeda"),
        ("مقتل زعيم تنظيم القاعدة في العراق أبو مصعب الزرقاوي", "aqi"),
        ("حذر رئيس كتلة تيار المستقبل سعد الحريري", "future-movement"),
    ],
)
def test_ambiguous_names_with_evidence(text, entity):
    assert entity in ids(text)


def test_names_shared_by_two_countries_need_the_country():
    # Ariha (Idlib) or Jericho (West Bank): without a place of either country, neither
    assert ids("زار الوفد مدينة أريحا") == []
    assert "ps-jericho" in ids("زار الوفد مدينة أريحا ثم عاد إلى رام الله")
    # ... or a nationality adjective: Tripoli in Libya or in Lebanon
    assert ids("سيطرت قوات الردع الخاصة الليبية على مبنى في طرابلس") == ["ly-tripoli"]
    assert ids("قال نائب لبناني إن الاشتباكات في طرابلس توقفت") == ["lb-tripoli"]


def test_a_descriptor_before_the_name_is_one_mention():
    assert surfaces("ولد في العاصمة السورية دمشق") == ["دمشق"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("دعا مجلس الأمن الدولي إلى وقف إطلاق النار", ["unsc"]),
        ("قال الأمين العام للأمم المتحدة", ["un"]),
        ("وصل مفتشو منظمة حظر الأسلحة الكيماوية إلى دوما", ["opcw", "sy-rifdimashq-douma"]),
        ("وثقت هيومن رايتس ووتش ومنظمة العفو الدولية الانتهاكات", ["hrw", "amnesty"]),
        ("فرض الاتحاد الأوروبي عقوبات جديدة", ["eu"]),
        ("دخلت قافلة للهلال الأحمر العربي السوري", ["sarc"]),
        ("انتشرت قوات الاتحاد الأفريقي في دارفور", ["amis", "sd-darfur"]),
    ],
)
def test_un_bodies_regional_organisations_and_ngos(text, expected):
    assert ids(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "اجتماع لمجلس الأمن القومي الأمريكي",  # a country's own council, clitic on the first word
        "وفاز الفريق بكأس الاتحاد الإفريقي",  # a football cup
        "أعلن الاتحاد الأوروبي لكرة القدم موعد المباراة",  # a football federation (UEFA)
        # ... and a union among football's words (CAF, UEFA), or in a text naming the acronym
        "هاجم رئيس الاتحاد الإفريقي أحمد أحمد وطالب النادي الأهلي بالاعتذار",
        "عاقبت لجنة الانضباط بالاتحاد الأوروبي المدرب بعد المباراة",
        "قال الاتحاد الأفريقي (الكاف) إن القرعة ستجرى غدا",
        "سقطت قذيفة قرب القاعدة الجوية",  # "the air base", not al-Qaeda
    ],
)
def test_organisations_names_in_another_sense(text):
    assert ids(text) == []


@pytest.mark.parametrize(
    "text",
    [
        "دعا الاتحاد الأفريقي إلى وقف القتال في جنوب السودان",
        "تعهد قادة الاتحاد الأوروبي بدرس فكرة نقاط إنزال المهاجرين",  # فكرة "idea" is not ف + كرة
        "انتقد مدرب الفريق الخروج البريطاني من الاتحاد الأوروبي في مقابلة طويلة عن السياسة",
    ],
)
def test_a_union_away_from_football_is_the_union(text):
    assert {"au", "eu"} & set(ids(text))


def test_south_sudan_is_its_own_country_not_sudan():
    assert ids("وفاة 39 شخصا بالكوليرا في جنوب السودان") == ["ss"]
    assert ids("اتفاق بين السودان وجنوب السودان في جوبا") == ["sd", "ss", "ss-juba"]
    assert ids("معارك في جنوب كردفان") == ["sd-ks"]  # a state of Sudan stays Sudan's
    assert gazetteer.country_of("ss-juba") == "ss"


def test_a_hashtag_name_is_one_name():
    # #حزب_الله، #ريف_دمشق: a hashtag joins the words of a name with underscores
    assert ids("بيان #حزب_الله عن #ريف_دمشق") == ["hezbollah", "sy-rifdimashq"]
    assert surfaces("#قوات_سوريا_الديمقراطية") == ["قوات_سوريا_الديمقراطية"]


def test_new_palestinian_and_lebanese_places():
    assert ids("اقتحمت قوة خاصة جامعة في بيرزيت") == ["ps-birzeit"]
    assert ids("استهدفت الزوارق الصيادين قبالة منطقة السودانية شمال غرب قطاع غزة") == [
        "ps-sudaniya",
        "ps-gaza",
    ]
    assert ids("الحكومة السودانية") == []  # the adjective is no Gaza neighbourhood without a cue
    # ... nor in a list after another country's place (a list of adjectives: the embassies)
    assert "ps-sudaniya" not in ids("اعتدوا على السفارات الإماراتية والسعودية والسودانية في صنعاء")
    assert ids("مواجهات في مخيم المية ومية قرب صيدا") == ["lb-mieh-mieh", "lb-sidon"]
    assert ids("قصة النبي صالح عليه السلام") == []  # the prophet; the village needs a neighbour


def test_a_common_word_name_of_a_fighting_group_needs_a_fighting_neighbour():
    # القاعدة "the basis" next to the UN is not al-Qaeda; next to another armed group it is
    assert ids("قال الأمين العام للأمم المتحدة إن الاتفاق يجب أن يشكل القاعدة السياسية للحل") == ["un"]
    assert ids("قصفت قوات النظام مواقع يسيطر عليها القاعدة") == ["sy-regime-forces", "al-qaeda"]
