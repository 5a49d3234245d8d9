"""CURVE key files: made at first start owner-only, loaded again, readable by zmq.auth; the
allow-list follows its directory."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import zmq
import zmq.auth

from vnstitch.northbound.wire_keys import (
    AUTHORIZED_DIR,
    CLIENT_NAME,
    SERVER_NAME,
    AuthorizedKeys,
    KeyFileError,
    is_z85_key,
    load_or_create_client_keypair,
    load_or_create_keypair,
    read_public_key,
    write_public_key,
)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_keypair_is_made_owner_only_at_first_start_and_loaded_after(tmp_path: Path) -> None:
    key_dir = tmp_path / "state" / "curve"
    first = load_or_create_keypair(key_dir, SERVER_NAME, zmq.curve_keypair)
    assert "generated" in first.source and is_z85_key(first.public) and is_z85_key(first.secret)
    assert _mode(key_dir) == 0o700
    assert _mode(key_dir / "controller.key_secret") == 0o600
    assert _mode(key_dir / "controller.key") == 0o644  # the public half: meant to be given away
    again = load_or_create_keypair(key_dir, SERVER_NAME, zmq.curve_keypair)
    assert (again.public, again.secret) == (first.public, first.secret)
    assert str(key_dir / "controller.key_secret") in again.source
    assert read_public_key(key_dir / "controller.key") == first.public
    assert {p.name for p in key_dir.iterdir()} == {"controller.key", "controller.key_secret"}


def test_the_files_are_zeromq_certificates(tmp_path: Path) -> None:
    keys = load_or_create_keypair(tmp_path, SERVER_NAME, zmq.curve_keypair)
    assert zmq.auth.load_certificate(tmp_path / "controller.key") == (keys.public, None)
    assert zmq.auth.load_certificate(tmp_path / "controller.key_secret") == (
        keys.public,
        keys.secret,
    )
    assert zmq.curve_public(keys.secret) == keys.public


def test_a_secret_file_others_can_read_is_refused(tmp_path: Path) -> None:
    load_or_create_keypair(tmp_path, SERVER_NAME, zmq.curve_keypair)
    os.chmod(tmp_path / "controller.key_secret", 0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        load_or_create_keypair(tmp_path, SERVER_NAME, zmq.curve_keypair)


def test_a_broken_secret_file_is_refused_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "controller.key_secret"
    path.write_text('curve\n    public-key = "short"\n')
    os.chmod(path, 0o600)
    with pytest.raises(KeyFileError, match="no valid CURVE keypair"):
        load_or_create_keypair(tmp_path, SERVER_NAME, zmq.curve_keypair)
    assert "short" in path.read_text()


def test_a_lost_public_file_is_written_again_from_the_secret_one(tmp_path: Path) -> None:
    keys = load_or_create_keypair(tmp_path, SERVER_NAME, zmq.curve_keypair)
    (tmp_path / "controller.key").unlink()
    load_or_create_keypair(tmp_path, SERVER_NAME, zmq.curve_keypair)
    assert read_public_key(tmp_path / "controller.key") == keys.public


def test_read_public_key_names_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="no key file"):
        read_public_key(tmp_path / "missing.key")
    bad = tmp_path / "bad.key"
    bad.write_text("hello\n")
    with pytest.raises(KeyFileError, match="no valid CURVE public key"):
        read_public_key(bad)
    with pytest.raises(KeyFileError, match="key name"):
        load_or_create_keypair(tmp_path, "../escape", zmq.curve_keypair)


def test_a_new_client_keypair_is_authorized_once_and_revocation_sticks(tmp_path: Path) -> None:
    client = load_or_create_client_keypair(tmp_path, CLIENT_NAME, zmq.curve_keypair)
    authorized = tmp_path / AUTHORIZED_DIR / "predictor.key"
    assert read_public_key(authorized) == client.public
    authorized.unlink()  # the operator revokes it
    again = load_or_create_client_keypair(tmp_path, CLIENT_NAME, zmq.curve_keypair)
    assert again.public == client.public and not authorized.exists()


def test_the_allow_list_follows_its_directory(tmp_path: Path) -> None:
    allowed = AuthorizedKeys(tmp_path / "authorized")
    one, _ = zmq.curve_keypair()
    two, _ = zmq.curve_keypair()
    assert not allowed.allows(one)  # no directory yet: nobody
    write_public_key(tmp_path / "authorized" / "one.key", one)
    assert allowed.allows(one) and not allowed.allows(two)
    write_public_key(tmp_path / "authorized" / "two.key", two)
    (tmp_path / "authorized" / "junk.key").write_text("not a key\n")
    (tmp_path / "authorized" / "notes.txt").write_text(f'public-key = "{one.decode()}"\n')
    assert allowed.keys() == {one, two}
    assert allowed.unreadable == ("junk.key",)
    (tmp_path / "authorized" / "one.key").unlink()
    assert not allowed.allows(one) and allowed.allows(two)
