-- bounded.lua: the same GET, at most N requests in all. Arguments after "--":
--   N NTHREADS [DONE_PREFIX]
-- Each thread sends its share N/NTHREADS, then stops itself and, with
-- DONE_PREFIX, creates DONE_PREFIX.TID (tests/bench/cpucost.sh waits for them).

dofile(os.getenv("BENCH_LUA") .. "/stats.lua")

local share, sent = 0, 0
local done_file

function init(args)
  share = math.floor(tonumber(args[1]) / tonumber(args[2]))
  if args[3] then done_file = args[3] .. "." .. tid end
end

function request()
  sent = sent + 1
  if sent == share + 1 then
    if done_file then
      local f = io.open(done_file, "w")
      if f then f:close() end
    end
    wrk.thread:stop()
  end
  return wrk.request()
end
