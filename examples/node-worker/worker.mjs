// An Errand worker in Node.js on the errand-client package (clients/js: ESM,
// no dependencies, fetch only). In your own project, `npm install
// <errand>/clients/js` and import from "errand-client"; here it is imported
// from the repository, so the example runs as it is.
//
//   ERRAND_URL=http://127.0.0.1:8740 node worker.mjs QUEUE [QUEUE...] [--lease 1m]
//   ERRAND_URL=http://10.0.0.1:8740,http://10.0.0.2:8740 node worker.mjs QUEUE   # several servers
//
// The package long-polls claims, heartbeats each lease at a third of its
// length (and notices a cancel: job.cancelRequested), reports progress, and
// completes the job with handle()'s result or fails it: a thrown error is a
// failed attempt that Errand retries with backoff, `NoRetry` makes the
// failure final. SIGTERM or Ctrl-C lets the running job finish, then exits.
// Given several servers (sharing one database), calls go to the one in use
// and move on to the next when it cannot be reached or answers 503. Copy it
// and replace `handle()` with your work.
//
// The demo job: payload {"items": 5, "seconds_per_item": 0.5} processes five
// items, reporting progress after each; {"fail": "message", "retry": false}
// fails.
import os from "node:os";

import { Errand, NoRetry } from "../../clients/js/src/index.js";

const WORKER = `${os.hostname()}:${process.pid}:node`;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.error("node-worker:", ...args);

// The work. Return the result (any JSON value) or throw.
async function handle(job) {
  const p = job.payload ?? {};
  if ("fail" in p) throw p.retry === false ? new NoRetry(p.fail) : new Error(p.fail);
  const items = Number(p.items ?? 3);
  for (let i = 1; i <= items; i++) {
    if (job.cancelRequested) throw new Error("cancelled while running");
    await sleep(1000 * Number(p.seconds_per_item ?? 0.2));
    await job.progress(Math.floor((i * 100) / items), `${i}/${items} items`);
  }
  return { processed: items, worker: WORKER };
}

const queues = [];
let lease;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--lease") lease = args[++i];
  else queues.push(args[i]);
}
if (queues.length === 0) {
  console.error("usage: node worker.mjs QUEUE [QUEUE...] [--lease 1m]");
  process.exit(2);
}
const errand = new Errand({ onFailover: (from, to, why) => log(`${from} failed (${why}); moving on to ${to}`) });
log(`claiming from ${queues.join(", ")} at ${errand.options.urls.join(", ")}`);
// wait: a short long poll, so Ctrl-C is noticed within 5s.
await errand.worker({ queues, lease, name: WORKER, wait: "5s", handler: handle }).start();
log("stopped");
