"""cffi builder (API mode): compiles the engine's C sources into the
extension module jetwire._jetwire, so the package needs no installed
libjetwire, only the system libraries the engine links (libevent, msgpack-c,
jansson, OpenSSL). The declarations cffi needs are made from
include/jetwire.h at build time (header_cdef), so every function and enum
constant of the header is in ``lib`` and nothing is copied by hand; only
the binding's own C helpers (HELPERS, SOURCE) are declared here."""
import glob
import os
import re
import shlex
import subprocess
import sysconfig

from cffi import FFI  # type: ignore[import-untyped]

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

HEADER = os.path.join(ROOT, "include", "jetwire.h")

# The header's #include lines: cffi knows the standard integer types
# itself and cannot parse the system headers.
_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include\b.*$", re.M)
# An object-like macro (its name not followed by "(") and its value.
_DEFINE = re.compile(r"^[ \t]*#[ \t]*define[ \t]+(JW_\w+)[ \t]+(.*\S)",
                     re.M)


def _integer_macros(text: str) -> "list[str]":
    """The names of the header's integer macros: numbers, and arithmetic
    on numbers and on other JW_ macros (JW_VERSION_MAJOR,
    JW_VERSION_NUMBER). cffi takes their values from the compiler."""
    names: "list[str]" = []
    for name, value in _DEFINE.findall(text.replace("\\\n", " ")):
        words = re.findall(r"[A-Za-z_]\w*", re.sub(r"\b[0-9]\w*", "", value))
        if re.fullmatch(r"[\w\s()+\-*/%<>|&^~]+", value) and all(
                w.startswith("JW_") for w in words):
            names.append(name)
    return names


def _preprocess(text: str, what: str) -> str:
    """text through the preprocessor of the C compiler this build uses,
    without line markers or predefined macros (JW_EXTERN is then empty),
    so that X-macro tables expand as the engine's own build expands them."""
    cc = shlex.split(os.environ.get("CC")
                     or sysconfig.get_config_var("CC") or "cc")
    command = cc + ["-E", "-P", "-undef", "-x", "c", "-"]
    try:
        done = subprocess.run(command, input=text, capture_output=True,
                              text=True)
    except OSError as e:
        raise RuntimeError("cannot run the C preprocessor (%s): %s"
                           % (" ".join(command), e)) from None
    if done.returncode != 0:
        raise RuntimeError("the C preprocessor (%s) failed on %s:\n%s"
                           % (" ".join(command), what, done.stderr))
    return done.stdout


def header_cdef(path: str = HEADER) -> str:
    """The cffi declarations of the public header, so that Python sees
    what C sees and nothing is copied by hand: its typedefs, enums (the
    status enum expanded from its X-macro), callback types and every
    function, as the preprocessor leaves them (no comments, no JW_EXTERN,
    no directives), plus its integer macros."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    defines = "".join("#define %s ...\n" % name
                      for name in _integer_macros(text))
    decls = _preprocess(_INCLUDE.sub("", text), path)
    # A function returning one of the enums (jw_status above all) is
    # declared as returning int: Python gets the same number, but cffi
    # converts an int inline and an enum through its type table, a few ns
    # more on nearly every call (publish, acks, pack) for nothing.
    enums = re.findall(r"\btypedef\s+enum\b[^{;]*\{[^}]*\}\s*(\w+)\s*;",
                       decls)
    if enums:
        decls = re.sub(r"(?m)^(\s*)(?:%s)(?=\s+jw_\w+\s*\()"
                       % "|".join(map(re.escape, enums)), r"\1int", decls)
    return defines + decls


# Python-only C code (SOURCE below): declared here, not in the header.
HELPERS = """
void jwpy_free(jw_msg **msgs, int n);
long long jwpy_flatten(jw_msg **msgs, int n, int64_t *meta, char *buf,
                       size_t cap);
int jwpy_request_start(jw_conn *conn, const char *subject, const char *data,
                       size_t len, uint64_t *id);
int jwpy_watch_take(jw_kv_watcher *w, int64_t timeout_ms, int max,
                    jw_kv_entry **held, int64_t *meta, char *buf, size_t cap,
                    size_t *used, int *status);
extern "Python" int jwpy_wait_check(void *);
"""

SOURCE = r"""
#include "jetwire.h"
#include <string.h>

/* jw_conn_request_start for a request without headers: the message is
 * made and freed here, not by three calls from Python. */
static int jwpy_request_start(jw_conn *conn, const char *subject,
                              const char *data, size_t len, uint64_t *id)
{
    jw_msg *msg = NULL;
    int st = jw_msg_new(subject, NULL, data, len, &msg);
    if (st == JW_OK)
        st = jw_conn_request_start(conn, msg, id);
    jw_msg_free(msg);
    return st;
}

/* A batch as two flat arrays Python converts in one step each: the
 * subject, reply and data bytes of the messages one after the other in buf,
 * and per message JWPY_META integers in meta, the offsets in buf where
 * each part ends (it begins where the one before ended): subject end,
 * reply end (-1: no reply), data end, and 1 when the message has headers
 * (Python asks for them and the status then), else 0. A subject equal to
 * the previous message's is not copied again: its end is -1 and Python
 * keeps the string it made for that one. Few integers, most of them
 * offsets: each costs Python an object. Returns the bytes used, or minus
 * the bytes needed when cap is too small (nothing is written then). */
