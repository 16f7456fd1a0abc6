"""The language a customer writes in, detected per message with lingua (its models ship in its wheel).

Only the languages the shop offers (``LANGUAGES``) are candidates: fewer models to load and fewer
near neighbours to confuse. A short or ambiguous message ("ok", "hola", romanised Hindi such as
"trial period kitna hai sir", which lingua reads as English or Spanish at about 0.3–0.4) is not
trusted: below ``MIN_CONFIDENCE`` the message gets the conversation's language so far (its last
confidently detected customer message), else the shop's default. Romanised Hindi thus stays in the
shop's language, whose help centre (English, with Hinglish phrasings) answers it best.

lingua's confidence is relative to the other candidates, not a measure of fit: keyboard mashing
("asdkjh qwe zzz") can still read as German at 0.62. So a message in plain ASCII letters must also
hold some of the detected language's common words (``COMMON_WORDS``, at least a quarter of its
words) to count; a letter beyond ASCII (an accent, another script) or "¿"/"¡" is evidence enough,
since mashing a keyboard does not type it. An unclear message gets the language so far and never
changes it.
"""

from __future__ import annotations

import functools
import re

from django.conf import settings
from django.utils import translation
from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

# Chosen on helpcentre/data/kb_eval_hi_es.csv and short English support messages (docs/benchmarks.md,
# "Language of customer messages"): a confident Spanish sentence scores over 0.9, while "hola" or
# Hinglish stays under 0.45.
MIN_CONFIDENCE = 0.6
# Fewer letters than this say too little (lingua guesses "ok" as English or German at 0.44/0.41).
MIN_LETTERS = 4
# One word, however long, is not a sentence: "yyyy…" reads as Spanish ("y") with full confidence.
MIN_WORDS = 2
# Share of an ASCII message's words that must be common words of the language detected in it: a
# real sentence is mostly function words ("wie lange dauert die ..."), keyboard mashing hits one by
# chance at most. About one random string of 3 to 40 letters in 1,500 still passes ("de wwzue te":
# two of its three words are Spanish, and lingua reads it so).
MIN_KNOWN_WORDS_SHARE = 0.25

# Links, e-mail addresses and words with digits in them (order numbers, codes) say nothing of the language.
_NOT_WORDS = re.compile(r"\S*(?:://|www\.|@|\d)\S*", re.IGNORECASE)
_ASCII_WORD = re.compile(r"[a-z]+")

# The commonest words of each Latin-script language the shop may offer, and its greetings and thanks,
# lowercase and without accents (a message with an accented letter needs none of them); at least two
# letters (a random "a", "e", "o" or "y" is no evidence). "wer" (German "who") is left out: it is
# what mashing "qwer" types.
COMMON_WORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split())
    for language, words in {
        "en": """
            the an and or but not no yes is isn are aren was were be been am do does did
            don doesn didn have has had you he she it we they me him us them my your his
            her its our their this that these those what when where why how who which
            can could will would should may might must to of in on at for with from by
            about as if so than then there here up out into over after before again
            still just also only very too all any some every each much many more other
            get got make take go going come know want need like please thanks thank
            hello hey okay sorry tell give see look find long late back time day days
            night nights week order delivery refund return mattress help cancel change
            pay paid money card account good morning evening great fine bye goodbye
        """,
        "es": """
            el la los las un una unos unas lo al del de que en por para con sin sobre
            entre hasta desde contra no si es son esta estas este estos esto ese esa eso
            fue ser estar hay tiene tengo tienen me mi mis te tu tus ti se su sus nos le
            les ya muy mas pero como cuando donde quien cual cuanto cuanta cuantos
            cuantas puedo puede pueden quiero necesito hacer hola gracias favor pedido
            colchon devolucion reembolso envio dias noche noches semana ayuda tarda
            cuesta prueba todavia tambien aun buenos buenas tardes adios luego vale
            claro acuerdo bien
        """,
        "fr": """
            le la les un une des du de et est en que qui quoi pour dans ce cet cette ces
            il elle ils elles nous vous je tu on ne pas plus par sur avec au aux mon ma
            mes ton ta tes son sa ses notre votre vos leur leurs mais ou donc comment
            combien quand quel quelle quels quelles pourquoi suis es sont ai as avez
            avons ont fait faire peux peut pouvez veux voudrais bonjour bonsoir salut
            merci oui non commande matelas remboursement livraison retour nuits jours
            semaine aide plait encore toujours aussi aucun aucune bonne journee soiree
            revoir beaucoup bien accord
        """,
        "de": """
            der die das den dem des ein eine einen einem einer dieser diese dieses
            diesem und oder aber ist sind war wurde bin bist seid hat haben habe hast
            ich du er sie es wir ihr mein meine meinen meinem mir mich dir dich uns euch
            ihnen nicht kein keine keinen mit von vom zu zum zur fur auf aus bei beim
            nach uber um im in ins an am vor seit gegen ohne durch wie was wann wo warum
            welche welcher welches lange kann konnen muss mochte will wird werden gibt
            auch noch schon nur sehr bitte danke hallo ja nein bestellung matratze
            ruckerstattung lieferung tage nachte woche hilfe dauert kostet geld dank
            vielen guten gut tag morgen abend tschuss klar alles
        """,
        "pt": """
            os as um uma uns umas de do da dos das em no na nos nas ao aos pelo pela que
            nao com para por mais mas como quando onde quem qual quais quanto quanta
            quantos quantas foi ser estar esta estou tem tenho se me meu minha meus
            minhas seu sua seus suas voce voces eu ele ela eles elas isso isto esse essa
            este ja tambem ainda muito posso pode podem quero preciso fazer ola oi
            obrigado obrigada favor pedido colchao reembolso entrega devolucao dias
            noites semana ajuda demora custa nenhum nenhuma outro outra outros outras
            tudo bem bom boa dia tarde noite tchau
        """,
    }.items()
}


