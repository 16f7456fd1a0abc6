"""The Hindi and Spanish demo articles and the evaluation messages: well formed, and what they claim to be."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from helpcentre.articles import article_parse_markdown

DEMO = Path(__file__).resolve().parents[2] / "helpcentre" / "demo"
EVALUATION_CSV = DEMO.parent / "data" / "kb_eval_hi_es.csv"
LANGUAGES = ("hi", "es")
DEVANAGARI = re.compile(r"[\u0900-\u097F]")
OUT_OF_SCOPE = "NO_NODES_DETECTED"


def article_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.glob("*.md") if path.name != "README.md")


def english_articles() -> dict[str, str]:
    """key -> slug of the English demo articles."""
    articles = (article_parse_markdown(text=path.read_text(), source=path.name) for path in article_files(DEMO))
    return {article.key: article.slug for article in articles}


def translated_files(language: str) -> list[Path]:
    return article_files(DEMO / language)


def front_matter_language(text: str) -> str | None:
    match = re.search(r"^language:\s*(\S+)\s*$", text.split("\n---", 1)[0], re.MULTILINE)
    return match.group(1) if match else None


@pytest.mark.parametrize("language", LANGUAGES)
def test_translated_articles_parse_and_join_their_english_article_by_key(language):
    english = english_articles()
    files = translated_files(language)
    assert len(files) >= 10
    for path in files:
        text = path.read_text(encoding="utf-8")
        article = article_parse_markdown(text=text, source=path.name)
        assert front_matter_language(text) == language, path.name
        assert article.key in english and path.stem == article.key, path.name
        assert article.slug != english[article.key], path.name
        assert len(article.phrasings) >= 6, path.name
        if language == "hi":
            assert DEVANAGARI.search(article.title + article.body), path.name


def test_slugs_are_unique_across_languages():
    slugs = list(english_articles().values())
    slugs += [
        article_parse_markdown(text=path.read_text(), source=path.name).slug
        for language in LANGUAGES
        for path in translated_files(language)
    ]
    assert [slug for slug, count in Counter(slugs).items() if count > 1] == []


def evaluation_rows() -> list[dict[str, str]]:
    with EVALUATION_CSV.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert reader.fieldnames == ["sentence", "label", "language", "script"]
        return list(reader)


def test_evaluation_set_has_150_messages_in_hindi_and_spanish_with_known_labels():
    rows = evaluation_rows()
    keys = set(english_articles())
    assert len(rows) >= 150
    assert {row["language"] for row in rows} == set(LANGUAGES)
    assert all(row["label"] in keys or row["label"] == OUT_OF_SCOPE for row in rows)
    assert len({row["sentence"] for row in rows}) == len(rows)


@pytest.mark.parametrize("language", LANGUAGES)
def test_each_language_is_mostly_in_scope_over_many_articles_with_a_quarter_off_topic(language):
    rows = [row for row in evaluation_rows() if row["language"] == language]
    translated = {path.stem for path in translated_files(language)}
    in_scope = [row["label"] for row in rows if row["label"] != OUT_OF_SCOPE]
    assert len(rows) >= 75
    assert (len(rows) - len(in_scope)) / len(rows) >= 0.25
    assert len(in_scope) / len(rows) >= 0.55
    assert len(set(in_scope)) >= 20
    assert set(in_scope) <= translated  # every article asked about has a version in the language


def test_script_column_tells_devanagari_from_romanised_hindi():
    for row in evaluation_rows():
        assert row["script"] in ("Deva", "Latn"), row
        assert bool(DEVANAGARI.search(row["sentence"])) == (row["script"] == "Deva"), row
    assert any(row["language"] == "hi" and row["script"] == "Latn" for row in evaluation_rows())


def test_no_evaluation_message_is_a_phrasing_of_a_translated_article():
    def normalised(text: str) -> str:
        return text.strip().lower().rstrip("?.!¿¡ ")

    phrasings = {
        normalised(phrasing)
        for language in LANGUAGES
        for path in translated_files(language)
        for phrasing in article_parse_markdown(text=path.read_text(encoding="utf-8"), source=path.name).phrasings
    }
    assert [row["sentence"] for row in evaluation_rows() if normalised(row["sentence"]) in phrasings] == []
