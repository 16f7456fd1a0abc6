"""The admin dashboard over a generated month: every chart is drawn, from real figures."""

from __future__ import annotations

import pytest

from tests.browser.conftest import screenshot_save

# Each test starts the product under daphne and drives Chromium.
pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHARTS = ("cost_by_tier", "cost_per_resolved", "answer_share", "rates", "satisfaction", "time_to_first_token")


def test_dashboard_charts_render_the_demo_month(product_start, browser_context_new):
    product = product_start(commands=("generate_demo_month --per-day 12",))
    page, watch = browser_context_new(local_origins={product.url}, viewport={"width": 1280, "height": 1000})
    page.goto(product.url + "/admin/dashboard/")
    assert "/admin/login/" in page.url  # staff only
    page.get_by_label("Username").fill("admin")
    page.get_by_label("Password").fill("supportbot-admin")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/dashboard/")

    conversations = int((page.locator("#kpi-conversations").text_content() or "0").strip())
    assert conversations > 100
    for chart in CHARTS:
        marks = page.locator(f'[data-chart="{chart}"] svg').locator("rect, path, circle")
        marks.first.wait_for()
        assert marks.count() >= 3, chart
    # A month of days, each with a stacked bar of at least one tier.
    assert page.locator('[data-chart="cost_by_tier"] svg rect').count() >= 28
    assert page.locator("#day-table tbody tr").count() >= 28
    screenshot_save(page, "dashboard", full_page=True)
    assert watch.page_errors == [] and watch.console_errors == []
