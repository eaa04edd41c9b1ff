-- grab.lua: POST /api/rain/RID/grab as distinct users (the rain rows of
-- `make bench`). Arguments after "--": FILE NTHREADS RID. FILE holds
-- "uid token secret" lines (gen_users; the secret is unused). Thread t of
-- NTHREADS takes lines t+1, t+1+NTHREADS, ..., as order.lua does.

dofile(os.getenv("BENCH_LUA") .. "/stats.lua")

local reqs, n, i = {}, 0, 0

function init(args)
  local file, nthreads, rid = args[1], tonumber(args[2]), args[3]
  local k = 0
  for line in io.lines(file) do
    if k % nthreads == tid then
      local token = line:match("^%d+ (%S+) %x+$")
      n = n + 1
      reqs[n] = wrk.format("POST", "/api/rain/" .. rid .. "/grab", {
        ["Authorization"] = "Bearer " .. token,
        ["Content-Type"] = "application/json",
      }, "{}")
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
  if exhausted == 1 then wrk.thread:stop() end
  return reqs[n]
end
