"""Greetings, thanks, goodbyes and acknowledgements: recognised by their words, answered with a
few fixed lines in the shop's voice, never searched in the help centre.

A message that only greets ("hello there") is small talk; one that greets and asks ("hi, do you
make round mattresses?") is a question once the greeting is set aside.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.conf import settings

GREETING, HOW_ARE_YOU, THANKS, GOODBYE, ACKNOWLEDGEMENT = "greeting", "how_are_you", "thanks", "goodbye", "ack"
ABOUT_ME = "about_me"
JOKE = "joke"

# Tried in this order at the start of what is left of the message; each must end at a word boundary.
_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rf"(?:{pattern})(?![\w'])", re.IGNORECASE))
    for kind, pattern in (
        (
            ABOUT_ME,
            r"how old are (?:you|u)|what(?:'?s| is) your name|who (?:made|built|created|programmed) (?:you|u)"
            r"|are (?:you|u) (?:a |an )?(?:bot|robot|human|real person|real|ai|machine|computer|person)",
        ),
        (
            JOKE,
            r"tell (?:me|us) (?:a |another |some )?(?:jokes?|something funny)|make me (?:laugh|smile)"
            r"|(?:do you )?(?:know|have) any (?:good )?jokes",
        ),
        (
            HOW_ARE_YOU,
            r"how (?:are|r) (?:you|u|things)(?: doing| today)?|how'?s it going|how do you do|what'?s up|sup"
            r"|(?:i )?hope (?:you(?:'re| are)|u r|you'?re doing|all is) (?:well|good|fine|great|ok)"
            r"|(?:i )?hope you(?:'re| are) having a (?:good|nice|great|lovely) (?:day|one|evening|morning)",
        ),
        (
            GOODBYE,
            r"(?:good)?-?bye+(?: bye)?|see (?:you|ya)(?: later| soon)?|good ?night|take care|ttyl"
            r"|have a (?:good|nice|great|lovely) (?:day|night|evening|weekend|one)|talk (?:to you )?later"
            r"|that'?s (?:all|it|everything)(?: for now| for today| i needed)?|nothing else|no more questions|i'?m done"
            r"|adiós|adios|hasta (?:luego|pronto)|au revoir|tschüss|tschüs|auf wiedersehen|tchau|até (?:logo|mais)"
            r"|अलविदा|مع السلامة",
        ),
        (
            GREETING,
            r"good (?:morning|afternoon|evening|day)|hi+|hello+|hey+|hiya|heya|howdy|greetings|namaste|hola"
            r"|(?:morning|afternoon|evening|yo|sup)(?=\s*(?:[,.!;]|$))"
            r"|(?:is )?(?:any ?one|any ?body|some ?one) (?:there|here|around)|are you there"
            # The widget's other languages: a greeting there is small talk too (helpcentre/multilingual.py).
            r"|buen(?:os|as) (?:días|dias|tardes|noches)|bonjour|bonsoir|salut|hallo|guten (?:morgen|tag|abend)"
            r"|moin|olá|ola|oi|bom dia|boa (?:tarde|noite)|नमस्ते|नमस्कार|مرحبا|أهلا|اهلا|السلام عليكم",
        ),
        (
            THANKS,
            r"thanks?(?: you)?|thank u|thx|tnx|thanx|ty|tysm|cheers|much appreciated"
            r"|(?:i |really |much )*appreciate (?:it|that|this|the (?:\w+ )?(?:answer|reply|help|response|info\w*))"
            r"|(?:that was |you were |very |really |so )*helpful|that help(?:ed|s)|(?:that|it) worked"
            r"|(?:muchas )?gracias|merci(?: beaucoup)?|danke(?: schön| sehr)?|vielen dank|obrigad[oa]"
            r"|धन्यवाद|शुक्रिया|थैंक्स|شكرا|شكراً",
        ),
        (
            ACKNOWLEDGEMENT,
            r"ok(?:ay)?|k+|alright|all right|great|cool|perfect|nice|awesome|excellent|lovely|good|fine"
            r"|sure|got it|understood|noted|i see|makes sense|sounds good|never ?mind|nvm|no (?:worries|problem)"
            r"|yes|yeah|yep|yup|no|nope|nah|hmm+|oh|ah|wow"
            # Words that also start a question ("super soft?", "right size?") only when a pause follows.
            r"|(?:super|brilliant|fantastic|wonderful|right|will do|(?:i'?ll|i will) (?:do that|try (?:that|it|this)"
            r"|check(?: it| that)?))(?=\s*(?:[,.!;]|$))",
        ),
    )
)
# Words that ride along with small talk without asking anything ("thanks a lot", "hello there").
_FILLER = re.compile(
    r"(?:so much|a lot|very much|a ton|again|anyway|there|team|everyone|everybody|all|guys|folks|sir|madam|ma'?am"
    r"|friend|mate|buddy|bro|dear|(?:doctor |chat ?)?bot|doc(?:tor)?|dude|boss|yaar|bhai|ji|then|please|pls"
    r"|for (?:the|your) help|for that|for this|for now|for today"
    r"|to you(?: too| as well| all)?|it'?s been a (?:long|tough|hard|rough) (?:day|week))(?![\w'])",
    re.IGNORECASE,
)
_AND = re.compile(r"and\s+", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s,.!?;:()\-–—~*¡¿]+|[\U0001F300-\U0001FAFF\u2600-\u27BF]+")


@dataclass(frozen=True)
class SmallTalk:
    """What small talk a message holds and what is left of it (empty: nothing but small talk)."""

    kinds: tuple[str, ...]
    rest: str
    greeting_words: str = ""

    @property
    def only(self) -> bool:
        return bool(self.kinds) and not self.rest


def small_talk_read(text: str) -> SmallTalk:
    """The small talk at the start (and a trailing "thanks") of ``text``, and the question left over."""
    kinds: list[str] = []
    greeting_words = ""
    position = _skip_separators(text, 0)
    while position < len(text):
        # "thanks and bye": an "and" between two pieces of small talk joins them.
        joined = _AND.match(text, position) if kinds else None
        for kind, pattern in _PHRASES:
            match = pattern.match(text, joined.end() if joined else position)
            if match:
                if kind == GREETING and not greeting_words:
                    greeting_words = match.group(0)
                kinds.append(kind)
                position = _skip_fillers(text, match.end())
                break
        else:
            break
    rest = text[position:].strip()
    trailing = re.search(r"[\s,.!?;]+(?:thanks?(?: you)?|thx|cheers|please)[\s.!]*$", rest, re.IGNORECASE)
    if trailing and kinds != [ACKNOWLEDGEMENT]:
        rest = rest[: trailing.start()].strip()
    if kinds and kinds[-1] == ACKNOWLEDGEMENT and rest and kinds.count(ACKNOWLEDGEMENT) == len(kinds):
        # "ok and is the ortho available?" or "no, I meant the ortho": the question is what counts.
        return SmallTalk(kinds=(), rest=rest)
    return SmallTalk(kinds=tuple(dict.fromkeys(kinds)), rest=rest, greeting_words=greeting_words)


def _skip_separators(text: str, position: int) -> int:
    while match := _SEPARATORS.match(text, position):
        if match.end() == position:
            break
        position = match.end()
    return position


def _skip_fillers(text: str, position: int) -> int:
    position = _skip_separators(text, position)
    while match := _FILLER.match(text, position):
        position = _skip_separators(text, match.end())
    return position


def small_talk_reply(*, talk: SmallTalk) -> str:
    """A short friendly line for a message that is only small talk, in the shop's voice."""
    shop = settings.SUPPORTBOT_SHOP_NAME
    kinds = set(talk.kinds)
    if GOODBYE in kinds:
        opening = "You're welcome! " if THANKS in kinds else ""
        return f"{opening}Goodbye, and thank you for chatting with {shop}!"
    if THANKS in kinds:
        return "You're welcome! Is there anything else I can help you with?"
    hello = _hello(talk.greeting_words) if GREETING in kinds else ""
    if ABOUT_ME in kinds:
        return (
            f"{hello}I'm the {shop} assistant, a program that answers from our help centre. "
            'Write "talk to a person" any time to reach our team.'
        )
    if JOKE in kinds:
        return f"{hello}I'm better with mattresses than with jokes, I'm afraid! How can I help you today?"
    if HOW_ARE_YOU in kinds:
        return f"{hello}I'm doing well, thank you for asking! How can I help you today?"
    if GREETING in kinds:
        return f"{hello}I'm the {shop} assistant. How can I help you today?"
    return "Alright. Is there anything else I can help you with?"


def _hello(words: str) -> str:
    part_of_day = re.match(r"(?:good )?(morning|afternoon|evening)", words, re.IGNORECASE)
    return f"Good {part_of_day.group(1).lower()}! " if part_of_day else "Hello! "
