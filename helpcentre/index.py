"""An in-memory TF-IDF index over titles, sections, tags and alternative phrasings.

Pure Python on purpose: the offline engine must work with no numeric libraries. Each
article is split into short *units* (one per phrasing, the title, the tags, each section);
a query is scored against units by cosine similarity of word and character n-gram TF-IDF
vectors, and an article scores as its best unit. Character n-grams are what make "mattres",
"instalment" and "COD option is availble?" find the right article.
"""

from __future__ import annotations

import functools
import heapq
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from helpcentre.text import markdown_sections, text_features, word_stem

PHRASING, TITLE, TAGS, SECTION = "phrasing", "title", "tags", "section"


@dataclass(frozen=True)
class IndexedArticle:
    key: str
    title: str
    url: str
    body: str
    tags: tuple[str, ...] = ()
    phrasings: tuple[str, ...] = ()


@dataclass(frozen=True)
class IndexSettings:
    """Weights chosen by cross-validation on the HINT3 SOFMattress train split."""

    word_share: float = 0.3  # share of the cosine that comes from word features (rest: characters)
    phrasing_weight: float = 1.0
    title_weight: float = 1.0
    tags_weight: float = 0.8
    section_weight: float = 0.8
    second_unit_bonus: float = 0.5  # how much an article's second-best unit adds to its score
    # Postings a query may walk before switching to candidates + exact rescoring; only large
    # help centres reach it (the whole demo help centre holds about 40,000 postings).
    posting_budget: int = 8_000
    rescored_units: int = 40
    # The articles' language when it is not the shop's English: Snowball stems and stop words.
    language: str = ""


@dataclass(frozen=True)
class ArticleMatch:
    key: str
    score: float
    unit_text: str  # the phrasing, title or section that matched best


@dataclass(frozen=True)
class SectionScore:
    heading: str
    text: str
    score: float


@dataclass(frozen=True)
class _Unit:
    article: int
    kind: str
    text: str
    heading: str = ""


def _unit_texts(article: IndexedArticle) -> Iterable[tuple[str, str, str]]:
    yield TITLE, article.title, ""
    if article.tags:
        yield TAGS, " ".join(article.tags), ""
    for phrasing in article.phrasings:
        yield PHRASING, phrasing, ""
    for section in markdown_sections(body=article.body):
        yield SECTION, section.text, section.heading


def _counts(text: str, language: str = "") -> tuple[Counter[str], Counter[str]]:
    words, chars = text_features(text=text, language=language)
    return Counter(words), Counter(chars)


