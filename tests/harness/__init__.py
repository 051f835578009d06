"""The cross-language conformance harness: nats-server processes and the
per-language driver processes of tests/drivers/PROTOCOL.md."""
from .drivers import (Driver, DriverError, DriverFailure, DriverPool,
                      DriverSpares, JsMsg,
                      KvEntry,
                      Msg,
                      available_languages, b64d, b64e, build_dir,
                      headers_by_name,
                      language_pairs, languages, value_from_wire,
                      value_to_wire)
from .server import (NatsServer, ServerError, ServerFactory, ServerSpares,
                     free_port,
                     nats_server_binary, nats_server_version, parse_version)

__all__ = [
    "Driver", "DriverError", "DriverFailure", "DriverPool", "DriverSpares", "JsMsg", "KvEntry", "Msg",
    "available_languages", "b64d", "b64e", "build_dir", "headers_by_name", "language_pairs",
    "languages", "value_from_wire", "value_to_wire",
    "NatsServer", "ServerError", "ServerFactory", "ServerSpares", "free_port",
    "nats_server_binary", "nats_server_version", "parse_version",
]
