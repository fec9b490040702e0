-- wrk script: cycle pre-built requests, each signed beforehand (wrk's Lua cannot compute HMACs).
-- BENCH_REQUESTS_FILE holds one request a line: PATH<TAB>Header: value<TAB>...<TAB>BODY
-- (tests/perf/workload.py writes it). BENCH_MAX_REQUESTS, when set, stops the thread once that
-- many answers have come back; give the file a few more lines than that (one per connection),
-- so the requests sent while the last answers are on their way are fresh ones too.
local requests = {}
local count, sent, answered = 0, 0, 0
local limit = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "")

function init(args)
    for line in io.lines(os.getenv("BENCH_REQUESTS_FILE")) do
        local fields = {}
        for field in (line .. "\t"):gmatch("([^\t]*)\t") do
            fields[#fields + 1] = field
        end
        local headers = {}
        for i = 2, #fields - 1 do
            local name, value = fields[i]:match("^([^:]+): (.*)$")
            headers[name] = value
        end
        count = count + 1
        requests[count] = wrk.format("POST", fields[1], headers, fields[#fields])
    end
end

function request()
    sent = sent + 1
    -- Past the file's end the requests repeat: a gateway answers them `duplicate` without
    -- publishing, which the harness's published-vs-2xx line shows. Write enough lines.
    return requests[((sent - 1) % count) + 1]
end

function response(status, headers, body)
    answered = answered + 1
    if limit and answered >= limit then
        wrk.thread:stop()
    end
end
