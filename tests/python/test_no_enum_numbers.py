"""Names and values of the engine's enums have one home, the engine: the
Python package and the Python driver take the values from the header
(lib.JW_*) and the names from the engine's name functions. This reads
their source and fails on what would bring a copy back:

- a dict literal from integers to strings (a table of names);
- a comparison of an engine enum (a status, an event kind, a connection
  status, a value type, ...) with an integer literal, or of anything with
  a negative integer literal (only statuses are negative);
- an integer literal assigned to a name of an engine constant
  (``_TIMEOUT = -1``, ``JW_OK = 0``);
- a tuple, list or set of three or more of the engine's names."""
import ast
import re
from pathlib import Path

import pytest

from jetwire._jetwire import ffi, lib

# No nats-server: runs once, against the current server (tests/conftest.py).
pytestmark = pytest.mark.server_independent

REPO = Path(__file__).resolve().parents[2]
SOURCES = sorted((REPO / "bindings" / "python" / "jetwire").glob("*.py")) + [
    REPO / "tests" / "drivers" / "py_driver.py"]

# Names that hold statuses and kinds by this code's habits.
STATUS_LIKE = re.compile(r"^(?:st|stp|status|status_p|rc|kind)$|_status$")


def _header():
    return (REPO / "include" / "jetwire.h").read_text()


def enum_returning_functions():
    """Functions whose return type is one of the header's enums."""
    text = _header()
    enums = set(re.findall(r"\}\s*(jw_\w+)\s*;", text))
    assert {"jw_status", "jw_event_kind", "jw_conn_status"} <= enums
    return set(re.findall(r"\bJW_EXTERN\s+(?:%s)\s+(jw_\w+)\s*\("
                          % "|".join(sorted(enums)), text))


def constants():
    """Every spelling a Python constant of an engine enum value could
    have, with the value: JW_ETIMEOUT as JW_ETIMEOUT, ETIMEOUT, TIMEOUT
    (its code name); JW_KV_PURGE as KV_PURGE."""
    text = _header()
    out = {}
    for suffix, value, code in re.findall(
            r"\bX\((\w+),\s*(-?\d+),\s*\"(\w+)\"", text):
        for name in ("JW_" + suffix, suffix, code):
            out[name] = int(value)
    for name, value in re.findall(r"\b(JW_[A-Z0-9_]+)\s*=\s*(-?\d+)", text):
        tokens = name.split("_")
        for i in range(1, len(tokens) - 1):  # keep two tokens at least
            out["_".join(tokens[i:])] = int(value)
        out[name] = int(value)
    assert out["TIMEOUT"] == -1 and out["KV_PUT"] == 1
    return out


def _names_of(name_of, values):
    out = set()
    for v in values:
        p = name_of(v)
        if p != ffi.NULL:
            out.add(ffi.string(p).decode().lower())
    return out


# The engine's call kinds: their option names are the engine's too.
CALLS = ("publish", "fetch", "consume", "watch", "get")


def _option_names(call):
    p = ffi.new("char **")
    assert lib.jw_call_opts_fields(call.encode(), p) == lib.JW_OK
    try:
        import json
        return {f["name"] for f in json.loads(ffi.string(p[0]).decode())}
    finally:
        lib.jw_free(p[0])


def engine_names():
    """The names the engine gives its enums and its call options,
    lowercase: a binding should ask for them rather than list them."""
    names = set()
    names |= _names_of(lib.jw_stat_name, range(64))
    names |= _names_of(lib.jw_event_kind_name, range(64))
    names |= _names_of(lib.jw_conn_status_name, range(64))
    names |= _names_of(lib.jw_kv_op_name, range(64))
    for call in CALLS:
        names |= _option_names(call)
    p = ffi.new("char **")  # the connection options (jw_opts_fields)
    assert lib.jw_opts_fields(p) == lib.JW_OK
    try:
        import json
        names |= {f["name"] for f in json.loads(ffi.string(p[0]).decode())}
    finally:
        lib.jw_free(p[0])
    names |= {ffi.string(lib.jw_status_name(-i)).decode().lower()
              for i in range(64)} - {"unknown"}
    assert {"in_msgs", "closed", "put", "include_history",
            "timeout", "connect_timeout", "no_echo"} <= names
    return names


