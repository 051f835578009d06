-- Tests of the Lua fast-ingest batches (js:fast_batch, js:publish_batch)
-- against a nats-server with JetStream: 10,000 adds and a commit without
-- a message, headers and options, a refused message with gap "fail"
-- (the batch ends there) and gap "ok" (reported, the batch goes on),
-- streams that refuse, batches closed by close, <close> and the
-- collector, 100,000 messages through publish_batch, bad arguments; on
-- servers before 2.14 every call is NOT_SUPPORTED naming 2.14.0.
--
--   lua5.4 tests/lua/test_js_fast.lua nats://127.0.0.1:4222
--
-- Exits 0 when every test passed.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local test, eq, fails, raises = h.test, h.eq, h.fails, h.raises
local fails_naming, connect = h.fails_naming, h.connect

local function fresh_stream(js, name, extra)
    js:delete_stream(name)
    local cfg = { name = name, subjects = { name:lower() .. ".>" },
                  storage = "memory" }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(js:create_or_update_stream(cfg))
end

local function stored(js, name)
    return assert(js:stream_info(name)).state.messages
end

local probe = connect()
local version = h.server_version(probe)
probe:close()

if version < 21400 then
    test("before 2.14 every call is NOT_SUPPORTED naming 2.14.0", function()
        local nc <close> = connect()
        local js = assert(nc:jetstream())
        fresh_stream(js, "OLDF")
        local words = { "2.14.0" }
        fails_naming("NOT_SUPPORTED", words, js.fast_batch, js)
        fails_naming("NOT_SUPPORTED", words, js.fast_batch, js,
                     { flow = 10 })
        fails_naming("NOT_SUPPORTED", words, js.publish_batch, js,
                     { { "oldf.a", "1" } })
        eq(stored(js, "OLDF"), 0, "nothing sent")
        -- Arguments are checked first, whatever the server.
        raises(js.publish_batch, js, {})
        raises(js.publish_batch, js, { { "oldf.a", 5 } })
        raises(js.fast_batch, js, { nope = 1 })
    end)
    h.finish()
end

test("10,000 adds and a commit without a message", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "BIGF", { allow_batched = true })
    local fb <close> = assert(js:fast_batch())
    assert(tostring(fb):find("open", 1, true), tostring(fb))
    for i = 1, 10000 do
        eq(assert(fb:add("bigf.m", "reading " .. i)), i, "the batch sequence")
    end
    local ack = assert(fb:commit())
    eq(ack.stream, "BIGF", "ack stream")
    eq(ack.count, 10000, "ack count")
    eq(ack.seq, 10000, "ack seq")
    assert(type(ack.batch) == "string" and #ack.batch > 0, "batch id")
    eq(fb:acked(), 10000, "acked")
    eq(#assert(fb:take_errors()), 0, "no errors")
    eq(stored(js, "BIGF"), 10000, "stored")
    eq(assert(js:get_msg("BIGF", 1)).data, "reading 1", "first")
    eq(assert(js:get_msg("BIGF", 10000)).data, "reading 10000", "last")
    -- Committed: it takes nothing more.
    fails("INVALID_ARG", fb.add, fb, "bigf.m", "late")
    fails("INVALID_ARG", fb.commit, fb, "bigf.m", "late")
    eq(stored(js, "BIGF"), 10000, "nothing more")
end)

test("headers and options go with the batch's messages", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "HDRF", { allow_batched = true })
    local fb <close> = assert(js:fast_batch({ flow = 10, gap = "fail",
                                             max_outstanding_acks = 3,
                                             timeout = 5 }))
    eq(assert(fb:add("hdrf.a", "1", { headers = { K = "one" } })), 1, "seq")
    eq(assert(fb:add("hdrf.b", nil, { msg_id = "m2" })), 2, "seq")
    eq(assert(fb:add("hdrf.c", "3", { expected_last_seq = 2 })), 3, "seq")
    local ack = assert(fb:commit("hdrf.d", "4",
                                 { headers = { { "L", "x" }, { "L", "y" } } }))
    eq(ack.count, 4, "count")
    eq(ack.seq, 4, "seq")
    eq(assert(js:get_msg("HDRF", 1)).headers.K, "one", "header")
    local m2 = assert(js:get_msg("HDRF", 2))
    eq(m2.data, "", "no data")
    eq(m2.headers["Nats-Msg-Id"], "m2", "msg_id")
    eq(assert(js:get_msg("HDRF", 3)).data, "3", "an expectation met")
    eq(assert(js:get_msg("HDRF", 4)).headers.L, "x", "the commit's header")
    -- A commit with a message as the batch's first and last.
    local one <close> = assert(js:fast_batch())
    ack = assert(one:commit("hdrf.e", "only"))
    eq(ack.count, 1, "a batch of one")
    eq(stored(js, "HDRF"), 5, "stored")
end)

