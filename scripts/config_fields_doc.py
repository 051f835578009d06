#!/usr/bin/env python3
"""Write the engine's tables of configuration fields (jw_js_config_fields)
and of call options (jw_call_opts_fields), read through the installed
Python package, into the docs, between the markers <!-- fields:KIND -->
and <!-- /fields:KIND --> (<!-- options:CALL --> for a call's options), so
that the docs list exactly what the engine knows. With --check, only say
whether the docs are up to date (exit 1 when not):
tests/python/test_docs_fields.py runs that.

    .venv/bin/python scripts/config_fields_doc.py [--check]
"""
import re
import sys
from pathlib import Path

import json

import jetwire
from jetwire._jetwire import ffi, lib

ROOT = Path(__file__).resolve().parents[1]
DOCS = {"stream": "docs/jetstream.md", "consumer": "docs/jetstream.md",
        "bucket": "docs/kv.md", "object_store": "docs/objects.md"}
OPTION_DOCS = {"publish": "docs/jetstream.md", "fetch": "docs/jetstream.md",
               "consume": "docs/jetstream.md", "watch": "docs/kv.md",
               "get": "docs/kv.md", "create": "docs/kv.md",
               "purge": "docs/kv.md", "direct_get": "docs/jetstream.md",
               "get_many": "docs/kv.md", "history": "docs/kv.md",
               "fast": "docs/jetstream.md"}
TYPES = {"duration": "duration", "durations": "array of durations",
         "strings": "array of strings", "any": "any JSON"}


def table(kind):
    rows = ["| field | type | nats-server |", "|---|---|---|"]
    for f in jetwire.config_fields(kind):
        kind_text = TYPES.get(f["type"], f["type"])
        if f.get("fields"):
            kind_text += " (%s)" % ", ".join(
                "`%s`: %s" % (m["name"], TYPES.get(m["type"], m["type"]))
                for m in f["fields"])
        if f.get("values"):
            kind_text += ": %s" % ", ".join('`"%s"`' % v for v in f["values"])
        name = "`%s`" % f["name"]
        if f.get("alias"):
            name += " (or `%s`)" % f["alias"]
        rows.append("| %s | %s | %s |" % (name, kind_text,
                                          f["since"] or "all"))
    return "\n".join(rows) + "\n"


def call_options(call):
    p = ffi.new("char **")
    if lib.jw_call_opts_fields(call.encode(), p) != 0:
        raise SystemExit("no options for %s" % call)
    try:
        return json.loads(ffi.string(p[0]).decode())
    finally:
        lib.jw_free(p[0])


def options_table(call):
    rows = ["| option | type | nats-server | what it does |",
            "|---|---|---|---|"]
    for o in call_options(call):
        rows.append("| `%s` | %s | %s | %s |" % (
            o["name"], o["type"], o["since"] or "all", o["doc"]))
    return "\n".join(rows) + "\n"


def render(text, kind, marker="fields", make=table):
    pattern = re.compile(r"(<!-- %s:%s -->\n).*?(<!-- /%s:%s -->)"
                         % (marker, kind, marker, kind), re.S)
    if not pattern.search(text):
        raise SystemExit("no markers for %s %s" % (marker, kind))
    return pattern.sub(lambda m: m.group(1) + make(kind) + m.group(2),
                       text)


def main():
    check = "--check" in sys.argv[1:]
    stale = []
    for path in sorted(set(DOCS.values()) | set(OPTION_DOCS.values())):
        doc = ROOT / path
        text = doc.read_text()
        new = text
        for kind, where in DOCS.items():
            if where == path:
                new = render(new, kind)
        for call, where in OPTION_DOCS.items():
            if where == path:
                new = render(new, call, "options", options_table)
        if new != text:
            stale.append(path)
            if not check:
                doc.write_text(new)
    if check and stale:
        print("out of date with the engine's table: %s (run %s)"
              % (", ".join(stale), "scripts/config_fields_doc.py"))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
