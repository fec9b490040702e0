// Reads {secret, signature, rawBody, timestamp} as JSON on stdin and prints whether cashfree-pg's
// PGVerifyWebhookSignature accepts them: {"type": <the event type it parsed>} or {"error": msg}.
// The SDK's error analytics (Sentry, on by default) are turned off: nothing leaves the machine.
const { Cashfree, CFEnvironment } = require("cashfree-pg");

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  const cashfree = new Cashfree(
    CFEnvironment.SANDBOX, "client-id", job.secret, undefined, undefined, undefined, false,
  );
  let answer;
  try {
    answer = { type: cashfree.PGVerifyWebhookSignature(job.signature, job.rawBody, job.timestamp).type };
  } catch (err) {
    answer = { error: err.message };
  }
  process.stdout.write(JSON.stringify(answer));
});
