-- stats.lua: the wrk script of every bench run. Counts the HTTP statuses of
-- the responses per thread (response hook) and prints one machine-readable
-- line from done():
--   BENCH rps=R p50_us=N p99_us=N requests=N errors=connect/read/write/timeout
--         statuses=200:N,410:N exhausted=N
-- order.lua loads this file and adds the requests of distinct users.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

counts = {}
exhausted = 0

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local total, exh = {}, 0
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("counts")) do
      total[status] = (total[status] or 0) + n
    end
    exh = exh + (t:get("exhausted") or 0)
  end
  local keys = {}
  for status in pairs(total) do table.insert(keys, status) end
  table.sort(keys)
  local parts = {}
  for _, status in ipairs(keys) do
    table.insert(parts, string.format("%d:%d", status, total[status]))
  end
  local e = summary.errors
  io.write(string.format(
    "BENCH rps=%.1f p50_us=%d p99_us=%d requests=%d errors=%d/%d/%d/%d statuses=%s exhausted=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50.0),
    latency:percentile(99.0), summary.requests, e.connect, e.read, e.write,
    e.timeout, #parts > 0 and table.concat(parts, ",") or "none", exh))
end
