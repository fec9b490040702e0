-- wrk script: pre-signed ~1 KB GitHub deliveries, each with its own body and X-GitHub-Delivery.
-- The gateway de-duplicates GitHub's unsigned delivery IDs by body digest too, so every request
-- needs a body of its own; wrk's Lua cannot compute HMACs, so the bench writes them beforehand:
-- BENCH_REQUESTS_FILE holds one "delivery<TAB>signature<TAB>body" line per request.
local deliveries, signatures, bodies = {}, {}, {}
local count, sent = 0, 0

function init(args)
    for line in io.lines(os.getenv("BENCH_REQUESTS_FILE")) do
        local delivery, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
        count = count + 1
        deliveries[count], signatures[count], bodies[count] = delivery, signature, body
    end
end

function request()
    sent = sent + 1
    -- Past the file's end the requests repeat: they are answered `duplicate` and not
    -- published, which the bench's published-vs-2xx line shows. Write enough lines.
    local i = ((sent - 1) % count) + 1
    return wrk.format("POST", "/webhooks/github", {
        ["Content-Type"] = "application/json",
        ["X-GitHub-Event"] = "pull_request",
        ["X-Hub-Signature-256"] = signatures[i],
        ["X-GitHub-Delivery"] = deliveries[i],
    }, bodies[i])
end
