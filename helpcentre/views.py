from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from helpcentre.rendering import markdown_render
from helpcentre.selectors import (
    article_published_get,
    article_question_answer,
    article_translations_list,
    articles_by_tag,
    help_search,
)

# A search or a question on a page is one line from a form, not an essay.
QUERY_MAX_CHARS = 300


def _query(request: HttpRequest) -> str:
    return request.GET.get("q", "").strip()[:QUERY_MAX_CHARS]


def help_index(request: HttpRequest) -> HttpResponse:
    query = _query(request)
    return render(
        request,
        "knowledge/index.html",
        {"query": query, "results": help_search(query=query) if query else [], "groups": articles_by_tag()},
    )


def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = article_published_get(slug=slug)
    if article is None:
        raise Http404("No such article")
    question = _query(request)
    answer = article_question_answer(article=article, question=question) if question else None
    return render(
        request,
        "knowledge/article.html",
        {
            "article": article,
            "body_html": markdown_render(text=article.body),
            "question": question,
            "answer": answer,
            "translations": article_translations_list(article=article),
        },
    )
