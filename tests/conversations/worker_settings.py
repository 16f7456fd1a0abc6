"""Settings for a Celery worker started by a test: the product's, pointed at the test database.

The test database's name is only known inside the test run (SQLite's test file, or PostgreSQL's
``test_`` database), so the test passes it in; the summary delay widens the window in which the
test kills the worker mid-summary.
"""

from __future__ import annotations

import os

from supportbot.settings import *  # noqa: F403
from supportbot.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["SUPPORTBOT_TEST_DATABASE_NAME"]
SUPPORTBOT_SUMMARY_DELAY_MS = int(os.environ.get("SUPPORTBOT_SUMMARY_DELAY_MS", "0"))
