-- wrk script: cycle pre-built requests, each signed beforehand (wrk's Lua cannot compute HMACs).
-- BENCH_REQUESTS_FILE holds one request a line: PATH<TAB>Header: value<TAB>...<TAB>BODY
-- (tests/perf/workload.py writes it).
local requests = {}
local count, sent = 0, 0

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
