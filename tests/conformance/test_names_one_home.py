"""Names have one home, the engine (issue 16, point 4): the Lua binding
(bindings/lua) and the C and Lua drivers take the names of the engine's
enums from the engine (jw_event_kind_name, jw_conn_status_name,
jw_stat_name, jw_kv_op_name, jw_status_name) and the options of calls from
the engine's table (jw_call_opts_fields; a KV watch's modes are such
options) and hold no tables of their own, and no bare enum numbers. This reads their
source (comments left out; no server, no build) and fails on what would
bring a copy back:

- a string literal spelled as the engine spells one of its names
  ("DISCONNECTED", "in_bytes", "PURGE", "include_history", ...): the
  engine gives each of them, so no code of ours needs to write one;
- two names of one enum near each other in any spelling (the Lua API
  spells event kinds in lowercase: "closed", "lame_duck", ...; an option
  "closed_cb" names one too): a table of adapted names. Lua method
  registrations ({"put", l_kv_put}) are method names, not names of values;
- a table pairing names with engine constants, in any enum the engine has
  or will have: `case JW_X: return "x"`, `{"x", JW_X}`, `[JW_X] = "x"`;
- in C, a status code name written out ("TIMEOUT": jw_status_name
  (JW_ETIMEOUT) is the engine's), and in the Lua driver a code it compares
  with or makes that the engine does not have (Lua has no status constants:
  the code names are its API, so there they are checked, not banned);
- in C, an integer literal as an engine enum: cast to an enum type,
  compared with or assigned to a variable of an enum type or the result of
  a function returning one, or as a `case` label.

The engine's names are read from core/base/names.c,
core/jetstream/callopts.c (the watch options) and the header's status
table, the places they live."""
import bisect
import re

import pytest

from harness.drivers import REPO

# No nats-server: runs once, against the current server (tests/conftest.py).
pytestmark = pytest.mark.server_independent

C_SOURCES = sorted((REPO / "bindings" / "lua").glob("*.[ch]")) + [
    REPO / "tests" / "drivers" / "c_driver.c"]
LUA_SOURCES = sorted((REPO / "bindings" / "lua").glob("*.lua")) + [
    REPO / "tests" / "drivers" / "lua_driver.lua"]

# Two names of one enum this many lines apart or closer make a table.
WINDOW = 12


# ------------------------------------------------------------------------
# The engine's names

def engine_names():
    """{function: [names]} for every jw_*_name function of names.c:
    the string literals of its body."""
    text = (REPO / "core" / "base" / "names.c").read_text()
    out = {}
    for fn, body in re.findall(
            r"const char \*(jw_\w+_name)\s*\([^)]*\)\s*\{(.*?)\n\}", text,
            re.S):
        out[fn] = re.findall(r'"(\w+)"', body)
    # The watch modes are options of the "watch" call: their table.
    calls = (REPO / "core" / "jetstream" / "callopts.c").read_text()
    table = re.search(r"opt_def watch_opts\[\] = \{(.*?)\n\};", calls, re.S)
    assert table, "core/jetstream/callopts.c has no watch_opts table"
    out["watch options"] = re.findall(r'\{"(\w+)", O_', table.group(1))
    # If names.c changes shape, this parser must follow it.
    assert {"DISCONNECTED", "LAME_DUCK"} <= set(out["jw_event_kind_name"])
    assert {"CONNECTING", "CLOSED"} <= set(out["jw_conn_status_name"])
    assert {"in_msgs", "reconnects"} <= set(out["jw_stat_name"])
    assert {"PUT", "DEL", "PURGE"} <= set(out["jw_kv_op_name"])
    assert {"include_history", "updates_only"} <= set(out["watch options"])
    return out


def status_names():
    """The code names of the header's status table ("TIMEOUT", ...)."""
    text = (REPO / "include" / "jetwire.h").read_text()
    names = set(re.findall(r'\bX\(\w+,\s*-?\d+,\s*"(\w+)"', text))
    assert {"OK", "TIMEOUT", "INVALID_ARG", "SLOW_CONSUMER"} <= names
    return names


def enum_types():
    """The header's enum type names (jw_status, jw_event_kind, ...)."""
    text = (REPO / "include" / "jetwire.h").read_text()
    types = set(re.findall(r"\}\s*(jw_\w+)\s*;", text)) & set(
        re.findall(r"typedef enum (jw_\w+)", text))
    assert {"jw_status", "jw_event_kind", "jw_conn_status", "jw_stat",
            "jw_kv_op"} <= types
    return types


def enum_returning_functions(types):
    """Functions whose return type is one of the header's enums."""
    text = (REPO / "include" / "jetwire.h").read_text()
    return set(re.findall(r"\bJW_EXTERN\s+(?:%s)\s+(jw_\w+)\s*\("
                          % "|".join(sorted(types)), text))


