import random
import statistics
from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beacons.eid import EidRegistration, EidResolver, build_eid_table, compute_eid
from beacons.frames import (
    APPLE_COMPANY_ID,
    EDDYSTONE_SERVICE_UUID,
    AltBeacon,
    BeaconFrame,
    EddystoneEid,
    EddystoneTlm,
    EddystoneUid,
    EddystoneUrl,
    IBeacon,
    MalformedFrame,
    parse_advertisement,
    parse_altbeacon,
    parse_eddystone,
    parse_ibeacon,
)
from beacons.proximity import (
    Proximity,
    SmoothedRssi,
    classify,
    distance_m,
    median_measured_power,
    update,
)

RADIUS_NETWORKS = 0x0118


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# Strategies

int8 = st.integers(-128, 127)
uint32 = st.integers(0, 0xFFFFFFFF)
ibeacons = st.builds(IBeacon, st.uuids(), st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), int8)
altbeacons = st.builds(AltBeacon, st.binary(min_size=20, max_size=20), int8, st.integers(0, 0xFF))
uids = st.builds(
    EddystoneUid, int8, st.binary(min_size=10, max_size=10), st.binary(min_size=6, max_size=6)
)
_SCHEMES = ["http://www.", "https://www.", "http://", "https://"]
_EXPANSIONS = [".com/", ".org/", ".edu/", ".net/", ".info/", ".biz/", ".gov/"]
_EXPANSIONS += [text.rstrip("/") for text in _EXPANSIONS]
# Each piece encodes to at most one byte, so 17 pieces always fit.
_url_pieces = st.one_of(
    st.sampled_from(_EXPANSIONS), st.characters(min_codepoint=0x21, max_codepoint=0x7E)
)
urls = st.builds(
    lambda scheme, pieces: scheme + "".join(pieces),
    st.sampled_from(_SCHEMES),
    st.lists(_url_pieces, max_size=17),
)
url_frames = st.builds(EddystoneUrl, int8, urls)
tlms = st.builds(
    EddystoneTlm,
    battery_mv=st.none() | st.integers(1, 0xFFFF),
    temperature_c=st.none() | st.integers(-0x7FFF, 0x7FFF).map(lambda raw: raw / 256),
    advertising_pdu_count=uint32,
    time_since_boot_ds=uint32,
)
eids = st.builds(EddystoneEid, int8, st.binary(min_size=8, max_size=8))
frames = st.one_of(ibeacons, altbeacons, uids, url_frames, tlms, eids)


def advertise(frame: BeaconFrame) -> list[BeaconFrame]:
    """Round-trip one frame through the advertisement shape bleak reports."""
    match frame:
        case IBeacon():
            return parse_advertisement({APPLE_COMPANY_ID: frame.to_manufacturer_payload()}, {})
        case AltBeacon():
            return parse_advertisement({RADIUS_NETWORKS: frame.to_manufacturer_payload()}, {})
        case _:
            return parse_advertisement({}, {EDDYSTONE_SERVICE_UUID: frame.to_service_data()})


# iBeacon

# Advertisement 02 01 1A 1A FF 4C 00 02 15 ... C6 (forforf/multi_beacon ibeacon_protocol.md):
# UUID 83256B74-78D0-43A4-8269-05F9DC8A44BA, major 16, minor 32, measured power -58.
IBEACON_EXAMPLE = h("02 15 83256B74 78D043A4 826905F9 DC8A44BA 0010 0020 C6")


def test_ibeacon_example_parses() -> None:
    beacon = parse_ibeacon(IBEACON_EXAMPLE)

    assert beacon == IBeacon(UUID("83256B74-78D0-43A4-8269-05F9DC8A44BA"), 16, 32, -58)
    assert beacon.identity == "ibeacon:83256b74-78d0-43a4-8269-05f9dc8a44ba:16:32"
    assert beacon.measured_power_1m == -58
    assert beacon.to_manufacturer_payload() == IBEACON_EXAMPLE


