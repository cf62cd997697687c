"""Frame parsers: known frames decode to the right values; random bytes only ever raise
FrameError (radio input is untrusted); the vendor registry is pluggable."""

from __future__ import annotations

import contextlib
import struct
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ble_bridge.frames import (
    ANBAO_SENSOR_COMPANY_ID,
    APPLE_COMPANY_ID,
    DEFAULT_REGISTRY,
    EDDYSTONE_UUID,
    EddystoneEid,
    EddystoneTlm,
    EddystoneUid,
    FrameError,
    IBeacon,
    TagKind,
    VendorRegistry,
    VendorStatus,
    parse_advertisement,
    parse_anbao_sensor,
    parse_eddystone,
    parse_ibeacon,
)
from tests.bridge import adverts

PROPERTY = settings(max_examples=400, database=None, deadline=None)


def test_ibeacon_decodes_uuid_major_minor_and_power() -> None:
    u = uuid.UUID("f7826da6-4fa2-4e98-8024-bc5b71e0893e")
    frame = parse_ibeacon(adverts.ibeacon(u, 12, 65535, -59))
    assert frame == IBeacon(str(u), 12, 65535, -59)
    assert frame.kind == TagKind.IBEACON
    assert frame.ident == "f7826da6-4fa2-4e98-8024-bc5b71e0893e:12:65535"


def test_other_apple_frames_are_not_ibeacons() -> None:
    with pytest.raises(FrameError):
        parse_ibeacon(bytes.fromhex("1005031c1a2b3c"))  # "nearby info" from an iPhone
    assert parse_advertisement({APPLE_COMPANY_ID: bytes.fromhex("1005031c1a2b3c")}, {}) == []


def test_eddystone_uid_is_namespace_plus_instance() -> None:
    frame = parse_eddystone(adverts.eddystone_uid("00112233445566778899", "aabbccddeeff", -20))
    assert frame == EddystoneUid("00112233445566778899", "aabbccddeeff", -20)
    assert isinstance(frame, EddystoneUid)
    assert frame.ident == "00112233445566778899aabbccddeeff"
    # the two reserved bytes are optional on air
    assert parse_eddystone(adverts.eddystone_uid("00" * 10, "01" * 6, 0)[:18]).ident.endswith(
        "010101010101"
    )


def test_eddystone_tlm_battery_temperature_counts() -> None:
    frame = parse_eddystone(adverts.eddystone_tlm(2950, 23.5, 1234, 36000))
    assert frame == EddystoneTlm(battery_mv=2950, temperature_c=23.5, adv_count=1234, uptime_s=3600)
    negative = parse_eddystone(adverts.eddystone_tlm(3000, -4.25, 0, 0))
    assert isinstance(negative, EddystoneTlm) and negative.temperature_c == -4.25


def test_eddystone_tlm_unsupported_fields_are_none() -> None:
    raw = bytes([0x20, 0x00]) + struct.pack(">HhII", 0, -0x8000, 5, 10)
    frame = parse_eddystone(raw)
    assert isinstance(frame, EddystoneTlm)
    assert frame.battery_mv is None and frame.temperature_c is None


def test_encrypted_tlm_and_url_frames_are_refused() -> None:
    with pytest.raises(FrameError, match="encrypted"):
        parse_eddystone(bytes([0x20, 0x01]) + bytes(16))
    with pytest.raises(FrameError, match="0x10"):
        parse_eddystone(bytes([0x10, 0xEE, 0x03]) + b"example")


def test_eddystone_eid_is_eight_bytes_hex() -> None:
    frame = parse_eddystone(adverts.eddystone_eid("0123456789abcdef", -10))
    assert frame == EddystoneEid("0123456789abcdef", -10)
    assert frame.kind == TagKind.EDDYSTONE_EID


