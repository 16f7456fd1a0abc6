from __future__ import annotations

import pytest

from routing.knowledge.services import ImportResult, demo_helpcentre_load


@pytest.fixture
def demo_helpcentre(db) -> ImportResult:
    return demo_helpcentre_load()
