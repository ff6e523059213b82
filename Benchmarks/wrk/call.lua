-- wrk script: POST one JSON body to the URL given on the command line (a tool's /v1/tools/NAME/call).
-- The body changes per request when WRK_DISTINCT=1, so a deterministic tool misses the cache.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"a":1}'

local distinct = os.getenv("WRK_DISTINCT") == "1"
local counter = 0

request = function()
    if distinct then
        counter = counter + 1
        return wrk.format(nil, nil, nil, '{"a":' .. counter .. '}')
    end
    return wrk.format()
end

done = function(summary, latency, requests)
    io.write(string.format(
        "RESULT requests=%d errors=%d rps=%.0f p50_us=%d p99_us=%d\n",
        summary.requests,
        summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
        summary.requests / (summary.duration / 1e6),
        latency:percentile(50), latency:percentile(99)))
end
