"""Contract tests replay cassettes of FreshBooks' documented exchanges (``cassettes/doc_*.yaml``).

Replay is the default (pytest-recording's ``--record-mode=none``): any drift in the method, path,
query or JSON body the library sends fails the test.  To re-record against a real account, put
``FRESHBOOKS_ACCESS_TOKEN`` and ``FRESHBOOKS_ACCOUNT_ID`` in the environment (and the ids of a
customer and invoice you may write to in ``FRESHBOOKS_CONTRACT_CUSTOMERID`` /
``FRESHBOOKS_CONTRACT_INVOICEID``), delete the cassettes and run
``pytest tests/contract --record-mode=once``.  Recording goes through
``freshbooks_orm.testing.vcr_config``: the Authorization header, tokens and secrets are redacted
and the account id becomes ``ACCOUNT_ID``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from freshbooks_orm import Client

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="module")
def vcr_config(freshbooks_vcr_config):
    return freshbooks_vcr_config


@pytest.fixture
def contract_client(monkeypatch) -> Client:
    """A live client when credentials are in the environment (recording), else a replay one."""
    if os.environ.get("FRESHBOOKS_ACCESS_TOKEN") and os.environ.get("FRESHBOOKS_ACCOUNT_ID"):
        return Client()
    return Client("replayed-token", "zDmNq", base_url="https://api.freshbooks.com")


@pytest.fixture
def recorded():
    """Read a cassette's interactions, bodies parsed, to compare results against."""
    return read_cassette


def read_cassette(name: str) -> list[dict]:
    data = yaml.safe_load((CASSETTES / f"{name}.yaml").read_text())
    out = []
    for item in data["interactions"]:
        request, response = item["request"], item["response"]
        out.append(
            {
                "method": request["method"],
                "uri": request["uri"],
                "body": json.loads(request["body"]) if request["body"] else None,
                "response": json.loads(response["body"]["string"]),
            }
        )
    return out
