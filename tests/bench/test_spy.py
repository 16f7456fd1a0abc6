"""Reading py-spy's collapsed stacks back: phases by function name, files without machine paths."""

from __future__ import annotations

from pathlib import Path

from bench import spy, stack


def test_samples_are_split_by_the_first_phase_named_on_the_stack(tmp_path: Path) -> None:
    root = stack.ROOT
    raw = tmp_path / "product.txt"
    raw.write_text(
        f'process 1:"uvicorn";thread (8): ThreadPoolExecutor-0_0;_job_claim ({root}/conversations/answering.py:9) 6\n'
        f"thread (7): MainThread;run ({root}/x.py:1);_publish ({root}/conversations/answering.py:80) 3\n"
        "Runner.run (/usr/lib/python3.11/asyncio/runners.py:118) 1\n"
    )
    samples = spy.Samples.read([raw])
    phases = [("claim", ("_job_claim",)), ("tokens", ("_publish",)), ("loop", ("^Runner.run",))]

    assert samples.total == 10
    assert samples.by_phase(phases, other="other") == [("claim", 6), ("tokens", 3), ("loop", 1), ("other", 0)]
    assert samples.inclusive_product(1) == [("`_job_claim` (conversations/answering.py)", 6)]
    assert samples.self_by_module(3)[-1] == ("asyncio/runners.py", 1)
    assert samples.thread_names() == {8: "ThreadPoolExecutor-0_0", 7: "MainThread"}
    assert samples.top_product_function(7) == "`_publish` (conversations/answering.py) 100 %"
