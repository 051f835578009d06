"""The cffi declarations come from include/jetwire.h at build time
(bindings/python/jetwire/_build.py runs the header through the
preprocessor): every public function of the header is in the built
extension, every enum constant has the header's value, and _build.py holds
no hand copy of a declaration."""
import re
from pathlib import Path

import pytest

from jetwire._jetwire import ffi, lib

# No nats-server: runs once, against the current server (tests/conftest.py).
pytestmark = pytest.mark.server_independent

REPO = Path(__file__).resolve().parents[2]
HEADER = REPO / "include" / "jetwire.h"
BUILD = REPO / "bindings" / "python" / "jetwire" / "_build.py"

# Public functions the Python extension leaves out on purpose, each with the
# reason. Empty: the declarations are generated from the whole header.
DELIBERATELY_UNUSED = {}


def _declarations():
    """The header without comments and preprocessor lines (a directive's
    continuation lines included)."""
    text = re.sub(r"/\*.*?\*/", " ", HEADER.read_text(), flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", "", text, flags=re.M)


def public_functions():
    names = re.findall(r"\bJW_EXTERN\b[^;{}()]*?\b(jw_\w+)\s*\(",
                       _declarations())
    assert len(names) > 100, "the header's functions were not found"
    return set(names)


def enum_constants():
    """JW_ name -> value of the header's enums, the status codes of the
    JW_STATUS_MAP X-macro included."""
    text = HEADER.read_text()
    values = {"JW_" + suffix: int(value) for suffix, value in re.findall(
        r"\bX\((\w+),\s*(-?\d+),", text)}
    for body in re.findall(r"\benum\b[^{;]*\{([^}]*)\}",
                           _declarations()):
        for name, value in re.findall(r"\b(JW_\w+)\s*=\s*(-?\d+)", body):
            values[name] = int(value)
    assert values.get("JW_ETIMEOUT") == -1 and "JW_EVENT_CLOSED" in values
    return values


def test_every_public_function_is_declared_for_cffi():
    missing = sorted(name for name in public_functions()
                     if name not in DELIBERATELY_UNUSED
                     and not hasattr(lib, name))
    assert not missing, ("public functions of include/jetwire.h missing "
                         "from jetwire._jetwire: %s" % ", ".join(missing))
    stale = sorted(set(DELIBERATELY_UNUSED) - public_functions())
    assert not stale, "listed as unused, not in the header: %s" % stale


def test_enum_constants_have_the_headers_values():
    wrong = {name: (value, getattr(lib, name, None))
             for name, value in enum_constants().items()
             if getattr(lib, name, None) != value}
    assert not wrong, "header value, cffi value: %r" % wrong


def test_integer_macros_have_the_headers_values():
    macros = {name: int(value) for name, value in re.findall(
        r"^#define (JW_\w+) +(-?[0-9]+)$", HEADER.read_text(), flags=re.M)}
    assert "JW_VERSION_MAJOR" in macros
    assert {name: getattr(lib, name, None) for name in macros} == macros


def test_status_type_is_the_headers_enum():
    assert ffi.typeof("jw_status").kind == "enum"
    assert ffi.string(lib.jw_status_name(lib.JW_ETIMEOUT)) == b"TIMEOUT"


def test_build_script_holds_no_copy_of_the_header():
    # A prototype at the start of a line (the SOURCE helpers are
    # "static ... jwpy_*" and call jw_ functions only from indented code).
    copied = [line for line in BUILD.read_text().splitlines()
              if re.match(r"(?:const\s+)?[a-z_0-9]+\s*\**\s*jw_\w+\s*\(",
                          line)
              or re.match(r"typedef\s.*\bjw_\w+", line)]
    assert not copied, ("declarations of the header copied into _build.py "
                        "(they are generated from it): %s" % copied)

