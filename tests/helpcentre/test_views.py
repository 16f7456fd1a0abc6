from __future__ import annotations

import pytest

from helpcentre.models import Article

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


def test_unpublished_or_unknown_article_is_404(client) -> None:
    Article.objects.create(key="D", title="Draft", slug="draft", body="Soon", published=False)
    assert client.get("/help/draft/").status_code == 404
    assert client.get("/help/nope/").status_code == 404
