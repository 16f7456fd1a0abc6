from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Compose tests build images and start containers: they run only when `-m compose` asks for them."""
    if "compose" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="builds the image and starts containers: run with -m compose (make compose-test)")
    for item in items:
        if item.get_closest_marker("compose"):
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Keep each phase's report on the test, so a fixture can print the stack's logs after a failure."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
