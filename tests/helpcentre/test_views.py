from __future__ import annotations

import pytest

from helpcentre.models import Article
from helpcentre.selectors import answer_compose

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.helpcentre.urls")]


def test_index_lists_published_articles(client, demo_helpcentre) -> None:
    Article.objects.filter(key="EMI").update(published=False)
    page = client.get("/help/").content.decode()
    assert "Cash on delivery (COD)" in page and 'href="/help/cash-on-delivery/"' in page
    assert "Paying in instalments (EMI)" not in page


def test_article_page_renders_markdown_and_escapes_html(client) -> None:
    Article.objects.create(
        key="X", title="Safe", slug="safe", body="**Bold** <script>alert(1)</script>\n\n[x](javascript:alert(1))"
    )
    page = client.get("/help/safe/").content.decode()
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert 'href="javascript:' not in page


def test_article_page_links_its_published_translations_by_their_own_names(client) -> None:
    Article.objects.create(key="RET", language="en", title="Returns", slug="returns", body="Return it.")
    Article.objects.create(key="RET", language="es", title="Devoluciones", slug="devoluciones", body="Devuélvelo.")
    Article.objects.create(key="RET", language="hi", title="वापसी", slug="vapasi", body="लौटाएँ।", published=False)
    Article.objects.create(key="OTHER", language="fr", title="Autre", slug="autre", body="Autre chose.")
    english = client.get("/help/returns/").content.decode()
    assert 'href="/help/devoluciones/" hreflang="es" lang="es">Español</a>' in english
    assert "/help/vapasi/" not in english and "/help/autre/" not in english
    spanish = client.get("/help/devoluciones/").content.decode()
    assert 'href="/help/returns/" hreflang="en" lang="en">English</a>' in spanish
    assert 'href="/help/devoluciones/" hreflang' not in spanish


def test_an_article_in_one_language_only_has_no_translations_list(client) -> None:
    Article.objects.create(key="ONE", title="Only", slug="only", body="Just English.")
    assert 'class="tags translations"' not in client.get("/help/only/").content.decode()


def test_unpublished_or_unknown_article_is_404(client) -> None:
    Article.objects.create(key="D", title="Draft", slug="draft", body="Soon", published=False)
    assert client.get("/help/draft/").status_code == 404
    assert client.get("/help/nope/").status_code == 404


def test_index_groups_articles_by_their_first_tag(client, demo_helpcentre) -> None:
    page = client.get("/help/").content.decode()
    liftbase = page.index(">liftbase</h2>")
    payments = page.index(">payments</h2>")
    # Groups in name order; each lists its articles.
    assert liftbase < payments
    assert page.index("LiftBase: error codes E01 to E08") > liftbase
    assert page.index("Cash on delivery (COD)") > payments


def test_search_shows_the_matching_part_of_the_best_article(client, demo_helpcentre) -> None:
    response = client.get("/help/", {"q": "E04"})
    results = response.context["results"]
    assert results[0].key == "LIFTBASE_ERROR_CODES"
    assert "Position sensor lost" in results[0].text
    assert "Position sensor lost" in response.content.decode()


def test_search_that_matches_nothing_says_so(client, demo_helpcentre) -> None:
    response = client.get("/help/", {"q": "zzqx vvbn"})
    assert response.context["results"] == []
    assert "No article matches" in response.content.decode()


def test_question_on_an_article_page_is_read_with_that_article_as_context(client, demo_helpcentre) -> None:
    response = client.get("/help/liftbase-error-codes/", {"q": "how long do I hold it?"})
    answer = response.context["answer"]
    assert answer.kind == "answer" and answer.citations[0].key == "LIFTBASE_ERROR_CODES"
    assert "10 seconds" in answer.text
    # The same question without the page has nothing to lean on.
    assert answer_compose(question="how long do I hold it?").kind == "not_sure"


def test_a_chat_opened_from_an_article_reads_it_in_the_customers_language_else_the_shops() -> None:
    from helpcentre.selectors import article_context_get

    # Titles chosen so that the alphabetical first is neither the customer's nor the shop's version.
    Article.objects.create(key="FW", language="en", title="Updating the firmware", slug="fw", body="Update.")
    Article.objects.create(key="FW", language="es", title="Actualizar el firmware", slug="fw-es", body="Actualiza.")
    Article.objects.create(key="FW", language="de", title="Aktualisieren", slug="fw-de", body="Aktualisiere.")
    assert article_context_get(key="FW", language="es").url == "/help/fw-es/"
    assert article_context_get(key="FW", language="hi").url == "/help/fw/"
    assert article_context_get(key="FW").title == "Updating the firmware"
    Article.objects.filter(key="FW", language="en").update(published=False)
    assert article_context_get(key="FW").url in ("/help/fw-es/", "/help/fw-de/")
    assert article_context_get(key="NOPE") is None
