// Push: signatures, and a step function served by pushHandler that the real
// server calls (a push queue pointing at a Node server on loopback).
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { createServer } from "node:http";
import { after, before, test } from "node:test";

import { Errand, NoRetry, nodeListener, pushHandler, verifySignature } from "../src/index.js";
import { ErrandProcess, jobEnded, pollUntil } from "./server.mjs";

const sign = (secret, t, body) => createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");

test("verifySignature: accepted, rejected, expired, and either of two secrets", async () => {
  const body = '{"job":{"id":"1"}}';
  const now = 1_800_000_000;
  const header = `t=${now},v1=${sign("whsec_a", now, body)}`;
  assert.equal(await verifySignature(body, header, "whsec_a", { now }), true);
  assert.equal(await verifySignature(new TextEncoder().encode(body), header, "whsec_a", { now }), true);
  assert.equal(await verifySignature(body, header, "whsec_b", { now }), false, "another secret");
  assert.equal(await verifySignature(body + " ", header, "whsec_a", { now }), false, "another body");
  assert.equal(await verifySignature(body, header, "whsec_a", { now: now + 301 }), false, "expired");
  assert.equal(await verifySignature(body, header, "whsec_a", { now: now + 600, tolerance: 900 }), true);
  const rotated = `t=${now},v1=${sign("whsec_new", now, body)},v1=${sign("whsec_old", now, body)}`;
  assert.equal(await verifySignature(body, rotated, "whsec_old", { now }), true);
  assert.equal(await verifySignature(body, rotated, ["whsec_x", "whsec_new"], { now }), true);
  assert.equal(await verifySignature(body, "v1=abc", "whsec_a", { now }), false, "no t");
  assert.equal(await verifySignature(body, null, "whsec_a", { now }), false);
});

let server;
let errand;
let app;
let appUrl;
let handler = async () => new Response("no handler", { status: 500 });

before(async () => {
  server = await new ErrandProcess({ args: ["--push-allow-private"] }).start();
  errand = new Errand({ url: server.url });
  app = createServer(nodeListener((request) => handler(request)));
  await new Promise((r) => app.listen(0, "127.0.0.1", r));
  appUrl = `http://127.0.0.1:${app.address().port}/api/errand`;
});
after(async () => {
  app.close();
  await server.close();
});

async function pushQueue(name) {
  await errand.queues.set(name, { push: { url: appUrl, timeout: "10s" } });
  return (await errand.queues.pushSecret(name)).secret;
}

const ended = (id) => jobEnded(errand, id);

test("a 3-step function whose step 2 fails once: step 1 is not run again", async () => {
  const secret = await pushQueue("steps");
  const runs = { one: 0, two: 0, three: 0 };
  const progress = [];
  handler = pushHandler(
    async (job, step) => {
      const a = await step.run("one", async () => (runs.one++, job.payload.start + 1));
      const b = await step.run("two", async () => {
        runs.two++;
        if (runs.two === 1) throw new Error("step two fails once");
        return a * 10;
      });
      await step.progress(66, "two steps done");
      progress.push((await errand.get(job.id)).progress?.percent);
      const c = await step.run("three", async () => (runs.three++, b + 1));
      return { a, b, c };
    },
    { secret, url: server.url },
  );
  const { id } = await errand.enqueue("steps", { start: 1 }, { maxAttempts: 3 });
  await pollUntil(async () => (await errand.get(id)).state === "failed", "step two's failure");
  await errand.retry(id); // now, instead of the backoff
  const job = await pollUntil(ended(id), "the step function to end");
  assert.equal(job.state, "succeeded");
  assert.deepEqual(job.result, { a: 2, b: 20, c: 21 });
  assert.deepEqual(runs, { one: 1, two: 2, three: 1 });
  assert.equal(job.errors[0].message.includes("step two fails once"), true, job.errors[0].message);
  assert.ok(progress.includes(66), `progress seen: ${progress}`);
});

test("step.sleep brings the job back after the duration", async () => {
  const secret = await pushQueue("sleepy");
  const times = [];
  handler = pushHandler(
    async (job, step) => {
      times.push(Date.now());
      await step.sleep("nap", "1s");
      return "awake";
    },
    { secret },
  );
  const { id } = await errand.enqueue("sleepy", {});
  const job = await pollUntil(ended(id), "the sleeping job to end");
  assert.equal(job.state, "succeeded");
  assert.equal(job.result, "awake");
  assert.equal(times.length, 2);
  assert.ok(times[1] - times[0] >= 950, `called again after ${times[1] - times[0]} ms`);
  assert.equal(job.push.continuations, 1);
});

test("step.waitForSignal hands out its URL once, waits, and returns the signal's body", async () => {
  const secret = await pushQueue("orders");
  const urls = [];
  const continuations = [];
  handler = pushHandler(
    async (job, step) => {
      continuations.push(job.continuation);
      const order = await step.run("order", async () => ({ id: job.payload.order }));
      const paid = await step.waitForSignal("paid", { timeout: "1h" }, async (url) => urls.push(url));
      const refund = await step.waitForSignal("refund", { timeout: "1s" });
      return { order: order.id, paid, refund };
    },
    { secret, url: server.url },
  );
  const { id } = await errand.enqueue("orders", { order: 7 });
  const waiting = await pollUntil(async () => {
    const job = await errand.get(id);
    return job.state === "waiting" && job;
  }, "the job to wait for its payment");
  assert.equal(urls.length, 1);
  assert.equal(urls[0], server.url + waiting.signal.url, "the absolute URL of the waiting call");
  const bank = new Errand({ url: "http://127.0.0.1:1" }); // knows nothing but the URL
  assert.deepEqual(await bank.signal(urls[0], { amount: 42 }), { id, state: "queued" });
  const job = await pollUntil(ended(id), "the job to end after its refund wait timed out");
  assert.equal(job.state, "succeeded");
  assert.deepEqual(job.result, { order: 7, paid: { amount: 42 }, refund: null });
  assert.deepEqual(continuations, [0, 1, 2, 3]);
  assert.equal(urls.length, 1, "send ran once");
});

test("NoRetry makes the job dead; a call with a bad signature is refused", async () => {
  const secret = await pushQueue("final");
  handler = pushHandler(async () => {
    throw new NoRetry("not worth retrying");
  }, { secret });
  const { id } = await errand.enqueue("final", {}, { maxAttempts: 5 });
  const job = await pollUntil(ended(id), "the job to die");
  assert.equal(job.state, "dead");
  assert.equal(job.attempt, 1);

  const refuse = pushHandler(async () => "never", { secret });
  const body = JSON.stringify({ job: { id: "x" }, lease_id: "l", attempt: 1, continuation: 0, state: null });
  const t = Math.floor(Date.now() / 1000);
  const forged = new Request(appUrl, { method: "POST", body, headers: { "Errand-Signature": `t=${t},v1=${sign("whsec_other", t, body)}` } });
  assert.equal((await refuse(forged)).status, 401);
  const old = new Request(appUrl, { method: "POST", body, headers: { "Errand-Signature": `t=${t - 3600},v1=${sign(secret, t - 3600, body)}` } });
  assert.equal((await refuse(old)).status, 401);
  const good = new Request(appUrl, { method: "POST", body, headers: { "Errand-Signature": `t=${t},v1=${sign(secret, t, body)}` } });
  assert.equal((await refuse(good)).status, 200);
});
