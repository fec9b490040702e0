// Reads {op, ...} as JSON on stdin and prints @hygraph/utils' answer as JSON:
//   op "sign"   {secret, rawPayload, environmentName?} -> generateWebhookSignature's header
//   op "verify" {secret, rawPayload, signature}        -> verifyWebhookSignature's boolean
//   op "cases"  {}  -> runs the package's own index.test.js (its jest cases, with a minimal
//                      `it`/`expect`) and lists every signature it generated:
//                      [{payload, environment, signature, secret}] (payload: the text signed)
const fs = require("fs");
const path = require("path");
const vm = require("vm");
const utils = require("@hygraph/utils");

function runOwnTestCases() {
  const generated = [];
  const recording = {
    generateWebhookSignature(args) {
      const signature = utils.generateWebhookSignature(args);
      generated.push({
        payload: args.rawPayload || JSON.stringify(args.body),
        environment: args.environmentName || "master",
        signature,
        secret: args.secret,
      });
      return signature;
    },
    verifyWebhookSignature: utils.verifyWebhookSignature,
  };
  const expect = (actual) => ({
    toBe(expected) {
      if (actual !== expected) throw new Error(`expected ${expected}, got ${actual}`);
    },
    toContain(part) {
      if (!String(actual).includes(part)) throw new Error(`${actual} lacks ${part}`);
    },
  });
  const cases = [];
  const file = path.join(path.dirname(require.resolve("@hygraph/utils")), "index.test.js");
  const sandbox = {
    require: (name) => (name === "@jest/globals" ? { expect } : recording),
    it: (title, body) => cases.push([title, body]),
  };
  vm.runInNewContext(fs.readFileSync(file, "utf8"), sandbox, { filename: file });
  if (cases.length === 0) throw new Error("index.test.js declared no cases");
  for (const [, body] of cases) body();
  return { cases: cases.map(([title]) => title), generated };
}

let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  let answer;
  if (job.op === "sign") {
    answer = utils.generateWebhookSignature({
      rawPayload: job.rawPayload,
      secret: job.secret,
      environmentName: job.environmentName,
    });
  } else if (job.op === "verify") {
    answer = utils.verifyWebhookSignature({
      rawPayload: job.rawPayload,
      signature: job.signature,
      secret: job.secret,
    });
  } else {
    answer = runOwnTestCases();
  }
  process.stdout.write(JSON.stringify(answer));
});
