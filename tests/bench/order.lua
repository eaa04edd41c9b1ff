-- order.lua: POST /api/order as distinct users. Arguments after "--":
--   FILE NTHREADS AID IID [DONE_PREFIX]
-- FILE holds "uid token secret" lines (gen_users). Thread t of NTHREADS takes
-- lines t+1, t+1+NTHREADS, ... and pre-builds their requests in init(), so no
-- two requests of a run share a user. A thread that runs out stops itself,
-- counts the requests it could not give a fresh user ("exhausted", sent as
-- a repeat of its last user) and, with DONE_PREFIX, creates DONE_PREFIX.TID
-- so a caller can tell when every thread is through its share.

dofile(os.getenv("BENCH_LUA") .. "/stats.lua")

local reqs, n, i = {}, 0, 0
local done_file

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  local aid, iid = args[3], args[4]
  if args[5] then done_file = args[5] .. "." .. tid end
  local k = 0
  for line in io.lines(file) do
    if k % nthreads == tid then
      local uid, token, secret = line:match("^(%d+) (%S+) (%x+)$")
      local body = '{"activity_id":' .. aid .. ',"item_id":' .. iid ..
        ',"quantity":1,"secret":"' .. secret .. '"}'
      n = n + 1
      local h = {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
      }
      -- BENCH_XFF=1: each user from its own address through the trusted
      -- proxy, so per-address rules and limits count it (never past them)
      if os.getenv("BENCH_XFF") == "1" then
        local u = tonumber(uid)
        h["X-Forwarded-For"] = "10." .. math.floor(u / 65536) % 256 .. "." ..
          math.floor(u / 256) % 256 .. "." .. u % 256
      end
      reqs[n] = wrk.format("POST", "/api/order", h, body)
    end
    k = k + 1
  end
end

function request()
  if i < n then
    i = i + 1
    return reqs[i]
  end
  exhausted = exhausted + 1
  if exhausted == 1 then
    if done_file then
      local f = io.open(done_file, "w")
      if f then f:close() end
    end
    wrk.thread:stop()
  end
  return reqs[n]
end
