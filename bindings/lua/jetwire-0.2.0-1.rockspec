-- Builds the Lua module from the engine's sources with LuaRocks' builtin
-- backend, offline. Run from the repository root:
--
--   luarocks --lua-version 5.4 make bindings/lua/jetwire-0.2.0-1.rockspec
--
-- The CMake build (bindings/lua/CMakeLists.txt) is the main path; the
-- list of core sources here must follow JW_CORE_SOURCES in CMakeLists.txt
-- (tests/conformance/test_lua_rockspec.py checks it). The version is the
-- engine's (JW_VERSION_* in include/jetwire.h) and a rockspec revision;
-- LuaRocks wants it in the file name too, so a new engine version renames
-- this file (tests/python/test_version.py fails until it is).
rockspec_format = "3.0"
package = "jetwire"
version = "0.2.0-1"
source = {
    url = "git+file://.",
}
description = {
    summary = "NATS client for Lua 5.4 on the jetwire C engine",
    detailed = [[
        jetwire is one NATS client engine in C with thin bindings. The Lua
        module pulls deliveries (no Lua runs on the engine's thread) and
        gives a readable fd for event loops and coroutine schedulers.
    ]],
    license = "Apache-2.0",
}
dependencies = {
    "lua >= 5.4, < 5.5",
}
external_dependencies = {
    LIBEVENT = { header = "event2/event.h", library = "event_core" },
    MSGPACK = { header = "msgpack.h", library = "msgpackc" },
    JANSSON = { header = "jansson.h", library = "jansson" },
    OPENSSL = { header = "openssl/evp.h", library = "crypto" },
}
build = {
    type = "builtin",
    modules = {
        jetwire = {
            sources = {
                "bindings/lua/jetwire.c",
                "bindings/lua/conn.c",
                "bindings/lua/loop.c",
                "bindings/lua/sub.c",
                "bindings/lua/pack.c",
                "bindings/lua/json.c",
                "bindings/lua/js.c",
                "bindings/lua/stored.c",
                "bindings/lua/batch.c",
                "bindings/lua/fast.c",
                "bindings/lua/consume.c",
                "bindings/lua/kv.c",
                "bindings/lua/obs.c",
                "bindings/lua/service.c",
                "bindings/lua/sys.c",
                "core/base/status.c",
                "core/base/names.c",
                "core/protocol/parser.c",
                "core/protocol/subject.c",
                "core/protocol/headers.c",
                "core/protocol/codec.c",
                "core/connection/opts.c",
                "core/connection/loop.c",
                "core/connection/conn.c",
                "core/connection/delivery.c",
                "core/connection/events.c",
                "core/connection/publish.c",
                "core/connection/conninfo.c",
                "core/connection/handshake.c",
                "core/connection/waiting.c",
                "core/connection/sub.c",
                "core/connection/msg.c",
                "core/connection/request.c",
                "core/base/map.c",
                "core/connection/url.c",
                "core/protocol/nkeys.c",
                "core/connection/auth.c",
                "core/connection/tls.c",
                "core/connection/pool.c",
                "core/jetstream/js.c",
                "core/jetstream/jsack.c",
                "core/jetstream/jsconf.c",
                "core/jetstream/jsm.c",
                "core/jetstream/jsfetch.c",
                "core/jetstream/jsconsume.c",
                "core/jetstream/callopts.c",
                "core/jetstream/jsordered.c",
                "core/jetstream/jsdirect.c",
                "core/jetstream/jsbatch.c",
                "core/jetstream/jsfast.c",
                "core/jetstream/jscounter.c",
                "core/kv/kv.c",
                "core/kv/kvwatch.c",
                "core/kv/kvbatch.c",
                "core/objstore/objstore.c",
                "core/objstore/objread.c",
                "core/service/service.c",
            },
            defines = { "_GNU_SOURCE" },
            incdirs = {
                "include", "core/base", "core/protocol", "core/connection",
                "core/jetstream", "core/kv", "core/objstore", "core/service",
                "$(LIBEVENT_INCDIR)", "$(MSGPACK_INCDIR)", "$(JANSSON_INCDIR)",
                "$(OPENSSL_INCDIR)",
            },
            libdirs = {
                "$(LIBEVENT_LIBDIR)", "$(MSGPACK_LIBDIR)", "$(JANSSON_LIBDIR)",
                "$(OPENSSL_LIBDIR)",
            },
            libraries = {
                "event_core", "event_pthreads", "msgpackc", "jansson", "ssl",
                "crypto", "pthread",
            },
        },
    },
}
