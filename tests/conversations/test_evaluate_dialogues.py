"""manage.py evaluate_dialogues: dialogues played through the real widget consumer, on the offline engine."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from channels.db import database_sync_to_async

from conversations.dialogues import Dialogue, Turn, dialogues_read
from conversations.management.commands.evaluate_dialogues import dialogues_play
from helpcentre.services import demo_helpcentre_load

REPO_ROOT = Path(__file__).resolve().parents[2]
DIALOGUES = [
    {
        "name": "shopping",
        "turns": [
            {"say": "hello there", "expect": "abstain", "facts": [r"\bhello\b"]},
            {"say": "how much is the ergo queen 8 inch?", "expect": "MATTRESS_COST", "facts": ["20,499"]},
            {"say": "what's the weather tomorrow?", "expect": "abstain", "facts": ["not sure"]},
            {"say": "and the king?", "expect": "MATTRESS_COST", "facts": ["23,999"]},
        ],
    },
    {"name": "person", "turns": [{"say": "can I talk to a person?", "expect": "human"}]},
]


def _dialogues(tmp_path: Path, content: list[dict]) -> list[Dialogue]:
    path = tmp_path / "dialogues.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    return dialogues_read(path=path, known_keys={"MATTRESS_COST", "WARRANTY"})


@pytest.mark.django_db(transaction=True)
async def test_each_turn_is_played_through_the_consumer_and_judged(tmp_path: Path) -> None:
    await database_sync_to_async(demo_helpcentre_load)()
    report = await dialogues_play(dialogues=_dialogues(tmp_path, DIALOGUES))
    figures = report.as_dict()
    assert (figures["dialogues"], figures["turns"]) == (2, 5)
    assert figures["all_ok"] == 1.0, [(v.turn.say, v.outcome) for _, v in report.failures()]
    person = report.verdicts[-1][1]
    assert person.outcome.handed_off and person.outcome.cited_keys == ()


@pytest.mark.django_db(transaction=True)
async def test_a_wrong_expectation_is_counted_wrong(tmp_path: Path) -> None:
    await database_sync_to_async(demo_helpcentre_load)()
    wrong = [{"name": "w", "turns": [{"say": "how much is the ergo queen 8 inch?", "expect": "WARRANTY"}]}]
    report = await dialogues_play(dialogues=_dialogues(tmp_path, wrong))
    assert report.as_dict()["all_ok"] == 0.0
    assert report.verdicts[0][1].outcome.cited_keys == ("MATTRESS_COST",)


def test_turn_kinds_follow_the_expectation() -> None:
    assert [Turn(say="x", expect=e).kind for e in ("A|B", "abstain", "human", "any")] == [
        "article",
        "abstain",
        "human",
        "any",
    ]


def _manage(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {name: value for name, value in os.environ.items() if name not in ("DATABASE_URL", "REDIS_URL")}
    environment.update({"SUPPORTBOT_DATA_DIR": str(data_dir), "DJANGO_SETTINGS_MODULE": "supportbot.settings"})
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_the_command_prints_one_json_object_and_leaves_the_configured_database_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    assert _manage("migrate", "--noinput", data_dir=data_dir).returncode == 0
    assert _manage("load_demo_helpcentre", data_dir=data_dir).returncode == 0
    path = tmp_path / "dialogues.json"
    path.write_text(json.dumps(DIALOGUES[:1]), encoding="utf-8")

    result = _manage("evaluate_dialogues", str(path), "--json", data_dir=data_dir)

    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert {"all_ok", "article_ok", "article_and_facts_ok", "abstain_ok", "human_ok"} <= figures.keys()
    assert figures["all_ok"] == 1.0 and figures["turns"] == 4
    # The dialogues were played in a database of their own: the product's has no conversation.
    with sqlite3.connect(data_dir / "db.sqlite3") as database:
        assert database.execute("select count(*) from conversations_conversation").fetchone() == (0,)
