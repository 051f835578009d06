-- obs_files: the JetStream object store (ADR-20).
package.path = (arg[0]:match("^(.*)/") or ".") .. "/?.lua;" .. package.path
local common = require "common"
local jetwire = common.jetwire

local USAGE = [==[
obs_files: creates the bucket "files" (file storage), stores a report from a
string and 1 MiB of data from a reader function, reads the data back in
64 KiB pieces, adds a link to the report and reads through it, lists the
bucket, then deletes the report and lists it again.

  NATS_URL=nats://127.0.0.1:4222 lua5.4 obs_files.lua

An object is kept as chunks of 128 KiB and one meta message that carries
its size and SHA-256 digest; a read checks both at the end.
]==]

local function stored(info)
    print(("Stored %s: %d bytes in %d chunks, %s"):format(
        info.name, info.size, info.chunks, info.digest))
end

-- The names the bucket lists, sorted, as one line.
local function listing(obs)
    local names = {}
    for _, info in ipairs(assert(obs:list())) do names[#names + 1] = info.name end
    table.sort(names)
    return table.concat(names, ", ")
end

-- 1 MiB handed out 64 KiB at a time, then nil: the end. A real program
-- would pass a file handle, which put reads the same way.
local function data_source()
    local piece = {}
    for i = 0, 65535 do piece[#piece + 1] = string.char(i % 256) end
    piece = table.concat(piece)
    local left = 16
    return function()
        if left == 0 then return nil end
        left = left - 1
        return piece
    end
end

common.run(function()
    common.arguments(USAGE)
    local nc <close> = assert(jetwire.connect{
        servers = common.server_url(), name = "obs_files" })
    local js = assert(nc:jetstream())
    js:delete_object_store("files") -- start from zero
    local obs <close> = assert(js:create_object_store{
        bucket = "files", storage = "file" })

    -- From a string, with a description; then from a reader function.
    stored(assert(obs:put({ name = "report.txt", description = "Q3 report" },
                          ("quarterly numbers\n"):rep(10000))))
    stored(assert(obs:put("data.bin", data_source())))

    -- Back through a reader, 64 KiB at a time: nil at the end, once size
    -- and digest were checked (nil, err with code PROTOCOL if not).
    local total = 0
    do
        local r <close> = assert(obs:open("data.bin"))
        while true do
            local piece, err = r:read(65536)
            if not piece then assert(not err, err); break end
            total = total + #piece
        end
    end
    print(("Read data.bin back: %d bytes, digest checked"):format(total))

    -- A link is an object of its own that names another; a get follows it.
    assert(obs:add_link("latest", obs, "report.txt"))
    local report = assert(obs:get("latest"))
    print(("latest -> report.txt: %d bytes"):format(#report))
    print("Objects: " .. listing(obs))

    -- A delete leaves a marker and purges the chunks; a link to the deleted
    -- object stays (a get through it is nil, err with KEY_NOT_FOUND).
    assert(obs:delete("report.txt"))
    print("After delete: " .. listing(obs))
end)
