// Workflows with the worker against the real server: a handler that
// continues (a sleep, a wait for a signal) and a batch's callback.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Errand, NoRetry } from "../src/index.js";
import { ErrandProcess, jobEnded, pollUntil } from "./server.mjs";

let server;
let errand;

before(async () => {
  server = await new ErrandProcess().start();
  errand = new Errand({ url: server.url });
});
after(() => server.close());

const ended = (id) => jobEnded(errand, id);

async function withWorker(options, body) {
  const worker = errand.worker({ wait: "1s", signals: false, ...options });
  const running = worker.start();
  try {
    return await body();
  } finally {
    await worker.stop();
    await running;
  }
}

test("a handler continues with a 1 s delay and sees its state on the next claim", async () => {
  const runs = [];
  const answers = [];
  const handler = async (job) => {
    runs.push({ at: Date.now(), continuation: job.continuation, state: job.state, attempt: job.attempt });
    if (job.continuation === 0) {
      answers.push(await job.continue({ state: { rows: 40 }, delay: "1s" }));
      return "not a result: the job goes on";
    }
    return { imported: job.state.rows };
  };
  const job = await withWorker({ queues: ["sleepers"], handler }, async () => {
    const { id } = await errand.enqueue("sleepers", {});
    return pollUntil(ended(id), "the continued job to end");
  });
  assert.equal(job.state, "succeeded");
  assert.deepEqual(job.result, { imported: 40 });
  assert.deepEqual([job.attempt, job.errors], [1, []], "a continue is not an attempt, nor a failure");
  assert.equal(answers[0].state, "scheduled");
  assert.equal(runs.length, 2);
  assert.deepEqual(runs.map((r) => [r.continuation, r.state, r.attempt]), [[0, null, 1], [1, { rows: 40 }, 1]]);
  assert.ok(runs[1].at - runs[0].at >= 950, `claimed again after ${runs[1].at - runs[0].at} ms`);
});

test("a handler waits for a signal and signal() resumes it with the body", async () => {
  const urls = [];
  const bodies = [];
  const handler = async (job) => {
    bodies.push(job.signalBody);
    if (job.continuation === 0) {
      const { signal_url } = await job.continue({ state: { order: 7 }, signal: { timeout: "1h" } });
      urls.push(signal_url); // what the app hands to the bank's webhook
      return;
    }
    return { order: job.state.order, paid: job.signalBody };
  };
  const job = await withWorker({ queues: ["orders"], handler }, async () => {
    const { id } = await errand.enqueue("orders", {});
    await pollUntil(async () => urls.length && (await errand.get(id)).state === "waiting", "the job to wait");
    const token = urls[0].split("/").pop();
    const bank = new Errand({ url: server.url }); // the token alone, sent to this client's server
    assert.deepEqual(await bank.signal(token, { amount: 42 }), { id, state: "queued" });
    return pollUntil(ended(id), "the signalled job to end");
  });
  assert.equal(job.state, "succeeded");
  assert.deepEqual(job.result, { order: 7, paid: { amount: 42 } });
  assert.deepEqual(bodies, [undefined, { amount: 42 }]);
  assert.deepEqual(job.signal, { status: "received", body: { amount: 42 } }, "no URL: it is spent");
});

test("a wait that times out resumes the handler with a null signal", async () => {
  const bodies = [];
  const handler = async (job) => {
    if (job.continuation === 0) {
      await job.continue({ signal: { timeout: "1s" } });
      return;
    }
    bodies.push(job.signalBody);
    return "gave up waiting";
  };
  const job = await withWorker({ queues: ["timeouts"], handler }, async () => {
    const { id } = await errand.enqueue("timeouts", {});
    return pollUntil(ended(id), "the wait to time out");
  });
  assert.equal(job.state, "succeeded");
  assert.deepEqual(bodies, [null]);
  assert.equal(job.signal.status, "timed_out");
});

test("a batch's on_complete callback runs once, after every job ended", async () => {
  const callbacks = [];
  const handler = async (job) => {
    if (job.queue === "batch-done") {
      callbacks.push(job.payload);
      return "notified";
    }
    if (job.payload.row === 2) throw new NoRetry("row 2 is malformed");
    return job.payload.row * 10;
  };
  const options = { queues: ["batch-rows", "batch-done"], concurrency: 3, handler };
  const { batch, callback } = await withWorker(options, async () => {
    const created = await errand.batches.create({
      jobs: [1, 2, 3].map((row) => ({ queue: "batch-rows", payload: { row } })),
      onComplete: { queue: "batch-done", payload: { report: "rows" } },
    });
    assert.equal(created.state, "sealed");
    const done = await pollUntil(async () => {
      const b = await errand.batches.get(created.id);
      return b.state === "done" && b.callbacks.complete.job_id && b;
    }, "the batch to end");
    return { batch: done, callback: await pollUntil(ended(done.callbacks.complete.job_id), "the callback to run") };
  });
  assert.deepEqual(batch.counts, { total: 3, succeeded: 2, dead: 1, cancelled: 0, pending: 0 });
  assert.equal(callback.state, "succeeded");
  assert.equal(callbacks.length, 1);
  assert.equal(callbacks[0].report, "rows");
  assert.deepEqual(
    [callbacks[0].batch.id, callbacks[0].batch.total, callbacks[0].batch.succeeded, callbacks[0].batch.dead],
    [batch.id, 3, 2, 1],
  );
  const fired = [];
  for await (const j of errand.list({ queue: "batch-done" })) fired.push(j.id);
  assert.deepEqual(fired, [callback.id], "one callback job, enqueued once");
});
