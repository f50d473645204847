-- ServeBench, shared by features.lua and score.lua: THINK_MS (default 1) think time per request,
-- and one SERVE line of figures on stderr at the end.
delay = function() return tonumber(os.getenv("THINK_MS") or "1") end
done = function(summary, latency, requests)
  io.stderr:write(string.format("SERVE requests=%d seconds=%.2f non2xx=%d connect=%d other=%d p50_us=%d p99_us=%d p999_us=%d max_us=%d\n",
    summary.requests, summary.duration / 1e6, summary.errors.status, summary.errors.connect,
    summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(99), latency:percentile(99.9), latency.max))
end
