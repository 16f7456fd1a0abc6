from __future__ import annotations

from django.urls import path

from helpcentre import views

app_name = "knowledge"

# Mounted at help/ by the project URLconf; Article.url assumes that prefix.
urlpatterns = [
    path("", views.help_index, name="index"),
    path("<slug:slug>/", views.help_article, name="article"),
]
