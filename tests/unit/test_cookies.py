"""Cookies say who owns a rule: parts round-trip, out-of-range parts are refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vnstitch.rules.cookies import (
    KIND_BASELINE,
    KIND_RESERVATION,
    MASK_ALL,
    MASK_KIND,
    MASK_KIND_OWNER,
    OWNER_MAX,
    VERSION_MAX,
    Cookie,
)

kinds = st.integers(0, 0xFF)
owners = st.integers(0, OWNER_MAX)
versions = st.integers(0, VERSION_MAX)


@given(kinds, owners, versions)
def test_encode_decode_round_trips(kind: int, owner: int, version: int) -> None:
    cookie = Cookie(kind, owner, version)
    value = cookie.encode()
    assert 0 <= value <= MASK_ALL
    assert Cookie.decode(value) == cookie


@given(st.integers(0, MASK_ALL))
def test_decode_encode_round_trips(value: int) -> None:
    assert Cookie.decode(value).encode() == value


@given(
    st.one_of(
        st.builds(Cookie, st.integers(max_value=-1), owners, versions),
        st.builds(Cookie, st.integers(min_value=0x100), owners, versions),
        st.builds(Cookie, kinds, st.integers(max_value=-1), versions),
        st.builds(Cookie, kinds, st.integers(min_value=OWNER_MAX + 1), versions),
        st.builds(Cookie, kinds, owners, st.integers(max_value=-1)),
        st.builds(Cookie, kinds, owners, st.integers(min_value=VERSION_MAX + 1)),
    )
)
def test_out_of_range_parts_are_refused(cookie: Cookie) -> None:
    with pytest.raises(ValueError):
        cookie.encode()


@given(owners, versions, versions)
def test_kind_owner_mask_selects_every_version_of_one_owner(owner: int, v1: int, v2: int) -> None:
    a = Cookie(KIND_RESERVATION, owner, v1).encode()
    b = Cookie(KIND_RESERVATION, owner, v2).encode()
    assert a & MASK_KIND_OWNER == b & MASK_KIND_OWNER
    other_owner = Cookie(KIND_RESERVATION, (owner + 1) % (OWNER_MAX + 1), v1).encode()
    assert a & MASK_KIND_OWNER != other_owner & MASK_KIND_OWNER


@given(owners, owners)
def test_kind_mask_separates_kinds(owner_a: int, owner_b: int) -> None:
    baseline = Cookie(KIND_BASELINE, owner_a).encode()
    reserved = Cookie(KIND_RESERVATION, owner_b).encode()
    assert baseline & MASK_KIND != reserved & MASK_KIND
    assert baseline & MASK_KIND == Cookie(KIND_BASELINE, owner_b, 3).encode() & MASK_KIND