class ArticleIndex:
    """Build once per help-centre version; :meth:`search` is safe to call from many threads."""

    def __init__(self, articles: Sequence[IndexedArticle], *, settings: IndexSettings | None = None):
        self.settings = settings or IndexSettings()
        self.articles = list(articles)
        self.units: list[_Unit] = []
        self.units_by_key: dict[str, list[int]] = defaultdict(list)
        unit_counts: list[tuple[Counter[str], Counter[str]]] = []
        for number, article in enumerate(self.articles):
            for kind, text, heading in _unit_texts(article):
                self.units_by_key[article.key].append(len(self.units))
                self.units.append(_Unit(article=number, kind=kind, text=text, heading=heading))
                # Sections are long: character n-grams would cost memory and say little there.
                words, chars = _counts(f"{heading}\n{text}", self.settings.language)
                unit_counts.append((words, Counter() if kind == SECTION else chars))
        self.idf = self._idf(unit_counts)
        self.max_idf = max(self.idf.values(), default=1.0)
        # Words in more units than this are left to the in-memory walk (see fts_search).
        common = max(20.0, 0.01 * len(self.units))
        self.rare_word_idf = math.log((1 + len(self.units)) / (1 + common)) + 1.0
        self.unit_vectors = [
            self._vector(words, chars, word_share=1.0 if unit.kind == SECTION else self.settings.word_share)
            for unit, (words, chars) in zip(self.units, unit_counts, strict=True)
        ]
        self.postings = self._postings()
        self._query_vectors = functools.lru_cache(maxsize=256)(self._query_vector_build)
        self._article_counts = functools.lru_cache(maxsize=4096)(self._article_count_build)
        self.kind_weights = {
            PHRASING: self.settings.phrasing_weight,
            TITLE: self.settings.title_weight,
            TAGS: self.settings.tags_weight,
            SECTION: self.settings.section_weight,
        }

    def _idf(self, unit_counts: list[tuple[Counter[str], Counter[str]]]) -> dict[str, float]:
        document_frequency: Counter[str] = Counter()
        for words, chars in unit_counts:
            document_frequency.update(words.keys())
            document_frequency.update(chars.keys())
        total = len(unit_counts)
        return {feature: math.log((1 + total) / (1 + df)) + 1.0 for feature, df in document_frequency.items()}

    def _block(self, counts: Counter[str], share: float) -> dict[str, float]:
        weights = {f: (1.0 + math.log(n)) * self.idf.get(f, 0.0) for f, n in counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values()))
        if norm == 0.0:
            return {}
        scale = math.sqrt(share) / norm
        return {f: w * scale for f, w in weights.items() if w}

    def _vector(self, words: Counter[str], chars: Counter[str], *, word_share: float) -> dict[str, float]:
        # Each block is normalised on its own so the cosine is word_share*word + rest*char.
        vector = self._block(words, word_share)
        if word_share < 1.0:
            vector.update(self._block(chars, 1.0 - word_share))
        return vector

    def _postings(self) -> dict[str, list[tuple[int, float]]]:
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for unit, vector in enumerate(self.unit_vectors):
            for feature, weight in vector.items():
                postings[feature].append((unit, weight))
        return dict(postings)

    def word_rarity(self, word: str) -> float:
        """The inverse document frequency of a word's stem; unseen words count as rarest."""
        return self.idf.get(f"w:{word_stem(word=word)}", self.max_idf)

    def article_count(self, stem: str) -> int:
        """How many articles have a word stem in any of their units."""
        return self._article_counts(stem)

    def _article_count_build(self, stem: str) -> int:
        return len({self.units[unit].article for unit, _ in self.postings.get(f"w:{stem}", ())})

    def query_vector(self, query: str) -> dict[str, float]:
        """The query's TF-IDF vector; one search asks for it several times (ranking, fusion, passages)."""
        return self._query_vectors(query)

    def _query_vector_build(self, query: str) -> dict[str, float]:
        return self._vector(*_counts(query, self.settings.language), word_share=self.settings.word_share)

    def _unit_scores(self, query: dict[str, float]) -> dict[int, float]:
        features = sorted((f for f in query if f in self.postings), key=lambda f: len(self.postings[f]))
        if sum(len(self.postings[f]) for f in features) <= self.settings.posting_budget:
            return self._walk(query, features)
        # Large help centre: the rarest features (the most telling ones) pick candidates, which
        # are then scored exactly, so a score means the same whatever the index size.
        walked, rare = 0, list[str]()
        for feature in features:
            walked += len(self.postings[feature])
            if rare and walked > self.settings.posting_budget:
                break
            rare.append(feature)
        partial = self._walk(query, rare)
        candidates = heapq.nlargest(self.settings.rescored_units, partial, key=partial.__getitem__)
        return {unit: self._cosine(query, self.unit_vectors[unit]) for unit in candidates}

    def _walk(self, query: dict[str, float], features: list[str]) -> dict[int, float]:
        scores: dict[int, float] = defaultdict(float)
        for feature in features:
            weight = query[feature]
            for unit, unit_weight in self.postings[feature]:
                scores[unit] += weight * unit_weight
        return scores

    @staticmethod
    def _cosine(query: dict[str, float], vector: dict[str, float]) -> float:
        # The shared features by a set intersection (in C), then products over those few only:
        # half the time of a lookup per feature, on every unit of every candidate of every search.
        # fsum is exact whatever order the set yields the features in.
        return math.fsum(query[feature] * vector[feature] for feature in query.keys() & vector.keys())

    def _article_scores(self, unit_scores: dict[int, float]) -> dict[int, tuple[float, float, int]]:
        best: dict[int, tuple[float, float, int]] = {}
        for unit, raw in unit_scores.items():
            record = self.units[unit]
            score = raw * self.kind_weights[record.kind]
            first, second, first_unit = best.get(record.article, (0.0, 0.0, -1))
            if score > first:
                best[record.article] = (score, first, unit)
            elif score > second:
                best[record.article] = (first, score, first_unit)
        return best

    def search(self, query: str, *, limit: int = 5) -> list[ArticleMatch]:
        """The best ``limit`` articles for ``query``, best first; an empty list if nothing matches."""
        vector = self.query_vector(query)
        if not vector:
            return []
        best = self._article_scores(self._unit_scores(vector))
        bonus = self.settings.second_unit_bonus
        ranked = heapq.nlargest(limit, best.items(), key=lambda item: item[1][0] + bonus * item[1][1])
        return [
            ArticleMatch(
                key=self.articles[article].key,
                score=round(min(1.0, first + bonus * second), 6),
                unit_text=self.units[unit].text,
            )
            for article, (first, second, unit) in ranked
        ]

    def known_word_share(self, query: str, *, key: str) -> float:
        """The share of the query's words (stems, weighted by rarity; unseen ones count as the rarest)
        that stand somewhere in the article ``key``: its title, tags, phrasings or sections."""
        words, _ = text_features(text=query, language=self.settings.language)
        stems = [word for word in dict.fromkeys(words) if word.startswith("w:")]
        if not stems:
            return 0.0
        known = {feature for unit in self.units_by_key.get(key, ()) for feature in self.unit_vectors[unit]}
        rarity = {stem: self.idf.get(stem, self.max_idf) for stem in stems}
        return sum(weight for stem, weight in rarity.items() if stem in known) / sum(rarity.values())

    def score_articles(self, query: str, *, keys: Iterable[str]) -> list[ArticleMatch]:
        """Exact scores of the given articles (used to fuse database full-text candidates)."""
        vector = self.query_vector(query)
        unit_scores = {
            unit: self._cosine(vector, self.unit_vectors[unit])
            for key in set(keys)
            for unit in self.units_by_key.get(key, ())
        }
        best = self._article_scores(unit_scores)
        bonus = self.settings.second_unit_bonus
        return [
            ArticleMatch(
                key=self.articles[a].key, score=round(min(1.0, f + bonus * s), 6), unit_text=self.units[u].text
            )
            for a, (f, s, u) in best.items()
        ]

    def section_scores(self, vector: dict[str, float], *, key: str) -> list[SectionScore]:
        """Each section of one article (in order) with its cosine similarity to a query vector."""
        return [
            SectionScore(
                heading=self.units[unit].heading,
                text=self.units[unit].text,
                score=self._cosine(vector, self.unit_vectors[unit]),
            )
            for unit in self.units_by_key.get(key, ())
            if self.units[unit].kind == SECTION
        ]
