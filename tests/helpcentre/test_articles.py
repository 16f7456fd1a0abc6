from __future__ import annotations

import pytest

from helpcentre.articles import ArticleData, ArticleFormatError, article_parse_markdown, article_render_markdown

ARTICLE = ArticleData(
    key="EMI",
    title="Paying in instalments: EMI",
    slug="emi",
    body="Pay monthly.\n\n## Banks\n\n- Partner banks only.\n",
    tags=("payments", "emi"),
    phrasings=("can I pay monthly", "- starts with a dash", "Order #"),
    published=False,
)


def test_render_then_parse_gives_the_same_article() -> None:
    assert article_parse_markdown(text=article_render_markdown(article=ARTICLE), source="EMI.md") == ARTICLE


def test_comments_and_quoted_values_in_front_matter() -> None:
    text = '---\nkey: K1\ntitle: "A: B"\nslug: a-b\n# a comment\nphrasings:\n  - one\n  # skipped\n  - two\n---\nBody\n'
    article = article_parse_markdown(text=text, source="k1.md")
    assert (article.title, article.phrasings, article.published) == ("A: B", ("one", "two"), True)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("key: K\n", "missing front matter"),
        ("---\nkey: K\ntitle: T\nslug: s\nBody", "not closed"),
        ("---\ntitle: T\nslug: s\n---\nBody", "missing field(s): key"),
        ("---\nkey: K\ntitle: T\nslug: Not A Slug\n---\nBody", "invalid slug"),
        ("---\nkey: K\ntitle: T\nslug: s\npublished: maybe\n---\nBody", "published must be"),
        ("---\nkey: K\ntitle: T\nslug: s\n---\n", "body is empty"),
        ("---\nkey: K\n  - stray\n---\nBody", "list item outside"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(ArticleFormatError, match="bad.md") as caught:
        article_parse_markdown(text=text, source="bad.md")
    assert message in str(caught.value)