test("gap fail: a refused message ends the batch there", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "GAPF", { allow_batched = true })
    local fb <close> = assert(js:fast_batch({ gap = "fail" }))
    for i = 1, 5 do assert(fb:add("gapf.x", tostring(i))) end
    -- Refused: the stream is at 5. What the add returns depends on when
    -- the server's answer comes: a seq, or the refusal itself.
    local seq, err = fb:add("gapf.x", "6", { expected_last_seq = 1 })
    assert(seq == 6 or err.code == "WRONG_LAST_SEQUENCE", tostring(err))
    for i = 7, 10 do
        seq, err = fb:add("gapf.x", tostring(i))
        assert(seq or err.code == "WRONG_LAST_SEQUENCE", tostring(err))
    end
    local ack = assert(fb:commit())
    eq(ack.count, 5, "what was stored")
    eq(stored(js, "GAPF"), 5, "nothing after the refused message")
    local errors = assert(fb:take_errors())
    eq(#errors, 1, "one error")
    eq(errors[1].type, "err", "its type")
    eq(errors[1].seq, 6, "the refused message")
    eq(errors[1].err_code, 10071, "wrong last sequence")
    assert(type(errors[1].description) == "string", "description")
    eq(#assert(fb:take_errors()), 0, "taken")
end)

test("gap ok: a refused message is reported and the batch goes on",
     function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "GAPO", { allow_batched = true })
    local fb <close> = assert(js:fast_batch({ gap = "ok" }))
    for i = 1, 5 do assert(fb:add("gapo.x", tostring(i))) end
    eq(assert(fb:add("gapo.x", "6", { expected_last_seq = 1 })), 6, "seq")
    for i = 7, 10 do eq(assert(fb:add("gapo.x", tostring(i))), i, "seq") end
    local ack = assert(fb:commit("gapo.x", "11"))
    eq(ack.count, 11, "the highest sequence the server saw")
    eq(stored(js, "GAPO"), 10, "all but the refused one")
    local errors = assert(fb:take_errors())
    eq(#errors, 1, "one error")
    eq(errors[1].seq, 6, "the refused message")
    eq(errors[1].err_code, 10071, "wrong last sequence")
    eq(fb:acked() >= 10, true, "acked")
    -- The engine refuses other gap modes.
    fails_naming("INVALID_ARG", { "gap" }, js.fast_batch, js,
                 { gap = "maybe" })
end)

test("streams that refuse a fast batch", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "NOFB")
    local fb <close> = assert(js:fast_batch())
    fails_naming("JETSTREAM", { "10205" }, fb.add, fb, "nofb.x", "1")
    fails("JETSTREAM", js.publish_batch, js, { { "nofb.x", "1" },
                                               { "nofb.x", "2" } })
    eq(stored(js, "NOFB"), 0, "nothing stored")
    local lost <close> = assert(js:fast_batch({ timeout = 2 }))
    fails("NO_RESPONDERS", lost.add, lost, "nowhere.at.all", "1")
    fails("NO_RESPONDERS", js.publish_batch, js, { { "nowhere.at.all" } })
end)

test("batches closed by close, <close> and the collector", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "ABNF", { allow_batched = true })
    local fb = assert(js:fast_batch())
    for i = 1, 3 do assert(fb:add("abnf.x", tostring(i))) end
    local acked = fb:acked()
    eq(fb:close(), true, "close")
    eq(fb:close(), true, "close again")
    assert(fb:acked() >= acked, "acked after close")
    assert(tostring(fb):find("closed", 1, true), tostring(fb))
    fails_naming("INVALID_ARG", { "closed" }, fb.add, fb, "abnf.x", "4")
    fails_naming("INVALID_ARG", { "closed" }, fb.add, fb, "abnf.x", "4",
                 { msg_id = "x" })
    fails_naming("INVALID_ARG", { "closed" }, fb.commit, fb, "abnf.x", "4")
    fails_naming("INVALID_ARG", { "closed" }, fb.commit, fb)
    fails_naming("INVALID_ARG", { "closed" }, fb.take_errors, fb)
    do
        local scoped <close> = assert(js:fast_batch())
        assert(scoped:add("abnf.y", "1"))
    end
    do
        local dropped = assert(js:fast_batch())
        assert(dropped:add("abnf.z", "1"))
    end
    collectgarbage()
    collectgarbage()
    -- Not atomic: what was sent stays stored.
    eq(stored(js, "ABNF"), 5, "stored as it came")
end)

