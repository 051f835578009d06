-- Tests of the Lua atomic batches (js:atomic_batch, js:publish_atomic)
-- and counters (js:counter_add, counter_get, counter_get_many) against a
-- nats-server with JetStream: a 1,000-message batch stored whole, batches
-- abandoned by close, <close> and the collector (nothing stored), a
-- refused batch storing none of it, commits without a message, closed
-- and committed batches, counters past 64 bits, their entries and a
-- sourced aggregate, bad arguments; on servers before 2.12 every call is
-- NOT_SUPPORTED naming 2.12.0.
--
--   lua5.4 tests/lua/test_js_batch.lua nats://127.0.0.1:4222
--
-- Exits 0 when every test passed.

package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local h = require "harness"
local test, eq, fails, raises = h.test, h.eq, h.fails, h.raises
local fails_naming, connect = h.fails_naming, h.connect
local jetwire = h.jetwire

local function fresh_stream(js, name, extra)
    js:delete_stream(name)
    local cfg = { name = name, subjects = { name:lower() .. ".>" } }
    for k, v in pairs(extra or {}) do cfg[k] = v end
    return assert(js:create_or_update_stream(cfg))
end

local function stored(js, name)
    return assert(js:stream_info(name)).state.messages
end

local probe = connect()
local version = h.server_version(probe)
probe:close()

if version < 21200 then
    test("before 2.12 every call is NOT_SUPPORTED naming 2.12.0", function()
        local nc <close> = connect()
        local js = assert(nc:jetstream())
        fresh_stream(js, "OLDB")
        local words = { "2.12.0" }
        fails_naming("NOT_SUPPORTED", words, js.atomic_batch, js)
        fails_naming("NOT_SUPPORTED", words, js.publish_atomic, js,
                     { { "oldb.a", "1" } })
        fails_naming("NOT_SUPPORTED", words, js.counter_add, js, "oldb.a", 1)
        fails_naming("NOT_SUPPORTED", words, js.counter_get, js, "OLDB",
                     "oldb.a")
        -- One direct get: NOT_SUPPORTED too (direct gets need 2.11).
        fails("NOT_SUPPORTED", js.counter_get_many, js, "OLDB", { "oldb.a" })
        -- Arguments are checked first, whatever the server.
        raises(js.counter_add, js, "oldb.a", 1.5)
        raises(js.publish_atomic, js, {})
    end)
    h.finish()
end

test("a batch of 1,000 is stored whole", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "BIG", { allow_atomic = true })
    local b <close> = assert(js:atomic_batch())
    local id = b:id()
    assert(type(id) == "string" and #id > 0, "batch id")
    eq(b:count(), 0, "nothing sent yet")
    for i = 1, 999 do
        assert(b:add("big.m", "message " .. i))
    end
    eq(b:count(), 999, "count before the commit")
    eq(stored(js, "BIG"), 0, "nothing stored before the commit")
    local ack = assert(b:commit("big.m", "message 1000"))
    eq(ack.stream, "BIG", "ack stream")
    eq(ack.seq, 1000, "ack seq is the last message's")
    eq(ack.batch, id, "ack batch")
    eq(ack.count, 1000, "ack count")
    eq(ack.duplicate, false, "duplicate")
    eq(b:count(), 1000, "count with the commit")
    eq(stored(js, "BIG"), 1000, "stored")
    eq(assert(js:get_msg("BIG", 1)).data, "message 1", "first")
    eq(assert(js:get_msg("BIG", 1000)).data, "message 1000", "last")
    -- Committed: it takes nothing more.
    fails("INVALID_ARG", b.add, b, "big.m", "late")
    fails("INVALID_ARG", b.commit, b, "big.m", "late")
    eq(stored(js, "BIG"), 1000, "nothing more")
end)

test("headers and options go with the batch's messages", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "HDR", { allow_atomic = true })
    local b <close> = assert(js:atomic_batch())
    assert(b:add("hdr.a", "1", { headers = { K = "one" } }))
    assert(b:add("hdr.b", nil, { headers = { { "L", "x" }, { "L", "y" } } }))
    local ack = assert(b:commit("hdr.c", "3", { msg_id = "m3",
                                                headers = { K = "three" },
                                                timeout = 2 }))
    eq(ack.count, 3, "count")
    local m1 = assert(js:get_msg("HDR", 1))
    eq(m1.headers.K, "one", "header of the first")
    local m2 = assert(js:get_msg("HDR", 2))
    eq(m2.data, "", "no data")
    eq(m2.headers.L, "x", "first of a repeated header")
    local m3 = assert(js:get_msg("HDR", 3))
    eq(m3.headers.K, "three", "header of the commit")
    eq(m3.headers["Nats-Msg-Id"], "m3", "msg_id")
