-- Tests of the Lua object store (js:create_object_store, obs:put, get,
-- open, info, list, delete, update_meta, links, watch) against a
-- nats-server with JetStream: sizes 0, 1, a chunk, a chunk and one, 5 MB,
-- each read back whole and through a reader in small pieces; puts from a
-- file and from a reader function (its error raised out of put); a
-- corrupted object (PROTOCOL); deleted objects and listings; metadata
-- updates and renames; links to objects and buckets; a watcher with its
-- end-of-initial marker; closed handles and bad arguments. Bucket
-- compression and metadata are NOT_SUPPORTED before 2.10.
--
--   lua5.4 tests/lua/test_objstore.lua nats://127.0.0.1:4222
--
-- Exits 0 when every test passed.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local test, eq, fails, raises = h.test, h.eq, h.fails, h.raises
local connect = h.connect

local probe = connect()
local version = h.server_version(probe)
probe:close()

-- A fresh bucket named bucket on a new connection: nc, js, obs.
local function fresh(bucket, extra)
    local nc = connect()
    local js = assert(nc:jetstream())
    js:delete_object_store(bucket)
    local cfg = { bucket = bucket }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return nc, js, assert(js:create_object_store(cfg))
end

-- n bytes of a pattern depending on seed.
local function pattern(n, seed)
    local parts, piece = {}, {}
    for i = 1, 256 do piece[i] = string.char((i * 7 + seed) % 256) end
    piece = table.concat(piece)
    for i = 1, n // 256 do parts[i] = piece end
    parts[#parts + 1] = piece:sub(1, n % 256)
    return table.concat(parts)
end

-- The watcher's next value (an info or false); nil, err fails the test.
local function step(w)
    local v, err = w:next(5)
    assert(v ~= nil, tostring(err))
    return v
end

-- Read the object name through a reader in pieces of n bytes.
local function read_all(obs, name, n)
    local r <close> = assert(obs:open(name))
    local parts = {}
    while true do
        local s, err = r:read(n)
        if s == nil then
            assert(err == nil, tostring(err))
            break
        end
        assert(#s <= n and #s > 0, "a piece of at most n bytes")
        parts[#parts + 1] = s
    end
    return table.concat(parts), r:info()
end

test("buckets: create, bind, update, names, statuses, delete", function()
    local nc <close>, js, obs = fresh("LBKT", { description = "d1" })
    eq(obs:bucket(), "LBKT", "bucket")
    eq(tostring(obs), "jetwire.ObjectStore (LBKT)", "tostring")
    local st = assert(obs:status())
    eq(st.bucket, "LBKT", "status bucket")
    eq(st.description, "d1", "status description")
    eq(st.sealed, false, "not sealed")
    eq(st.backing_store, "JetStream", "backing store")
    -- The server refuses the stream of another configuration.
    fails("JETSTREAM", js.create_object_store, js,
          { bucket = "LBKT", description = "other" })
    assert(js:update_object_store { bucket = "LBKT", description = "d2" })
    -- Bound through a context of 1 s: its last call below waits that
    -- long on 2.9 (see there).
    local quick = assert(nc:jetstream { timeout = 1 })
    local bound = assert(quick:object_store("LBKT"))
    eq(assert(bound:status()).description, "d2", "updated")
    assert(js:create_or_update_object_store { bucket = "LBKT", ttl = 60 })
    eq(assert(bound:status()).ttl, 60, "ttl in seconds")
    local found = false
    for _, n in ipairs(assert(js:object_store_names())) do
        if n == "LBKT" then found = true end
    end
    assert(found, "named")
    found = false
    for _, s in ipairs(assert(js:object_stores())) do
        if s.bucket == "LBKT" then found = true end
    end
    assert(found, "listed")
    fails("BUCKET_NOT_FOUND", js.object_store, js, "LNOPE")
    fails("BUCKET_NOT_FOUND", js.update_object_store, js, { bucket = "LNOPE" })
    fails("INVALID_ARG", js.create_object_store, js,
          { bucket = "LX", history = 2 })
    fails("INVALID_ARG", js.create_object_store, js, { bucket = "bad.name" })
    raises(js.create_object_store, js, "LX")
    assert(js:delete_object_store("LBKT"))
    fails("BUCKET_NOT_FOUND", js.delete_object_store, js, "LBKT")
    -- A handle on a deleted bucket (2.9 does not answer its direct gets:
    -- the engine asks for the stream after the wait).
    fails("BUCKET_NOT_FOUND", bound.info, bound, "x")
end)

test("2.10 fields: compression and metadata", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    js:delete_object_store("LNEW")
    local cfg = { bucket = "LNEW", compression = true,
                  metadata = { owner = "ops" } }
    if version < 21000 then
        local err = fails("NOT_SUPPORTED", js.create_object_store, js, cfg)
        assert(err.message:find("2.10", 1, true), err.message)
    else
        local obs = assert(js:create_object_store(cfg))
        local st = assert(obs:status())
        eq(st.is_compressed, true, "compressed")
        eq(st.metadata.owner, "ops", "metadata")
        assert(js:delete_object_store("LNEW"))
    end
end)

test("sizes 0, 1, a chunk, a chunk and one, 5 MB", function()
    local nc <close>, js, obs = fresh("LSIZES")
    local chunk = 1000
    for _, n in ipairs { 0, 1, chunk, chunk + 1, 5 * 1024 * 1024 } do
        local name = "obj" .. n
        local data = pattern(n, n % 251)
        local cs = n < 5000 and chunk or nil
        local info = assert(obs:put({ name = name, chunk_size = cs }, data))
        eq(info.name, name, "info name")
        eq(info.size, n, "info size")
        eq(info.bucket, "LSIZES", "info bucket")
        assert(info.digest:match("^SHA%-256="), "digest")
        eq(info.deleted, nil, "not deleted")
        local expect_chunks = n == 0 and 0
            or math.ceil(n / (cs or 128 * 1024))
        eq(info.chunks, expect_chunks, "chunks of " .. n)
        local got, ginfo = assert(obs:get(name))
        eq(#got, n, "get size")
        assert(got == data, "get bytes of " .. n)
        eq(ginfo.digest, info.digest, "get info digest")
        local rd, rinfo = read_all(obs, name, n > 100000 and 65537 or 7)
        assert(rd == data, "reader bytes of " .. n)
        eq(rinfo.nuid, info.nuid, "reader info")
        -- read() without n: the whole rest, then nil.
        local r <close> = assert(obs:open(name))
        local all = r:read()
        if n == 0 then
            eq(all, nil, "empty object: nil at once")
        else
            assert(all == data, "read() gives everything")
            eq(r:read(), nil, "then the end")
        end
        assert(r:close())
        fails("INVALID_ARG", r.read, r)
    end
    fails("KEY_NOT_FOUND", obs.get, obs, "missing")
    fails("KEY_NOT_FOUND", obs.open, obs, "missing")
    -- A put replaces the object of the same name.
    assert(obs:put("obj1", "new"))
    eq(assert(obs:get("obj1")), "new", "replaced")
end)

test("puts from a file and from a reader function", function()
    local nc <close>, js, obs = fresh("LSTREAM")
    local data = pattern(300000, 5)
    local path = os.tmpname()
    local f = assert(io.open(path, "wb"))
    f:write(data)
    f:close()
    f = assert(io.open(path, "rb"))
    local info = assert(obs:put({ name = "file", description = "from a file",
                                  chunk_size = 4096 }, f))
    f:close()
    os.remove(path)
    eq(info.size, #data, "file size")
    eq(info.chunks, math.ceil(#data / 4096), "file chunks")
    eq(info.description, "from a file", "description")
    assert(obs:get("file") == data, "file bytes")

    -- A function giving pieces of odd sizes, some empty.
    local pos, sizes, k = 1, { 1, 0, 999, 4097, 70000 }, 0
    local function source()
        if pos > #data then return nil end
        k = k % #sizes + 1
        local s = data:sub(pos, pos + sizes[k] - 1)
        pos = pos + sizes[k]
        return s
    end
    info = assert(obs:put("func", source))
    eq(info.size, #data, "function size")
    assert(obs:get("func") == data, "function bytes")

    -- An error raised by the function comes out of put, raised; no object.
    local marker = { "mine" }
    local calls = 0
    local ok, err = pcall(obs.put, obs, "broken", function()
        calls = calls + 1
        if calls > 3 then error(marker) end
        return string.rep("x", 5000)
    end)
    eq(ok, false, "raised")
    eq(err, marker, "the function's own error value")
    fails("KEY_NOT_FOUND", obs.info, obs, "broken")
    -- nil, err from the function: put gives nil, err (IO).
    local e = fails("IO", obs.put, obs, "broken", function()
        return nil, "disk on fire"
    end)
    assert(e.message:find("disk on fire", 1, true), e.message)
    -- The function may close the bucket handle: the put ends first.
    local closing = assert(js:object_store("LSTREAM"))
    local sent = 0
    info = assert(closing:put("closed", function()
        sent = sent + 1
        if sent == 2 then assert(closing:close()) end
        if sent > 3 then return nil end
        return "abc"
    end))
    eq(info.size, 9, "a put outliving its handle's close")
    fails("INVALID_ARG", closing.get, closing, "closed")
    eq(assert(obs:get("closed")), "abcabcabc", "stored")
    -- A value that is not a string raises.
    raises(obs.put, obs, "broken", function() return 42 end)
    fails("KEY_NOT_FOUND", obs.info, obs, "broken")
end)

test("meta: description, headers, metadata", function()
    local nc <close>, js, obs = fresh("LMETA")
    local meta = { name = "doc", description = "a doc",
                   headers = { ["X-A"] = { "1", "2" }, ["X-B"] = "3" } }
    if version >= 21000 then meta.metadata = { k = "v" } end
    local info = assert(obs:put(meta, "hello"))
    eq(info.description, "a doc", "description")
    eq(info.headers["X-A"][2], "2", "header list")
    eq(info.headers["X-B"][1], "3", "a string header as a list")
    if version >= 21000 then eq(info.metadata.k, "v", "metadata") end
    local again = assert(obs:info("doc"))
    eq(again.nuid, info.nuid, "info")
    raises(obs.put, obs, 42, "x")
    raises(obs.put, obs, "x", 42)
    raises(obs.put, obs, { name = "x", [1] = "y" }, "x")
    fails("INVALID_ARG", obs.put, obs, { name = "x", bogus = 1 }, "x")
    fails("INVALID_ARG", obs.put, obs, { name = "" }, "x")
end)

test("a corrupted object is PROTOCOL, its bytes handed out first", function()
    local nc <close>, js, obs = fresh("LBAD")
    local data = pattern(5000, 3)
    local info = assert(obs:put({ name = "doc", chunk_size = 1000 }, data))
    local subject = "$O.LBAD.C." .. info.nuid
    eq(assert(js:purge_stream("OBJ_LBAD", { subject = subject })), 5, "purged")
    local bad = data:sub(1, 2500) .. string.char(data:byte(2501) ~ 1)
        .. data:sub(2502)
    for i = 1, 5000, 1000 do
        assert(js:publish(subject, bad:sub(i, i + 999)))
    end
    local e = fails("PROTOCOL", obs.get, obs, "doc")
    assert(e.message:find("digest", 1, true), e.message)
    local r <close> = assert(obs:open("doc"))
    local got = {}
    while true do
        local s, err = r:read(700)
        if not s then
            eq(err and err.code, "PROTOCOL", "the end's verdict")
            break
        end
        got[#got + 1] = s
    end
    eq(#table.concat(got), 5000, "every byte first")
    fails("PROTOCOL", r.read, r, 10)
    fails("PROTOCOL", r.read, r)
end)

test("delete, list and info with deleted objects", function()
    local nc <close>, js, obs = fresh("LDEL")
    eq(#assert(obs:list()), 0, "empty bucket: empty list")
    assert(obs:put("a", "1"))
    assert(obs:put("b", "22"))
    assert(obs:put("c", "333"))
    eq(#assert(obs:list()), 3, "three")
    assert(obs:delete("b"))
    assert(obs:delete("b")) -- harmless again
    fails("KEY_NOT_FOUND", obs.info, obs, "b")
    fails("KEY_NOT_FOUND", obs.get, obs, "b")
    local d = assert(obs:info("b", true))
    eq(d.deleted, true, "deleted")
    eq(d.size, 0, "deleted size")
    local names = {}
    for _, i in ipairs(assert(obs:list())) do names[#names + 1] = i.name end
    table.sort(names)
    eq(table.concat(names, ","), "a,c", "live ones")
    eq(#assert(obs:list(true)), 3, "with deleted")
    fails("KEY_NOT_FOUND", obs.delete, obs, "never")
end)

test("update_meta: rename, description, collisions", function()
    local nc <close>, js, obs = fresh("LUPD")
    assert(obs:put({ name = "a", description = "old" }, "data"))
    assert(obs:put("b", "other"))
    assert(obs:update_meta("a", { description = "new" }))
    eq(assert(obs:info("a")).description, "new", "description")
    assert(obs:update_meta("a", { name = "z" }))
    fails("KEY_NOT_FOUND", obs.info, obs, "a")
    local z = assert(obs:info("z"))
    eq(z.description, nil, "a field left out is removed")
    eq(assert(obs:get("z")), "data", "renamed bytes")
    fails("KEY_EXISTS", obs.update_meta, obs, "z", { name = "b" })
    fails("KEY_NOT_FOUND", obs.update_meta, obs, "nope", { name = "q" })
    raises(obs.update_meta, obs, "z", "q")
    fails("INVALID_ARG", obs.update_meta, obs, "z", { chunk_size = 5 })
end)

test("links to objects and buckets", function()
    local nc <close>, js, obs = fresh("LLNK")
    js:delete_object_store("LLNK2")
    local other = assert(js:create_object_store { bucket = "LLNK2" })
    assert(other:put("target", "payload"))
    local li = assert(obs:add_link("ln", other, "target"))
    eq(li.name, "ln", "link name")
    eq(li.options.link.bucket, "LLNK2", "link bucket")
    eq(li.options.link.name, "target", "link target")
    local data, info = assert(obs:get("ln"))
    eq(data, "payload", "followed")
    eq(info.bucket, "LLNK2", "the target's info")
    eq(read_all(obs, "ln", 3), "payload", "reader follows")
    local bl = assert(obs:add_bucket_link("bl", other))
    eq(bl.options.link.bucket, "LLNK2", "bucket link")
    eq(bl.options.link.name, nil, "no object")
    fails("INVALID_ARG", obs.get, obs, "bl")
    fails("KEY_NOT_FOUND", obs.add_link, obs, "x", other, "missing")
    fails("INVALID_ARG", obs.add_link, obs, "x", obs, "ln")
    assert(obs:put("live", "x"))
    fails("KEY_EXISTS", obs.add_link, obs, "live", other, "target")
    raises(obs.add_link, obs, "x", js, "target")
    assert(js:delete_object_store("LLNK2"))
end)

test("watch: initial infos, the marker once, live changes", function()
    local nc <close>, js, obs = fresh("LWAT")
    assert(obs:put("a", "1"))
    assert(obs:put("a", "2"))
    assert(obs:put("b", "3"))
    local w <close> = assert(obs:watch())
    local seen = {}
    while true do
        local i = step(w)
        if i == false then break end
        seen[#seen + 1] = i.name
    end
    table.sort(seen)
    eq(table.concat(seen, ","), "a,b", "current infos")
    assert(obs:put("c", "4"))
    eq(step(w).name, "c", "a live put")
    assert(obs:delete("a"))
    local d = step(w)
    eq(d.name, "a", "a delete")
    eq(d.deleted, true, "deleted")
    fails("TIMEOUT", w.next, w, 0.1)

    local wh <close> = assert(obs:watch { include_history = true,
                                          ignore_deletes = true })
    local n = 0
    while true do
        local i = step(wh)
        if not i then break end
        n = n + 1
    end
    -- The meta of each name is rolled up: a history is the last of each.
    eq(n, 2, "history without deletes (b, c)")
    local wu <close> = assert(obs:watch { updates_only = true })
    eq(step(wu), false, "marker first")
    assert(obs:put("d", "5"))
    eq(step(wu).name, "d", "update")
    assert(wu:stop())
    fails("INVALID_ARG", wu.next, wu)
    fails("INVALID_ARG", obs.watch, obs, { meta_only = true })
    raises(obs.watch, obs, { bogus = true })
end)

test("seal, closed handles, handles outliving what made them", function()
    local nc <close>, js, obs = fresh("LSEAL")
    assert(obs:put("a", "abcdef"))
    local r <close> = assert(obs:open("a"))
    local w <close> = assert(obs:watch())
    assert(obs:close())
    eq(tostring(obs), "jetwire.ObjectStore (closed)", "closed")
    -- The reader and the watcher keep the bucket alive in the engine.
    eq(r:read(3), "abc", "reader after the close")
    eq(step(w).name, "a", "watcher after the close")
    for _, m in ipairs { "bucket", "status", "seal", "list" } do
        fails("INVALID_ARG", obs[m], obs)
    end
    fails("INVALID_ARG", obs.put, obs, "a", "x")
    fails("INVALID_ARG", obs.get, obs, "a")
    fails("INVALID_ARG", obs.open, obs, "a")
    fails("INVALID_ARG", obs.info, obs, "a")
    fails("INVALID_ARG", obs.delete, obs, "a")
    local sealed = assert(js:object_store("LSEAL"))
    assert(sealed:seal())
    eq(assert(sealed:status()).sealed, true, "sealed")
    assert(not sealed:put("b", "x"), "a sealed bucket takes nothing")
    assert(js:close())
    fails("INVALID_ARG", js.object_store, js, "LSEAL")
    fails("INVALID_ARG", js.object_store_names, js)
    raises(obs.put, js, "a", "x")
    raises(js.object_store, obs, "LSEAL")
    local js2 = assert(nc:jetstream())
    assert(js2:delete_object_store("LSEAL"))
end)

h.finish()
