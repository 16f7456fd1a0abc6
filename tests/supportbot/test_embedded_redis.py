"""The private Redis ``make run`` starts: in the data folder it is told, created when missing."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import redis

from supportbot.embedded_redis import default_socket_path


def test_the_socket_goes_in_a_data_folder_that_does_not_exist_yet(tmp_path: Path):
    data_dir = tmp_path / "fresh" / "data"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "SUPPORTBOT_DATA_DIR": str(data_dir), "PYTHONPATH": str(root)}
    process = subprocess.Popen([sys.executable, "-m", "supportbot.embedded_redis"], env=env, cwd=tmp_path)
    try:
        socket_path = data_dir / "redis.sock"
        deadline = time.monotonic() + 15
        while not socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert redis.Redis(unix_socket_path=str(socket_path)).ping()
        assert not (tmp_path / "var").exists()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_without_a_data_folder_it_is_var(monkeypatch, tmp_path: Path):
    monkeypatch.delenv("SUPPORTBOT_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert default_socket_path() == tmp_path / "var" / "redis.sock"
