-- wrk script: GET the URL given on the command line; prints the same RESULT line as call.lua.
done = function(summary, latency, requests)
    io.write(string.format(
        "RESULT requests=%d errors=%d rps=%.0f p50_us=%d p99_us=%d\n",
        summary.requests,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99)))
end