@given(ibeacons)
def test_ibeacon_round_trips(beacon: IBeacon) -> None:
    assert parse_ibeacon(beacon.to_manufacturer_payload()) == beacon


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (IBEACON_EXAMPLE[:-3], "iBeacon frame is 20 bytes, expected 23"),
        (IBEACON_EXAMPLE + b"\x00", "iBeacon frame is 24 bytes, expected 23"),
        (b"\x02\x16" + IBEACON_EXAMPLE[2:], "iBeacon frame must start with 0215, got 0216"),
        (b"", "iBeacon frame must start with 0215, got nothing"),
    ],
)
def test_malformed_ibeacon_raises(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        parse_ibeacon(payload)


@given(ibeacons, st.data())
def test_truncated_ibeacon_raises(beacon: IBeacon, data: st.DataObject) -> None:
    payload = beacon.to_manufacturer_payload()
    cut = data.draw(st.integers(0, len(payload) - 1))
    with pytest.raises(MalformedFrame):
        parse_ibeacon(payload[:cut])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"major": 0x10000}, "major is 65536"),
        ({"minor": -1}, "minor is -1"),
        ({"measured_power": 128}, "measured power is 128"),
    ],
)
def test_ibeacon_rejects_out_of_range_fields(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        replace(parse_ibeacon(IBEACON_EXAMPLE), **fields)


# AltBeacon

# RadiusNetworks/altbeacon-reference altbeacon_transmit: company 0x0118, id 16 zero bytes
# then 0001 0001, reference RSSI C5 (-59), manufacturer reserved 01.
ALTBEACON_EXAMPLE = h("BEAC 00000000000000000000000000000000 0001 0001 C5 01")


def test_altbeacon_example_parses() -> None:
    beacon = parse_altbeacon(ALTBEACON_EXAMPLE)

    assert beacon == AltBeacon(bytes(16) + h("0001 0001"), -59, 0x01)
    assert beacon.identity == "altbeacon:" + "00" * 16 + "00010001"
    assert beacon.measured_power_1m == -59
    assert beacon.to_manufacturer_payload() == ALTBEACON_EXAMPLE


@given(altbeacons)
def test_altbeacon_round_trips(beacon: AltBeacon) -> None:
    assert parse_altbeacon(beacon.to_manufacturer_payload()) == beacon


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (ALTBEACON_EXAMPLE[:-1], "AltBeacon frame is 23 bytes, expected 24"),
        (ALTBEACON_EXAMPLE + b"\x00", "AltBeacon frame is 25 bytes, expected 24"),
        (b"\xac\xbe" + ALTBEACON_EXAMPLE[2:], "AltBeacon frame must start with beac, got acbe"),
        (b"\xbe", "AltBeacon frame must start with beac, got be"),
    ],
)
def test_malformed_altbeacon_raises(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        parse_altbeacon(payload)


@pytest.mark.parametrize(
    ("beacon_id", "rssi", "reserved", "message"),
    [
        (bytes(19), -59, 0, "AltBeacon id is 19 bytes, expected 20"),
        (bytes(20), -129, 0, "reference RSSI is -129"),
        (bytes(20), -59, 256, "reserved byte is 256"),
    ],
)
def test_altbeacon_rejects_bad_fields(
    beacon_id: bytes, rssi: int, reserved: int, message: str
) -> None:
    with pytest.raises(MalformedFrame, match=message):
        AltBeacon(beacon_id, rssi, reserved)


# Eddystone-UID

# aioblescan tests/test_eddystone.py: a beacon that omits the two reserved bytes.
UID_WITHOUT_RESERVED = h("00 F6 00000000000000000063 000000000058")


def test_uid_without_reserved_bytes_parses() -> None:
    frame = parse_eddystone(UID_WITHOUT_RESERVED)

    assert frame == EddystoneUid(-10, h("00000000000000000063"), h("000000000058"))
    assert frame.identity == "eddystone-uid:00000000000000000063:000000000058"
    assert frame.measured_power_1m == -51


def test_uid_with_reserved_bytes_parses_and_builds_them() -> None:
    frame = EddystoneUid(-20, bytes(range(10)), bytes(range(10, 16)))
    payload = frame.to_service_data()

    assert payload == h("00 EC 00010203040506070809 0A0B0C0D0E0F 0000")
    assert parse_eddystone(payload) == frame
    assert parse_eddystone(payload[:-2]) == frame


@given(uids)
def test_uid_round_trips(frame: EddystoneUid) -> None:
    assert parse_eddystone(frame.to_service_data()) == frame


@pytest.mark.parametrize("size", [1, 2, 17, 19, 21])
def test_uid_of_wrong_size_raises(size: int) -> None:
    payload = (UID_WITHOUT_RESERVED + bytes(4))[:size]
    with pytest.raises(MalformedFrame, match=f"Eddystone-UID frame is {size} bytes"):
        parse_eddystone(payload)


@pytest.mark.parametrize(
    ("namespace", "instance", "message"),
    [(bytes(9), bytes(6), "namespace is 9 bytes"), (bytes(10), bytes(7), "instance is 7 bytes")],
)
def test_uid_rejects_bad_ids(namespace: bytes, instance: bytes, message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        EddystoneUid(0, namespace, instance)


# Eddystone-URL


@pytest.mark.parametrize(
    ("payload", "tx_power", "url"),
    [
        # aioblescan tests/test_eddystone.py
        (b"\x10\xf6\x03makecode\x00#about", -10, "https://makecode.com/#about"),
        # eddystone-url/README.md: 0x12 is +18 dBm, 0xEE is -18 dBm
        (b"\x10\x12\x00goo\x07", 18, "http://www.goo.com"),
        (b"\x10\xee\x02x", -18, "http://x"),
        (b"\x10\x00\x01", 0, "https://www."),
    ],
)
def test_url_examples_parse(payload: bytes, tx_power: int, url: str) -> None:
    frame = parse_eddystone(payload)

    assert frame == EddystoneUrl(tx_power, url)
    assert frame.identity is None
    assert frame.measured_power_1m == tx_power - 41


@pytest.mark.parametrize(("code", "text"), list(enumerate(_EXPANSIONS)))
def test_url_expansion_codes_decode_and_encode(code: int, text: str) -> None:
    payload = b"\x10\x00\x03a" + bytes((code,))
    frame = EddystoneUrl(0, f"https://a{text}")

    assert parse_eddystone(payload) == frame
    assert frame.to_service_data() == payload


def test_url_build_prefers_the_longest_scheme_and_expansion() -> None:
    frame = EddystoneUrl(-20, "https://www.example.com/shop.info")

    assert frame.to_service_data() == b"\x10\xec\x01example\x00shop\x0b"


@given(url_frames)
def test_url_round_trips(frame: EddystoneUrl) -> None:
    assert parse_eddystone(frame.to_service_data()) == frame


def test_longest_url_fits() -> None:
    frame = EddystoneUrl(0, "https://" + "a" * 17)

    assert len(frame.to_service_data()) == 20
    assert parse_eddystone(frame.to_service_data()) == frame


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x10\x00", "Eddystone-URL frame is 2 bytes, expected 3..20"),
        (b"\x10\x00\x03" + b"a" * 18, "Eddystone-URL frame is 21 bytes, expected 3..20"),
        (b"\x10\x00\x04abc", "scheme prefix 0x04 is reserved"),
        (b"\x10\x00\x03a\x0e", "byte 0x0e is reserved"),
        (b"\x10\x00\x03a b", "byte 0x20 is reserved"),
        (b"\x10\x00\x03a\x7f", "byte 0x7f is reserved"),
        (b"\x10\x00\x03a\xff", "byte 0xff is reserved"),
    ],
)
def test_malformed_url_raises(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        parse_eddystone(payload)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com", "does not start with http:// or https://"),
        ("https://" + "a" * 18, "encodes to 18 bytes, at most 17 fit"),
        ("https://a b", "not printable ASCII"),
        ("https://café.fr", "not printable ASCII"),
    ],
)
def test_unencodable_url_raises_on_build(url: str, message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        EddystoneUrl(0, url).to_service_data()


# Eddystone-TLM

# Per eddystone-tlm/tlm-plain.md: 3000 mV, 0x1780 = 23.5 degC, 256 PDUs, 10000 x 0.1 s.
TLM_EXAMPLE = h("20 00 0BB8 1780 00000100 00002710")


def test_tlm_example_parses() -> None:
    frame = parse_eddystone(TLM_EXAMPLE)

    assert frame == EddystoneTlm(3000, 23.5, 256, 10000)
    assert isinstance(frame, EddystoneTlm)
    assert frame.time_since_boot_s == 1000.0
    assert frame.identity is None
    assert frame.measured_power_1m is None
    assert frame.to_service_data() == TLM_EXAMPLE


def test_tlm_unsupported_battery_and_temperature_are_none() -> None:
    payload = h("20 00 0000 8000 FFFFFFFF 00000001")
    frame = parse_eddystone(payload)

    assert frame == EddystoneTlm(None, None, 0xFFFFFFFF, 1)
    assert frame.to_service_data() == payload


@pytest.mark.parametrize(
    ("raw", "celsius"),
    [("FF80", -0.5), ("8001", -127.99609375), ("7FFF", 127.99609375), ("0001", 1 / 256)],
)
def test_tlm_temperature_is_signed_8_8_fixed_point(raw: str, celsius: float) -> None:
    frame = parse_eddystone(h(f"20 00 0BB8 {raw} 00000000 00000000"))

    assert isinstance(frame, EddystoneTlm)
    assert frame.temperature_c == celsius


@given(tlms)
def test_tlm_round_trips(frame: EddystoneTlm) -> None:
    assert parse_eddystone(frame.to_service_data()) == frame


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x20", "Eddystone-TLM frame has no version byte"),
        (TLM_EXAMPLE[:-1], "Eddystone-TLM frame is 13 bytes, expected 14"),
        (TLM_EXAMPLE + b"\x00", "Eddystone-TLM frame is 15 bytes, expected 14"),
        (h("20 01") + bytes(16), "Eddystone-TLM version 0x01 is not supported"),
    ],
)
def test_malformed_tlm_raises(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        parse_eddystone(payload)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"battery_mv": 0}, "battery mV is 0"),
        ({"battery_mv": 0x10000}, "battery mV is 65536"),
        ({"temperature_c": -128.0}, "temperature"),
        ({"temperature_c": 128.0}, "temperature"),
        ({"advertising_pdu_count": -1}, "PDU count is -1"),
        ({"time_since_boot_ds": 0x100000000}, "time since boot is 4294967296"),
    ],
)
def test_tlm_rejects_out_of_range_fields(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        replace(EddystoneTlm(3000, 20.0, 0, 0), **fields)


# Eddystone-EID frame


def test_eid_frame_parses() -> None:
    frame = parse_eddystone(h("30 EE 0102030405060708"))

    assert frame == EddystoneEid(-18, h("0102030405060708"))
    assert frame.identity == "eddystone-eid:0102030405060708"
    assert frame.measured_power_1m == -59


@given(eids)
def test_eid_frame_round_trips(frame: EddystoneEid) -> None:
    assert parse_eddystone(frame.to_service_data()) == frame


@pytest.mark.parametrize("size", [1, 2, 9, 11])
def test_eid_frame_of_wrong_size_raises(size: int) -> None:
    payload = h("30 EE 0102030405060708 09")[:size]
    with pytest.raises(MalformedFrame, match=f"Eddystone-EID frame is {size} bytes, expected 10"):
        parse_eddystone(payload)


def test_eid_frame_rejects_short_id() -> None:
    with pytest.raises(MalformedFrame, match="ephemeral id is 7 bytes"):
        EddystoneEid(0, bytes(7))


# Eddystone dispatch


@pytest.mark.parametrize(
    ("payload", "message"),
    [(b"", "Eddystone frame is empty"), (b"\x40\x00", "frame type 0x40 is not supported")],
)
def test_unreadable_eddystone_raises(payload: bytes, message: str) -> None:
    with pytest.raises(MalformedFrame, match=message):
        parse_eddystone(payload)


@given(st.one_of(ibeacons, altbeacons, tlms, eids), st.data())
def test_truncated_fixed_size_frames_raise(frame: BeaconFrame, data: st.DataObject) -> None:
    parse: Callable[[bytes], BeaconFrame]
    match frame:
        case IBeacon():
            parse, payload = parse_ibeacon, frame.to_manufacturer_payload()
        case AltBeacon():
            parse, payload = parse_altbeacon, frame.to_manufacturer_payload()
        case _:
            parse, payload = parse_eddystone, frame.to_service_data()
    cut = data.draw(st.integers(0, len(payload) - 1))
    with pytest.raises(MalformedFrame):
        parse(payload[:cut])


# Advertisements


@given(frames)
def test_every_frame_round_trips_through_an_advertisement(frame: BeaconFrame) -> None:
    assert advertise(frame) == [frame]


def test_advertisement_yields_every_recognised_frame_in_order() -> None:
    found = parse_advertisement(
        {APPLE_COMPANY_ID: IBEACON_EXAMPLE, RADIUS_NETWORKS: ALTBEACON_EXAMPLE},
        {EDDYSTONE_SERVICE_UUID.upper(): UID_WITHOUT_RESERVED},
    )

    assert found == [
        parse_ibeacon(IBEACON_EXAMPLE),
        parse_altbeacon(ALTBEACON_EXAMPLE),
        parse_eddystone(UID_WITHOUT_RESERVED),
    ]


@pytest.mark.parametrize(
    ("manufacturer_data", "service_data"),
    [
        ({}, {}),
        ({APPLE_COMPANY_ID: h("10 05 01 18 44 2a 3b")}, {}),  # Apple "nearby", not a beacon
        ({APPLE_COMPANY_ID: b""}, {}),
        ({0x0006: IBEACON_EXAMPLE}, {}),  # iBeacon layout, but not from Apple
        ({0x0006: h("0109 2022")}, {}),
        ({}, {"0000fe9f-0000-1000-8000-00805f9b34fb": UID_WITHOUT_RESERVED}),
        ({}, {EDDYSTONE_SERVICE_UUID: h("40 00 0000")}),  # reserved frame type
        ({}, {EDDYSTONE_SERVICE_UUID: h("20 01") + bytes(16)}),  # encrypted TLM
    ],
)
def test_advertisement_skips_what_is_not_a_readable_beacon(
    manufacturer_data: dict[int, bytes], service_data: dict[str, bytes]
) -> None:
    assert parse_advertisement(manufacturer_data, service_data) == []


@pytest.mark.parametrize(
    ("manufacturer_data", "service_data", "message"),
    [
        ({APPLE_COMPANY_ID: IBEACON_EXAMPLE[:-1]}, {}, "iBeacon frame is 22 bytes"),
        ({RADIUS_NETWORKS: ALTBEACON_EXAMPLE[:5]}, {}, "AltBeacon frame is 5 bytes"),
        ({}, {EDDYSTONE_SERVICE_UUID: b""}, "Eddystone frame is empty"),
        ({}, {EDDYSTONE_SERVICE_UUID: UID_WITHOUT_RESERVED[:-1]}, "Eddystone-UID frame is 17"),
        ({}, {EDDYSTONE_SERVICE_UUID: b"\x20"}, "Eddystone-TLM frame has no version byte"),
    ],
)
def test_advertisement_with_a_recognised_but_bad_frame_raises(
    manufacturer_data: dict[int, bytes], service_data: dict[str, bytes], message: str
) -> None:
    with pytest.raises(MalformedFrame, match=message):
        parse_advertisement(manufacturer_data, service_data)


@given(
    st.dictionaries(
        st.sampled_from([APPLE_COMPANY_ID, RADIUS_NETWORKS, 0x0006]), st.binary(max_size=30)
    ),
    st.dictionaries(st.sampled_from([EDDYSTONE_SERVICE_UUID]), st.binary(max_size=30)),
)
def test_arbitrary_bytes_parse_or_raise_malformed_frame_only(
    manufacturer_data: dict[int, bytes], service_data: dict[str, bytes]
) -> None:
    try:
        found = parse_advertisement(manufacturer_data, service_data)
    except MalformedFrame:
        return
    assert len(found) <= len(manufacturer_data) + len(service_data)


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


# RSSI smoothing


def noisy_readings(true_rssi: float, count: int, seed: int = 7) -> list[float]:
    """Readings scattered like BLE RSSI: about +-10 dB at two standard deviations."""
    rng = random.Random(seed)
    return [true_rssi + rng.gauss(0, 5) for _ in range(count)]


def smooth(readings: list[float], start_s: float = 0.0, every_s: float = 1.0) -> list[SmoothedRssi]:
    state = SmoothedRssi.start(readings[0], start_s)
    states = [state]
    for i, rssi in enumerate(readings[1:], start=1):
        state = update(state, rssi, start_s + i * every_s)
        states.append(state)
    return states


def test_first_reading_is_as_uncertain_as_a_reading() -> None:
    state = SmoothedRssi.start(-70, 12.0, r=16.0)

    assert (state.rssi, state.variance, state.at_s) == (-70, 16.0, 12.0)


def test_kalman_converges_on_the_true_rssi() -> None:
    readings = noisy_readings(-70, 120)
    states = smooth(readings)
    settled = [s.rssi for s in states[30:]]

    assert abs(states[-1].rssi + 70) < 2.5
    assert statistics.pstdev(settled) < statistics.pstdev(readings) / 2
    assert states[-1].variance < states[0].variance / 4


def test_kalman_follows_a_step_change() -> None:
    states = smooth(noisy_readings(-60, 60) + noisy_readings(-80, 60, seed=8))

    assert abs(states[59].rssi + 60) < 3
    assert abs(states[-1].rssi + 80) < 3


def test_longer_silence_trusts_the_new_reading_more() -> None:
    state = smooth(noisy_readings(-70, 30))[-1]

    soon = update(state, -50, state.at_s + 1)
    late = update(state, -50, state.at_s + 120)

    assert soon.rssi < late.rssi < -50


def test_late_reading_does_not_rewind_the_clock() -> None:
    state = SmoothedRssi.start(-70, 100.0)

    late = update(state, -60, 95.0)

    assert late.at_s == 100.0
    assert -70 < late.rssi < -60
    assert state == SmoothedRssi.start(-70, 100.0)


@given(
    st.floats(-100, -30),
    st.lists(st.tuples(st.floats(-100, -30), st.floats(0, 60)), min_size=1, max_size=30),
)
def test_estimate_stays_within_the_readings(
    first: float, readings: list[tuple[float, float]]
) -> None:
    state = SmoothedRssi.start(first, 0.0)
    seen = [first]
    for rssi, gap in readings:
        state = update(state, rssi, state.at_s + gap)
        seen.append(rssi)
        assert min(seen) - 1e-9 <= state.rssi <= max(seen) + 1e-9
        assert state.variance > 0


# Distance and proximity


@pytest.mark.parametrize(
    ("rssi", "power", "exponent", "metres"),
    [
        (-59, -59, 2.0, 1.0),
        (-79, -59, 2.0, 10.0),
        (-99, -59, 4.0, 10.0),
        (-53, -59, 2.0, 0.501187),
        (-65, -59, 3.0, 1.584893),
    ],
)
def test_distance_follows_log_distance_path_loss(
    rssi: float, power: float, exponent: float, metres: float
) -> None:
    assert distance_m(rssi, power, exponent) == pytest.approx(metres, rel=1e-5)


def test_eddystone_distance_uses_power_at_one_metre() -> None:
    frame = EddystoneUid(-18, bytes(10), bytes(6))

    assert distance_m(-59, frame.measured_power_1m) == pytest.approx(1.0)


@given(st.floats(-120, 0), st.floats(-120, 0), st.floats(-100, 0))
def test_weaker_signal_means_farther(a: float, b: float, power: float) -> None:
    stronger, weaker = max(a, b), min(a, b)

    assert distance_m(weaker, power) >= distance_m(stronger, power)


@pytest.mark.parametrize("exponent", [0.0, -2.0])
def test_distance_rejects_non_positive_exponent(exponent: float) -> None:
    with pytest.raises(ValueError, match="path-loss exponent"):
        distance_m(-70, -59, exponent)


@pytest.mark.parametrize(
    ("metres", "proximity"),
    [
        (0.0, Proximity.IMMEDIATE),
        (0.49, Proximity.IMMEDIATE),
        (0.5, Proximity.NEAR),
        (2.99, Proximity.NEAR),
        (3.0, Proximity.FAR),
        (250.0, Proximity.FAR),
    ],
)
def test_classify_by_distance(metres: float, proximity: Proximity) -> None:
    assert classify(metres) is proximity


def test_smoothed_reading_classifies_a_shopper_at_the_shelf() -> None:
    # Readings around -59 dBm from a beacon measured at -59 dBm at 1 m: about 1 m away.
    state = smooth(noisy_readings(-59, 60))[-1]

    assert classify(distance_m(state.rssi, -59)) is Proximity.NEAR


# Calibration


@pytest.mark.parametrize(
    ("samples", "power"),
    [
        ([-59, -60, -58, -90, -30], -59),
        ([-60, -61], -60),  # -60.5 rounds half to even
        ([-59.4], -59),
    ],
)
def test_median_measured_power_ignores_outliers(samples: list[float], power: int) -> None:
    assert median_measured_power(samples) == power


def test_median_measured_power_needs_samples() -> None:
    with pytest.raises(ValueError, match="no RSSI samples"):
        median_measured_power([])
