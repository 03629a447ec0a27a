// Every call of the Errand client against the real server.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { after, before, test } from "node:test";

import { Errand, ErrandError } from "../src/index.js";
import { ErrandProcess } from "./server.mjs";

const ADMIN = "admin:" + "a".repeat(24);
const PRODUCER = "producer:" + "p".repeat(24);
let server;
let errand;

before(async () => {
  server = await new ErrandProcess({ keys: [ADMIN, PRODUCER] }).start();
  errand = new Errand({ url: server.url, key: "a".repeat(24) });
});
after(() => server.close());

test("enqueue, get, and the token reads the job alone", async () => {
  const job = await errand.enqueue("emails", { to: "ada@example.com" }, { type: "welcome", maxAttempts: 3, tags: ["signup"] });
  assert.equal(job.state, "queued");
  assert.ok(job.token);
  const got = await errand.get(job.id);
  assert.deepEqual(got.payload, { to: "ada@example.com" });
  assert.equal(got.max_attempts, 3);
  assert.deepEqual(got.tags, ["signup"]);
  const seen = await new Errand({ url: server.url }).get(job.id, { token: job.token });
  assert.equal(seen.state, "queued");
  assert.equal(seen.payload, undefined, "a token does not see the payload");
  const again = await errand.enqueue("emails", { to: "x" }, { idempotencyKey: "k-1" });
  const dup = await errand.enqueue("emails", { to: "x" }, { idempotencyKey: "k-1" });
  assert.equal(dup.id, again.id);
  assert.equal(dup.duplicate, true);
  const later = await errand.enqueue("emails", null, { delay: "1h" });
  assert.equal(later.state, "scheduled");
});

test("typed errors carry code, status and field", async () => {
  await assert.rejects(errand.enqueue("emails", {}, { priority: "high" }), (e) => {
    assert.ok(e instanceof ErrandError);
    assert.equal(e.code, "invalid_argument");
    assert.equal(e.status, 400);
    assert.equal(e.field, "priority");
    return true;
  });
  await assert.rejects(errand.get("1M8HZ4NKB0007"), { code: "not_found", status: 404 });
  await assert.rejects(new Errand({ url: server.url, key: "wrong".repeat(5) }).get("x"), { code: "unauthorized", status: 401 });
  await assert.rejects(new Errand({ url: server.url, key: "p".repeat(24) }).queues.set("q", {}), { code: "forbidden", status: 403 });
  const nobody = new Errand({ url: "http://127.0.0.1:1" });
  await assert.rejects(nobody.health(), { code: "unavailable", status: 0 });
});

test("enqueueMany, list across pages, cancel, retry, bulk, delete, logs", async () => {
  const jobs = await errand.enqueueMany([1, 2, 3, 4, 5].map((n) => ({ queue: "listing", payload: { n } })));
  assert.equal(jobs.length, 5);
  const listed = [];
  for await (const j of errand.list({ queue: "listing", limit: 2, include: "payload" })) listed.push(j.payload.n);
  assert.deepEqual(listed, [5, 4, 3, 2, 1]);
  const page = await errand.listPage({ queue: "listing", limit: 2 });
  assert.equal(page.jobs.length, 2);
  assert.ok(page.next_cursor);
  const cancelled = await errand.cancel(jobs[0].id);
  assert.equal(cancelled.state, "cancelled");
  await assert.rejects(errand.cancel(jobs[0].id), { code: "conflict", status: 409 });
  const retried = await errand.retry(jobs[0].id);
  assert.equal(retried.state, "queued");
  const results = await errand.bulk("cancel", [jobs[1].id, "1M8HZ4NKB0007"]);
  assert.equal(results[0].ok, true);
  assert.equal(results[1].ok, false);
  assert.deepEqual(await errand.logs(jobs[2].id), []);
  assert.deepEqual(await errand.delete(jobs[2].id), { id: jobs[2].id, deleted: true });
});

