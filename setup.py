# The cffi extension needs setup(cffi_modules=...); everything else about
# the package is in pyproject.toml, except the version: it is the engine's,
# read from include/jetwire.h (JW_VERSION_MAJOR/MINOR/PATCH, the one home
# CMake and the C library also read), so pyproject.toml lists it as dynamic.
import os
import re

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def engine_version() -> str:
    with open(os.path.join(HERE, "include", "jetwire.h"),
              encoding="utf-8") as f:
        header = f.read()
    parts = []
    for part in ("MAJOR", "MINOR", "PATCH"):
        found = re.search(r"^#define JW_VERSION_%s ([0-9]+)$" % part, header,
                          re.M)
        if not found:
            raise RuntimeError("include/jetwire.h has no JW_VERSION_%s"
                               % part)
        parts.append(found.group(1))
    return ".".join(parts)


setup(version=engine_version(),
      cffi_modules=["bindings/python/jetwire/_build.py:ffibuilder"])
