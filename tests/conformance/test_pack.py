"""MessagePack, per language: round trips, canonical encodings, malformed
input, and the structured publish."""
import struct

import pytest

from harness import DriverError
from harness.values import INT_EDGES, NESTED

# The smallest encoding, as the MessagePack spec asks of packers.
CANONICAL = [
    (None, b"\xc0"),
    (False, b"\xc2"),
    (True, b"\xc3"),
    (0, b"\x00"),
    (127, b"\x7f"),
    (128, b"\xcc\x80"),
    (256, b"\xcd\x01\x00"),
    (65536, b"\xce\x00\x01\x00\x00"),
    (2**32, b"\xcf\x00\x00\x00\x01\x00\x00\x00\x00"),
    (-1, b"\xff"),
    (-32, b"\xe0"),
    (-33, b"\xd0\xdf"),
    (-129, b"\xd1\xff\x7f"),
    (-2**63, b"\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
    (1.5, b"\xcb" + struct.pack(">d", 1.5)),
    ("", b"\xa0"),
    ("abc", b"\xa3abc"),
    ("x" * 32, b"\xd9\x20" + b"x" * 32),
    (b"\x00\xff", b"\xc4\x02\x00\xff"),
    ([1, "a"], b"\x92\x01\xa1a"),
    ({"k": 1}, b"\x81\xa1k\x01"),
]


@pytest.mark.server_independent
@pytest.mark.parametrize("value,encoded", CANONICAL,
                         ids=[repr(v)[:20] for v, _ in CANONICAL])
def test_pack_canonical(driver, value, encoded):
    assert driver.pack(value) == encoded
    assert driver.unpack(encoded) == value


@pytest.mark.server_independent
def test_pack_roundtrip(driver):
    for value in INT_EDGES + [NESTED, 0.5, -2.75, "a\x00b", b"", "\u00e9"]:
        data = driver.pack(value)
        back = driver.unpack(data)
        assert back == value
        assert type(back) is type(value)


@pytest.mark.server_independent
def test_unpack_foreign_encodings(driver):
    """Encodings other packers choose: float32, wide ints for small values,
    str8/bin8 for short data."""
    assert driver.unpack(b"\xca" + struct.pack(">f", 0.5)) == 0.5
    assert driver.unpack(b"\xcf" + struct.pack(">Q", 5)) == 5
    assert driver.unpack(b"\xd3" + struct.pack(">q", -5)) == -5
    assert driver.unpack(b"\xd9\x01z") == "z"
    assert driver.unpack(b"\xc5\x00\x01\x07") == b"\x07"
    assert driver.unpack(b"\xde\x00\x01\xa1k\xc0") == {"k": None}


@pytest.mark.server_independent
@pytest.mark.parametrize("data", [
    b"", b"\x92\x01", b"\xc0\xc0", b"\xc1", b"\xa5ab", b"\xcd\x01",
], ids=["empty", "short-array", "trailing", "never-used", "short-str",
        "short-uint16"])
def test_unpack_malformed(driver, data):
    with pytest.raises(DriverError) as e:
        driver.unpack(data)
    assert e.value.code == "INVALID_ARG"


def test_publish_packed(driver, nats_server):
    nc = driver.connect(nats_server.url)
    sub = driver.subscribe(nc, "packed.x")
    driver.flush(nc)
    driver.publish_packed(nc, "packed.x", NESTED)
    m = driver.next_msg(sub)
    assert m.header("Content-Type") == "application/msgpack"
    assert driver.unpack(m.data) == NESTED
