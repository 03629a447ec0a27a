// The worker against the real server: progress, retry, no-retry, cancel, and
// a graceful stop (stop() and SIGTERM).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { Errand, NoRetry, RetryLater } from "../src/index.js";
import { ErrandProcess, jobEnded, pollUntil } from "./server.mjs";

let server;
let errand;

before(async () => {
  server = await new ErrandProcess().start();
  errand = new Errand({ url: server.url });
});
after(() => server.close());

const ended = (id) => jobEnded(errand, id);

test("a job runs, reports progress and completes with the handler's value", async () => {
  const seen = [];
  const worker = errand.worker({
    queues: ["imports"],
    concurrency: 2,
    wait: "1s",
    signals: false,
    handler: async (job) => {
      await job.progress(50, "half way", { rows: 10 });
      seen.push((await errand.get(job.id)).progress);
      return { imported: job.payload.rows };
    },
  });
  const running = worker.start();
  const { id } = await errand.enqueue("imports", { rows: 20 });
  const job = await pollUntil(ended(id), "the job to end");
  await worker.stop();
  await running;
  assert.equal(job.state, "succeeded");
  assert.deepEqual(job.result, { imported: 20 });
  assert.equal(seen[0].percent, 50);
  assert.equal(seen[0].message, "half way");
  assert.deepEqual(seen[0].data, { rows: 10 });
});

test("heartbeats keep a job alive past its claim's lease", async () => {
  const worker = errand.worker({
    queues: ["long"],
    wait: "1s",
    lease: "1s",
    signals: false,
    handler: async () => {
      await new Promise((r) => setTimeout(r, 2500)); // the work: longer than the 1s lease
      return "outlived the lease";
    },
  });
  const running = worker.start();
  const { id } = await errand.enqueue("long", {});
  const job = await pollUntil(ended(id), "the long job to end");
  await worker.stop();
  await running;
  assert.equal(job.state, "succeeded");
  assert.deepEqual([job.attempt, job.errors], [1, []], "the lease never expired");
});

test("a thrown error is retried; NoRetry is final; RetryLater sets the wait", async () => {
  const attempts = {};
  const worker = errand.worker({
    queues: ["flaky"],
    wait: "1s",
    signals: false,
    handler: async (job) => {
      attempts[job.payload.kind] = job.attempt;
      if (job.payload.kind === "once" && job.attempt === 1) throw new Error("transient");
      if (job.payload.kind === "never") throw new NoRetry("bad address");
      if (job.payload.kind === "later") throw new RetryLater("rate limited", "1h");
      return "ok";
    },
  });
  const running = worker.start();
  const once = await errand.enqueue("flaky", { kind: "once" }, { maxAttempts: 3 });
  const never = await errand.enqueue("flaky", { kind: "never" }, { maxAttempts: 3 });
  const later = await errand.enqueue("flaky", { kind: "later" }, { maxAttempts: 3 });
  // The first failure waits for the server's backoff: retry it now.
  await pollUntil(async () => (await errand.get(once.id)).state === "failed", "the first attempt to fail");
  await errand.retry(once.id);
  const a = await pollUntil(ended(once.id), "the retried job");
  const b = await pollUntil(ended(never.id), "the no-retry job");
  const c = await pollUntil(async () => {
    const j = await errand.get(later.id);
    return j.state === "failed" && j;
  }, "the retry-later job to wait");
  await worker.stop();
  await running;
  assert.equal(a.state, "succeeded");
  assert.equal(a.attempt, 2);
  assert.equal(a.errors[0].message, "transient");
  assert.equal(b.state, "dead");
  assert.equal(b.errors[0].message, "bad address");
  const wait = Date.parse(c.run_at) - Date.now();
  assert.ok(wait > 50 * 60 * 1000, `retried in ${wait} ms, not in about an hour`);
});

test("a cancel reaches the handler through its signal at the next heartbeat", async () => {
  let started;
  const startedP = new Promise((r) => (started = r));
  const worker = errand.worker({
    queues: ["cancellable"],
    wait: "1s",
    lease: "3s",
    signals: false,
    handler: async (job) => {
      started();
      await new Promise((resolve) => job.signal.addEventListener("abort", resolve, { once: true }));
      assert.equal(job.cancelRequested, true);
      throw new Error("stopped on cancel");
    },
  });
  const running = worker.start();
  const { id } = await errand.enqueue("cancellable", {});
  await startedP;
  await errand.cancel(id);
  const job = await pollUntil(ended(id), "the cancelled job to end");
  await worker.stop();
  await running;
  assert.equal(job.state, "cancelled");
});

test("stop() lets a running job finish, and claims no more", async () => {
  let release;
  const gate = new Promise((r) => (release = r));
  let started;
  const startedP = new Promise((r) => (started = r));
  const worker = errand.worker({
    queues: ["graceful"],
    wait: "1s",
    signals: false,
    handler: async () => {
      started();
      await gate;
      return "finished";
    },
  });
  const running = worker.start();
  const first = await errand.enqueue("graceful", {});
  await startedP;
  const stopped = worker.stop();
  const second = await errand.enqueue("graceful", {});
  release();
  await stopped;
  await running;
  assert.equal((await errand.get(first.id)).state, "succeeded");
  assert.equal((await errand.get(second.id)).state, "queued");
});

test("a job still running after the grace is failed, to be retried", async () => {
  let started;
  const startedP = new Promise((r) => (started = r));
  let release;
  const gate = new Promise((r) => (release = r));
  const worker = errand.worker({
    queues: ["stuck"],
    wait: "1s",
    grace: 300,
    signals: false,
    handler: async () => {
      started();
      await gate;
      return "too late";
    },
  });
  const running = worker.start();
  const { id } = await errand.enqueue("stuck", {});
  await startedP;
  await worker.stop();
  await running;
  const job = await errand.get(id);
  assert.equal(job.state, "failed");
  assert.equal(job.errors[0].message, "the worker is stopping");
  release();
});

test("SIGTERM stops a worker process gracefully", async () => {
  const script = fileURLToPath(new URL("./sigterm_worker.mjs", import.meta.url));
  const { id } = await errand.enqueue("sigterm", { ms: 300 });
  const child = spawn(process.execPath, [script, server.url], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (c) => (out += c));
  await pollUntil(() => out.includes("started"), "the worker to start its job");
  child.kill("SIGTERM");
  const code = await new Promise((r) => child.once("exit", r));
  assert.equal(code, 0);
  assert.match(out, /stopped/);
  const job = await errand.get(id);
  assert.equal(job.state, "succeeded", "the job running at SIGTERM finished");
});