end)

test("a batch abandoned by close, <close> or the collector stores none",
     function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "ABN", { allow_atomic = true })
    local b = assert(js:atomic_batch())
    local id = b:id()
    for i = 1, 3 do assert(b:add("abn.x", tostring(i))) end
    eq(b:close(), true, "close")
    eq(b:close(), true, "close again")
    eq(b:id(), id, "the id after close")
    eq(b:count(), 3, "the count after close")
    assert(tostring(b):find("closed", 1, true), tostring(b))
    fails_naming("INVALID_ARG", { "closed" }, b.add, b, "abn.x", "4")
    fails_naming("INVALID_ARG", { "closed" }, b.commit, b, "abn.x", "4")
    fails_naming("INVALID_ARG", { "closed" }, b.commit, b)
    do
        local scoped <close> = assert(js:atomic_batch())
        assert(scoped:add("abn.y", "1"))
    end
    do
        local dropped = assert(js:atomic_batch())
        assert(dropped:add("abn.z", "1"))
    end
    collectgarbage()
    collectgarbage()
    -- A later batch on the same stream commits only its own messages.
    local ack = assert(js:publish_atomic({ { "abn.w", "a" },
                                           { "abn.w", "b" } }))
    eq(ack.count, 2, "the later batch's count")
    eq(stored(js, "ABN"), 2, "only the committed batch is stored")
end)

test("a refused batch stores none of it", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "REF", { allow_atomic = true })
    assert(js:publish("ref.x", "before"))
    -- An expectation of the first message that fails at the commit.
    local b <close> = assert(js:atomic_batch())
    assert(b:add("ref.x", "1", { expected_last_seq = 5 }))
    assert(b:add("ref.x", "2"))
    fails("WRONG_LAST_SEQUENCE", b.commit, b, "ref.x", "3")
    eq(stored(js, "REF"), 1, "nothing of the batch stored")
    fails("INVALID_ARG", b.add, b, "ref.x", "4")
    -- publish_atomic: opts go with the first message.
    fails("WRONG_LAST_SEQUENCE", js.publish_atomic, js,
          { { "ref.x", "1" }, { "ref.x", "2" } }, { expected_last_seq = 7 })
    eq(stored(js, "REF"), 1, "still nothing stored")
    local ack = assert(js:publish_atomic({ { "ref.x", "1" }, { "ref.x", "2" } },
                                         { expected_last_seq = 1 }))
    eq(ack.seq, 3, "the batch's last seq")
    -- A stream without allow_atomic refuses at the first add.
    fresh_stream(js, "NOAT")
    local nb <close> = assert(js:atomic_batch())
    fails_naming("JETSTREAM", { "10174" }, nb.add, nb, "noat.x", "1")
    fails("JETSTREAM", js.publish_atomic, js, { { "noat.x", "1" } })
    eq(stored(js, "NOAT"), 0, "nothing stored")
    -- No stream at all.
    local lost <close> = assert(js:atomic_batch())
    fails("NO_RESPONDERS", lost.add, lost, "nowhere.at.all", "1")
end)

test("publish_atomic stores its list together", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "PA", { allow_atomic = true })
    local ack = assert(js:publish_atomic({
        { "pa.a", "1" },
        { "pa.b", "2", { K = "v" } },
        { "pa.c" },
    }, { timeout = 2 }))
    eq(ack.stream, "PA", "stream")
    eq(ack.count, 3, "count")
    eq(ack.seq, 3, "seq")
    assert(type(ack.batch) == "string", "batch id")
    eq(assert(js:get_msg("PA", 2)).headers.K, "v", "headers of a message")
    eq(assert(js:get_msg("PA", 3)).data, "", "no data")
    -- One message: it is the commit, with every option.
    ack = assert(js:publish_atomic({ { "pa.d", "x" } }, { msg_id = "only" }))
    eq(ack.count, 1, "count of one")
    eq(assert(js:get_msg("PA", 4)).headers["Nats-Msg-Id"], "only", "msg_id")
    -- A subject with NUL: nothing is sent.
    fails("INVALID_SUBJECT", js.publish_atomic, js,
          { { "pa.a", "1" }, { "pa\0b", "2" } })
    eq(stored(js, "PA"), 4, "stored")
    -- Bad arguments raise.
    raises(js.publish_atomic, js, {})
    raises(js.publish_atomic, js, "pa.a")
    raises(js.publish_atomic, js, { "pa.a" })
    raises(js.publish_atomic, js, { { 5, "x" } })
    raises(js.publish_atomic, js, { { "pa.a", 5 } })
    raises(js.publish_atomic, js, { { "pa.a", "x", 5 } })
    raises(js.publish_atomic, js, { { "pa.a", "x" } }, { headers = {} })
    raises(js.publish_atomic, js, { { "pa.a", "x" } }, { nope = 1 })