test("the worker calls: claim, heartbeat, progress, complete, fail, acks", async () => {
  const a = await errand.enqueue("work", { n: 1 });
  const b = await errand.enqueue("work", { n: 2 });
  const c = await errand.enqueue("work", { n: 3 });
  const d = await errand.enqueue("work", { n: 4 });
  const { jobs } = await errand.claim(["work"], { worker: "w1", max: 4, wait: "1s", lease: "30s" });
  assert.deepEqual(jobs.map((j) => j.id), [a.id, b.id, c.id, d.id]);
  const [ja, jb, jc, jd] = jobs;
  const beat = await errand.heartbeat(ja.id, ja.lease_id, "1m");
  assert.equal(beat.cancel_requested, false);
  assert.deepEqual(await errand.progress(ja.id, ja.lease_id, { percent: 40, message: "rows" }), { ok: true });
  assert.equal((await errand.get(ja.id)).progress.percent, 40);
  assert.equal((await errand.complete(ja.id, ja.lease_id, { done: true }, { log: "hello" })).state, "succeeded");
  assert.equal((await errand.get(ja.id)).result.done, true);
  assert.equal((await errand.logs(ja.id))[0].log, "hello");
  assert.equal((await errand.fail(jb.id, jb.lease_id, "boom", { retry: false })).state, "dead");
  assert.equal((await errand.fail(jc.id, jc.lease_id, "later", { retryIn: "1h" })).state, "failed");
  const acks = await errand.acks([{ id: jd.id, lease_id: jd.lease_id, result: 4 }, { id: jd.id, lease_id: "stale", result: 5 }]);
  assert.equal(acks[0].ok, true);
  assert.equal(acks[1].ok, false);
  await assert.rejects(errand.complete(ja.id, ja.lease_id, null), { code: "conflict" });
  const none = await errand.claim("nosuchqueue", { wait: 0 });
  assert.equal(none.warnings[0].code, "queue_not_found");
});

test("queues: set, get, list, pause, resume, push secret", async () => {
  const q = await errand.queues.set("limited", { concurrency: 2, rate_limit: { limit: 10, per: "1s" } });
  assert.equal(q.config.concurrency, 2);
  assert.equal((await errand.queues.get("limited")).config.rate_limit.limit, 10);
  assert.equal((await errand.queues.pause("limited")).paused, true);
  assert.equal((await errand.queues.resume("limited")).paused, false);
  const names = [];
  for await (const queue of errand.queues.list({ limit: 1 })) names.push(queue.name);
  assert.ok(names.includes("limited") && names.includes("emails"), names.join(","));
  await assert.rejects(errand.queues.get("never"), { code: "not_found", field: "queue" });
  await assert.rejects(errand.queues.pushSecret("limited"), { code: "not_found" });
  const pushServer = new ErrandProcess({ keys: [ADMIN], args: ["--push-allow-private"] });
  await pushServer.start();
  try {
    const admin = new Errand({ url: pushServer.url, key: "a".repeat(24) });
    await admin.queues.set("hooks", { push: { url: "http://127.0.0.1:9/never" } });
    const secret = await admin.queues.pushSecret("hooks");
    assert.match(secret.secret, /^whsec_/);
    const rotated = await admin.queues.rotatePushSecret("hooks", { keepPrevious: "1h" });
    assert.equal(rotated.previous, secret.secret);
  } finally {
    await pushServer.close();
  }
});

test("schedules: set, get, list, trigger, pause, resume, delete", async () => {
  const s = await errand.schedules.set("nightly", { cron: "0 2 * * *", timezone: "Europe/Berlin", queue: "reports", payload: { kind: "nightly" } });
  assert.equal(s.name, "nightly");
  assert.equal(s.next.length, 5);
  assert.equal((await errand.schedules.get("nightly")).timezone, "Europe/Berlin");
  assert.deepEqual((await errand.schedules.list()).map((x) => x.name), ["nightly"]);
  const fired = await errand.schedules.trigger("nightly");
  assert.equal((await errand.get(fired.id)).queue, "reports");
  assert.equal((await errand.schedules.pause("nightly")).paused, true);
  assert.equal((await errand.schedules.resume("nightly")).paused, false);
  assert.deepEqual(await errand.schedules.delete("nightly"), { name: "nightly", deleted: true });
  await assert.rejects(errand.schedules.get("nightly"), { code: "not_found" });
  await assert.rejects(errand.schedules.set("bad", { cron: "0 25 * * *", queue: "q" }), { field: "cron" });
});

