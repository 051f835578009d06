-- Turn the RESULT lines of a run_lua.sh run into the Markdown report:
-- medians over rounds, Lua / C ratios, CPU per million, request/reply
-- latency, and the issue's targets as met / not met (reported, never
-- asserted).
--
--   lua5.4 report.lua RAW_RESULTS [HEADER_LINE ...]

local LUA = { lib = "jetwire-lua", variant = "default",
              name = "Lua, one state (fd-driven)" }
local LUA_PROC = { lib = "jetwire-lua", variant = "proc",
                   name = "Lua, responder process (nc:request)",
                   row = "(other side in a second process)" }
local LUA_DRIVEN = { lib = "jetwire-lua", variant = "driven",
                     name = "Lua, both processes loop = \"driven\"",
                     row = "(two processes, loop = \"driven\")" }
local C = { lib = "jetwire", variant = "default",
            name = "C engine (responder: handler on the loop thread)" }
local C_PULL = { lib = "jetwire", variant = "pull",
                 name = "C engine, pulling responder thread" }

-- The targets of issue 4: label, mode, metric, bound, "high" or "low".
local TARGETS = {
    { "publish >= 0.7x C", "pub", "rate", 0.7, "high" },
    { "pub->sub >= 0.5x C", "pubsub", "rate", 0.5, "high" },
    { "request/reply p50 <= 1.2x C", "reqrep", "p50_us", 1.2, "low" },
}
local MODES = { "pub", "pubsub", "reqrep" }

local runs, sizes, seen = {}, {}, {}
for line in io.lines(arg[1]) do
    if line:match("^RESULT ") then
        local f = {}
        for k, v in line:gmatch("(%S+)=(%S+)") do f[k] = v end
        local key = table.concat({ f.lib, f.variant, f.mode, f.size }, "|")
        runs[key] = runs[key] or {}
        table.insert(runs[key], f)
        local size = tonumber(f.size)
        if not seen[size] then
            seen[size] = true
            sizes[#sizes + 1] = size
        end
    end
end
table.sort(sizes)

-- The values of one metric over the rounds, sorted (nil when none).
local function values(who, mode, size, metric)
    local vals = {}
    local key = table.concat({ who.lib, who.variant, mode, size }, "|")
    for _, f in ipairs(runs[key] or {}) do
        if f[metric] then vals[#vals + 1] = tonumber(f[metric]) end
    end
    if #vals == 0 then return nil end
    table.sort(vals)
    return vals
end

local function best_p50(who, size)
    local vals = values(who, "reqrep", size, "p50_us")
    return vals and vals[1]
end

local function median(who, mode, size, metric)
    local vals = values(who, mode, size, metric)
    if not vals then return nil end
    local n = #vals
    if n % 2 == 1 then return vals[(n + 1) // 2] end
    return (vals[n // 2] + vals[n // 2 + 1]) / 2
end

local function num(x, fmt) return x and fmt:format(x) or "-" end
local function ratio(a, b) return (a and b and b ~= 0) and a / b or nil end
local function bold(r) return r and ("**%.2f**"):format(r) or "-" end

local out = {}
local function w(s) out[#out + 1] = s end
for i = 2, #arg do w(arg[i]) end
w("")
w("Ratios are Lua / C: rate above 1 is better; CPU and p50 below 1 are " ..
  "better. Rates are messages/s (reqrep: requests/s). CPU is user+sys " ..
  "seconds per million messages of the whole client: every thread, and " ..
  "for Lua reqrep the responder process too.")
w("")
w("| mode | size B | Lua msg/s | C msg/s | rate Lua / C | Lua CPU s/M | " ..
  "C CPU s/M | CPU Lua / C |")
w("|---|---:|---:|---:|---:|---:|---:|---:|")
for _, mode in ipairs(MODES) do
    for _, size in ipairs(sizes) do
        for _, lua in ipairs({ LUA, LUA_PROC, LUA_DRIVEN }) do
            local lr = median(lua, mode, size, "rate")
            local cr = median(C, mode, size, "rate")
            if lr or (lua == LUA and cr) then
                local lc = median(lua, mode, size, "cpu_s_per_m")
                local cc = median(C, mode, size, "cpu_s_per_m")
                w(("| %s | %d | %s | %s | %s | %s | %s | %s |"):format(
                    lua == LUA and mode or mode .. " " .. lua.row, size,
                    num(lr, "%.0f"), num(cr, "%.0f"), bold(ratio(lr, cr)),
                    num(lc, "%.3f"), num(cc, "%.3f"), bold(ratio(lc, cc))))
            end
        end
    end
end
w("")
w("Request/reply latency, microseconds (median over rounds of each " ..
  "round's percentile; best p50: the lowest round's, the least disturbed " ..
  "by the rest of the machine):")
w("")
w("| client | size B | p50 | p90 | p99 | mean | req/s | p50 / C | " ..
  "best p50 | best p50 / C |")
w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for _, size in ipairs(sizes) do
    for _, who in ipairs({ LUA, LUA_PROC, LUA_DRIVEN, C, C_PULL }) do
        local p50 = median(who, "reqrep", size, "p50_us")
        if p50 then
            w(("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s |"):format(
                who.name, size, num(p50, "%.1f"),
                num(median(who, "reqrep", size, "p90_us"), "%.1f"),
                num(median(who, "reqrep", size, "p99_us"), "%.1f"),
                num(median(who, "reqrep", size, "mean_us"), "%.1f"),
                num(median(who, "reqrep", size, "rate"), "%.0f"),
                bold(ratio(p50, median(C, "reqrep", size, "p50_us"))),
                num(best_p50(who, size), "%.1f"),
                bold(ratio(best_p50(who, size), best_p50(C, size)))))
        end
    end
end
w("")
w("Targets (Lua, default variants; reported, not asserted):")
w("")
w("| target | size B | Lua / C | met |")
w("|---|---:|---:|---|")
for _, t in ipairs(TARGETS) do
    local label, mode, metric, bound, better = table.unpack(t)
    for _, size in ipairs(sizes) do
        local r = ratio(median(LUA, mode, size, metric),
                        median(C, mode, size, metric))
        if r then
            local met
            if better == "high" then met = r >= bound else met = r <= bound end
            w(("| %s | %d | %.2f | %s |"):format(label, size, r,
                                                 met and "yes" or "no"))
        end
    end
end
w("")
w("Request/reply p50 <= 1.2x C with the Lua processes on a driven loop " ..
  "(connect's loop = \"driven\"): ")
w("")
for _, size in ipairs(sizes) do
    local r = ratio(median(LUA_DRIVEN, "reqrep", size, "p50_us"),
                    median(C, "reqrep", size, "p50_us"))
    if r then
        w(("- %d B: %.2f %s"):format(size, r, r <= 1.2 and "(met)"
                                                  or "(not met)"))
    end
end
w("")
w("For reference, with a responder thread of its own on both sides: " ..
  "p50 of the Lua responder process / the C engine's pulling responder " ..
  "thread:")
w("")
for _, size in ipairs(sizes) do
    local r = ratio(median(LUA_PROC, "reqrep", size, "p50_us"),
                    median(C_PULL, "reqrep", size, "p50_us"))
    if r then w(("- %d B: %.2f"):format(size, r)) end
end
print(table.concat(out, "\n"))
