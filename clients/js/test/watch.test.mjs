// watch(): a job's events, resumed across a server restart with Last-Event-ID.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Errand, parseEvents } from "../src/index.js";
import { ErrandProcess, pollUntil } from "./server.mjs";

let server;
let errand;

before(async () => {
  server = await new ErrandProcess().start();
  errand = new Errand({ url: server.url });
});
after(() => server.close());

test("parseEvents splits a stream, keeps the unfinished rest, skips comments", () => {
  const { events, rest } = parseEvents(': keep-alive\n\nevent: state\nid: e-1\ndata: {"state":"running"}\n\nevent: progress\ndata: {"per');
  assert.deepEqual(events, [{ event: "state", id: "e-1", data: { state: "running" } }]);
  assert.equal(rest, 'event: progress\ndata: {"per');
});

test("the events of a job from snapshot to succeeded, with its token", async () => {
  const { id, token } = await errand.enqueue("watched", { n: 1 });
  const events = [];
  const reading = (async () => {
    for await (const e of new Errand({ url: server.url }).watch(id, { token })) events.push(e);
  })();
  await pollUntil(() => events.length >= 1, "the snapshot");
  const [job] = (await errand.claim("watched", { wait: "1s" })).jobs;
  await errand.progress(job.id, job.lease_id, { percent: 30, message: "a third" });
  await pollUntil(() => events.some((e) => e.event === "progress"), "the progress event");
  await errand.complete(job.id, job.lease_id, { ok: 1 });
  await reading;
  assert.deepEqual(events.map((e) => e.event), ["snapshot", "state", "progress", "succeeded"]);
  assert.equal(events[0].data.state, "queued");
  assert.equal(events[1].data.state, "running");
  assert.equal(events[2].data.percent, 30);
  assert.deepEqual(events[3].data.result, { ok: 1 });
  assert.match(events[3].id, /-end$/);
});

test("a watch goes on across a server restart", async () => {
  const { id } = await errand.enqueue("restarts", {});
  const [job] = (await errand.claim("restarts", { wait: "1s", lease: "1m" })).jobs;
  const events = [];
  let reconnects = 0;
  const reading = (async () => {
    for await (const e of errand.watch(id, { onReconnect: () => reconnects++ })) events.push(e);
  })();
  await pollUntil(() => events.length >= 1, "the snapshot");
  assert.equal(events[0].data.state, "running");
  await server.restart();
  await pollUntil(() => reconnects >= 1 && events.length >= 2, "a fresh snapshot from the restarted server");
  await errand.progress(job.id, job.lease_id, { percent: 90, message: "after the restart" });
  await pollUntil(() => events.some((e) => e.event === "progress"), "progress after the restart");
  await errand.complete(job.id, job.lease_id, "done");
  await reading;
  assert.equal(events.at(-1).event, "succeeded");
  assert.equal(events.at(-1).data.result, "done");
  assert.equal(events.filter((e) => e.event === "snapshot").length, 2, "a new server epoch gives a fresh snapshot");
});

test("a watch of a finished job ends after its snapshot; a bad token throws", async () => {
  const { id, token } = await errand.enqueue("finished", {});
  await errand.cancel(id);
  const events = [];
  for await (const e of errand.watch(id)) events.push(e.event);
  assert.deepEqual(events, ["snapshot"]);
  const forged = token.slice(0, -2) + (token.endsWith("00") ? "11" : "00");
  await assert.rejects(
    (async () => {
      for await (const _ of new Errand({ url: server.url }).watch(id, { token: forged }));
    })(),
    { code: "unauthorized", status: 401 },
  );
});
