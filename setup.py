# The cffi extension needs setup(cffi_modules=...); everything else about
# the package is in pyproject.toml.
from setuptools import setup

setup(cffi_modules=["bindings/python/jetwire/_build.py:ffibuilder"])