test("continueJob and signal: a wait resumed once with its body, a sleep, and their errors", async () => {
  const { id } = await errand.enqueue("steps", { order: 7 });
  let [job] = (await errand.claim("steps", { wait: "1s" })).jobs;
  await assert.rejects(errand.continueJob(id, job.lease_id, { delay: "1s", signal: { timeout: "1h" } }), {
    code: "invalid_argument",
    status: 400,
    field: "signal",
  });
  await assert.rejects(errand.continueJob(id, job.lease_id, { delay: "soon" }), { status: 400, field: "delay" });
  await assert.rejects(errand.continueJob(id, "stale", {}), { code: "conflict", status: 409 });
  const waiting = await errand.continueJob(id, job.lease_id, { state: { charge: "ch_1" }, signal: { timeout: "1h" } });
  assert.equal(waiting.state, "waiting");
  assert.match(waiting.signal_url, /^\/v1\/signals\/./);
  assert.ok(Date.parse(waiting.signal_timeout_at) > Date.now() + 50 * 60 * 1000);
  assert.deepEqual((await errand.get(id)).signal, { status: "waiting", url: waiting.signal_url });

  // Whoever holds the URL signals, with no key: here a client of another
  // server, given the absolute URL.
  const stranger = new Errand({ url: "http://127.0.0.1:1" });
  assert.deepEqual(await stranger.signal(server.url + waiting.signal_url, { paid: true }), { id, state: "queued" });
  await assert.rejects(errand.signal(waiting.signal_url, { paid: true }), (e) => {
    assert.ok(e instanceof ErrandError);
    assert.deepEqual([e.code, e.status, e.field], ["conflict", 409, "signal"]);
    return true;
  });
  await assert.rejects(errand.signal("not-a-token", {}), { code: "unauthorized", status: 401, field: "signal" });

  [job] = (await errand.claim("steps", { wait: "1s" })).jobs;
  assert.equal(job.id, id);
  assert.deepEqual([job.attempt, job.continuation, job.state, job.signal], [1, 1, { charge: "ch_1" }, { paid: true }]);
  const sleep = { state: { step: 3 }, delay: 60_000, progress: { percent: 5 } }; // delay: ms, or "1m"
  const slept = await errand.continueJob(id, job.lease_id, sleep);
  assert.equal(slept.state, "scheduled");
  assert.equal(slept.signal_url, undefined);
  assert.ok(Date.parse(slept.run_at) > Date.now() + 50_000);
  assert.equal((await errand.get(id)).progress.percent, 5);
});

test("batches: an open batch gets pages, is sealed and read; a sealed one takes no more", async () => {
  const created = await errand.batches.create({
    jobs: [{ queue: "rows", payload: { row: 1 } }],
    onComplete: { queue: "rows-done", payload: { report: "rows" }, maxAttempts: 2 },
    open: true,
  });
  assert.equal(created.state, "open");
  assert.equal(created.jobs.length, 1);
  const page = [2, 3].map((row) => ({ queue: "rows", payload: { row }, idempotencyKey: `row-${row}` }));
  const added = await errand.batches.add(created.id, page);
  assert.deepEqual([added.id, added.state, added.jobs.length], [created.id, "open", 2]);
  const again = await errand.batches.add(created.id, page); // a page sent twice adds nothing twice
  assert.deepEqual(again.jobs.map((j) => j.id), added.jobs.map((j) => j.id));
  const sealed = await errand.batches.seal(created.id);
  assert.equal(sealed.state, "sealed");
  assert.deepEqual(sealed.counts, { total: 3, succeeded: 0, dead: 0, cancelled: 0, pending: 3 });
  assert.deepEqual(sealed.callbacks, { complete: { queue: "rows-done", job_id: null } });
  assert.equal((await errand.batches.seal(created.id)).state, "sealed", "sealing twice changes nothing");
  assert.deepEqual(await errand.batches.get(created.id), sealed);
  const members = [];
  for await (const j of errand.list({ batch: created.id, limit: 2 })) members.push(j.batch);
  assert.deepEqual(members, [created.id, created.id, created.id]);
  await assert.rejects(errand.batches.add(created.id, [{ queue: "rows" }]), { code: "conflict", field: "batch" });
  await assert.rejects(errand.batches.create({ jobs: [] }), { code: "invalid_argument", status: 400, field: "jobs" });
  await assert.rejects(errand.batches.create({ jobs: [{ queue: "rows" }], onDeath: { queue: "x", retries: 1 } }), {
    status: 400,
    field: "on_death.retries",
  });
  await assert.rejects(errand.batches.get("1M8HZ4NKB0007"), { code: "not_found", status: 404 });
});

