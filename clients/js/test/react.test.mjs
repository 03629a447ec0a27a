// errand-client/react: the view useJob renders, folded from a real job's
// events, and the hook rendered on the server (react-dom/server).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { createElement } from "react";
import { renderToString } from "react-dom/server";

import { Errand, INITIAL_JOB_VIEW, reduceJob, watchJobUrl } from "../src/index.js";
import { parseJobUrl, useJob } from "../src/react.js";
import { ErrandProcess, pollUntil } from "./server.mjs";

let server;
let errand;

before(async () => {
  server = await new ErrandProcess().start();
  errand = new Errand({ url: server.url });
});
after(() => server.close());

test("parseJobUrl reads the server, the id and the token", () => {
  assert.deepEqual(parseJobUrl("https://errand.example.com/v1/jobs/1M8HZ4NKB0007?token=abc.1.x"), {
    url: "https://errand.example.com",
    id: "1M8HZ4NKB0007",
    token: "abc.1.x",
  });
  assert.throws(() => parseJobUrl("https://errand.example.com/v1/queues/x"), /not a job URL/);
});

test("the view follows a job from its URL: progress, then the result", async () => {
  const { id, token } = await errand.enqueue("page", { rows: 3 });
  const url = errand.jobUrl(id, token);
  const views = [];
  let view = INITIAL_JOB_VIEW;
  const reading = (async () => {
    for await (const e of watchJobUrl(url)) views.push((view = reduceJob(view, e)));
  })();
  await pollUntil(() => views.length >= 1, "the first view");
  assert.equal(views[0].state, "queued");
  const [job] = (await errand.claim("page", { wait: "1s" })).jobs;
  await errand.progress(job.id, job.lease_id, { percent: 50, message: "half" });
  await pollUntil(() => view.progress === 50, "progress 50");
  assert.equal(view.message, "half");
  assert.equal(view.state, "running");
  await errand.complete(job.id, job.lease_id, { rows: 3 });
  await reading;
  assert.deepEqual(view, { state: "succeeded", progress: 50, message: "half", data: null, result: { rows: 3 }, error: null });
});

test("a dead job's view carries its error", () => {
  let view = reduceJob(INITIAL_JOB_VIEW, { event: "snapshot", data: { state: "running", progress: null, errors: [] } });
  view = reduceJob(view, { event: "dead", data: { state: "dead", error: "bad address" } });
  assert.equal(view.state, "dead");
  assert.equal(view.error, "bad address");
});

test("useJob renders 'connecting' before its first event (server rendering)", () => {
  function Progress({ url }) {
    const job = useJob(url);
    return createElement("div", { "data-state": job.state }, job.progress ?? "");
  }
  const html = renderToString(createElement(Progress, { url: `${server.url}/v1/jobs/x?token=t` }));
  assert.equal(html, '<div data-state="connecting"></div>');
});