# ------------------------------------------------------------------------
# Reading source: string literals and code without comments

class Source:
    """A file's string literals [(offset, value)] and its code with the
    comments blanked (same offsets, same lines)."""

    def __init__(self, text, lang):
        self.text = text
        self.newlines = [i for i, c in enumerate(text) if c == "\n"]
        self.literals = []
        self.code = (self._read_c if lang == "c" else self._read_lua)(text)
        # The code with the literals' contents blanked too.
        bare = list(self.code)
        for offset, value in self.literals:
            bare[offset + 1:offset + 1 + len(value)] = " " * len(value)
        self.bare = "".join(bare)

    def line(self, offset):
        return bisect.bisect_right(self.newlines, offset - 1) + 1

    @staticmethod
    def _blank(segment):
        return re.sub(r"[^\n]", " ", segment)

    def _quoted(self, text, i):
        """End of the quoted literal starting at i."""
        quote, j, n = text[i], i + 1, len(text)
        while j < n and text[j] != quote and text[j] != "\n":
            j += 2 if text[j] == "\\" else 1
        return min(j + 1, n)

    def _read_c(self, text):
        out, i, n = [], 0, len(text)
        while i < n:
            if text.startswith("/*", i):
                j = text.find("*/", i + 2)
                j = n if j < 0 else j + 2
                out.append(self._blank(text[i:j]))
            elif text.startswith("//", i):
                j = text.find("\n", i)
                j = n if j < 0 else j
                out.append(self._blank(text[i:j]))
            elif text[i] in "\"'":
                j = self._quoted(text, i)
                if text[i] == '"':
                    self.literals.append((i, text[i + 1:j - 1]))
                out.append(text[i:j])
            else:
                j = i + 1
                out.append(text[i])
            i = j
        return "".join(out)

    def _read_lua(self, text):
        out, i, n = [], 0, len(text)
        long_open = re.compile(r"\[(=*)\[")
        while i < n:
            if text.startswith("--", i):
                m = long_open.match(text, i + 2)
                if m:
                    close = "]" + m.group(1) + "]"
                    j = text.find(close, m.end())
                    j = n if j < 0 else j + len(close)
                else:
                    j = text.find("\n", i)
                    j = n if j < 0 else j
                out.append(self._blank(text[i:j]))
            elif text[i] in "\"'":
                j = self._quoted(text, i)
                self.literals.append((i, text[i + 1:j - 1]))
                out.append(text[i:j])
            elif long_open.match(text, i):
                m = long_open.match(text, i)
                close = "]" + m.group(1) + "]"
                j = text.find(close, m.end())
                j = n if j < 0 else j + len(close)
                self.literals.append((i, text[m.end():j - len(close)]))
                out.append(text[i:j])
            else:
                j = i + 1
                out.append(text[i])
            i = j
        return "".join(out)


# ------------------------------------------------------------------------
# The checks

METHOD_REG = re.compile(r'"\w+"\s*,\s*l_\w+\s*\}')


def _is_method_registration(src, offset):
    """{"name", l_fn}: a Lua method's name in a luaL_Reg table."""
    return METHOD_REG.match(src.code, offset) is not None and \
        src.code[:offset].rstrip().endswith("{")


def _member(value, names):
    """The engine name value spells in any case, with or without an
    option's "_cb": None when it spells none."""
    v = value.lower()
    for candidate in (v, v[:-3] if v.endswith("_cb") else None):
        if candidate in names:
            return names[candidate]
    return None


def problems(text, lang, path="<source>"):
    groups = engine_names()
    statuses = status_names()
    types = enum_types()
    functions = enum_returning_functions(types)
    src = Source(text, lang)
    found = []

    def report(offset, what, value=None):
        line = src.line(offset)
        shown = src.text.splitlines()[line - 1].strip() \
            if line <= len(src.text.splitlines()) else ""
        found.append("%s:%d: %s%s: %s" % (
            path, line, what, "" if value is None else " %r" % value, shown))

    exact = {name: fn for fn, names in groups.items() for name in names}
    by_group = {fn: {name.lower(): name for name in names}
                for fn, names in groups.items()}
    near = {fn: [] for fn in groups}
    for offset, value in src.literals:
        if lang == "c" and _is_method_registration(src, offset):
            continue
        if value in exact:
            report(offset, "the engine's name written out", value)
        for fn, names in by_group.items():
            member = _member(value, names)
            if member is not None:
                near[fn].append((src.line(offset), member, offset))
        if lang == "c" and value in statuses:
            report(offset, "a status code name written out (use "
                   "jw_status_name)", value)
    for fn, hits in near.items():
        for (line_a, a, _), (line_b, b, offset) in zip(hits, hits[1:]):
            if a != b and line_b - line_a <= WINDOW:
                report(offset, "a table of %s's names (%s, %s)"
                       % (fn, a, b))

    structural = [
        (r"\bcase\s+JW_\w+\s*:\s*(?:return\s*|\w+\s*=\s*)\"",
         "a switch from engine constants to names"),
        (r"\{\s*\"[^\"\n]*\"\s*,\s*JW_\w+\s*\}",
         "a table of names and engine constants"),
        (r"\{\s*JW_\w+\s*,\s*\"[^\"\n]*\"\s*\}",
         "a table of engine constants and names"),
        (r"\[\s*JW_\w+\s*\]\s*=\s*\"", "a table of names by engine constant"),
    ]
    if lang == "c":
        for pattern, what in structural:
            for m in re.finditer(pattern, src.code):
                report(m.start(), what)
        found += _c_numbers(src, types, functions, report)
    else:
        found += _lua_codes(src, statuses, report)
    return found