test("keys: set, get, list page after page, delete; a key with a slash is percent-encoded", async () => {
  await errand.enqueue("tenants", {}, { key: "team/a" });
  await errand.enqueue("tenants", {}, { key: "team/a" });
  await errand.enqueue("tenants", {}, { key: "team b" });
  const limits = { concurrency: 2, rateLimit: { limit: 10, per: "1m" }, weight: 3 };
  const set = await errand.queues.setKey("tenants", "team/a", limits);
  assert.deepEqual(
    [set.queue, set.key, set.queued, set.overridden, set.concurrency, set.rate_limit.limit, set.weight],
    ["tenants", "team/a", 2, true, 2, 10, 3],
  );
  assert.deepEqual(await errand.queues.getKey("tenants", "team/a"), set);
  const byKey = [];
  for await (const k of errand.queues.keys("tenants", { limit: 1 })) byKey.push(k.key);
  assert.deepEqual(byKey, ["team b", "team/a"]);
  const busiest = [];
  for await (const k of errand.queues.keys("tenants", { sort: "busiest" })) busiest.push(k.key);
  assert.deepEqual(busiest, ["team/a", "team b"]);
  const deleted = await errand.queues.deleteKey("tenants", "team/a");
  assert.deepEqual([deleted.overridden, deleted.concurrency, deleted.weight], [false, null, null]);
  await assert.rejects(errand.queues.deleteKey("tenants", "team/a"), { code: "not_found", status: 404 });
  await assert.rejects(errand.queues.getKey("tenants", "nobody"), { code: "not_found", field: "key" });
  await assert.rejects(errand.queues.setKey("tenants", "team/a", { weight: 0 }), {
    code: "invalid_argument",
    status: 400,
    field: "weight",
  });
  await assert.rejects(new Errand({ url: server.url, key: "p".repeat(24) }).queues.setKey("tenants", "x", {}), {
    code: "forbidden",
    status: 403,
  });
});

// A loopback URL where nothing listens: a port bound, then let go.
async function deadUrl() {
  const s = createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return `http://127.0.0.1:${port}`;
}

test("several URLs: a dead one is passed over, and the error names every URL", async () => {
  const moves = [];
  const [dead, dead2] = [await deadUrl(), await deadUrl()];
  const both = new Errand({ url: `${dead},${server.url}`, key: "a".repeat(24), onFailover: (from, to) => moves.push([from, to]) });
  const { id } = await both.enqueue("failover", { n: 1 });
  assert.equal((await both.get(id)).queue, "failover");
  assert.deepEqual(moves, [[dead, server.url]]);
  assert.equal(both.url, server.url, "it stays on the URL that works");
  const none = new Errand({ url: [dead, dead2] });
  await assert.rejects(none.health(), (e) => {
    assert.equal(e.code, "unavailable");
    assert.equal(e.message, `cannot reach errand at any of its 2 URLs: ${dead}: ECONNREFUSED; ${dead2}: ECONNREFUSED`);
    return true;
  });
});

test("the server: stats, nodes, health, openapi", async () => {
  const stats = await errand.stats({ window: "5m" });
  assert.equal(stats.window, "5m");
  const nodes = await errand.nodes();
  assert.equal(nodes[0].self, true);
  assert.equal((await errand.health()).status, "ok");
  const doc = await errand.openapi();
  assert.ok(doc.openapi.startsWith("3.1"));
});
