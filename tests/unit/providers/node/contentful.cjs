// Reads {op, secret, request, timestamp?, ttl?} as JSON on stdin and prints the toolkit's
// answer as JSON: op "sign" -> the headers signRequest makes; op "verify" -> verifyRequest's
// boolean, or {"error": name} when it throws (an expired request, a malformed header).
const { signRequest, verifyRequest } = require("@contentful/node-apps-toolkit");

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  let answer;
  if (job.op === "sign") {
    answer = signRequest(job.secret, job.request, job.timestamp);
  } else {
    try {
      answer = verifyRequest(job.secret, job.request, job.ttl);
    } catch (err) {
      answer = { error: err.constructor.name };
    }
  }
  process.stdout.write(JSON.stringify(answer));
});