test("publish_batch: 100,000 messages", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "PBF", { allow_batched = true })
    local payload = string.rep("x", 128)
    local msg = { "pbf.m", payload }
    local msgs = {}
    for i = 1, 100000 do msgs[i] = msg end
    msgs[100000] = { "pbf.last", "the end" }
    local ack = assert(js:publish_batch(msgs))
    eq(ack.stream, "PBF", "stream")
    eq(ack.count, 100000, "count")
    eq(ack.seq, 100000, "seq")
    eq(stored(js, "PBF"), 100000, "stored")
    eq(assert(js:get_msg("PBF", 99999)).data, payload, "a message")
    eq(assert(js:get_msg("PBF", 100000)).subject, "pbf.last", "the last")
end)

test("publish_batch: headers, one message, options, bad input", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "PBH", { allow_batched = true })
    local ack = assert(js:publish_batch({
        { "pbh.a", "1" },
        { "pbh.b", "2", { K = "v" } },
        { "pbh.c" },
        { "pbh.d", "4", { { "L", "x" }, { "L", "y" } } },
    }, { flow = 2, timeout = 5 }))
    eq(ack.count, 4, "count")
    eq(assert(js:get_msg("PBH", 2)).headers.K, "v", "headers")
    eq(assert(js:get_msg("PBH", 3)).data, "", "no data")
    eq(assert(js:get_msg("PBH", 4)).headers.L, "x", "the last's headers")
    ack = assert(js:publish_batch({ { "pbh.e", "only" } }))
    eq(ack.count, 1, "one message")
    eq(ack.seq, 5, "its seq")
    -- A subject with NUL: nothing is sent.
    fails("INVALID_SUBJECT", js.publish_batch, js,
          { { "pbh.a", "1" }, { "pbh\0b", "2" } })
    eq(stored(js, "PBH"), 5, "stored")
    raises(js.publish_batch, js, {})
    raises(js.publish_batch, js, "pbh.a")
    raises(js.publish_batch, js, { "pbh.a" })
    raises(js.publish_batch, js, { { 5, "x" } })
    raises(js.publish_batch, js, { { "pbh.a", 5 } })
    raises(js.publish_batch, js, { { "pbh.a", "x", 5 } })
    raises(js.publish_batch, js, { { "pbh.a", "x" } }, { nope = 1 })
    raises(js.publish_batch, js, { { "pbh.a", "x" } }, { flow = "x" })
    fails("INVALID_ARG", js.publish_batch, js, { { "pbh.a", "x" } },
          { gap = "maybe" })
    eq(stored(js, "PBH"), 5, "still")
end)

test("bad arguments of a fast batch", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "BADF", { allow_batched = true })
    raises(js.fast_batch, js, 5)
    raises(js.fast_batch, js, { nope = 1 })
    raises(js.fast_batch, js, { flow = 0 })
    raises(js.fast_batch, js, { max_outstanding_acks = 9 })
    local fb <close> = assert(js:fast_batch())
    raises(fb.add, fb)
    raises(fb.add, fb, 5, "x")
    raises(fb.add, fb, "badf.a", 5)
    raises(fb.add, fb, "badf.a", "x", 5)
    raises(fb.add, fb, "badf.a", "x", { nope = 1 })
    raises(fb.add, fb, "badf.a", "x", { headers = 5 })
    fails("INVALID_SUBJECT", fb.add, fb, "badf\0a", "x")
    fails("INVALID_SUBJECT", fb.add, fb, "badf\0a", "x", { msg_id = "m" })
    raises(fb.commit, fb, nil, "data")
    raises(fb.commit, fb, nil, nil, { headers = { K = "v" } })
    raises(fb.commit, fb, "badf.a", "x", { msg_id = "m" })
    raises(fb.commit, fb, "badf.a", 5)
    fails("INVALID_SUBJECT", fb.commit, fb, "badf\0a", "x")
    -- An empty batch has nothing to commit.
    fails("INVALID_ARG", fb.commit, fb)
    -- Methods on something else raise.
    raises(fb.add, js, "badf.a", "1")
    raises(js.fast_batch, fb)
    raises(js.publish_batch, fb, { { "badf.a" } })
    eq(stored(js, "BADF"), 0, "nothing sent")
end)

test("fast batches of a released context", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "RELF", { allow_batched = true })
    local fb <close> = assert(js:fast_batch())
    assert(js:close())
    -- The batch keeps its context alive in the engine.
    assert(fb:add("relf.a", "1"))
    eq(assert(fb:commit("relf.a", "2")).count, 2, "committed")
    fails("INVALID_ARG", js.fast_batch, js)
    fails("INVALID_ARG", js.publish_batch, js, { { "relf.a", "1" } })
end)

h.finish()
