"""The OpenAPI schema: valid, warning-free, served, and the copy in docs/ is the current one."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[3]
CHECKED_IN = ROOT / "docs" / "openapi.yaml"


def test_the_schema_is_valid_openapi_without_warnings_and_docs_has_the_current_one(tmp_path):
    generated = tmp_path / "openapi.yaml"
    # --validate checks it against the OpenAPI 3 specification; --fail-on-warn turns any view the
    # generator cannot describe fully into a failure (SystemExit).
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(generated), stderr=io.StringIO())
    assert generated.read_text() == CHECKED_IN.read_text(), (
        "docs/openapi.yaml is out of date: python manage.py spectacular --file docs/openapi.yaml"
    )


def test_every_path_is_described_and_asks_for_the_token():
    schema = yaml.safe_load(CHECKED_IN.read_text())
    assert schema["components"]["securitySchemes"]["apiToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token made in the admin.",
    }
    operations = [(path, method, op) for path, item in schema["paths"].items() for method, op in item.items()]
    assert len(operations) == 9
    for path, method, operation in operations:
        assert operation["security"] == [{"apiToken": []}], (path, method)
        assert operation.get("summary"), (path, method)


@pytest.mark.django_db
def test_the_schema_is_served_to_anyone(client):
    response = client.get("/api/v1/schema/")
    assert response.status_code == 200
    assert yaml.safe_load(response.content)["info"]["title"] == "Supportbot API"
    as_json = client.get("/api/v1/schema/", {"format": "json"})
    assert as_json.status_code == 200 and as_json.json()["openapi"].startswith("3.")
