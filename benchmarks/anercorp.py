"""Tagger precision (and recall) against ANERcorp's hand labels (../shared/eval/anercorp_train, never copied).

    .venv/bin/python -m benchmarks.anercorp [--errors N] [--adjudicated]

ANERcorp is pre-war Arabic newswire labelled LOC / ORG / PERS / MISC by hand (its README gives
the conventions). Every sentence is tagged on its own with ``analyzers.tagger.tag``; a mention
is right when it overlaps a gold span of the right type:

* a place overlaps a gold LOC, or a gold ORG when the place is a country (a country named for
  its team or government, ``مصر`` in sport news, is labelled ORG there);
* a group overlaps a gold ORG; state armies and governments (kinds ``state force``,
  ``foreign state force``, the UN's ``peacekeeping`` forces and ``government``) are left out,
  since ANERcorp leaves ``الجيش الإسرائيلي``, ``قوة اليونيفيل`` and ``السلطة الفلسطينية`` unlabelled.

The train split is development data: sentences are split by index into a *tune* part (the
first half, read while writing the rules) and a *check* part (the second half, only measured),
and figures are given for both. ``ordinary_word_hits`` lists places tagged on the Syrian town
names that the README says occur there as ordinary words.

``--adjudicated`` also prints group precision with the wrong mentions read one by one in
``benchmarks/anercorp_adjudication.tsv`` (the sentence names the actor and the single annotator
left it unlabelled: ``right``; ``disputed`` and unread ones stay wrong). The strict figures come
first and are the ones to quote; the file only says which "errors" are the gold's.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from analyzers.gazetteer import entities  # noqa: E402
from analyzers.normalize import normalize  # noqa: E402
from analyzers.tagger import tag  # noqa: E402

DATA = ROOT.parent / "shared" / "eval" / "anercorp_train"
ADJUDICATION = Path(__file__).with_name("anercorp_adjudication.tsv")
# Armies and governments of states (and the UN forces made of armies), which ANERcorp leaves
# unlabelled: it labels no الحكومة …, السلطة الفلسطينية or الجيش … as ORG.
STATE_ARMIES = frozenset({"state force", "foreign state force", "peacekeeping", "government"})
# Syrian town names the corpus README lists as ordinary words there (القصير "short", الباب "the door" ...).
ORDINARY_WORDS = frozenset(
    normalize(w) for w in ("القصير", "الباب", "السلمية", "الطبقة", "الميادين", "تدمر", "حماة")
)


@dataclass
class Score:
    """Counts of one part of the corpus."""

    place_tp: int = 0
    place_fp: int = 0
    group_tp: int = 0
    group_fp: int = 0
    gold_loc: int = 0
    loc_found: int = 0
    # (sentence, kind, entity, start, end) of each wrong mention
    errors: list[tuple[str, str, str, int, int]] = field(default_factory=list)
    ordinary_word_hits: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def place_precision(self) -> float:
        return self.place_tp / max(1, self.place_tp + self.place_fp)

    @property
    def group_precision(self) -> float:
        return self.group_tp / max(1, self.group_tp + self.group_fp)

    @property
    def place_recall(self) -> float:
        return self.loc_found / max(1, self.gold_loc)


def load(data: Path = DATA) -> tuple[list[dict], dict[str, list[tuple[int, int, str]]]]:
    """Sentences in file order and gold spans ``(char_start, char_end, type)`` by sentence id."""
    with (data / "sentences.jsonl").open(encoding="utf-8") as f:
        sentences = [json.loads(line) for line in f if line.strip()]
    gold: dict[str, list[tuple[int, int, str]]] = {}
    with (data / "gold.tsv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            gold.setdefault(row["doc_or_sentence_id"], []).append(
                (int(row["char_start"]), int(row["char_end"]), row["entity_type"])
            )
    return sentences, gold


def split(sentences: list[dict]) -> dict[str, list[dict]]:
    """The tune part (first half by index) and the check part (second half)."""
    half = len(sentences) // 2
    return {"tune": sentences[:half], "check": sentences[half:]}


def score(sentences: list[dict], gold: dict[str, list[tuple[int, int, str]]]) -> Score:
    """Precision counts of the tagger over ``sentences``."""
    table = entities()
    s = Score()
    for sent in sentences:
        spans = gold.get(sent["id"], [])
        text = sent["text"]
        mentions = tag(text)
        locs = [(a, b) for a, b, t in spans if t == "LOC"]
        s.gold_loc += len(locs)
        s.loc_found += sum(
            1 for a, b in locs if any(m.kind == "place" and m.start < b and a < m.end for m in mentions)
        )
        for m in mentions:
            e = table[m.entity_id]
            types = {t for a, b, t in spans if m.start < b and a < m.end}
            if e.kind == "place":
                ok = "LOC" in types or ("ORG" in types and e.level == "country")
                if ok:
                    s.place_tp += 1
                else:
                    s.place_fp += 1
                if not ok and normalize(m.surface) in ORDINARY_WORDS:
                    s.ordinary_word_hits.append((sent["id"], m.entity_id, m.surface))
            else:
                if e.level in STATE_ARMIES:
                    continue
                ok = "ORG" in types
                if ok:
                    s.group_tp += 1
                else:
                    s.group_fp += 1
            if not ok:
                s.errors.append((sent["id"], e.kind, m.entity_id, m.start, m.end))
    return s


def adjudicated(s: Score) -> tuple[int, int]:
    """``(right, tagged)`` group mentions, counting as right the wrong ones read as ``right``."""
    lines = [line for line in ADJUDICATION.read_text("utf-8").splitlines() if not line.startswith("#")]
    rows = csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    right = {(r["sentence"], r["entity"]) for r in rows if r["verdict"] == "right"}
    fixed = sum(1 for sid, kind, eid, _, _ in s.errors if kind == "group" and (sid, eid) in right)
    return s.group_tp + fixed, s.group_tp + s.group_fp


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--errors", type=int, default=0, help="print this many wrong mentions per part")
    ap.add_argument("--adjudicated", action="store_true", help="also group precision as read by hand")
    args = ap.parse_args()
    if not (args.data / "gold.tsv").exists():
        sys.exit(f"{args.data} is absent: ANERcorp lives in ../shared beside the project")
    sentences, gold = load(args.data)
    by_id = {s["id"]: s for s in sentences}
    for name, part in [*split(sentences).items(), ("all", sentences)]:
        s = score(part, gold)
        print(
            f"{name:5} {len(part):5} sentences: place precision {s.place_precision:.3f} "
            f"({s.place_tp}/{s.place_tp + s.place_fp}), group precision {s.group_precision:.3f} "
            f"({s.group_tp}/{s.group_tp + s.group_fp}), place recall {s.place_recall:.3f} "
            f"({s.loc_found}/{s.gold_loc}), ordinary-word places {len(s.ordinary_word_hits)}"
        )
        if args.adjudicated:
            right, tagged = adjudicated(s)
            print(f"      group precision adjudicated {right / max(1, tagged):.3f} ({right}/{tagged})")
        for sid, kind, eid, start, end in s.errors[: args.errors]:
            text = by_id[sid]["text"]
            near = [f"{text[a:b]}/{t}" for a, b, t in gold.get(sid, []) if a < end + 60 and start - 60 < b]
            context = f"{text[max(0, start - 60) : start]}[{text[start:end]}]{text[end : end + 40]}"
            print(f"   {sid} {kind} {eid}: …{context}…  gold near: {', '.join(near) or '-'}")


if __name__ == "__main__":
    main()