#define JWPY_META 4

static long long jwpy_flatten(jw_msg **msgs, int n, int64_t *meta, char *buf,
                              size_t cap)
{
    size_t need = 0;
    for (int i = 0; i < n; i++) {
        const char *reply = jw_msg_reply(msgs[i]);
        need += strlen(jw_msg_subject(msgs[i])) + (reply ? strlen(reply) : 0)
                + jw_msg_data_len(msgs[i]);
    }
    if (need > cap)
        return -(long long)need;
    size_t pos = 0;
    const char *last = NULL;
    for (int i = 0; i < n; i++, meta += JWPY_META) {
        const char *subject = jw_msg_subject(msgs[i]);
        const char *reply = jw_msg_reply(msgs[i]);
        size_t dl = jw_msg_data_len(msgs[i]);
        meta[0] = -1;
        if (!last || strcmp(subject, last) != 0) {
            size_t sl = strlen(subject);
            memcpy(buf + pos, subject, sl);
            pos += sl;
            meta[0] = (int64_t)pos;
            last = subject;
        }
        meta[1] = -1;
        if (reply) {
            size_t rl = strlen(reply);
            memcpy(buf + pos, reply, rl);
            pos += rl;
            meta[1] = (int64_t)pos;
        }
        if (dl) {
            memcpy(buf + pos, jw_msg_data(msgs[i]), dl);
            pos += dl;
        }
        meta[2] = (int64_t)pos;
        meta[3] = jw_msg_headers_raw(msgs[i], NULL) != NULL;
    }
    return (long long)pos;
}

/* Up to max watch items in one call, flat as in jwpy_flatten: per item six
 * integers in meta (key length, or -1 for the end-of-initial-values
 * marker; value length; revision; created; delta; operation) and each key
 * and value one after the other in buf (*used bytes). Only the first item
 * may wait (timeout_ms). An entry too large for what is left of buf waits
 * in *held for the next call; when it is first, the count is 0 and *used
 * says how many bytes it needs. *status is JW_OK, JW_ETIMEOUT when nothing
 * came, or the error that ended the batch (after the items returned). */
static int jwpy_watch_take(jw_kv_watcher *w, int64_t timeout_ms, int max,
                           jw_kv_entry **held, int64_t *meta, char *buf,
                           size_t cap, size_t *used, int *status)
{
    int n = 0;
    size_t pos = 0;
    *status = JW_OK;
    while (n < max) {
        jw_kv_entry *e = *held;
        *held = NULL;
        if (!e) {
            int st = jw_kv_watch_next(w, n ? 0 : timeout_ms, &e);
            if (st) {
                if (!(st == JW_ETIMEOUT && n))
                    *status = st;
                break;
            }
        }
        int64_t *m = meta + 6 * n;
        if (!e) {
            m[0] = -1;
            m[1] = m[2] = m[3] = m[4] = m[5] = 0;
            n++;
            continue;
        }
        const char *key = jw_kv_entry_key(e);
        size_t kl = strlen(key), vl = 0;
        const void *value = jw_kv_entry_value(e, &vl);
        if (kl + vl > cap - pos) {
            *held = e;
            if (!n)
                pos = kl + vl;
            break;
        }
        memcpy(buf + pos, key, kl);
        if (vl)
            memcpy(buf + pos + kl, value, vl);
        pos += kl + vl;
        m[0] = (int64_t)kl;
        m[1] = (int64_t)vl;
        m[2] = (int64_t)jw_kv_entry_revision(e);
        m[3] = jw_kv_entry_created(e);
        m[4] = (int64_t)jw_kv_entry_delta(e);
        m[5] = jw_kv_entry_operation(e);
        jw_kv_entry_free(e);
        n++;
    }
    *used = pos;
    return n;
}

static void jwpy_free(jw_msg **msgs, int n)
{
    for (int i = 0; i < n; i++)
        jw_msg_free(msgs[i]);
}
"""


def _core_dirs() -> list:  # type: ignore[type-arg]
    """The engine's folders (core/<layer>), for its sources and headers."""
    return sorted(d for d in glob.glob(os.path.join(ROOT, "core", "*"))
                  if os.path.isdir(d))


def _sources() -> list:  # type: ignore[type-arg]
    sources = sorted(s for d in _core_dirs()
                     for s in glob.glob(os.path.join(d, "*.c")))
    if not sources:
        raise RuntimeError("engine sources not found under %s" % ROOT)
    # setuptools wants paths relative to setup.py's folder (the cwd).
    return [os.path.relpath(s, ROOT) for s in sources]


ffibuilder = FFI()
ffibuilder.cdef(header_cdef() + HELPERS)
ffibuilder.set_source(
    "jetwire._jetwire",
    SOURCE,
    sources=_sources(),
    include_dirs=[os.path.join(ROOT, "include")] + _core_dirs(),
    define_macros=[("_GNU_SOURCE", None), ("JW_BUILDING_LIBRARY", None)],
    extra_compile_args=["-std=c11", "-O2", "-fvisibility=hidden"],
    libraries=["event_core", "event_pthreads", "msgpackc", "jansson", "ssl",
               "crypto", "pthread"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
