"""Structured values shared by the MessagePack scenarios."""

INT_EDGES = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**63 - 1,
    -1, -32, -33, -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**63,
]

# Avoids what Lua tables cannot tell apart: empty containers, integral
# floats, nil inside arrays, and maps with holes.
NESTED = {
    "name": "order-42",
    "unicode": "h\u00e9llo \u2713 \U0001f680",
    "ints": INT_EDGES,
    "float": 3.25,
    "floats": [-0.5, 1.0e300, 2.5e-300, 0.1],
    "yes": True,
    "no": False,
    "nothing": None,
    "bin": b"\x00\x01\xfe\xff" + bytes(range(256)),
    "empty_str": "",
    "nested": {
        "list": [1, "two", 3.5, [True, {"deep": b"\x00"}]],
        "map": {"a": {"b": {"c": "d"}}},
    },
    "long_str": "x" * 70000,
}
