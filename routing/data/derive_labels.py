"""Derive routing labels (mini / instant / thinking / human) from public support datasets.

None of the source datasets says whether a message is simple or complex, so the labels
are derived with the written rules in ``RULES.md``; this script is those rules as code.

Usage::

    python -m routing.data.derive_labels --source DATA_DIR

``DATA_DIR`` holds ``hint3/``, ``banking77/`` and ``nlupp/`` as distributed (see
``RULES.md`` for sources and licences). Writes ``router_train.csv``, ``router_dev.csv``
(every fifth training row, for choosing settings) and ``router_heldout.csv`` next to
this file. The held-out split comes only from the
sources' own test material (HINT3 and Banking77 test files, NLU++ folds 16-19, every
fourth hand-written example), so it is never seen in training.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
LABELS = ("mini", "instant", "thinking", "human")

# --- NLU++ generic intents -------------------------------------------------------
NLUPP_PROBLEM = frozenset({"wrong_notworking_notshowing", "lost_stolen", "why"})
NLUPP_QUESTION = frozenset({"request_info", "how", "how_much", "how_long", "when"})
NLUPP_ACTION = frozenset({"change", "cancel_close_leave_freeze", "make_open_apply_setup_get_activate"})
NLUPP_SMALL_TALK = frozenset({"greet", "thank", "acknowledge", "affirm", "deny", "end_call", "dont_know", "repeat"})
NLUPP_HELDOUT_FOLDS = frozenset({16, 17, 18, 19})

# --- HINT3 labels -------------------------------------------------------------------
HINT3_AGENT = frozenset({"CHAT_WITH_AGENT", "CHAT_WITH_AN_AGENT"})
HINT3_CONTACT = frozenset({"CALL_CENTER", "CONTACT_NUMBER"})
HINT3_MINI = frozenset({"GREETINGS_DAY", "THANKS", "APPRECIATION", "PRESENCE", "START_OVER"})
HINT3_THINKING = frozenset(
    {
        "DELAY_IN_PARCEL",
        "DELAY_IN_DELIVERY",
        "PORTAL_ISSUE",
        "POINTS_NOT_UPDATED",
        "WRONG_SCORES",
        "CANNOT_SEE_JOINED_CONTESTS",
        "ACCOUNT_BALANCE_DEDUCTED",
        "DEDUCTED_AMOUNT_NOT_RECEIVED",
        "REFUND_OF_WRONG_AMOUNT",
        "LESS_WINNINGS_AMOUNT",
        "PAN_VERIFICATION_FAILED",
        "NO_EMAIL_CONFIRMATION",
    }
)
# Out of scope, or a mix of problems and plain questions that no single label fits.
HINT3_EXCLUDED = frozenset(
    {
        "NO_NODES_DETECTED",
        "CRITICISM",
        "FEEDBACK",
        "REFUNDS_RETURNS_REPLACEMENTS",
        "MATCH_ABANDONED",
        "ACCOUNT_NOT_VERIFIED",
    }
)
# HINT3's agent labels also hold plain complaints ("Useless", "Suddenly balance gone");
# only messages that name a person or a way to reach one count as asking for a person.
PERSON_MENTION = re.compile(
    r"\b(agent|agrnt|human|person|someone|somebody|anyone|executive|representative|manager|staff|operator|"
    r"assistant|expert|talk|speak|chat|call me|call back|callback|customer (care|support|service|caee)|"
    r"support team|complaint)\b",
    re.IGNORECASE,
)
# For contact-detail labels, asking *for a number* is a fact; asking to be called or to talk is a handoff.
PERSON_REQUEST = re.compile(
    r"\b(agent|human|person|someone|executive|representative|talk|speak|chat|call me|call back|contact me)\b",
    re.IGNORECASE,
)

# --- Banking77 categories -----------------------------------------------------------
# Categories whose name says something went wrong; the rest are requests for information or an action.
BANKING77_PROBLEM_MARKERS = (
    "not_working",
    "not_recognised",
    "not_received",
    "not_updated",
    "not_showing",
    "not_allowed",
    "declined",
    "failed",
    "reverted",
    "wrong",
    "lost_or_stolen",
    "compromised",
    "swallowed",
    "blocked",
    "charged_twice",
    "unable",
    "pending",
    "extra_charge",
    "fee_charged",
    "card_arrival",
)
BANKING77_TRAIN_PER_CATEGORY = 40
BANKING77_HELDOUT_PER_CATEGORY = 10
# Every fifth training row (in file order) goes to the development split.
DEV_EVERY = 5

Row = tuple[str, str]


def nlupp_label(*, intents: Iterable[str]) -> str | None:
    """Label of one NLU++ example from its generic intents, or None when no rule applies."""
    names = set(intents)
    if "handoff" in names:
        return "human"
    if names & NLUPP_PROBLEM:
        return "thinking"
    # Two different kinds of question in one message ("how much and when") need several answers.
    if len(names & NLUPP_QUESTION) >= 2:
        return "thinking"
    if names & (NLUPP_QUESTION | NLUPP_ACTION):
        return "instant"
    if names and names <= NLUPP_SMALL_TALK:
        return "mini"
    return None


def hint3_label(*, label: str, text: str) -> str | None:
    if label in HINT3_EXCLUDED:
        return None
    if label in HINT3_AGENT:
        return "human" if PERSON_MENTION.search(text) else None
    if label in HINT3_CONTACT:
        return "human" if PERSON_REQUEST.search(text) else "instant"
    if label in HINT3_MINI:
        return "mini"
    if label in HINT3_THINKING:
        return "thinking"
    return "instant"


def banking77_label(*, category: str) -> str:
    return "thinking" if any(marker in category for marker in BANKING77_PROBLEM_MARKERS) else "instant"


def nlupp_rows(*, source: Path, heldout: bool) -> Iterator[Row]:
    for path in sorted(source.glob("nlupp/*/fold*.json")):
        fold = int(path.stem.removeprefix("fold"))
        if (fold in NLUPP_HELDOUT_FOLDS) != heldout:
            continue
        for example in json.loads(path.read_text(encoding="utf-8")):
            label = nlupp_label(intents=example.get("intents", ()))
            if label:
                yield example["text"], label


def hint3_rows(*, source: Path, heldout: bool) -> Iterator[Row]:
    folder = source / "hint3" / ("test" if heldout else "train")
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for record in csv.DictReader(handle):
                label = hint3_label(label=record["label"].strip(), text=record["sentence"])
                if label:
                    yield record["sentence"], label


def banking77_rows(*, source: Path, heldout: bool) -> Iterator[Row]:
    # Banking77 alone is larger than everything else together; a fixed sample per category keeps the mix balanced.
    path = source / "banking77" / ("test.csv" if heldout else "train.csv")
    per_category = BANKING77_HELDOUT_PER_CATEGORY if heldout else BANKING77_TRAIN_PER_CATEGORY
    by_category: dict[str, list[str]] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        for record in csv.DictReader(handle):
            by_category.setdefault(record["category"], []).append(record["text"])
    sampler = random.Random(77)
    for category in sorted(by_category):
        texts = by_category[category]
        for text in sampler.sample(texts, min(per_category, len(texts))):
            yield text, banking77_label(category=category)


def handwritten_rows(*, heldout: bool) -> Iterator[Row]:
    with (HERE / "handwritten.csv").open(encoding="utf-8", newline="") as handle:
        for index, record in enumerate(csv.DictReader(handle)):
            if (index % 4 == 3) == heldout:
                yield record["text"], record["label"]


def split_rows(*, source: Path, heldout: bool) -> list[Row]:
    rows = [
        *nlupp_rows(source=source, heldout=heldout),
        *hint3_rows(source=source, heldout=heldout),
        *banking77_rows(source=source, heldout=heldout),
        *handwritten_rows(heldout=heldout),
    ]
    cleaned = [(" ".join(text.split()), label) for text, label in rows]
    return list(dict.fromkeys((text, label) for text, label in cleaned if text))


def rows_write(*, rows: list[Row], path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("text", "label"))
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, required=True, help="folder holding hint3/, banking77/ and nlupp/")
    args = parser.parse_args()
    train = split_rows(source=args.source, heldout=False)
    heldout = split_rows(source=args.source, heldout=True)
    # A text in both splits would leak the answer into training; it stays in held-out only.
    heldout_texts = {text.lower() for text, _ in heldout}
    train = [(text, label) for text, label in train if text.lower() not in heldout_texts]
    # Settings are chosen on a development split taken from training material, so held-out is never tuned on.
    dev = train[DEV_EVERY - 1 :: DEV_EVERY]
    train = [row for index, row in enumerate(train) if index % DEV_EVERY != DEV_EVERY - 1]
    rows_write(rows=train, path=HERE / "router_train.csv")
    rows_write(rows=dev, path=HERE / "router_dev.csv")
    rows_write(rows=heldout, path=HERE / "router_heldout.csv")
    for name, rows in (("train", train), ("dev", dev), ("heldout", heldout)):
        counts = {label: sum(1 for _, row_label in rows if row_label == label) for label in LABELS}
        print(name, len(rows), counts)


if __name__ == "__main__":
    main()