def _block_end(code, offset):
    """The offset of the '}' closing the block around offset."""
    depth = 0
    for j in range(offset, len(code)):
        if code[j] == "{":
            depth += 1
        elif code[j] == "}":
            if depth == 0:
                return j
            depth -= 1
    return len(code)


def _c_numbers(src, types, functions, report):
    code = src.code
    enum = "|".join(sorted(types))
    number = r"-?\s*(?:0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b"
    for m in re.finditer(r"\(\s*(?:%s)\s*\)\s*\(?\s*%s" % (enum, number),
                         code):
        report(m.start(), "an integer literal cast to an engine enum")
    for m in re.finditer(r"\bcase\s+%s\s*:" % number, code):
        report(m.start(), "a numbered case (a switch on an engine enum?)")
    # Variables declared with an enum type (not pointers: *out is often
    # something else), from the declaration to the end of its block or a
    # declaration of the same name with another type.
    compare = r"(?:==|!=|<=|>=|<|>|=(?!=))"
    for decl in re.finditer(r"\b(?:%s)\s+(\w+)\s*[=;,)]" % enum, code):
        name = re.escape(decl.group(1))
        end = _block_end(src.bare, decl.start())
        other = re.compile(r"\b(?!return\b)(?!%s\b)[A-Za-z_]\w*\s+\**\s*%s"
                           r"\s*[=;,)\[]" % (enum, name))
        redeclared = other.search(code, decl.end(), end)
        if redeclared:
            end = redeclared.start()
        pattern = (r"(?<![\w.>*])%s\s*%s\s*%s|%s\s*(?:==|!=)\s*%s\b(?!\s*\()"
                   % (name, compare, number, number, name))
        for m in re.compile(pattern).finditer(code, decl.start(), end):
            report(m.start(), "an engine enum (%s) and a number"
                   % decl.group(1))
    for m in re.finditer(r"\b(%s)\s*\(" % "|".join(sorted(functions)), code):
        depth, j = 1, m.end()
        while j < len(code) and depth:
            depth += {"(": 1, ")": -1}.get(code[j], 0)
            j += 1
        after = re.match(r"\s*(?:==|!=|<=|>=|<|>)\s*%s" % number, code[j:])
        before = re.search(r"%s\s*(?:==|!=)\s*$" % number, code[:m.start()])
        if after or before:
            report(m.start(), "%s() compared with a number" % m.group(1))
    return []


def _lua_codes(src, statuses, report):
    """Code names the Lua driver compares with or makes: the engine's."""
    for m in re.finditer(
            r"\bcode\s*(?:[~=]=|=)\s*\"(\w+)\"|"
            r"\bcode\s*,\s*\w+\s*=\s*\"(\w+)\"|"
            r"\"(\w+)\"\s*[~=]=\s*[\w.]*\bcode\b", src.code):
        name = next(g for g in m.groups() if g)
        if name not in statuses:
            report(m.start(), "a code name the engine does not have", name)
    return []


# ------------------------------------------------------------------------
# The tests

@pytest.mark.parametrize("path", C_SOURCES + LUA_SOURCES,
                         ids=lambda p: str(p.relative_to(REPO)))
def test_no_name_tables_or_enum_numbers(path):
    lang = "c" if path.suffix in (".c", ".h") else "lua"
    found = problems(path.read_text(), lang, str(path.relative_to(REPO)))
    assert not found, "\n".join(found)


def test_the_sources_are_there():
    names = {p.name for p in C_SOURCES + LUA_SOURCES}
    assert {"conn.c", "loop.c", "kv.c", "c_driver.c",
            "lua_driver.lua"} <= names


