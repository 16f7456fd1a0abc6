"""Pages in the browser's language: LocaleMiddleware, the shop's default, Django's own admin translations."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_default_language_the_shop_does_not_offer_stops_start_up_naming_the_variable():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**os.environ, "LANGUAGE_CODE": "tlh"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "LANGUAGE_CODE" in result.stderr.strip().splitlines()[-1]


def test_the_console_sign_in_page_follows_the_browsers_language(client):
    page = client.get("/console/login/", HTTP_ACCEPT_LANGUAGE="hi-IN,hi;q=0.9,en;q=0.5").content.decode()
    assert '<html lang="hi" dir="ltr">' in page
    assert "एजेंट कंसोल" in page and "Agent console" not in page


def test_without_an_offered_browser_language_pages_use_the_shops_default(client, settings):
    settings.LANGUAGE_CODE = "es"
    page = client.get("/console/login/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert '<html lang="es"' in page and "Iniciar sesión" in page


@pytest.mark.django_db
def test_the_help_centre_is_right_to_left_in_arabic(client):
    page = client.get("/help/", HTTP_ACCEPT_LANGUAGE="ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in page and "كيف يمكننا مساعدتك؟" in page


@pytest.mark.django_db
def test_the_admin_comes_with_djangos_own_translations(client):
    page = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert "Django-Verwaltung" in page and "Zum Hauptinhalt springen" in page  # none of these words are ours
