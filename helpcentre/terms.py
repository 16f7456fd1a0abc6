"""What a customer's message asks about: its content words, what kind of answer it wants, and
the words a follow-up carries over from the turns before it.

Used by the composer (is this a follow-up? which part of the article answers it?) and by the
help-centre search page. Plain rules, no model: they run on every message.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass

from helpcentre.text import STOP_WORDS, text_words, word_stem

QUESTION_WORDS = frozenset("how what when where which who whom whose why".split())
# Words that point back at the conversation ("what about the ortho?", "how long does it take?").
ANAPHORA = frozenset(
    "it its it's it'll that that's that'll this these those they they're they've they'll them their there one ones"
    " same".split()
)
CUE_WORDS = frozenset("and also too else instead then so but or about".split())
# Words of the conversation itself, not of any topic: left out of the content words.
GENERIC_WORDS = frozenset(
    """hi hello hey thanks thank ok okay yes no not please pls kindly just still any anything some something
    have has had having i'm i've i'd you're we're what's there's let's would
    know tell want need like get got let give show help say said mean means go goes going come comes
    does doing done much many long soon often lot much more less very really also else other another
    there here if then than only even now again sorry meant ask asked question questions happen happens
    try tried trying use using used way thing things sure well good great bit take takes taking took
    work works worked working already before after during until till within time meaning
    extra additional available possible nothing everything something must
    exactly exact specifically precisely all he she him her his they them their came went
    whats wat wats hows next meanwhile""".split()
)
# A few everyday words for what articles say in other words (each side is a stem).
SYNONYMS: Mapping[str, tuple[str, ...]] = {
    "shipp": ("dispatch", "dispatched"),
    "ship": ("dispatch", "deliver", "delivery"),
    "sent": ("dispatch", "dispatched"),
    "money": ("refund",),
    "wash": ("clean",),
    "washable": ("clean", "washable"),
    "firmer": ("firm",),
    "softer": ("soft", "softening"),
    "thick": ("thickness", "inch"),
    "wifi": ("wi", "fi"),
    "respond": ("reply",),
    "answer": ("reply",),
    "broken": ("damaged", "faulty"),
    "damage": ("damaged",),
    "fix": ("repair", "replace"),
    "charge": ("fee", "cost", "price"),
    "fee": ("charge", "cost"),
    "cost": ("price", "charge"),
    "price": ("cost",),
    "expensive": ("price", "cost"),
    "cheap": ("price", "cost"),
    "cheaper": ("price", "cost"),
    "phone": ("call", "mobile"),
    "reach": ("contact",),
    "email": ("mail",),
    "open": ("opened",),
    "make": ("made",),
    "iphone": ("ios",),
    "swap": ("exchange",),
    "switch": ("exchange",),
    "pick": ("pickup",),
    "feet": ("ft",),
    "foot": ("ft",),
    "register": ("registration",),
    "registration": ("register",),
    "cure": ("treatment", "medical"),
    "heal": ("treatment", "medical"),
    "minimum": ("least",),
    "cod": ("cash", "delivery"),
    "maximum": ("most",),
    "slide": ("slip",),
    "rate": ("price",),
    "tool": ("key", "screwdriver", "spanner"),
    "bottom": ("base",),
    # A superlative of size asks for the limit of that dimension ("the longest you can make").
    "longest": ("length",),
    "shortest": ("length",),
    "widest": ("width",),
    "narrowest": ("width",),
    "rectangle": ("rectangular",),
    "sound": ("noise",),
    "noise": ("sound",),
    "tenure": ("month",),
    "dip": ("sagging", "impression"),
    "sag": ("sagging", "dip"),
    # What happened to a mattress, in the customer's words and in the article's.
    "spill": ("stain", "stained"),
    "spilt": ("stain", "stained"),
    "tear": ("damaged", "faulty"),
    "ripp": ("damaged", "faulty"),
    # "use it together with", "can I club two offers": offers that combine.
    "together": ("combine",),
    "club": ("combine",),
    "manufacture": ("make", "made", "factory"),
    "manufactur": ("make", "made", "factory"),
    "cell": ("battery",),
    "toddler": ("child",),
    "kid": ("child",),
    "baby": ("child",),
    "children": ("child",),
    "buy": ("buyer",),
    "collect": ("pickup",),
    # "will it be ok on its own?": "it recovers by itself".
    "own": ("itself",),
    "guarantee": ("warranty",),
    "guarante": ("warranty",),
    "warrant": ("warranty",),
    # A shop that accepts an online offer honours it.
    "accept": ("honour", "honoured"),
    "honor": ("honour", "honoured"),
    "valid": ("honour", "honoured"),
    # A discount code is a coupon.
    "code": ("coupon",),
    "voucher": ("coupon", "code"),
    "promo": ("coupon", "code"),
}

# What kind of answer the question wants, and how a passage shows it has one.
_FOCUS_QUESTIONS = {
    "duration": re.compile(
        r"\bhow (long|soon|quickly|fast"
        r"|many (extra |more |additional )?(days|hours|minutes|weeks|nights|months|years))\b"
        r"|\bwhen (will|would|can i expect)\b|\bwhen (do|does|can|should) (i|we|you) (get|receive|have)\b"
        r"|\b(until|till)\b|\bdeadline\b|\btakes? (any |much )?longer\b|\blonger to (arrive|reach|come|deliver)\b",
        re.IGNORECASE,
    ),
    "price": re.compile(
        r"\bhow much\b|\bprices?\b|\bcosts?\b|\bcharges?d?\b|\bfees?\b|\bexpensive\b|\bcheap(er)?\b"
        r"|\bset (me|us|you) back\b|\b(what is|what's|whats) the rate\b|\brates? (of|for)\b"
        r"|\bextra\b(?! (working |business )?(days?|hours?|minutes?|weeks?|nights?|months?))",
        re.IGNORECASE,
    ),
    "limit": re.compile(
        r"\b(biggest|largest|smallest|longest|shortest|widest|maximum|minimum|max|min|least|most|limits?)\b",
        re.IGNORECASE,
    ),
    "distance": re.compile(r"\bhow (close|far|near)\b|\bdistance\b|\brange\b", re.IGNORECASE),
    "hours": re.compile(
        r"\bwhat time\b|\b(till|until) (when|what time)\b|\b(opening|working|office|support|business) hours\b"
        r"|\bopen (on|at|till|until)\b",
        re.IGNORECASE,
    ),
    # Which days: "are you open on sundays?" (with "open on", also the hours), "do you deliver on sundays?"
    # (not a time of day: "3–5 working days" says which days deliveries count).
    "days": re.compile(
        r"\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b|\bweekends?\b|\bpublic holidays?\b",
        re.IGNORECASE,
    ),
    "count": re.compile(r"\bhow (many times|often)\b|\bhow many (returns|exchanges)\b", re.IGNORECASE),
    "procedure": re.compile(
        r"\bhow (do|can|should|would) (i|we|you)\b|\bhow to\b|\bsteps?\b|\bprocess\b|\bprocedure\b"
        r"|\bhow does (it|that|this) work\b"
        r"|\bwhat (should|do|can) (i|we) do\b",
        re.IGNORECASE,
    ),
}
_FOCUS_ANSWERS = {
    "duration": re.compile(
        r"\d\**[\s-]*(?:[–-]\s*\d+\**\s*)?(?:extra |more |additional |further )?(?:working |business )?"
        r"(?:days?|hours?|minutes?|seconds?|weeks?|months?|years?|nights?)\b"
        r"|\b(?:same|next) (?:day|working day)\b",
        re.IGNORECASE,
    ),
    # "Is the pickup charged?": "a free pickup" says what it costs.
    "price": re.compile(r"[₹$€£]\s?\d|\b\d+\s?%|\bfees?\b|\bcharges?\b|\bcosts?\b|\bprices?\b|\bfree\b", re.IGNORECASE),
    # Figures may be in bold ("from **60 to 84 inches**").
    "limit": re.compile(
        r"\bfrom \**\d+(?:\.\d+)? to \d+|\b(?:up to|at least|at most|minimum|maximum|limits?)\b", re.IGNORECASE
    ),
    "distance": re.compile(r"\d+\s?(?:metres?|meters?|m|feet|ft|km)\b", re.IGNORECASE),
    "hours": re.compile(
        r"\b\d{1,2}[:.]\d{2}\b|\b\d{1,2} ?(?:am|pm)\b|\bevery day\b|\bdays a week\b"
        r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
        re.IGNORECASE,
    ),
    "days": re.compile(
        r"\bevery day\b|\bdays a week\b|\b(?:working|business) days?\b|\bweekends?\b|\bholidays?\b"
        r"|\b(?:monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
        re.IGNORECASE,
    ),
    "count": re.compile(r"\b(?:once|twice|\d+ times)\b|\bone\b[^.]{0,30}\bper\b", re.IGNORECASE),
    "procedure": re.compile(r"^$"),  # a procedure is a numbered list, which the extractor knows by its shape
}


def focus_of_question(text: str) -> frozenset[str]:
    return frozenset(name for name, pattern in _FOCUS_QUESTIONS.items() if pattern.search(text))


@functools.lru_cache(maxsize=16_384)
def focus_of_passage(text: str) -> frozenset[str]:
    return frozenset(name for name, pattern in _FOCUS_ANSWERS.items() if pattern.search(text))


# "available" alone says nothing ("is it available in king?"); "not available" is a state articles name.
_NOT_AVAILABLE = re.compile(r"\b(?:not|isn't|aren't|wasn't|no longer)\s+available\b", re.IGNORECASE)
# "Send it back", "take the mattress back": articles say "return"; "send" alone is what the
# shop does (dispatch) or what photos are.
_GIVE_BACK = re.compile(
    r"\b(?:send|sending|sent|ship|shipping|take|taking|give|giving|bring|post|mail)"
    r"(?:\s+(?:it|them|this|that|(?:the|my|this|that)\s+\w+))?\s+back\b",
    re.IGNORECASE,
)


def content_words(text: str) -> dict[str, str]:
    """The words that say what a message is about, by stem, in order, without repeats."""
    found: dict[str, str] = {}
    text = _GIVE_BACK.sub("return", _NOT_AVAILABLE.sub("unavailable", text.replace("’", "'")))
    for word in text_words(text=text):
        word = word.removesuffix("'s")
        if word in STOP_WORDS or word in QUESTION_WORDS or word in ANAPHORA or word in CUE_WORDS:
            continue
        stem = word_stem(word=word)
        if (
            word in GENERIC_WORDS
            or stem in GENERIC_WORDS
            or word.endswith("n't")
            or len(word) < 2
            and not word.isdigit()
        ):
            continue
        found.setdefault(stem, word)
    return found


def is_code(word: str) -> bool:
    """A product or error code such as "E04" or "X2": letters and digits together in one word."""
    return any(c.isdigit() for c in word) and any(c.isalpha() for c in word)


def content_stems(text: str) -> list[str]:
    return list(content_words(text))


def word_stems(text: str) -> set[str]:
    """Every stem of a passage (for matching against a question's content stems)."""
    return {word_stem(word=word) for word in text_words(text=text)}


_WANTS_MORE = re.compile(
    # "how much more time?" asks an amount, not for more of the article.
    r"\b(else|another|other|(?<!much )(?<!many )more|next)\b"
    r"|\bstill (not|doesn'?t|won'?t|isn'?t|can'?t|nothing|the same)\b"
    r"|\b(didn'?t|did not|doesn'?t|does not|hasn'?t|not) (help|work|fix|solve)|\balready (did|done|tried)\b"
    r"|\b(did|done|tried) (that|it|this|those|them|all that|everything) already\b"
    r"|\bi(?:'ve| have)? (?:already )?(?:changed|replaced|tried|checked|unplugged|restarted|reset|reinstalled"
    r"|updated|followed|turned)\b",
    re.IGNORECASE,
)


# A chat message's sentences also end at an emoji ("the carpenter says the size is different 😩 can I cancel?").
_SENTENCE_END = re.compile(r"(?<=[.!?\u2600-\u27bf\U0001f300-\U0001faff])\s+")


def final_question(text: str) -> str | None:
    """The last question of a message of several sentences ("… it feels too hard. Can I return it?"),
    or None when the message is one sentence or asks nothing."""
    sentences = [sentence.strip() for sentence in _SENTENCE_END.split(text.strip()) if sentence.strip()]
    if len(sentences) < 2:
        return None
    return next((sentence for sentence in reversed(sentences) if sentence.endswith("?")), None)


def asks_in_context(text: str) -> bool:
    """A question that only makes sense about something already said: "how much?", "how long will it
    take?", "what should I do?", "and?", "what else?" (but not "what's 2+2?" nor "what time is it?")."""
    return bool(focus_of_question(text)) or starts_elliptical(text) or wants_more(text)


# "the light is blinking blue. now?", "waited, nothing happened. next?", "what next?", "do I let go now?"
_ASKS_WHAT_NEXT = re.compile(
    r"\b(?:what(?:'s| is)? next|next step|now what|what now|then what|what then)\b|\b(?:now|next|then)\W*$",
    re.IGNORECASE,
)


def asks_what_next(text: str) -> bool:
    """Asks what to do after what the customer just did or saw."""
    return bool(_ASKS_WHAT_NEXT.search(text.strip()))


# "I put fresh batteries in the remote but the bed still ignores it", "it doesn't work, I already replaced the
# batteries", "ya cambié las pilas": a step done, and it did not help.
_DONE = (
    r"(?:changed|replaced|swapped|put (?:in )?(?:new|fresh)|fitted|tried|unplugged|restarted|rebooted|reset|checked"
    r"|updated|re-?paired|reinstalled)"
)
_DONE_IN_VAIN = re.compile(
    rf"\b{_DONE}\b.*\b(?:still|no (?:luck|change|difference)|nothing(?! else)"
    rf"|(?:didn'?t|did not|doesn'?t|does not|won'?t) (?:help|work))\b"
    rf"|\balready\b[^.!?]{{0,20}}?\b{_DONE}\b|\b{_DONE}\b[^.!?]{{0,40}}?\balready\b"
    # "Already" before a step done, in Spanish, French, German and Portuguese: "ya cambié", "j'ai déjà changé",
    # "schon gewechselt", "já troquei".
    # With the object as a pronoun before the verb: "ya lo cambié", "ya las cambié".
    r"|\bya (?:l[oa]s? |me |se |le )?(?:cambi|prob|reinici|desenchuf|revis|actualic|reemplac|sustitu)\w*"
    r"|\bd[ée]j[àa] (?:chang|essay|red[ée]marr|remplac|d[ée]branch|v[ée]rifi|r[ée]initialis)\w*"
    r"|\b(?:schon|bereits) (?:\w+ ){0,3}?(?:gewechselt|ausgetauscht|versucht|neu gestartet|zur[üu]ckgesetzt|gepr[üu]ft)"
    r"|\bj[áa] (?:troquei|tentei|reiniciei|desliguei|verifiquei|substitu[íi]|atualizei)\b",
    re.IGNORECASE,
)


def tells_a_step_done_in_vain(text: str) -> bool:
    """Tells that something was done already and the problem is still there."""
    return bool(_DONE_IN_VAIN.search(text))


def wants_more(text: str) -> bool:
    """Asks for something beyond what was already said ("what else can I try?", "still not working")."""
    return bool(_WANTS_MORE.search(text))


def starts_elliptical(text: str) -> bool:
    """Starts like the second half of a question: "and for the king?", "what about the ortho?",
    "what if I lost the box?"."""
    words = text_words(text=text.replace("’", "'"))
    return bool(words) and (
        words[0] in {"and", "also", "or", "but", "so", "then"}
        or " ".join(words[:2]) in {"what about", "how about", "what if"}
    )


_PROBLEM = re.compile(
    r"\b(?:doesn'?t|does not|don'?t|won'?t|will not|isn'?t|is not|can'?t|cannot|not)\s+(?:\w+\s+)?"
    r"(?:work|working|turn|switch|move|moving|connect|light|respond|charge|pair|arrive|come)\w*"
    r"|\b(?:stopped|stuck|broken|keeps?|no power|not found|makes? (?:a |an )?\w* ?noise)\b",
    re.IGNORECASE,
)


def states_a_problem(text: str) -> bool:
    """Describes something that went wrong rather than asking a question ("my remote doesn't light up")."""
    return "?" not in text and bool(_PROBLEM.search(text))


# "when does it start?", "what's it made of?", "will it fit?": a property of the thing just talked about, asked with
# "it" as its subject and a verb of what things do or are; not "what time is it?" nor "is it raining?".
_ASKS_ABOUT_IT = re.compile(
    r"\b(?:does|do|did|is|was|will|would|can|could|what's|whats|what is|how's|hows)\s+(?:it|this|that|they)\s+"
    r"(?:\w+\s+)?(?:start|starts|begin|begins|made|come|comes|include|includes|included|cover|covers|covered|fit|fits"
    r"|last|lasts|weigh|weighs|need|needs|work|works|take|takes)\b",
    re.IGNORECASE,
)


def asks_about_it(text: str) -> bool:
    """Asks what the thing just talked about does or is made of, with "it" as the subject."""
    return _ASKS_ABOUT_IT.search(text.replace("’", "'")) is not None


def has_follow_up_cue(text: str) -> bool:
    """Leans on the conversation: starts elliptically, or points back ("it", "that one")."""
    return starts_elliptical(text) or any(word in ANAPHORA for word in text_words(text=text.replace("’", "'")))


@dataclass(frozen=True)
class Terms:
    """A question as weighted content stems (the latest message 1.0, its synonyms 0.7, carried words
    less), the kinds of answer it wants, and the words as written (for a readable question)."""

    weights: tuple[tuple[str, float], ...] = ()
    focus: tuple[tuple[str, float], ...] = ()
    words: tuple[tuple[str, str], ...] = ()  # stem -> the word as the customer wrote it

    def weight_map(self) -> dict[str, float]:
        return dict(self.weights)

    def focus_map(self) -> dict[str, float]:
        return dict(self.focus)

    def carried_words(self, *, min_weight: float = 0.0) -> list[str]:
        """The words taken over from earlier turns, as written."""
        written = dict(self.words)
        return [written[stem] for stem, weight in self.weights if min_weight <= weight < 0.7 and stem in written]


def stem_variants(stem: str) -> tuple[str, ...]:
    """Other stems that say the same here: listed synonyms, and the comparative of a short adjective
    or the adjective of a comparative ("deep"/"deeper"), which the light stemmer keeps apart."""
    variants = [word_stem(word=synonym) for synonym in SYNONYMS.get(stem, ())]
    # The light stemmer keeps a silent "e" on the base word but not on its -ed/-ing forms ("replace",
    # "replaced" -> "replac"), and leaves nouns in -ment apart ("replacement"): let them meet here.
    if stem.isalpha() and len(stem) >= 5:
        if stem.endswith("ment") and len(stem) >= 8:
            variants.append(stem[:-4])
        elif stem.endswith("e"):
            variants += [stem[:-1], stem + "ment"]
        elif stem[-1] not in "aeiouy" and stem[-2] in "aeiou" and stem[-3] not in "aeiou":
            variants.append(stem + "e")  # "replac" -> "replace"
    # A noun in -ation meets its verb ("confirmation"/"confirm", "cancellation"/"cancel", "installation"/"install").
    if stem.isalpha() and stem.endswith("ation") and len(stem) >= 10:
        verb = stem[:-5]
        variants.append(verb[:-1] if verb.endswith("ell") else verb)
    if stem.isalpha() and 4 <= len(stem) <= 6 and not stem.endswith(("e", "er")):
        variants.append(stem + "er")
    elif stem.endswith("er") and len(stem) >= 6:
        variants.append(stem[:-2])
    return tuple(variants)


def terms_of(text: str) -> Terms:
    words = content_words(text)
    weights = dict.fromkeys(words, 1.0)
    for stem in words:
        for variant in stem_variants(stem):
            weights.setdefault(variant, 0.7)
    focus = tuple((name, 1.0) for name in sorted(focus_of_question(text)))
    return Terms(weights=tuple(weights.items()), focus=focus, words=tuple(words.items()))


def terms_carry(
    *, latest: Terms, earlier: Terms, keep_focus: bool = True, decay: float = 0.5, floor: float = 0.2
) -> Terms:
    """The latest message's terms plus the earlier ones, faded by ``decay``; faded below ``floor``, dropped.

    The earlier question's focus carries when ``keep_focus`` and the latest has none ("and for
    the king?" after "how much is the queen?" still asks for a price).
    """
    weights = latest.weight_map()
    for stem, weight in earlier.weights:
        if weight * decay >= floor and stem not in weights:
            weights[stem] = weight * decay
    focus = latest.focus_map()
    if not focus and keep_focus:
        focus = {name: weight * decay for name, weight in earlier.focus if weight * decay >= floor}
    words = {**dict(earlier.words), **dict(latest.words)}
    return Terms(
        weights=tuple(weights.items()),
        focus=tuple(focus.items()),
        words=tuple((stem, words[stem]) for stem in weights if stem in words),
    )
