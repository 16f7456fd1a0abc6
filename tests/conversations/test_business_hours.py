from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured

from conversations import business_hours


def test_business_hours_parse_and_next_opening(settings):
    settings.TIME_ZONE = "UTC"
    hours = business_hours.business_hours_parse("mon-fri 09:00-17:30; sat 10:00-14:00")
    assert set(hours.days) == {0, 1, 2, 3, 4, 5}
    friday_evening = datetime(2026, 11, 27, 18, 0, tzinfo=UTC)  # a Friday
    assert not business_hours.business_hours_open(at=friday_evening, hours=hours)
    assert business_hours.business_hours_open(at=friday_evening - timedelta(hours=2), hours=hours)
    opening = business_hours.business_hours_next_opening(at=friday_evening, hours=hours)
    assert (opening.weekday(), opening.hour) == (5, 10)
    assert business_hours.business_hours_parse("always").always


@pytest.mark.parametrize("spec", ["mon-fri 9-17", "moon 09:00-17:00", "mon 17:00-09:00", "mon 25:00-26:00"])
def test_unreadable_business_hours_fail_loudly_naming_the_setting(spec):
    with pytest.raises(ImproperlyConfigured, match="SUPPORTBOT_BUSINESS_HOURS"):
        business_hours.business_hours_parse(spec)
