"""Runs on SQLite by default and on PostgreSQL when DATABASE_URL points at one."""

from __future__ import annotations

import pytest
from django.db import connection

from helpcentre.fts import fts_search
from helpcentre.models import Article

pytestmark = pytest.mark.skipif(connection.vendor not in ("sqlite", "postgresql"), reason="no full-text backend")


@pytest.fixture
def articles(db) -> None:
    Article.objects.create(
        key="REMOTE", title="The remote", slug="remote", body="Replace the AAA batteries, then re-pair it."
    )
    Article.objects.create(
        key="POWER",
        title="No power",
        slug="power",
        body="Plug the base into a wall socket.",
        phrasings="base not turning on",
    )
    Article.objects.create(
        key="HIDDEN", title="Batteries draft", slug="draft", body="batteries batteries", published=False
    )


def test_finds_a_word_that_only_appears_in_a_body(articles: None) -> None:
    assert [key for key, _ in fts_search(query="my batteries are flat")] == ["REMOTE"]


def test_stemming_matches_other_forms(articles: None) -> None:
    assert [key for key, _ in fts_search(query="plugging sockets")] == ["POWER"]


def test_edits_and_deletes_are_searchable_at_once(articles: None) -> None:
    Article.objects.filter(key="POWER").update(body="Check the fuse.")
    assert [key for key, _ in fts_search(query="fuse")] == ["POWER"]
    Article.objects.filter(key="POWER").delete()
    assert fts_search(query="fuse") == []


def test_operator_characters_are_not_parsed_as_syntax(articles: None) -> None:
    assert [key for key, _ in fts_search(query='"remote" AND (NEAR * -) OR:')] == ["REMOTE"]
    assert fts_search(query="?! ... ***") == []


@pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5's vocabulary is SQLite's")
def test_words_the_stemmer_folds_into_a_common_term_are_left_out(articles: None) -> None:
    # FTS5's Porter stemmer reads "plugs" and "plugging" as "plug"; here in two articles.
    Article.objects.create(key="PLUGS", title="Plugs", slug="plugs", body="Which plugs fit?")
    assert {key for key, _ in fts_search(query="plugs")} == {"POWER", "PLUGS"}
    assert fts_search(query="plugs", max_documents=1) == []
    assert [key for key, _ in fts_search(query="plugs aaa", max_documents=1)] == ["REMOTE"]
    assert {key for key, _ in fts_search(query="plugs", max_documents=2)} == {"POWER", "PLUGS"}


@pytest.fixture
def translated(db) -> None:
    Article.objects.create(key="RETURNS", title="Returns", slug="returns", body="Return the mattress for a refund.")
    Article.objects.create(
        key="RETURNS", language="es", title="Devoluciones", slug="devoluciones", body="Devolución con reembolso."
    )
    Article.objects.create(
        key="RETURNS", language="hi", title="वापसी", slug="vapasi", body="गद्दा वापस करने पर रिफ़ंड मिलता है।"
    )


def test_a_language_is_searched_without_diacritics_and_only_in_its_own_articles(translated):
    assert [key for key, _ in fts_search(query="devolucion reembolso", language="es")] == ["RETURNS"]
    assert fts_search(query="devolucion", language="hi") == []
    assert fts_search(query="refund", language="es") == []


def test_hindi_words_with_their_vowel_signs_are_searched(translated):
    assert [key for key, _ in fts_search(query="गद्दा रिफ़ंड", language="hi")] == ["RETURNS"]


def test_english_search_leaves_translations_out(translated):
    assert [key for key, _ in fts_search(query="refund")] == ["RETURNS"]
    assert fts_search(query="devolucion") == []
