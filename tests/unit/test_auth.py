"""API token resolution and checking."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from vnstitch.northbound.auth import ENV_TOKEN, ApiToken, load_or_create_token


def test_env_beats_config_beats_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_TOKEN, "from-env")
    assert load_or_create_token("from-config", tmp_path / "t").value == "from-env"
    monkeypatch.delenv(ENV_TOKEN)
    assert load_or_create_token("from-config", tmp_path / "t").value == "from-config"


def test_generated_token_is_owner_only_and_stable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_TOKEN, raising=False)
    path = tmp_path / "state" / "api-token"
    first = load_or_create_token(None, path)
    assert str(path) in first.source and len(first.value) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_token(None, path).value == first.value


def test_check_distinguishes_missing_and_wrong() -> None:
    token = ApiToken("s3cret", "test")
    assert token.check(None) == 401
    assert token.check("Basic s3cret") == 401
    assert token.check("Bearer nope") == 403
    assert token.check("Bearer s3cret") is None


def test_the_scheme_name_is_case_insensitive_the_token_is_not() -> None:
    token = ApiToken("s3cret", "test")
    assert token.check("bearer s3cret") is None and token.check("BEARER s3cret") is None
    assert token.check("Bearer S3CRET") == 403
