-- The object store ops of the Lua conformance driver (tests/drivers/
-- PROTOCOL.md), over the public API of the jetwire Lua module; loaded by
-- lua_driver.lua, which hands over its ops table and the helpers these
-- share with its other ops (d: get, arg, check, bad, made_by, config_of,
-- b64encode, b64decode, timeout_of, A). A bucket is made through its
-- context, so freeing the context (or its connection) frees it first.

return function(ops, d)
    local get, arg, check, bad = d.get, d.arg, d.check, d.bad

    local function name_of(req)
        return arg(req, "name", "string", nil, true)
    end

    function ops.obs_create(req)
        local js, h = get(req, "js", "js")
        local obs = check(js:create_object_store(d.config_of(req)))
        return { obs = d.made_by(h, obs, "obs") }
    end

    function ops.obs_bind(req)
        local js, h = get(req, "js", "js")
        local obs = check(js:object_store(arg(req, "bucket", "string", nil,
                                              true)))
        return { obs = d.made_by(h, obs, "obs") }
    end

    function ops.obs_delete_bucket(req)
        local js = get(req, "js", "js")
        check(js:delete_object_store(arg(req, "bucket", "string", nil, true)))
    end

    -- The bytes in pieces of 1,000 through a reader function.
    local function pieces(data)
        local pos = 1
        return function()
            if pos > #data then return nil end
            local s = data:sub(pos, pos + 999)
            pos = pos + 1000
            return s
        end
    end

    function ops.obs_put(req)
        local obs = get(req, "obs", "obs")
        local meta = {
            name = name_of(req),
            description = arg(req, "description", "string"),
            metadata = arg(req, "metadata", "object"),
            chunk_size = arg(req, "chunk_size", "integer"),
        }
        local data = d.b64decode(arg(req, "data", "string", ""))
        if arg(req, "stream", "boolean", false) then data = pieces(data) end
        return { info = check(obs:put(meta, data)) }
    end

    function ops.obs_get(req)
        local obs = get(req, "obs", "obs")
        local name = name_of(req)
        local piece = arg(req, "piece", "integer")
        if not piece then
            local data, info = check(obs:get(name))
            return { data = d.b64encode(data), info = info }
        end
        if piece < 1 then bad("piece must be positive") end
        local r <close> = check(obs:open(name))
        local timeout = d.timeout_of(req)
        local parts = {}
        while true do
            local s, err = r:read(piece, timeout)
            if s == nil then
                if err then error(err, 0) end
                break
            end
            parts[#parts + 1] = s
        end
        return { data = d.b64encode(table.concat(parts)), info = r:info() }
    end

    function ops.obs_info(req)
        local obs = get(req, "obs", "obs")
        return { info = check(obs:info(name_of(req),
                                       arg(req, "show_deleted", "boolean",
                                           false))) }
    end

    function ops.obs_list(req)
        local obs = get(req, "obs", "obs")
        local infos = check(obs:list(arg(req, "show_deleted", "boolean",
                                         false)))
        local out = d.A()
        for i, info in ipairs(infos) do out[i] = info end
        return { infos = out }
    end

    function ops.obs_delete(req)
        check(get(req, "obs", "obs"):delete(name_of(req)))
    end

    function ops.obs_update_meta(req)
        local obs = get(req, "obs", "obs")
        local name = name_of(req)
        local meta = arg(req, "meta", "object", nil, true)
        check(obs:update_meta(name, meta))
    end

    function ops.obs_link(req)
        local obs = get(req, "obs", "obs")
        local name = name_of(req)
        local target = get(req, "target", "obs")
        local target_name = arg(req, "target_name", "string")
        if target_name then
            return { info = check(obs:add_link(name, target, target_name)) }
        end
        return { info = check(obs:add_bucket_link(name, target)) }
    end

    function ops.obs_status(req)
        return { status = check(get(req, "obs", "obs"):status()) }
    end
end