def test_anbao_sensor_flags_and_battery() -> None:
    status = parse_anbao_sensor(adverts.anbao_sensor(motion=True, tamper=True, battery=42))
    assert status == VendorStatus(ANBAO_SENSOR_COMPANY_ID, 42, motion=True, tamper=True)
    quiet = parse_anbao_sensor(adverts.anbao_sensor(battery=None))
    assert quiet.battery_percent is None and not quiet.motion and not quiet.tamper
    with pytest.raises(FrameError):
        parse_anbao_sensor(b"XY\x01\x00\x10")  # someone else's 0xFFFF data
    with pytest.raises(FrameError):
        parse_anbao_sensor(b"AB\x01\x00\x65")  # 101 %


def test_one_advertisement_can_carry_several_frames() -> None:
    frames = parse_advertisement(
        {
            APPLE_COMPANY_ID: adverts.ibeacon(uuid.UUID(int=1), 1, 2, -60),
            ANBAO_SENSOR_COMPANY_ID: adverts.anbao_sensor(tamper=True, battery=80),
        },
        {EDDYSTONE_UUID: adverts.eddystone_tlm(3000, 20.0, 1, 1)},
    )
    assert [type(f) for f in frames] == [IBeacon, VendorStatus, EddystoneTlm]


def test_vendor_registry_is_pluggable_by_company_id() -> None:
    def parse_acme(data: bytes) -> VendorStatus:
        if len(data) != 1:
            raise FrameError("acme frames are one byte")
        return VendorStatus(0x0A0A, battery_percent=None, motion=False, tamper=data[0] == 1)

    registry = DEFAULT_REGISTRY.with_parser(0x0A0A, parse_acme)
    assert registry.company_ids == (0x0A0A, ANBAO_SENSOR_COMPANY_ID)
    assert parse_advertisement({0x0A0A: b"\x01"}, {}, registry) == [
        VendorStatus(0x0A0A, None, motion=False, tamper=True)
    ]
    # unknown to the default registry: ignored
    assert parse_advertisement({0x0A0A: b"\x01"}, {}) == []
    # a broken frame of a known vendor is dropped, not raised
    assert parse_advertisement({0x0A0A: b"\x01\x02"}, {}, registry) == []
    with pytest.raises(ValueError, match="iBeacon"):
        VendorRegistry().with_parser(APPLE_COMPANY_ID, parse_acme)


@PROPERTY
@given(st.binary(max_size=64))
def test_ibeacon_parser_raises_only_frame_error(data: bytes) -> None:
    try:
        frame = parse_ibeacon(data)
    except FrameError:
        return
    assert len(frame.uuid) == 36 and 0 <= frame.major <= 0xFFFF and -128 <= frame.tx_power < 128


@PROPERTY
@given(st.binary(max_size=64))
def test_eddystone_parser_raises_only_frame_error(data: bytes) -> None:
    try:
        frame = parse_eddystone(data)
    except FrameError:
        return
    assert isinstance(frame, EddystoneUid | EddystoneTlm | EddystoneEid)


@PROPERTY
@given(
    st.sampled_from([b"\x00", b"\x20\x00", b"\x30", b"\x02\x15", b"AB\x01"]), st.binary(max_size=40)
)
def test_parsers_with_plausible_prefixes_raise_only_frame_error(prefix: bytes, rest: bytes) -> None:
    # Random bytes rarely start like a frame; these do, so the length and field checks run.
    for parser in (parse_ibeacon, parse_eddystone, parse_anbao_sensor):
        with contextlib.suppress(FrameError):
            parser(prefix + rest)


@PROPERTY
@given(
    st.dictionaries(st.integers(0, 0xFFFF), st.binary(max_size=40), max_size=4),
    st.dictionaries(
        st.sampled_from([EDDYSTONE_UUID, "0000180f-0000-1000-8000-00805f9b34fb"]),
        st.binary(max_size=40),
    ),
)
def test_whole_advertisements_never_raise(
    manufacturer: dict[int, bytes], service: dict[str, bytes]
) -> None:
    for frame in parse_advertisement(manufacturer, service):
        assert isinstance(
            frame, IBeacon | EddystoneUid | EddystoneTlm | EddystoneEid | VendorStatus
        )