end)

test("a commit without a message of its own (2.14)", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "EOB", { allow_atomic = true })
    local b <close> = assert(js:atomic_batch())
    assert(b:add("eob.a", "1"))
    assert(b:add("eob.a", "2"))
    if version < 21400 then
        fails_naming("NOT_SUPPORTED", { "2.14.0" }, b.commit, b)
        return
    end
    local ack = assert(b:commit(nil, nil, { timeout = 2 }))
    eq(ack.count, 2, "count")
    eq(ack.seq, 2, "seq")
    eq(b:count(), 2, "the batch's count")
    eq(stored(js, "EOB"), 2, "stored")
    -- An empty batch has nothing to commit.
    local empty <close> = assert(js:atomic_batch())
    fails("INVALID_ARG", empty.commit, empty)
    -- Data needs a subject.
    local other <close> = assert(js:atomic_batch())
    raises(other.commit, other, nil, "data")
end)

test("counters: signs, past 64 bits, bad deltas", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "CNT", { allow_msg_counter = true, allow_direct = true })
    eq(assert(js:counter_add("cnt.a", 5)), 5, "integer delta")
    eq(assert(js:counter_add("cnt.a", -7)), -2, "negative delta")
    eq(assert(js:counter_add("cnt.a", "+10")), 8, "text delta with a sign")
    eq(assert(js:counter_add("cnt.a", "0")), 8, "zero")
    eq(assert(js:counter_add("cnt.big", math.maxinteger)), math.maxinteger,
       "the largest integer")
    eq(assert(js:counter_add("cnt.big", 1)), "9223372036854775808",
       "past 64 bits: text")
    eq(assert(js:counter_add("cnt.big", "100000000000000000000")),
       "109223372036854775808", "a text delta past 64 bits")
    eq(assert(js:counter_add("cnt.big", "-109223372036854775808")), 0,
       "back to an integer")
    eq(assert(js:counter_add("cnt.min", math.mininteger)), math.mininteger,
       "the smallest integer")
    eq(assert(js:counter_add("cnt.min", -1)), "-9223372036854775809",
       "below 64 bits")
    -- An acked publish of a counter carries the total too.
    local ack = assert(js:publish("cnt.a", "", { headers =
                                  { ["Nats-Incr"] = "+2" } }))
    eq(ack.value, 10, "ack value")
    for _, delta in ipairs { "", "x", "1.5", "+", "--1", " 1", "1e3" } do
        fails("INVALID_ARG", js.counter_add, js, "cnt.a", delta)
    end
    raises(js.counter_add, js, "cnt.a", 1.5)
    raises(js.counter_add, js, "cnt.a", true)
    raises(js.counter_add, js, "cnt.a")
    raises(js.counter_add, js, "cnt.a", "1\0")
    raises(js.counter_add, js, "cnt.a", 1, { nope = 1 })
    fails("INVALID_SUBJECT", js.counter_add, js, "cnt\0a", 1)
    eq(assert(js:counter_add("cnt.a", 1, { timeout = 2 })), 11, "opts")
    -- A stream without counters refuses.
    fresh_stream(js, "NOCNT")
    fails_naming("JETSTREAM", { "10168" }, js.counter_add, js, "nocnt.a", 1)
end)