def _int_literal(node):
    """The value of an integer literal (-1 included), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _int_literal(node.operand)
        return None if inner is None else -inner
    if (isinstance(node, ast.Constant) and type(node.value) is int):
        return node.value
    return None


def _int_literals(node):
    """Integer literals of a comparison operand (a tuple of them too)."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        values = [_int_literal(e) for e in node.elts]
        return values if values and None not in values else []
    value = _int_literal(node)
    return [] if value is None else [value]


def _terminal_name(node):
    """x for x, a.x, a.x[0], x[0]; else None."""
    while isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _lib_call(node, functions):
    return (isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "lib" and node.func.attr in functions)


def _targets(node):
    """The names an assignment binds."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    out = []
    for t in targets:
        elts = t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]
        out += [(e.id if isinstance(e, ast.Name) else None) for e in elts]
    return out


def problems(source, path="<source>"):
    tree = ast.parse(source)
    functions = enum_returning_functions()
    spellings = constants()
    names = engine_names()
    # Names bound to what an enum-returning engine call gave.
    enum_vars = {n for node in ast.walk(tree)
                 if isinstance(node, (ast.Assign, ast.AnnAssign))
                 and node.value is not None
                 and _lib_call(node.value, functions)
                 for n in _targets(node) if n}
    in_comparison = set()
    found = []

    def report(node, what):
        found.append("%s:%d: %s: %s" % (path, node.lineno, what,
                                        ast.get_source_segment(source, node)))

    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            if (len(node.keys) >= 2
                    and all(k is not None and _int_literal(k) is not None
                            for k in node.keys)
                    and all(isinstance(v, ast.Constant)
                            and isinstance(v.value, str)
                            for v in node.values)):
                report(node, "a table of names by number")
        elif isinstance(node, ast.Compare):
            operands = [node.left] + node.comparators
            in_comparison.update(id(o) for o in operands)
            for a, b in zip(operands, operands[1:]):
                for side, other in ((a, b), (b, a)):
                    values = _int_literals(other)
                    if not values:
                        continue
                    if any(v < 0 for v in values):
                        report(node, "a negative number (a status?)")
                    elif (_lib_call(side, functions)
                          or _terminal_name(side) in enum_vars
                          or STATUS_LIKE.match(_terminal_name(side) or "")):
                        report(node, "an engine enum compared with a number")
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            if node.value is None:
                continue
            targets = _targets(node)
            values = (node.value.elts
                      if isinstance(node.value, (ast.Tuple, ast.List))
                      and len(node.value.elts) == len(targets)
                      else [node.value] * len(targets))
            for target, value in zip(targets, values):
                number = _int_literal(value)
                if target and number is not None and \
                        spellings.get(target.lstrip("_")) == number:
                    report(node, "an engine constant written as a number")
    for node in ast.walk(tree):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)) and \
                id(node) not in in_comparison and len(node.elts) >= 3:
            strings = [e.value.lower() for e in node.elts
                       if isinstance(e, ast.Constant)
                       and isinstance(e.value, str)]
            if len(strings) == len(node.elts) and all(
                    s in names or (s.endswith("_cb") and s[:-3] in names)
                    for s in strings):
                report(node, "a list of the engine's names")
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_enum_numbers_or_name_tables(path):
    found = problems(path.read_text(), str(path.relative_to(REPO)))
    assert not found, "\n".join(found)


# Each of these is what the package held before its names and values came
# from the engine; the checks above must find every one.
BEFORE = [
    '_CONN_STATUS = {1: "CONNECTING", 2: "CONNECTED", 3: "RECONNECTING"}',
    '_OPERATIONS = {1: "PUT", 2: "DEL", 3: "PURGE"}',
    "_KV_PUT, _KV_DEL, _KV_PURGE = \\\n    1, 2, 3",
    '_WATCH = ("include_history", "ignore_deletes", "meta_only",'
    ' "updates_only")',
    'FETCH_OPTIONS = ["batch", "max_bytes", "no_wait"]',
    "_TIMEOUT = -1",
    "JW_OK = 0",
    "closed = closed or st != -1",
    "closed = closed or lib.jw_event_kind_get(ev_p[0]) == 3",
    "connected = lib.jw_conn_status_get(h) == 2",
    "t = lib.jw_value_type_get(v)\nif t in (5, 6, 9): pass",
    "st = lib.jw_pack_nil(p)\nif st != 0: pass",
    "if status_p[0] == 0: pass",
    'keys = ("in_msgs", "in_bytes", "out_msgs", "out_bytes", "reconnects")',
    '_CALLBACKS = ("disconnected_cb", "reconnected_cb", "closed_cb")',
    '_STR_OPTIONS = ("name", "user", "password", "token")',
]

# And these stay allowed: counts, timeouts, sizes, code names in checks.
ALLOWED = [
    "while lib.jw_conn_request_poll(handle, id_p, status_p, reply_p) == 1:"
    " pass",
    "ms = -1 if timeout is None else 5",
    "if n > 0: pass",
    'if e.code in ("INVALID_SUBSCRIPTION", "CONNECTION_CLOSED"): pass',
    "_BATCH = 256",
    "_META = 4",
    "if st != JW_OK: pass",
    "if t == lib.JW_VALUE_NIL: pass",
]


@pytest.mark.parametrize("source", BEFORE)
def test_the_checks_find_what_was_there(source):
    assert problems(source)


@pytest.mark.parametrize("source", ALLOWED)
def test_the_checks_allow_ordinary_numbers(source):
    assert problems(source) == []


def test_watch_options_are_the_engines():
    """KeyValue.watch names none of its options: they are the engine's
    (jw_call_opts_fields "watch"), taken as keyword arguments."""
    import inspect

    import jetwire
    import jetwire.aio
    for watch in (jetwire.KeyValue.watch, jetwire.KeyValue.watch_all,
                  jetwire.aio.KeyValue.watch, jetwire.aio.KeyValue.watch_all):
        kinds = [p.kind for p in inspect.signature(watch).parameters
                 .values()]
        assert inspect.Parameter.KEYWORD_ONLY not in kinds, watch
        assert kinds[-1] is inspect.Parameter.VAR_KEYWORD, watch
    assert _option_names("watch") >= {"include_history", "updates_only"}


def code_names_used(source):
    """The status code names written in source: error_for("TIMEOUT", ...),
    e.code == "TIMEOUT" / in (...), {"code": "INVALID_ARG"}."""
    used = []

    def strings(node):
        elts = (node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set))
                else [node])
        return [e.value for e in elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)]

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and node.args and \
                _terminal_name(node.func) == "error_for":
            used += strings(node.args[0])
        elif isinstance(node, ast.Compare):
            operands = [node.left] + node.comparators
            if any(_terminal_name(o) == "code" for o in operands):
                for o in operands:
                    used += strings(o)
        elif isinstance(node, ast.Dict):
            used += [s for k, v in zip(node.keys, node.values)
                     if isinstance(k, ast.Constant) and k.value == "code"
                     for s in strings(v)]
    return used


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_code_names_are_the_engines(path):
    """A code name written out (a typo gives the base Error class)."""
    known = {ffi.string(lib.jw_status_name(-i)).decode() for i in range(64)}
    unknown = sorted(set(code_names_used(path.read_text())) - known)
    assert not unknown, unknown
