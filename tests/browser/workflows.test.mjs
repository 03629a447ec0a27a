// Workflows in the dashboard, in a real browser: a small graph of jobs
// enqueued with `after` shows its blocked step, the step's parents and
// children as links, and the counts of blocked jobs; a batch's page shows its
// counts, its callbacks once they fired and its jobs page by page; a job
// waiting for a signal shows the signal URL, and resumes when it is called;
// a completion webhook's delivery is shown as the job's JSON has it.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { api, startErrand } from "./lib/processes.mjs";
import { launch, newPage, screenshot } from "./lib/browser.mjs";

const ADMIN = "admin-key-for-the-workflow-tests";
const WORKER = "worker-key-for-the-workflow-test";
const TIMEOUT = 30000;

let errand, browser, page;

async function call(method, path, body, key = ADMIN) {
  const r = await api(errand, method, path, { key, body });
  assert.ok(r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function claim(queue, max = 1) {
  const r = await call("POST", "/v1/claim", { queues: [queue], worker: "workflow-test-worker", max, wait: "5s" }, WORKER);
  assert.equal(r.jobs.length, max, `${max} jobs to claim from ${queue}`);
  return r.jobs;
}

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.locator("#page-title").waitFor({ timeout: TIMEOUT });
}

async function ids(rows) {
  return rows.evaluateAll((list) => list.map((r) => r.dataset.id));
}

// The page at 375 px wide fits without scrolling sideways (tables scroll in their box).
async function fitsNarrow(hash, selector, name) {
  const narrow = await newPage(browser, { viewport: { width: 375, height: 812 } });
  await narrow.context().addCookies(await page.context().cookies());
  await narrow.goto(errand.url + "/" + hash);
  await narrow.locator(selector).first().waitFor({ timeout: TIMEOUT });
  const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await screenshot(narrow, `${name}-375`);
  await narrow.context().close();
  assert.ok(overflow <= 0, `${name} fits 375 px (${overflow} px too wide)`);
}

before(async () => {
  errand = await startErrand(["--key", `admin:${ADMIN}`, "--key", `worker:${WORKER}`]);
  browser = await launch();
  page = await newPage(browser, { viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(errand.url + "/");
  await page.fill("#login-key", ADMIN);
  await page.click("#login-submit");
  await page.locator("#nav").waitFor();
});

after(async () => {
  await browser?.close();
  await errand?.stop();
});

test("a step of a graph is blocked, links its parents and children, and is queued when they succeed", async () => {
  const graph = await call("POST", "/v1/jobs/batch", {
    jobs: [
      { queue: "wf-resize", ref: "r1", payload: { image: 1 } },
      { queue: "wf-resize", ref: "r2", payload: { image: 2 } },
      { queue: "wf-zip", ref: "zip", after: ["r1", "r2"] },
      { queue: "wf-email", after: ["zip"], after_failure: "run", payload: { to: "a@example.com" } },
    ],
  });
  const [r1, r2, zip, email] = graph.jobs.map((j) => j.id);
  assert.deepEqual(graph.jobs.map((j) => j.state), ["queued", "queued", "blocked", "blocked"]);

  await go(`#/jobs/${zip}`);
  await page.locator("#job-state").filter({ hasText: /^blocked$/ }).waitFor();
  const parents = page.locator("#job-parents [data-testid=parent]");
  await parents.nth(1).waitFor();
  assert.deepEqual((await ids(parents)).sort(), [r1, r2].sort());
  assert.deepEqual(await parents.evaluateAll((list) => list.map((p) => p.dataset.state)), ["queued", "queued"]);
  assert.equal(await page.locator("#job-after-failure").getAttribute("data-value"), "cancel");
  assert.deepEqual(await ids(page.locator("#job-children [data-testid=child-link]")), [email]);
  await page.locator("[data-testid=timeline-entry][data-state=blocked]").filter({ hasText: "Waits for 2 of 2 parents" }).waitFor();
  assert.equal(await page.locator("#job-cancel").isDisabled(), false, "a blocked job can be cancelled");
  await screenshot(page, "workflows-job-blocked");
  await fitsNarrow(`#/jobs/${zip}`, "#job-parents", "workflows-job-blocked");

  // The child link opens the last step, which runs even after a failure.
  await page.locator("#job-children [data-testid=child-link]").click();
  await page.locator("#job-id").filter({ hasText: email }).waitFor();
  await page.locator("#job-after-failure[data-value=run]").waitFor();
  assert.equal(await page.locator("#job-children").count(), 0, "the last step has no children");

  // A parent's page links back to its child.
  await go(`#/jobs/${r1}`);
  await page.locator(`#job-children [data-testid=child-link][data-id="${zip}"]`).waitFor();
  assert.equal(await page.locator("#job-parents").count(), 0, "a first step has no parents");

  // Blocked jobs are counted and filtered like any other state.
  await go("#/queues/wf-zip");
  await page.locator("[data-testid=queue-count-blocked]").filter({ hasText: /^1$/ }).waitFor();
  await page.locator("[data-testid=queue-count-waiting]").filter({ hasText: /^0$/ }).waitFor();
  await go("#/");
  await page.locator("[data-testid=state-count-blocked]").filter({ hasText: /^2$/ }).waitFor();
  await go("#/queues");
  await page.locator("[data-testid=queue-row][data-queue=wf-email] [data-testid=queue-count-blocked]").filter({ hasText: /^1$/ }).waitFor();
  await go("#/jobs");
  await page.selectOption("#filter-state", "blocked");
  await page.click("#filter-apply");
  await page.waitForFunction(() => location.hash.includes("state=blocked"));
  await page.locator(`[data-testid=job-row][data-id="${email}"]`).waitFor();
  assert.deepEqual((await ids(page.locator("[data-testid=job-row]"))).sort(), [zip, email].sort());
  await screenshot(page, "workflows-jobs-blocked");

  // The parents succeed: the step is queued, live, and its parents show it.
  await go(`#/jobs/${zip}`);
  await page.locator("#job-state").filter({ hasText: /^blocked$/ }).waitFor();
  for (const job of await claim("wf-resize", 2)) {
    await call("POST", `/v1/jobs/${job.id}/complete`, { lease_id: job.lease_id, result: { image: job.payload.image } }, WORKER);
  }
  await page.locator("#job-state").filter({ hasText: /^queued$/ }).waitFor();
  await page.locator(`#job-parents [data-testid=parent][data-id="${r1}"][data-state=succeeded]`).waitFor();
  await page.locator(`#job-parents [data-testid=parent][data-id="${r2}"][data-state=succeeded]`).waitFor();
  await page.locator(`#job-parents [data-testid=parent-link][data-id="${r2}"]`).click();
  await page.locator("#job-id").filter({ hasText: r2 }).waitFor();
  await page.locator("#job-state").filter({ hasText: /^succeeded$/ }).waitFor();
});

test("a batch's page shows its counts, its callbacks once they fired, and its jobs", async () => {
  const created = await call("POST", "/v1/batches", {
    jobs: [1, 2, 3].map((row) => ({ queue: "wf-import", payload: { row }, max_attempts: 1 })),
    on_success: { queue: "wf-notify" }, on_complete: { queue: "wf-cleanup" }, on_death: { queue: "wf-alert" },
  });
  const jobIds = created.jobs.map((j) => j.id);
  await go(`#/batches/${created.id}`);
  await page.locator("#batch-state[data-state=sealed]").waitFor();
  await page.locator("[data-testid=batch-count-total]").filter({ hasText: /^3$/ }).waitFor();
  assert.equal(await page.locator("[data-testid=batch-count-pending]").textContent(), "3");
  await page.locator("#batch-jobs [data-testid=job-row]").nth(2).waitFor();
  assert.deepEqual((await ids(page.locator("#batch-jobs [data-testid=job-row]"))).sort(), [...jobIds].sort());
  for (const name of ["success", "complete", "death"]) {
    assert.equal(await page.locator(`[data-testid=callback-${name}]`).getAttribute("data-fired"), "false");
  }

  // One job succeeds, one dies: the death callback fires.
  const [first, second] = await claim("wf-import", 2);
  await call("POST", `/v1/jobs/${first.id}/complete`, { lease_id: first.lease_id, result: null }, WORKER);
  await call("POST", `/v1/jobs/${second.id}/fail`, { lease_id: second.lease_id, error: "bad row" }, WORKER);
  await page.locator("[data-testid=batch-count-succeeded]").filter({ hasText: /^1$/ }).waitFor();
  assert.equal(await page.locator("[data-testid=batch-count-dead]").textContent(), "1");
  assert.equal(await page.locator("[data-testid=batch-count-pending]").textContent(), "1");
  assert.equal(await page.locator("#batch-progress").getAttribute("aria-valuenow"), "67");
  const death = page.locator("[data-testid=callback-death][data-fired=true] [data-testid=callback-job]");
  await death.waitFor();
  assert.equal(await page.locator("[data-testid=callback-success]").getAttribute("data-fired"), "false");
  await page.locator(`#batch-jobs [data-testid=job-row][data-id="${second.id}"][data-state=dead]`).waitFor();
  await screenshot(page, "workflows-batch");
  await fitsNarrow(`#/batches/${created.id}`, "[data-testid=callback-death][data-fired=true]", "workflows-batch");

  // The callback is a job of its queue, carrying the batch's counts.
  const deathId = (await death.textContent()).trim();
  await death.click();
  await page.locator("#job-id").filter({ hasText: deathId }).waitFor();
  await page.locator("#job-payload").filter({ hasText: '"dead": 1' }).waitFor();
  assert.match(await page.locator("#job-details").textContent(), /wf-alert/);

  // A job of the batch links to the batch.
  await go(`#/jobs/${first.id}`);
  await page.locator("#job-batch").filter({ hasText: created.id }).click();
  await page.locator("#batch-id").filter({ hasText: created.id }).waitFor();

  // The last job ends: the batch is done and on_complete fired (not on_success).
  const [third] = await claim("wf-import");
  await call("POST", `/v1/jobs/${third.id}/complete`, { lease_id: third.lease_id, result: null }, WORKER);
  await page.locator("#batch-state[data-state=done]").waitFor();
  await page.locator("[data-testid=callback-complete][data-fired=true]").waitFor();
  assert.equal(await page.locator("[data-testid=callback-success]").getAttribute("data-fired"), "false");
  assert.equal(await page.locator("#batch-progress").getAttribute("aria-valuenow"), "100");
  assert.equal(await page.locator("[data-testid=batch-count-pending]").textContent(), "0");

  // The batch's jobs in the job list, for bulk actions.
  await page.click("#batch-jobs-link");
  await page.locator("#jobs-batch").filter({ hasText: created.id }).waitFor();
  await page.locator("[data-testid=job-row]").nth(2).waitFor();
  assert.deepEqual((await ids(page.locator("[data-testid=job-row]"))).sort(), [...jobIds].sort());
});

test("a large batch's jobs are shown 50 a page", async () => {
  const created = await call("POST", "/v1/batches", {
    jobs: Array.from({ length: 55 }, (_, n) => ({ queue: "wf-many", payload: { n } })),
  });
  await go(`#/batches/${created.id}`);
  const rows = page.locator("#batch-jobs [data-testid=job-row]");
  await rows.nth(49).waitFor();
  assert.equal(await rows.count(), 50);
  await page.locator("[data-testid=batch-count-total]").filter({ hasText: /^55$/ }).waitFor();
  assert.match(await page.locator("#batch-callbacks").textContent(), /enqueues nothing/);
  const firstPage = await ids(rows);
  await page.click("#batch-page-next");
  await page.locator("#batch-page-number").filter({ hasText: "Page 2" }).waitFor();
  await page.waitForFunction(() => document.querySelectorAll("#batch-jobs [data-testid=job-row]").length === 5);
  const secondPage = await ids(rows);
  assert.deepEqual([...firstPage, ...secondPage].sort(), created.jobs.map((j) => j.id).sort());
  assert.equal(await page.locator("#batch-page-next").isDisabled(), true);
  await page.click("#batch-page-newer");
  await page.locator("#batch-page-number").filter({ hasText: "Page 1" }).waitFor();
  await rows.nth(49).waitFor();
});

test("a job waiting for a signal shows its URL, and resumes when the URL is called", async () => {
  const job = await call("POST", "/v1/jobs", { queue: "wf-payments", payload: { charge: "ch_1" } });
  const [claimed] = await claim("wf-payments");
  const answer = await call("POST", `/v1/jobs/${job.id}/continue`,
    { lease_id: claimed.lease_id, state: { step: "charged" }, signal: { timeout: "1h" } }, WORKER);
  assert.equal(answer.state, "waiting");
  assert.match(answer.signal_url, /^\/v1\/signals\//);

  await go(`#/jobs/${job.id}`);
  await page.locator("#job-state").filter({ hasText: /^waiting$/ }).waitFor();
  await page.locator("#job-signal[data-status=waiting]").waitFor();
  assert.equal(await page.locator("#job-signal-url").textContent(), errand.url + answer.signal_url);
  assert.match(await page.locator("#job-signal").textContent(), /times out in (59 min|1 h)/);
  await page.locator("#copy-signal-url").waitFor();
  assert.equal(await page.locator("#job-cancel").isDisabled(), false, "a waiting job can be cancelled");
  await screenshot(page, "workflows-job-waiting");
  await fitsNarrow(`#/jobs/${job.id}`, "#job-signal-url", "workflows-job-waiting");

  await go("#/");
  await page.locator("[data-testid=state-count-waiting]").filter({ hasText: /^1$/ }).waitFor();
  await go("#/jobs?state=waiting");
  await page.locator(`[data-testid=job-row][data-id="${job.id}"][data-state=waiting]`).waitFor();
  assert.equal(await page.locator("[data-testid=job-row]").count(), 1);

  // The outside world calls the URL, without a key: the job is queued, live.
  await go(`#/jobs/${job.id}`);
  await page.locator("#job-signal[data-status=waiting]").waitFor();
  const signalled = await fetch(errand.url + answer.signal_url, {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ paid: true }),
  });
  assert.equal(signalled.status, 200);
  await page.locator("#job-state").filter({ hasText: /^queued$/ }).waitFor();
  await page.locator("#job-signal[data-status=received]").waitFor();
  await page.locator("#job-signal-body").filter({ hasText: '"paid": true' }).waitFor();
  assert.equal(await page.locator("#job-signal-url").count(), 0, "a used URL is not offered again");
  // The same attempt goes on: a continue is not a retry.
  await page.locator("[data-testid=timeline-entry][data-state=queued]").filter({ hasText: "Resumed by its signal" }).waitFor();
  assert.equal(await page.locator("[data-testid=timeline-entry]").filter({ hasText: "Queued again" }).count(), 0);
});

test("a completion webhook's delivery and a push job's continuations are shown", async () => {
  await go("#/jobs");
  const text = await page.evaluate(async () => {
    const { hasWorkflow, workflowDetails } = await import("/dashboard/job-workflow.js");
    const job = {
      id: "0ABCDEFGHJKMN", state: "succeeded", push: { continuations: 2, state_bytes: 120 },
      on_done: {
        url: "https://app.example.com/hooks/errand", state: "pending", attempts: 3, last_status: 502,
        last_error: "bad gateway", next_at: "2030-01-01T00:00:00Z", delivered_at: null,
      },
    };
    const dl = workflowDetails(job, location.origin);
    return {
      shown: hasWorkflow(job), none: hasWorkflow({ id: "0ABCDEFGHJKMN", state: "queued" }),
      state: dl.querySelector("#job-on-done").dataset.state, text: dl.textContent,
    };
  });
  assert.equal(text.shown, true);
  assert.equal(text.none, false, "a job outside any workflow shows no workflow card");
  assert.equal(text.state, "pending");
  for (const part of ["https://app.example.com/hooks/errand", "pending", "HTTP 502", "bad gateway", "Next try", "2, last state 120 bytes"]) {
    assert.ok(text.text.includes(part), `${part} in ${text.text}`);
  }
  assert.ok(!text.text.includes("Delivered"), text.text);
  assert.deepEqual(page.problems.filter((p) => !/401|403/.test(p)), []);
});
