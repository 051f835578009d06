-- Builds the Lua module from the engine's sources with LuaRocks' builtin
-- backend, offline. Run from the repository root:
--
--   luarocks make bindings/lua/jetwire-scm-0.rockspec
--
-- The CMake build (bindings/lua/CMakeLists.txt) is the main path; the
-- list of core sources here must follow JW_CORE_SOURCES in CMakeLists.txt.
rockspec_format = "3.0"
package = "jetwire"
version = "scm-0"
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
                "bindings/lua/consume.c",
                "bindings/lua/kv.c",
                "core/status.c",
                "core/names.c",
                "core/parser.c",
                "core/subject.c",
                "core/headers.c",
                "core/codec.c",
                "core/opts.c",
                "core/loop.c",
                "core/conn.c",
                "core/events.c",
                "core/publish.c",
                "core/conninfo.c",
                "core/waiting.c",
                "core/sub.c",
                "core/msg.c",
                "core/request.c",
                "core/map.c",
                "core/url.c",
                "core/nkeys.c",
                "core/auth.c",
                "core/tls.c",
                "core/pool.c",
                "core/js.c",
                "core/jsack.c",
                "core/jsconf.c",
                "core/jsm.c",
                "core/jsfetch.c",
                "core/jsconsume.c",
                "core/callopts.c",
                "core/jsordered.c",
                "core/kv.c",
            },
            defines = { "_GNU_SOURCE" },
            incdirs = {
                "include", "core", "$(LIBEVENT_INCDIR)", "$(MSGPACK_INCDIR)",
                "$(JANSSON_INCDIR)", "$(OPENSSL_INCDIR)",
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
