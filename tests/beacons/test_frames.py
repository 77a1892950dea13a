"""Beacon frames (beacons.frames): published examples, round trips, malformed input."""

from collections.abc import Callable
from dataclasses import replace
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

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


def test_altbeacon_without_its_reserved_byte_reads_it_as_zero() -> None:
    """As the android-beacon-library does: the phones running it report such beacons."""
    cut = ALTBEACON_EXAMPLE[:-1]

    assert parse_altbeacon(cut) == AltBeacon(bytes(16) + h("0001 0001"), -59, 0)
    assert parse_advertisement({RADIUS_NETWORKS: cut}, {}) == [parse_altbeacon(cut)]


@given(altbeacons)
def test_altbeacon_round_trips(beacon: AltBeacon) -> None:
    assert parse_altbeacon(beacon.to_manufacturer_payload()) == beacon


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (ALTBEACON_EXAMPLE[:-2], "AltBeacon frame is 22 bytes, expected 24"),
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
    optional_tail = 0
    match frame:
        case IBeacon():
            parse, payload = parse_ibeacon, frame.to_manufacturer_payload()
        case AltBeacon():
            # Its trailing reserved byte may be cut off (read as 0), but nothing more.
            parse, payload = parse_altbeacon, frame.to_manufacturer_payload()
            optional_tail = 1
        case _:
            parse, payload = parse_eddystone, frame.to_service_data()
    cut = data.draw(st.integers(0, len(payload) - 1 - optional_tail))
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
