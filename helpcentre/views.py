from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from helpcentre.rendering import markdown_render
from helpcentre.selectors import article_published_get, articles_published_list


def help_index(request: HttpRequest) -> HttpResponse:
    return render(request, "knowledge/index.html", {"articles": articles_published_list()})


def help_article(request: HttpRequest, slug: str) -> HttpResponse:
    article = article_published_get(slug=slug)
    if article is None:
        raise Http404("No such article")
    return render(
        request, "knowledge/article.html", {"article": article, "body_html": markdown_render(text=article.body)}
    )