# Each of these is what the sources held before their names came from the
# engine (or a close variant); the checks above must find every one.
BEFORE = [
    ("c", '''static const char *status_name(jw_conn_status s)
{
    switch (s) {
    case JW_CONN_CONNECTING:
        return "CONNECTING";
    case JW_CONN_CONNECTED:
        return "CONNECTED";
    default:
        return "CLOSED";
    }
}'''),
    ("c", '''    lua_pushstring(L, c->conn ? status_name(jw_conn_status_get(c->conn))
                              : "CLOSED");'''),
    ("c", '''    static const char *const names[] = {"in_msgs", "in_bytes", "out_msgs",
                                        "out_bytes", "reconnects"};'''),
    ("c", '''static const char *event_kind(jw_event_kind kind)
{
    switch (kind) {
    case JW_EVENT_DISCONNECTED:
        return "disconnected";
    case JW_EVENT_RECONNECTED:
        return "reconnected";
    default:
        return "unknown";
    }
}'''),
    ("c", '''static const char *const event_kinds[] = {
    "disconnected", "reconnected", "closed", "error",
    "discovered_servers", "lame_duck", NULL};'''),
    ("c", '''static const char *op_name(jw_kv_op op)
{
    if (op == JW_KV_DEL)
        return "DEL";
    return op == JW_KV_PURGE ? "PURGE" : "PUT";
}'''),
    ("c", '''static const struct {
    const char *name;
    int flag;
} watch_flags[] = {
    {"include_history", JW_KV_INCLUDE_HISTORY},
    {"ignore_deletes", JW_KV_IGNORE_DELETES},
};'''),
    ("c", '''static const char *const watch_options[] = {
    "include_history", "ignore_deletes", "meta_only", "updates_only", NULL,
};'''),
    ("c", '''static const char *const callbacks[] = {"disconnected_cb",
                                         "closed_cb", NULL};'''),
    ("c", 'static const char *const acks[] = {[JW_ACK_NAK] = "nak"};'),
    ("c", '''    switch (policy) {
    case JW_DELIVER_ALL: name = "all"; break;
    }'''),
    ("c", '    return ljw_fail_code(L, "TIMEOUT", "timed out");'),
    ("c", '        ok = ok && count_error(errors, "TIMEOUT");'),
    ("c", '    if (jw_event_kind_get(ev) == 3)\n        closed = 1;'),
    ("c", '    jw_status st = f();\n    if (st == -1)\n        return;'),
    ("c", '    for (jw_stat i = 0; i < 5; i++)\n        ;'),
    ("c", '    jw_conn_stat(conn, (jw_stat)4);'),
    ("c", '    switch (jw_conn_status_get(conn)) {\n    case 6:\n        break;\n'
          '    }'),
    ("lua", '''local watch_flags = { "include_history", "ignore_deletes", "meta_only",
                      "updates_only" }'''),
    ("lua", 'local kinds = { [1] = "DISCONNECTED" }'),
    ("lua", 'local closed = ev.kind == "closed" or ev.kind == "disconnected"'),
    ("lua", 'if err.code ~= "TIME_OUT" then return end'),
]

# And these stay allowed: method names, English, a kind or code tested.
ALLOWED = [
    ("c", '''static const luaL_Reg methods[] = {
    {"servers", l_servers},
    {"discovered_servers", l_discovered_servers},
    {"put", l_kv_put},
    {"purge", l_kv_purge},
    {NULL, NULL},
};'''),
    ("c", '    .released = "closed",'),
    ("c", '/* "DISCONNECTED", "RECONNECTED": the engine\'s names */'),
    ("c", '    lua_pushstring(L, jw_conn_status_name(JW_CONN_CLOSED));'),
    ("c", '    if (st != JW_OK)\n        return ljw_fail(L, st);'),
    ("c", '    int64_t ms = -1;\n    if (rc < 0)\n        return;'),
    ("c", '    while (jw_conn_request_poll(conn, &id, &rs, &reply) == 1)\n'
          '        ;'),
    ("c", '    case JW_VALUE_NIL:\n        lua_pushnil(L);\n        break;'),
    ("c", '        ok = count_error(errors, "MISMATCH");'),
    ("c", '    for (jw_stat i = JW_STAT_IN_MSGS; jw_stat_name(i); '
          'i = (jw_stat)(i + 1))\n        ;'),
    ("lua", 'if ev.kind == "error" and ev.code == "SLOW_CONSUMER" then end'),
    ("lua", 'return { event = { kind = ev.kind:upper() } }'),
    ("lua", 'ops.kv_purge = marker_op("purge")'),
    ("lua", '-- "in_msgs", "in_bytes": the engine\'s\nlocal x = 1'),
    ("lua", 'local code, message = "INVALID_ARG", tostring(result)'),
]


@pytest.mark.parametrize("language,source", BEFORE,
                         ids=[str(i) for i in range(len(BEFORE))])
def test_the_checks_find_what_was_there(language, source):
    assert problems(source, language)


@pytest.mark.parametrize("language,source", ALLOWED,
                         ids=[str(i) for i in range(len(ALLOWED))])
def test_the_checks_allow_ordinary_code(language, source):
    assert problems(source, language) == []
