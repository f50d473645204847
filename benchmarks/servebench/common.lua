-- ServeBench, shared by features.lua and score.lua (which define make_request()).
--
-- Pacing: run wrk with one connection per thread (-t N -c N, N = CONNS, default 4). Each
-- connection sends on its own schedule at RATE / CONNS requests/s (RATE: the endpoint's total,
-- default 2000): request k is due at t0 + k × interval, and delay() waits until it is due (0 when
-- it is already late: a slow answer delays the next request, which is then measured from when it
-- was due). ae timers have 1 ms resolution, so a request leaves up to ~1 ms after it is due.
--
-- Latency: recorded here, per response, uncorrected (clock_gettime through LuaJIT's ffi):
--   service   request written -> response read (what `p50/p99/p99.9/max` report);
--   schedule  request due -> response read (`sched_*`: includes the wait behind a slow answer,
--             the coordinated-omission-free figure, and up to ~1 ms of timer slack).
-- wrk's own percentiles are NOT used: wrk 4 "corrects" them for coordinated omission by adding
-- synthetic samples below every response slower than twice the mean interval per connection
-- (stats_correct in wrk.c), which with a think-time or paced loop turns a few slow answers into
-- the whole tail (the 2026-12-05 ServeBench's 160-190 ms "p99" of an idle instance). It is
-- printed as wrk_p99_us for comparison.
local ffi = require("ffi")
ffi.cdef[[ typedef struct { long tv_sec; long tv_nsec; } servebench_ts; int clock_gettime(int, servebench_ts *); ]]
local ts = ffi.new("servebench_ts")
local function now_us()
  ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local threads = {}
setup = function(thread) table.insert(threads, thread) end

local conns = tonumber(os.getenv("CONNS") or "4")
local rate = tonumber(os.getenv("RATE") or "2000")
local interval = 1e6 * conns / rate
local due, sent = nil, nil
-- Per thread (read by done() through thread:get): latencies in µs, in response order.
service, schedule = {}, {}

delay = function()
  local t = now_us()
  due = (due or t) + interval
  local d = math.ceil((due - t) / 1000)
  if d < 0 then return 0 end
  return d
end

request = function()
  sent = now_us()
  return make_request()
end

response = function(status, headers, body)
  if sent == nil then return end
  local t = now_us()
  local n = #service + 1
  service[n] = t - sent
  schedule[n] = t - math.min(due or sent, sent)
  sent = nil
end

local function pct(a, p)
  if #a == 0 then return 0 end
  local i = math.ceil(#a * p / 100)
  if i < 1 then i = 1 end
  return a[i]
end

done = function(summary, latency, requests)
  local sv, sc = {}, {}
  for _, t in ipairs(threads) do
    local a, b = t:get("service"), t:get("schedule")
    for i = 1, #a do sv[#sv + 1] = a[i]; sc[#sc + 1] = b[i] end
  end
  table.sort(sv); table.sort(sc)
  io.stderr:write(string.format(
    "SERVE requests=%d seconds=%.2f non2xx=%d connect=%d other=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d "
      .. "sched_p50_us=%d sched_p99_us=%d sched_p999_us=%d sched_max_us=%d wrk_p99_us=%d\n",
    summary.requests, summary.duration / 1e6, summary.errors.status, summary.errors.connect,
    summary.errors.read + summary.errors.write + summary.errors.timeout,
    pct(sv, 50), pct(sv, 99), pct(sv, 99.9), pct(sv, 100), pct(sc, 50), pct(sc, 99), pct(sc, 99.9), pct(sc, 100),
    latency:percentile(99)))
end
