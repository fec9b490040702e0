-- wrk script: one pre-signed 1 KB GitHub body, a unique X-GitHub-Delivery per request.
-- BENCH_BODY_FILE, BENCH_SIGNATURE and BENCH_RUN (a per-run prefix) come from the environment.
local body, signature, run = nil, os.getenv("BENCH_SIGNATURE"), os.getenv("BENCH_RUN")
local threads = 0
local counter = 0
local thread_name = "t"

function setup(thread)
    threads = threads + 1
    thread:set("thread_name", "t" .. threads)
end

function init(args)
    local file = assert(io.open(os.getenv("BENCH_BODY_FILE"), "rb"))
    body = file:read("*a")
    file:close()
end

function request()
    counter = counter + 1
    return wrk.format("POST", "/webhooks/github", {
        ["Content-Type"] = "application/json",
        ["X-GitHub-Event"] = "pull_request",
        ["X-Hub-Signature-256"] = signature,
        ["X-GitHub-Delivery"] = run .. "-" .. thread_name .. "-" .. counter,
    }, body)
end