def shop_languages() -> tuple[str, ...]:
    """The primary subtags of the languages the shop offers (``pt-br`` → ``pt``), default first."""
    codes = [settings.LANGUAGE_CODE, *(code for code, _ in settings.LANGUAGES)]
    return tuple(dict.fromkeys(code.split("-")[0].lower() for code in codes))


def _lingua_language(code: str) -> Language | None:
    iso = getattr(IsoCode639_1, code.upper(), None)
    return Language.from_iso_code_639_1(iso) if iso is not None else None


@functools.lru_cache(maxsize=4)
def language_detector_get(languages: tuple[str, ...]) -> LanguageDetector:
    """One detector per set of languages per process; each language's model loads on first use
    (seven languages: about 2 s and 150 MB in all in high-accuracy mode, see docs/benchmarks.md)."""
    known = [language for language in map(_lingua_language, languages) if language is not None]
    if len(known) < 2:
        known += [Language.ENGLISH, Language.SPANISH]  # lingua needs two candidates; the result is ignored anyway
    return LanguageDetectorBuilder.from_languages(*set(known)).build()


def text_language_detect(*, text: str, fallback: str = "") -> str:
    """The language code (``en``, ``hi``, ``es``, ...) ``text`` is written in, among the shop's
    languages; ``fallback`` (else the shop's default) when the text is too short or unclear."""
    fallback = fallback or settings.LANGUAGE_CODE.split("-")[0].lower()
    languages = shop_languages()
    text = _NOT_WORDS.sub(" ", text)
    if len(languages) < 2 or sum(character.isalpha() for character in text) < MIN_LETTERS:
        return fallback
    if sum(any(character.isalpha() for character in word) for word in text.split()) < MIN_WORDS:
        return fallback
    values = language_detector_get(languages).compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return fallback
    iso = values[0].language.iso_code_639_1.name.lower()
    if iso not in languages or not _has_words_of(language=iso, text=text):
        return fallback
    return iso


def _has_words_of(*, language: str, text: str) -> bool:
    """Whether ``text`` shows it is written in ``language`` beyond lingua's relative preference."""
    common = COMMON_WORDS.get(language)
    if common is None or any(
        character in "¿¡" or (character.isalpha() and not character.isascii()) for character in text
    ):
        return True
    words = _ASCII_WORD.findall(text.lower())
    known = sum(len(word) >= 2 and word in common for word in words)
    return known >= 1 and known >= MIN_KNOWN_WORDS_SHARE * len(words)


# One text per script the shop's languages are written in: lingua loads a language's model the
# first time that language is a candidate, and every Latin-script language is one for Latin text.
WARM_UP_TEXTS = ("the mattress", "गद्दा", "الفراش")


def language_detector_warm() -> dict[str, object]:
    """Load the models of every language the shop offers, so no customer's first message waits for
    them (about 2 s and 150 MB for seven languages); the readiness check calls it."""
    languages = shop_languages()
    if len(languages) >= 2:
        detector = language_detector_get(languages)
        for text in WARM_UP_TEXTS:
            detector.compute_language_confidence_values(text)
    return {"languages": list(languages)}


def in_language(text: str, *, language: str) -> str:
    """``text`` (an English msgid, marked with ``gettext_noop``) in ``language``, or in the shop's
    default when that language is not offered or unknown ("")."""
    if not text:
        return text  # gettext("") is the catalogue's header
    try:
        code = translation.get_supported_language_variant(language or settings.LANGUAGE_CODE)
    except LookupError:
        code = settings.LANGUAGE_CODE
    with translation.override(code):
        return translation.gettext(text)
