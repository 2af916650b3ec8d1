-- wrk's summary in one machine-readable line (bench/bench_scale.py reads it): requests,
-- duration (µs), p50/p95/p99 latency (µs), socket errors + HTTP status >= 400.
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