test("counter entries, one and many", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "ENT", { allow_msg_counter = true, allow_direct = true })
    assert(js:counter_add("ent.a", 3))
    assert(js:counter_add("ent.a", -1))
    assert(js:counter_add("ent.b", "99999999999999999999"))
    local e = assert(js:counter_get("ENT", "ent.a"))
    eq(e.subject, "ent.a", "subject")
    eq(e.value, 2, "value")
    eq(e.incr, -1, "incr")
    eq(e.sources, nil, "no sources")
    e = assert(js:counter_get("ENT", "ent.b"))
    eq(e.value, "99999999999999999999", "a value past 64 bits")
    eq(e.incr, "99999999999999999999", "an incr past 64 bits, unsigned")
    fails("KEY_NOT_FOUND", js.counter_get, js, "ENT", "ent.none")
    fails("STREAM_NOT_FOUND", js.counter_get, js, "NOPE", "ent.a")
    local list = assert(js:counter_get_many("ENT",
                                            { "ent.a", "ent.b", "ent.none" }))
    eq(#list, 2, "the subjects with a counter")
    eq(list[1].subject, "ent.a", "stream order")
    eq(list[1].value, 2, "first value")
    eq(list[1].incr, -1, "first incr")
    eq(list[2].value, "99999999999999999999", "second value")
    list = assert(js:counter_get_many("ENT", "ent.*", 2))
    eq(#list, 2, "a wildcard")
    list = assert(js:counter_get_many("ENT", { "ent.none" }))
    eq(#list, 0, "none")
    raises(js.counter_get_many, js, "ENT")
    raises(js.counter_get_many, js, "ENT", {})
    raises(js.counter_get_many, js, "ENT", { 5 })
    raises(js.counter_get_many, js, "ENT", "ent.a", "x")
    -- A message that is not a counter's.
    fresh_stream(js, "PLAIN", { allow_direct = true })
    assert(js:publish("plain.a", "text"))
    fails("INVALID_ARG", js.counter_get, js, "PLAIN", "plain.a")
    fails("INVALID_ARG", js.counter_get_many, js, "PLAIN", { "plain.a" })
end)

test("a sourced aggregate names its sources", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    js:delete_stream("AGG")
    fresh_stream(js, "CA", { allow_msg_counter = true, allow_direct = true })
    fresh_stream(js, "CB", { allow_msg_counter = true, allow_direct = true })
    assert(js:create_stream { name = "AGG", allow_msg_counter = true,
        allow_direct = true, sources = {
            { name = "CA", subject_transforms = {
                { src = "ca.hits", dest = "total.hits" } } },
            { name = "CB", subject_transforms = {
                { src = "cb.hits", dest = "total.hits" } } } } })
    eq(assert(js:counter_add("ca.hits", 3)), 3, "CA")
    eq(assert(js:counter_add("cb.hits", 4)), 4, "CB")
    eq(assert(js:counter_add("ca.hits", 5)), 8, "CA again")
    -- Sourcing is asynchronous: wait for the aggregate to reach 12.
    local e
    local deadline = jetwire.now() + 10
    repeat
        e = js:counter_get("AGG", "total.hits")
        if e and e.value == 12 then break end
        jetwire.sleep(0.02)
    until jetwire.now() > deadline
    assert(e and e.value == 12, "the aggregate reached 12")
    eq(e.subject, "total.hits", "subject")
    eq(e.sources.CA["ca.hits"], 8, "CA's total")
    eq(e.sources.CB["cb.hits"], 4, "CB's total")
    local list = assert(js:counter_get_many("AGG", { "total.hits" }))
    eq(list[1].sources.CA["ca.hits"], 8, "many: CA's total")
    js:delete_stream("AGG")
end)

test("batches and counters of a released context", function()
    local nc <close> = connect()
    local js = assert(nc:jetstream())
    fresh_stream(js, "REL", { allow_atomic = true })
    local b <close> = assert(js:atomic_batch())
    assert(js:close())
    -- The batch keeps its context alive in the engine.
    assert(b:add("rel.a", "1"))
    eq(assert(b:commit("rel.a", "2")).count, 2, "committed")
    fails("INVALID_ARG", js.atomic_batch, js)
    fails("INVALID_ARG", js.publish_atomic, js, { { "rel.a", "1" } })
    fails("INVALID_ARG", js.counter_add, js, "rel.a", 1)
    fails("INVALID_ARG", js.counter_get, js, "REL", "rel.a")
    fails("INVALID_ARG", js.counter_get_many, js, "REL", { "rel.a" })
    -- Methods on something else raise.
    raises(b.add, js, "rel.a", "1")
    raises(js.counter_add, b, "rel.a", 1)
end)

h.finish()
