"""Eddystone-EID computation and resolution (beacons.eid)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beacons.eid import EidRegistration, EidResolver, build_eid_table, compute_eid


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# Eddystone-EID computation


@pytest.mark.parametrize(
    ("identity_key", "exponent", "beacon_time", "eid"),
    [
        # RadiusNetworks/ephemeral_calc spec/encryptor_spec.rb
        ("0102030405060708090A111213141516", 10, 0, "A9B76A71C5F89290"),
        ("0102030405060708090A111213141516", 10, 2000, "4144413E45FEFA58"),
        # eddystone-beacon-scanner EID test (temporary key b7c2d909d27d22df8343271162480210)
        ("00112233445566778899AABBCCDDEEFF", 12, 1518080946, "7dd8169dae94258c"),
    ],
)
def test_compute_eid_matches_published_vectors(
    identity_key: str, exponent: int, beacon_time: int, eid: str
) -> None:
    assert compute_eid(h(identity_key), exponent, beacon_time) == h(eid)


KEY = h("0102030405060708090A111213141516")


@given(st.integers(0, 15), st.integers(0, 0xFFFFFFFF))
def test_eid_is_constant_within_a_rotation_period(exponent: int, beacon_time: int) -> None:
    period_start = beacon_time >> exponent << exponent

    assert compute_eid(KEY, exponent, beacon_time) == compute_eid(KEY, exponent, period_start)


def test_eid_changes_each_period_and_with_the_exponent() -> None:
    consecutive = {compute_eid(KEY, 4, period * 16) for period in range(10_000 // 16)}

    assert len(consecutive) == 10_000 // 16
    assert compute_eid(KEY, 4, 0) != compute_eid(KEY, 5, 0)


@pytest.mark.parametrize(
    ("identity_key", "exponent", "beacon_time", "message"),
    [
        (bytes(15), 10, 0, "identity key is 15 bytes, expected 16"),
        (bytes(16), 16, 0, "rotation exponent is 16"),
        (bytes(16), -1, 0, "rotation exponent is -1"),
        (bytes(16), 10, -1, "beacon time is -1"),
        (bytes(16), 10, 1 << 32, "beacon time is 4294967296"),
    ],
)
def test_compute_eid_rejects_bad_inputs(
    identity_key: bytes, exponent: int, beacon_time: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        compute_eid(identity_key, exponent, beacon_time)


def test_registration_rejects_bad_keys() -> None:
    with pytest.raises(ValueError, match="identity key is 8 bytes"):
        EidRegistration("b1", bytes(8), 10, 0)


# Eddystone-EID resolution

EPOCH = 1_700_000_000


def registration(beacon_id: str = "b1", exponent: int = 10, key: bytes = KEY) -> EidRegistration:
    return EidRegistration(beacon_id, key, exponent, EPOCH)


def broadcast(reg: EidRegistration, now_s: float) -> bytes:
    """What the beacon advertises at unix time ``now_s``."""
    return compute_eid(reg.identity_key, reg.rotation_exponent, int(now_s) - reg.epoch_s)


@pytest.mark.parametrize("periods_off", [-2, -1, 0, 1, 2])
def test_resolver_accepts_clock_skew_up_to_the_window(periods_off: int) -> None:
    reg = registration()
    now = EPOCH + 86_400.7
    resolver = EidResolver.build([reg], now)

    assert resolver.resolve(broadcast(reg, now + periods_off * 1024)) == "b1"


@pytest.mark.parametrize("periods_off", [-3, 3])
def test_resolver_rejects_eids_beyond_the_window(periods_off: int) -> None:
    reg = registration()
    now = EPOCH + 86_400
    resolver = EidResolver.build([reg], now)

    assert resolver.resolve(broadcast(reg, now + periods_off * 1024)) is None


def test_unknown_eid_resolves_to_none() -> None:
    resolver = EidResolver.build([registration()], EPOCH + 5000)

    assert resolver.resolve(bytes(8)) is None
    assert resolver.resolve(broadcast(registration(key=bytes(16)), EPOCH + 5000)) is None


def test_resolver_tells_beacons_apart() -> None:
    fast = registration("fast", exponent=0, key=bytes(range(16)))
    slow = registration("slow", exponent=15, key=bytes(range(16, 32)))
    now = EPOCH + 1_000_000
    resolver = EidResolver.build([fast, slow], now, skew_periods=1)

    assert len(resolver.table) == 6
    assert resolver.resolve(broadcast(fast, now + 1)) == "fast"
    assert resolver.resolve(broadcast(fast, now + 2)) is None
    assert resolver.resolve(broadcast(slow, now + 2**15)) == "slow"


def test_refreshed_resolver_follows_rotation() -> None:
    reg = registration()
    resolver = EidResolver.build([reg], EPOCH + 10_000)
    later = EPOCH + 10_000 + 10 * 1024

    assert resolver.resolve(broadcast(reg, later)) is None
    refreshed = resolver.refreshed(later)
    assert refreshed.resolve(broadcast(reg, later)) == "b1"
    assert refreshed.built_at_s == later
    assert refreshed.skew_periods == resolver.skew_periods


def test_table_matches_direct_computation_across_a_temporary_key_rollover() -> None:
    reg = registration(exponent=4)
    now = EPOCH + 65_536 + 8  # the window straddles beacon time 65536

    table = build_eid_table([reg], now, skew_periods=3)

    expected = {compute_eid(KEY, 4, 65_536 + 16 * p): "b1" for p in range(-3, 4)}
    assert table == expected


def test_beacon_not_yet_provisioned_has_no_eids_before_its_epoch() -> None:
    reg = registration(exponent=10)

    assert build_eid_table([reg], EPOCH - 10 * 1024) == {}
    assert len(build_eid_table([reg], EPOCH + 100)) == 3  # periods 0, 1, 2


def test_negative_skew_is_rejected() -> None:
    with pytest.raises(ValueError, match="skew_periods is -1"):
        build_eid_table([registration()], EPOCH, skew_periods=-1)


@given(
    key=st.binary(min_size=16, max_size=16),
    exponent=st.integers(0, 15),
    elapsed=st.integers(0, 2**31),
    skew=st.integers(0, 3),
    data=st.data(),
)
def test_resolver_finds_any_beacon_within_skew(
    key: bytes, exponent: int, elapsed: int, skew: int, data: st.DataObject
) -> None:
    reg = registration(key=key, exponent=exponent)
    now = EPOCH + elapsed
    drift = data.draw(st.integers(-skew, skew)) << exponent
    beacon_time = elapsed + drift
    resolver = EidResolver.build([reg], now, skew_periods=skew)

    if beacon_time >= 0:
        assert resolver.resolve(compute_eid(key, exponent, beacon_time)) == "b1"
