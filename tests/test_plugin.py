"""The pytest plugin's fixtures, and cassette recording that keeps secrets out."""

from __future__ import annotations

import os

import pytest
import vcr
import yaml

from freshbooks_orm import Client, Invoice
from freshbooks_orm.testing import freshbooks_path_matcher


def test_sandbox_fixture_defaults(freshbooks_sandbox):
    assert freshbooks_sandbox.url.startswith("http://127.0.0.1:")
    assert len(freshbooks_sandbox.invoices) == 30


@pytest.mark.freshbooks_sandbox(invoices=12, seed=5)
def test_sandbox_marker_sizes_the_sandbox(freshbooks_sandbox):
    assert len(freshbooks_sandbox.invoices) == 12


def test_client_fixture_is_the_default_and_exported(freshbooks_sandbox, freshbooks_client):
    visible = [i for i in freshbooks_sandbox.invoices.values() if i["vis_state"] != 1]
    assert Invoice.objects.count() == len(visible)  # no .using(): the default client
    assert os.environ["FRESHBOOKS_API_URL"] == freshbooks_sandbox.url
    assert Client().account_id == freshbooks_sandbox.account_id  # built from the environment


def record_session(sandbox, cassette_path, config):
    recorder = vcr.VCR(**config)
    recorder.register_matcher("freshbooks_path", freshbooks_path_matcher)
    with recorder.use_cassette(str(cassette_path)):
        client = Client(
            account_id=sandbox.account_id,
            base_url=sandbox.url,
            client_id=sandbox.client_id,
            client_secret=sandbox.client_secret,
            redirect_uri=sandbox.redirect_uri,
            refresh_token=sandbox.refresh_token,
        )
        inv = Invoice.objects.using(client).include("lines").first()
        inv.notes = "recorded"
        inv.save()
        return client, inv.id


def test_recorded_cassettes_hold_no_secret_and_no_account_id(
    freshbooks_sandbox, freshbooks_vcr_config, tmp_path
):
    sb = freshbooks_sandbox
    cassette = tmp_path / "session.yaml"
    client, _ = record_session(sb, cassette, {**freshbooks_vcr_config, "record_mode": "all"})
    text = cassette.read_text()
    token_after_refresh = client.tokens.access_token
    for secret in (sb.access_token, token_after_refresh, sb.client_secret, sb.refresh_token):
        assert secret and secret not in text
    assert sb.account_id not in text
    assert "Bearer REDACTED" in text and "ACCOUNT_ID" in text
    data = yaml.safe_load(text)
    token_exchange = [i for i in data["interactions"] if i["request"]["uri"].endswith("/token")]
    assert token_exchange, "the refresh was recorded"
    assert "REDACTED" in token_exchange[0]["request"]["body"]


def test_recorded_cassette_replays_under_another_account(
    freshbooks_sandbox, freshbooks_vcr_config, tmp_path
):
    sb = freshbooks_sandbox
    cassette = tmp_path / "session.yaml"
    _, recorded_id = record_session(sb, cassette, {**freshbooks_vcr_config, "record_mode": "all"})
    url = sb.url
    sb.stop()  # replay must not need the server
    recorder = vcr.VCR(**{**freshbooks_vcr_config, "record_mode": "none"})
    recorder.register_matcher("freshbooks_path", freshbooks_path_matcher)
    with recorder.use_cassette(str(cassette)):
        client = Client("any-token", "OtherAcct", base_url=url)
        inv = Invoice.objects.using(client).include("lines").first()
        assert inv.id == recorded_id
        inv.notes = "recorded"
        inv.save()
        assert not inv.is_dirty
