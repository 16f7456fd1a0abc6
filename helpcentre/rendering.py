"""Markdown to HTML for public article pages, with raw HTML in articles shown as text."""

from __future__ import annotations

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

# "js-default": CommonMark plus tables, with raw HTML disabled (escaped) and links limited to
# safe schemes (markdown-it's validateLink refuses javascript:, vbscript:, file: and most data:).
_markdown = MarkdownIt("js-default")


def markdown_render(*, text: str) -> SafeString:
    return mark_safe(_markdown.render(text))  # noqa: S308 - markdown-it escaped every raw HTML fragment
