"""Neutral statuses and the status-mapping helper."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payplane import ActivationOutcome, DepositStatus, NeutralStatus, StatusMap, WithdrawalStatus

ENUMS: list[type[NeutralStatus]] = [DepositStatus, WithdrawalStatus, ActivationOutcome]

raw_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(), st.decimals(allow_nan=False), st.floats()
)


@pytest.mark.parametrize("enum", ENUMS)
def test_unknown_is_never_final_nor_success(enum: type[NeutralStatus]) -> None:
    """Every neutral enum has an UNKNOWN that is neither final nor a success."""
    unknown = enum["UNKNOWN"]
    assert not unknown.is_final
    assert not unknown.is_success


@pytest.mark.parametrize("enum", ENUMS)
def test_successes_are_final(enum: type[NeutralStatus]) -> None:
    """A success is always final."""
    assert all(member.is_final for member in enum if member.is_success)


@given(
    table=st.dictionaries(st.integers(0, 20), st.sampled_from(list(WithdrawalStatus)), max_size=10),
    raw=raw_values,
)
def test_unknown_values_never_map_to_success(
    table: dict[int, WithdrawalStatus], raw: object
) -> None:
    """A value not in the table maps to UNKNOWN, never to a final success."""
    mapping = StatusMap(WithdrawalStatus, table)
    mapped = mapping.map(raw)
    assert mapped.raw is raw
    if (
        StatusMap.normalize(raw) not in {str(k) for k in table}
        or raw is None
        or isinstance(raw, bool)
    ):
        assert mapped.status is WithdrawalStatus.UNKNOWN
        assert not mapped.status.is_success


@given(raw=raw_values)
def test_mapping_is_total(raw: object) -> None:
    """Every value maps to a member of the enum, without raising."""
    mapping = StatusMap(ActivationOutcome, {"ok": ActivationOutcome.CREDITED})
    assert mapping.map(raw).status in ActivationOutcome


def test_codes_compare_as_text() -> None:
    """1 and "1" are the same provider code; the raw value is kept as received."""
    mapping = StatusMap(WithdrawalStatus, {1: WithdrawalStatus.SUCCEEDED})
    assert mapping.map("1").status is WithdrawalStatus.SUCCEEDED
    assert mapping.map(1).raw == 1


def test_bool_is_not_a_code() -> None:
    """True is not the code 1: booleans map to UNKNOWN."""
    mapping = StatusMap(WithdrawalStatus, {1: WithdrawalStatus.SUCCEEDED})
    assert mapping.map(True).status is WithdrawalStatus.UNKNOWN


def test_enum_without_unknown_refused() -> None:
    """A status map needs an UNKNOWN to fall back on."""

    class NoUnknown(NeutralStatus):
        OK = "ok"

    with pytest.raises(TypeError, match="UNKNOWN"):
        StatusMap(NoUnknown, {"ok": NoUnknown.OK})
