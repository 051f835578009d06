# The compiled cffi module: its ffi and lib objects are dynamic.
from typing import Any

ffi: Any
lib: Any
