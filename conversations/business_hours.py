"""When the support team is at work: parsed from one setting, checked in the configured time zone.

``SUPPORTBOT_BUSINESS_HOURS`` reads like ``"mon-fri 09:00-17:30; sat 10:00-14:00"``; ``"always"``
(the default, so a demo works at any hour) means someone is always on duty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_RULE = re.compile(r"^(?P<first>[a-z]{3})(?:-(?P<last>[a-z]{3}))?\s+(?P<open>\d{1,2}:\d{2})-(?P<close>\d{1,2}:\d{2})$")


@dataclass(frozen=True)
class BusinessHours:
    # weekday (0 = Monday) -> (opens, closes); an empty mapping with ``always`` set means 24/7.
    days: dict[int, tuple[time, time]]
    always: bool = False


def _clock(value: str, *, spec: str) -> time:
    hours, minutes = (int(part) for part in value.split(":"))
    if hours > 23 or minutes > 59:
        raise ImproperlyConfigured(f"SUPPORTBOT_BUSINESS_HOURS has an impossible time {value!r} in {spec!r}")
    return time(hours, minutes)


def _day(name: str, *, spec: str) -> int:
    if name not in DAYS:
        raise ImproperlyConfigured(
            f"SUPPORTBOT_BUSINESS_HOURS: unknown day {name!r} in {spec!r} (use {', '.join(DAYS)})"
        )
    return DAYS.index(name)


def business_hours_parse(spec: str) -> BusinessHours:
    """Parse the setting; raises ImproperlyConfigured naming it when it cannot be read."""
    spec = spec.strip().lower()
    if spec in {"", "always", "24/7"}:
        return BusinessHours(days={}, always=True)
    days: dict[int, tuple[time, time]] = {}
    for rule in filter(None, (part.strip() for part in spec.split(";"))):
        match = _RULE.match(rule)
        if match is None:
            raise ImproperlyConfigured(
                f"SUPPORTBOT_BUSINESS_HOURS: cannot read {rule!r}; write e.g. 'mon-fri 09:00-17:00'"
            )
        first = _day(match["first"], spec=spec)
        last = _day(match["last"] or match["first"], spec=spec)
        opens, closes = _clock(match["open"], spec=spec), _clock(match["close"], spec=spec)
        if closes <= opens:
            raise ImproperlyConfigured(f"SUPPORTBOT_BUSINESS_HOURS: {rule!r} closes before it opens")
        for weekday in range(first, last + 1):
            days[weekday] = (opens, closes)
    return BusinessHours(days=days)


def business_hours() -> BusinessHours:
    return business_hours_parse(getattr(settings, "SUPPORTBOT_BUSINESS_HOURS", "always"))


def business_hours_open(*, at: datetime, hours: BusinessHours | None = None) -> bool:
    hours = hours or business_hours()
    if hours.always:
        return True
    local = at.astimezone(ZoneInfo(settings.TIME_ZONE))
    window = hours.days.get(local.weekday())
    return window is not None and window[0] <= local.time() < window[1]


def business_hours_next_opening(*, at: datetime, hours: BusinessHours | None = None) -> datetime | None:
    """The next moment the team is at work (``at`` itself when open); None when no day has hours."""
    hours = hours or business_hours()
    if hours.always or business_hours_open(at=at, hours=hours):
        return at
    zone = ZoneInfo(settings.TIME_ZONE)
    local = at.astimezone(zone)
    for days_ahead in range(8):
        day = (local + timedelta(days=days_ahead)).date()
        window = hours.days.get(day.weekday())
        if window is None:
            continue
        opening = datetime.combine(day, window[0], tzinfo=zone)
        if opening > local:
            return opening
    return None
