// An Errand worker in plain Node.js 20: the built-in fetch, nothing to install.
//
//   ERRAND_URL=http://127.0.0.1:8740 node worker.mjs QUEUE [QUEUE...] [--lease 1m]
//   ERRAND_URL=http://10.0.0.1:8740,http://10.0.0.2:8740 node worker.mjs QUEUE   # several servers
//
// It long-polls POST /v1/claim for one job at a time, runs `handle()` on it
// while a timer heartbeats the lease every third of it (and notices a
// cancel), reports progress, then completes the job with the result or fails
// it: a thrown error is a failed attempt that Errand retries with backoff, and
// a `NoRetry` error makes the failure final. SIGTERM or Ctrl-C lets the
// running job finish, then exits. A server that cannot be reached is retried
// with a capped backoff; given several (servers sharing one database), each
// call goes to the one in use, and a connection failure or a 503 moves on to
// the next for the calls that follow. Copy it and replace `handle()` with
// your work.
//
// The demo job: payload {"items": 5, "seconds_per_item": 0.5} processes five
// items, reporting progress after each; {"fail": "message", "retry": false}
// fails.
import os from "node:os";

const URLS = (process.env.ERRAND_URL ?? "http://127.0.0.1:8740").split(",").map((u) => u.trim().replace(/\/$/, ""));
let current = 0; // the server in use: URLS[current], until it fails
const KEY = process.env.ERRAND_KEY ?? "";
const WORKER = `${os.hostname()}:${process.pid}:node`;

export class NoRetry extends Error {}

class ApiError extends Error {
  constructor(status, body) {
    super(`HTTP ${status}: ${body}`);
    this.status = status;
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (...args) => console.error("node-worker:", ...args);

// POSTs JSON to the server in use and returns the parsed answer; throws
// ApiError for an error status, and another error when the server failed (no
// connection, no answer, or a 503: it lost its database): then the next call
// goes to the next server.
async function call(path, body, timeoutMs = 30_000) {
  const url = URLS[current];
  const headers = { "Content-Type": "application/json" };
  if (KEY) headers.Authorization = `Bearer ${KEY}`;
  let res, text;
  try {
    res = await fetch(url + path, {
      method: "POST",
      headers,
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    text = await res.text();
    if (res.status === 503) throw new Error(`HTTP 503: ${text}`);
  } catch (e) {
    if (URLS.length > 1 && URLS[current] === url) {
      current = (current + 1) % URLS.length;
      log(`${url} failed (${e.cause?.message ?? e.message}); moving on to ${URLS[current]}`);
    }
    throw e;
  }
  if (!res.ok) throw new ApiError(res.status, text);
  return text ? JSON.parse(text) : null;
}

// A claimed job: its fields, progress reports and a heartbeat timer.
class Job {
  constructor(fields) {
    Object.assign(this, fields);
    this.cancelRequested = false;
    const leaseMs = Math.max(1000, Date.parse(fields.lease_expires_at) - Date.now());
    const extend = `${Math.round(leaseMs / 1000)}s`;
    // A third of the lease: two heartbeats may be lost before it runs out.
    this.timer = setInterval(async () => {
      try {
        const answer = await call(`/v1/jobs/${this.id}/heartbeat`, { lease_id: this.lease_id, extend }, 10_000);
        this.cancelRequested ||= answer.cancel_requested;
      } catch (e) {
        log(`heartbeat for ${this.id} failed: ${e.message}`);
      }
    }, Math.min(leaseMs / 3, 10_000));
  }

  async progress(percent, message = "") {
    try {
      await call(`/v1/jobs/${this.id}/progress`, { lease_id: this.lease_id, percent, message });
    } catch (e) {
      log(`progress for ${this.id} not sent: ${e.message}`);
    }
  }

  async finish(outcome) {
    clearInterval(this.timer);
    const verb = "error" in outcome ? "fail" : "complete";
    return call(`/v1/jobs/${this.id}/${verb}`, { ...outcome, lease_id: this.lease_id });
  }
}

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

async function runOne(fields) {
  const job = new Job(fields);
  let outcome;
  try {
    outcome = { result: (await handle(job)) ?? null };
  } catch (e) {
    outcome = e instanceof NoRetry ? { error: e.message || "failed", retry: false } : { error: `${e.name}: ${e.message}` };
  }
  for (const delay of [0.5, 1, 2, 5, 10]) {
    try {
      const answer = await job.finish(outcome);
      log(`${job.id} ${answer.state}`);
      return;
    } catch (e) {
      if (e instanceof ApiError) return log(`the server refused the outcome of ${job.id}: ${e.message}`);
      log(`reporting ${job.id} failed (${e.message}); retrying in ${delay}s`);
      await sleep(delay * 1000);
    }
  }
}

async function main() {
  const args = process.argv.slice(2);
  const claim = { queues: [], worker: WORKER, max: 1, wait: "5s" }; // a short long poll: Ctrl-C is noticed within 5s
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--lease") claim.lease = args[++i];
    else claim.queues.push(args[i]);
  }
  if (claim.queues.length === 0) {
    console.error("usage: node worker.mjs QUEUE [QUEUE...] [--lease 1m]");
    process.exit(2);
  }
  let stopping = false;
  for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => (stopping = true));
  log(`claiming from ${claim.queues.join(", ")} at ${URLS.join(", ")}`);
  let backoff = 0.5;
  while (!stopping) {
    let jobs;
    try {
      jobs = (await call("/v1/claim", claim, 40_000)).jobs;
      backoff = 0.5;
    } catch (e) {
      log(`claim failed: ${e.cause?.message ?? e.message}; retrying in ${backoff.toFixed(1)}s`);
      await sleep(backoff * (0.5 + Math.random() / 2) * 1000);
      backoff = Math.min(backoff * 2, 15);
      continue;
    }
    for (const fields of jobs) await runOne(fields);
  }
  log("stopped");
}

await main();
