from __future__ import annotations

from django.contrib import admin

from helpcentre.models import Article


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "key", "language", "slug", "published", "updated_at")
    list_filter = ("language", "published", "updated_at")
    search_fields = ("title", "key", "slug", "tags", "phrasings")
    prepopulated_fields = {"slug": ("title",)}
    readonly_fields = ("updated_at",)
    list_per_page = 50
    # Large help centres: no COUNT(*) over the whole table on every page.
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("title", "key", "language", "slug", "published", "updated_at")}),
        ("Content", {"fields": ("body", "tags", "phrasings")}),
    )
