// The dashboard in a real browser (Debian's chromium, headless): log in, see
// jobs arrive live, open one and watch its progress, retry a dead job,
// bulk-cancel 50 jobs, filter by state, pause a queue; a queue's busiest
// keys, a job's key, and pausing one key; a wrong key and a write without the
// CSRF token are refused. Every page is screenshotted at
// desktop width and the overview also at 375 px, light and dark.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { api, startErrand } from "./lib/processes.mjs";
import { launch, newPage, screenshot } from "./lib/browser.mjs";

const ADMIN = "admin-key-for-the-browser-tests";
const WORKER = "worker-key-for-the-browser-test";
const TIMEOUT = 30000;

let errand, browser, page;

// An API call as the admin (or worker) — what an app or worker would do.
async function call(method, path, body, key = ADMIN) {
  const r = await api(errand, method, path, { key, body });
  assert.ok(r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

async function enqueue(queue, fields = {}) {
  return call("POST", "/v1/jobs", { queue, ...fields });
}

async function claim(queue, worker = "browser-test-worker") {
  const r = await call("POST", "/v1/claim", { queues: [queue], worker, max: 1, wait: "5s" }, WORKER);
  assert.equal(r.jobs.length, 1, `a job to claim from ${queue}`);
  return r.jobs[0];
}

async function go(hash) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  await page.locator("#page-title").waitFor({ timeout: TIMEOUT });
}

before(async () => {
  errand = await startErrand(["--key", `admin:${ADMIN}`, "--key", `worker:${WORKER}`]);
  browser = await launch();
  page = await newPage(browser, { viewport: { width: 1280, height: 860 } });
  page.setDefaultTimeout(TIMEOUT);
});

after(async () => {
  await browser?.close();
  await errand?.stop();
});

test("a wrong key is refused and an admin key logs in", async () => {
  await page.goto(errand.url + "/");
  await page.locator("#login-form").waitFor();
  await screenshot(page, "dashboard-login");
  await page.fill("#login-key", "not-the-right-key-at-all");
  await page.click("#login-submit");
  await page.locator("#login-error").filter({ hasText: /wrong key/i }).waitFor();
  const cookies = await page.context().cookies();
  assert.equal(cookies.length, 0, "no cookie for a wrong key");

  await page.fill("#login-key", ADMIN);
  await page.click("#login-submit");
  await page.locator("#nav").waitFor();
  const [cookie] = await page.context().cookies();
  assert.equal(cookie.name, "errand_session");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(await page.evaluate(() => document.cookie), "", "the page's script cannot read it");
});

test("a new server's pages show the first step instead of empty boxes", async () => {
  for (const [hash, name] of [["#/", "overview"], ["#/jobs", "jobs"], ["#/queues", "queues"], ["#/dead", "dead"]]) {
    await go(hash);
    const step = page.locator("[data-testid=first-step]:visible");
    await step.waitFor();
    const text = await step.textContent();
    assert.match(text, /No jobs yet — enqueue one:/, `${name}: ${text}`);
    assert.match(text, new RegExp(`curl -s ${errand.url}/v1/jobs -H "Authorization: Bearer \\$ERRAND_KEY" -d '\\{"queue":"emails"`), `${name}: ${text}`);
    await screenshot(page, `dashboard-first-step-${name}`);
  }
  // The overview's chart says what its axes are, and spans the whole hour.
  await go("#/");
  await page.locator("#throughput-chart canvas").first().waitFor();
  // (uPlot draws the axis labels, "Local time" and "Jobs per second", on its canvas.)
  assert.match(await page.locator("#chart-note").textContent(), /per second, in 10-second steps, by local time/);
  await screenshot(page, "dashboard-overview-new-server");
});

test("a state-changing request without the CSRF token is refused", async () => {
  const job = await enqueue("csrf-check");
  const status = await page.evaluate(async (id) => {
    const r = await fetch(`/v1/jobs/${id}/cancel`, { method: "POST", credentials: "same-origin" });
    return r.status;
  }, job.id);
  assert.equal(status, 403);
  assert.equal((await call("GET", `/v1/jobs/${job.id}`)).state, "queued");
});

test("the overview shows jobs by state, queues and workers, and the chart", async () => {
  await enqueue("emails", { type: "welcome", payload: { to: "ann@example.com" } });
  await claim("emails", "overview-worker");
  await go("#/");
  await page.locator("#throughput-chart canvas").first().waitFor();
  await page.locator("[data-testid=overview-queue-row][data-queue=emails]").waitFor();
  await page.locator("[data-testid=state-count-running]").filter({ hasText: /^[1-9]/ }).waitFor();
  await page.locator("#workers-connected").filter({ hasText: /^[1-9]/ }).waitFor();
  await screenshot(page, "dashboard-overview");
  for (const colorScheme of ["light", "dark"]) {
    const narrow = await newPage(browser, { viewport: { width: 375, height: 812 }, colorScheme });
    await narrow.context().addCookies(await page.context().cookies());
    await narrow.goto(errand.url + "/#/");
    await narrow.locator("[data-testid=overview-queue-row]").first().waitFor({ timeout: TIMEOUT });
    const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page fits 375 px (${overflow} px too wide)`);
    await screenshot(narrow, `dashboard-overview-375-${colorScheme}`);
    await narrow.context().close();
  }
});

test("the overview lists this server as a node, up", async () => {
  await go("#/");
  const row = page.locator("[data-testid=node-row][data-state=up]").filter({ hasText: "(this node)" });
  await row.waitFor();
  const text = await row.innerText();
  assert.ok(text.includes(errand.url), `the node's address ${errand.url} in ${JSON.stringify(text)}`);
  assert.match(text, /\bup\b/);
  await page.locator("#nodes-summary").filter({ hasText: /^1 up, 0 gone, 0 stopped$/ }).waitFor();
});

test("a job enqueued through the API appears live; its detail shows progress moving", async () => {
  await go("#/jobs?queue=imports");
  await page.locator("#jobs-table").waitFor();
  const job = await enqueue("imports", { type: "import", payload: { rows: 500 }, tags: ["live"] });
  const row = page.locator(`[data-testid=job-row][data-id="${job.id}"]`);
  await row.waitFor();  // without a reload
  await screenshot(page, "dashboard-jobs");

  await row.getByRole("link").first().click();
  await page.locator("#job-id").filter({ hasText: job.id }).waitFor();
  const claimed = await claim("imports");
  await page.locator("#job-state").filter({ hasText: "running" }).waitFor();
  const bar = page.locator("#job-progress");
  for (const percent of [30, 70]) {
    await call("POST", `/v1/jobs/${job.id}/progress`, { lease_id: claimed.lease_id, percent, message: `row ${percent * 5}` }, WORKER);
    await page.locator(`#job-progress[aria-valuenow="${percent}"]`).waitFor();
  }
  await page.locator("#job-progress-message").filter({ hasText: "row 350" }).waitFor();
  assert.match(await page.locator("#job-curl").textContent(), /curl -X POST .*\/v1\/jobs/);
  await screenshot(page, "dashboard-job");
  await call("POST", `/v1/jobs/${job.id}/complete`, { lease_id: claimed.lease_id, result: { imported: 500 } }, WORKER);
  await page.locator("#job-state").filter({ hasText: "succeeded" }).waitFor();
  await page.locator("#job-result").filter({ hasText: "imported" }).waitFor();
});

test("a dead job is retried from the dead jobs page", async () => {
  const job = await enqueue("fragile", { max_attempts: 1 });
  const claimed = await claim("fragile");
  await call("POST", `/v1/jobs/${job.id}/fail`, { lease_id: claimed.lease_id, error: "boom" }, WORKER);
  await go("#/dead");
  const row = page.locator(`[data-testid=job-row][data-id="${job.id}"]`);
  await row.waitFor();
  await screenshot(page, "dashboard-dead");
  await row.getByRole("link").first().click();
  await page.locator("#job-attempts [data-testid=attempt]").filter({ hasText: "boom" }).waitFor();
  await page.click("#job-retry");
  if (await page.locator("#confirm-dialog[open]").count()) await page.click("#confirm-ok");
  await page.locator("#job-state").filter({ hasText: "queued" }).waitFor();
  assert.equal((await call("GET", `/v1/jobs/${job.id}`)).state, "queued");
  // The retry stays in the timeline when the page is opened afresh.
  await page.reload();
  await page.locator("[data-testid=timeline-entry][data-state=queued]").filter({ hasText: "Queued again for attempt 2" }).waitFor();
  await screenshot(page, "dashboard-job-retried");
});

test("the timeline shows a push job's continuations", async () => {
  const entries = await page.evaluate(async () => {
    const { timelineEntries } = await import("/dashboard/job-parts.js");
    const job = {
      state: "running", attempt: 1, created_at: "2026-01-01T10:00:00.000Z", started_at: "2026-01-01T10:00:01.000Z",
      run_at: "2026-01-01T10:00:00.000Z", errors: [], push: { continuations: 3 },
      progress: { percent: 60, updated_at: "2026-01-01T10:00:09.000Z" },
    };
    return timelineEntries(job, [], 0).map((e) => `${e.state}: ${e.text}`);
  });
  assert.deepEqual(entries, [
    "created: Enqueued",
    "running: Attempt 1 started",
    "continued: Continued 3 times: run again with the state it saved",
  ]);
});

test("the jobs list shows a last error only for jobs that did not succeed", async () => {
  const job = await enqueue("flaky");
  const first = await claim("flaky");
  await call("POST", `/v1/jobs/${job.id}/fail`, { lease_id: first.lease_id, error: "timeout talking to SMTP", retry_in: "1s" }, WORKER);
  const second = await claim("flaky");
  await call("POST", `/v1/jobs/${job.id}/complete`, { lease_id: second.lease_id, result: { ok: true } }, WORKER);
  const failing = await enqueue("flaky", { max_attempts: 1 });
  const third = await claim("flaky");
  await call("POST", `/v1/jobs/${failing.id}/fail`, { lease_id: third.lease_id, error: "bounced" }, WORKER);
  await go("#/jobs?queue=flaky");
  const ok = page.locator(`[data-testid=job-row][data-id="${job.id}"]`);
  const dead = page.locator(`[data-testid=job-row][data-id="${failing.id}"]`);
  await dead.locator(".error-cell").filter({ hasText: "bounced" }).waitFor();
  await ok.and(page.locator("[data-state=succeeded]")).waitFor();
  assert.equal(await ok.locator(".error-cell").textContent(), "");
});

test("the jobs search box shows its whole placeholder at 1280 and 375 px", async () => {
  for (const width of [1280, 375]) {
    const p = await newPage(browser, { viewport: { width, height: 800 } });
    await p.context().addCookies(await page.context().cookies());
    await p.goto(errand.url + "/#/jobs");
    await p.locator("#job-search").waitFor({ timeout: TIMEOUT });
    const fit = await p.evaluate(() => {
      const input = document.getElementById("job-search");
      const style = getComputedStyle(input);
      const ctx = document.createElement("canvas").getContext("2d");
      ctx.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      const room = input.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      return { text: ctx.measureText(input.placeholder).width, room };
    });
    assert.ok(fit.text <= fit.room, `at ${width} px the placeholder needs ${fit.text} px, has ${fit.room}`);
    await screenshot(p, `dashboard-jobs-search-${width}`);
    await p.context().close();
  }
});

test("50 jobs are cancelled at once, with one request", async () => {
  const jobs = await call("POST", "/v1/jobs/batch", {
    jobs: Array.from({ length: 50 }, (_, i) => ({ queue: "bulk", payload: { n: i } })),
  });
  await go("#/jobs?queue=bulk&state=queued");
  await page.locator("[data-testid=job-row]").nth(49).waitFor();
  assert.equal(await page.locator("[data-testid=job-row]").count(), 50);
  await page.check("#select-all");
  await page.locator("#selected-count").filter({ hasText: "50" }).waitFor();
  const bulkCalls = [];
  page.on("request", (r) => { if (r.url().endsWith("/v1/jobs/bulk")) bulkCalls.push(r.postDataJSON()); });
  await page.click("#bulk-cancel");
  await page.locator("#confirm-dialog[open]").waitFor();
  await screenshot(page, "dashboard-bulk-confirm");
  await page.click("#confirm-ok");
  await page.locator("#bulk-result").filter({ hasText: "50" }).waitFor();
  assert.equal(bulkCalls.length, 1, "one request for the whole selection");
  assert.equal(bulkCalls[0].ids.length, 50);
  for (const j of jobs.jobs) assert.equal((await call("GET", `/v1/jobs/${j.id}`)).state, "cancelled");
});

test("filtering by state shows only jobs in that state", async () => {
  await go("#/jobs");
  await page.selectOption("#filter-state", "cancelled");
  await page.click("#filter-apply");
  await page.waitForFunction(() => location.hash.includes("state=cancelled"));
  await page.locator("[data-testid=job-row]").first().waitFor();
  const ids = await page.locator("[data-testid=job-row]").evaluateAll((rows) => rows.map((r) => r.dataset.id));
  for (const id of ids) assert.equal((await call("GET", `/v1/jobs/${id}`)).state, "cancelled");
  await screenshot(page, "dashboard-jobs-cancelled");
});

test("a queue is paused from the queues page", async () => {
  await enqueue("pausable");
  await go("#/queues");
  const row = page.locator("[data-testid=queue-row][data-queue=pausable]");
  await row.waitFor();
  await row.locator("[data-testid=queue-toggle]").click();
  if (await page.locator("#confirm-dialog[open]").count()) await page.click("#confirm-ok");
  await row.locator("[data-testid=queue-paused]").filter({ hasText: /paused/i }).waitFor();
  assert.equal((await call("GET", "/v1/queues/pausable")).paused, true);
  // A push queue is marked as one; a pull queue is not.
  await call("PUT", "/v1/queues/hooks", { push: { url: "https://app.example.com/api/errand" } });
  const push = page.locator("[data-testid=queue-row][data-queue=hooks]");
  await push.locator("[data-testid=queue-mode]:visible").filter({ hasText: "push" }).waitFor();
  assert.equal(await push.getAttribute("data-mode"), "push");
  assert.equal(await row.locator("[data-testid=queue-mode]").isVisible(), false);
  await screenshot(page, "dashboard-queues");
});

test("the scheduled and schedules pages show what is coming", async () => {
  await enqueue("later", { delay: "1h" });
  await call("PUT", "/v1/schedules/nightly-report", { cron: "0 3 * * *", timezone: "Europe/Berlin", queue: "reports" });
  await go("#/scheduled");
  await page.locator("[data-testid=job-row]").first().waitFor();
  await screenshot(page, "dashboard-scheduled");
  await go("#/schedules");
  const row = page.locator("[data-testid=schedule-row][data-name=nightly-report]");
  await row.locator("[data-testid=schedule-next]").filter({ hasText: /03:00/ }).waitFor();
  await screenshot(page, "dashboard-schedules");
});

// Flow control: a queue with per-key limits and twelve keys. team/a has its
// own limits and its jobs come first (priority 20): one runs, and its bucket
// (1 per hour) is then empty, so the next claim finds it waiting for its rate
// limit and takes two of acme's (priority 10), acme's key_concurrency.
let tenants = null; // {acme: [ids], "team/a": [ids], …}

async function seedTenants() {
  if (tenants) return tenants;
  await call("PUT", "/v1/queues/tenants", { key_concurrency: 2, key_rate_limit: { limit: 100, per: "1m" } });
  await call("PUT", `/v1/queues/tenants/keys/${encodeURIComponent("team/a")}`,
    { concurrency: 5, rate_limit: { limit: 1, per: "1h" }, weight: 3 });
  const jobs = [
    ...Array.from({ length: 6 }, () => ({ key: "acme", priority: 10 })),
    ...Array.from({ length: 4 }, () => ({ key: "globex" })),
    ...Array.from({ length: 2 }, () => ({ key: "team/a", priority: 20 })),
    ...Array.from({ length: 9 }, (_, i) => ({ key: `small-0${i + 1}` })),
  ].map((j, n) => ({ queue: "tenants", type: "sync", payload: { n }, ...j }));
  const answer = await call("POST", "/v1/jobs/batch", { jobs });
  tenants = {};
  answer.jobs.forEach((j, i) => (tenants[jobs[i].key] ||= []).push(j.id));
  const first = await call("POST", "/v1/claim", { queues: ["tenants"], worker: "keys-worker", max: 1, wait: "5s" }, WORKER);
  assert.deepEqual(first.jobs.map((j) => j.key), ["team/a"]);
  const next = await call("POST", "/v1/claim", { queues: ["tenants"], worker: "keys-worker", max: 2, wait: "5s" }, WORKER);
  assert.deepEqual(next.jobs.map((j) => j.key), ["acme", "acme"]);
  const teamA = await call("GET", `/v1/queues/tenants/keys/${encodeURIComponent("team/a")}`);
  assert.ok(teamA.throttled_until, `team/a waits for its bucket: ${JSON.stringify(teamA)}`);
  return tenants;
}

function keyRow(key) {
  return page.locator(`#queue-keys [data-testid=key-row][data-key="${key}"]`);
}

async function cellText(row, testid) {
  return (await row.locator(`[data-testid=${testid}]`).textContent()).trim();
}

test("the queue page lists the busiest keys with their counts and limits", async () => {
  await seedTenants();
  await go("#/queues");
  await page.locator("[data-testid=queue-row][data-queue=tenants] [data-testid=queue-link]").click();
  await page.locator("#queue-name").filter({ hasText: /^tenants$/ }).waitFor();
  await page.locator("[data-testid=config-key-concurrency]").filter({ hasText: /^2$/ }).waitFor();
  assert.equal(await page.locator("[data-testid=config-key-rate-limit]").textContent(), "100 per 1m");
  assert.equal(await page.locator("[data-testid=config-concurrency]").textContent(), "no limit");

  // Twelve keys: the ten busiest are shown, most running + queued first.
  const rows = page.locator("#queue-keys [data-testid=key-row]");
  await rows.nth(9).waitFor();
  assert.equal(await rows.count(), 10);
  const order = await rows.evaluateAll((list) => list.slice(0, 3).map((r) => r.dataset.key));
  assert.deepEqual(order, ["acme", "globex", "team/a"]);

  const acme = keyRow("acme");
  assert.equal(await cellText(acme, "key-queued"), "4");
  assert.equal(await cellText(acme, "key-running"), "2");
  assert.equal(await cellText(acme, "key-concurrency"), "queue default (2)");
  assert.equal(await cellText(acme, "key-rate-limit"), "queue default (100 per 1m)");
  assert.equal(await cellText(acme, "key-weight"), "default (1)");
  assert.equal(await cellText(acme, "key-status"), "at its concurrency limit");

  const teamA = keyRow("team/a");
  assert.equal(await cellText(teamA, "key-queued"), "1");
  assert.equal(await cellText(teamA, "key-running"), "1");
  assert.equal(await cellText(teamA, "key-concurrency"), "5");
  assert.equal(await cellText(teamA, "key-rate-limit"), "1 per 1h");
  assert.equal(await cellText(teamA, "key-weight"), "3");
  assert.equal(await cellText(teamA, "key-status"), "waiting for its rate limit");
  assert.equal(await teamA.getAttribute("data-throttled"), "true");
  assert.equal(await cellText(keyRow("globex"), "key-status"), "active");
  await screenshot(page, "dashboard-queue-keys");
  const narrow = await newPage(browser, { viewport: { width: 375, height: 812 } });
  await narrow.context().addCookies(await page.context().cookies());
  await narrow.goto(errand.url + "/#/queues/tenants");
  await narrow.locator("#queue-keys [data-testid=key-row]").nth(9).waitFor({ timeout: TIMEOUT });
  const overflow = await narrow.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the queue page fits 375 px (${overflow} px too wide)`);
  await screenshot(narrow, "dashboard-queue-keys-375");
  await narrow.context().close();

  // A key opens the queue's jobs of that key.
  await acme.locator("[data-testid=key-link]").click();
  await page.waitForFunction(() => location.hash.startsWith("#/jobs?") && location.hash.includes("key=acme"));
  await page.locator("[data-testid=job-row]").nth(5).waitFor();
  const ids = await page.locator("[data-testid=job-row]").evaluateAll((list) => list.map((r) => r.dataset.id));
  assert.deepEqual(ids.sort(), [...tenants.acme].sort());
  assert.equal(await page.inputValue("#filter-key"), "acme");
  assert.equal(await page.inputValue("#filter-queue"), "tenants");
});

test("the job page shows the job's key, which opens the key's jobs", async () => {
  const { "team/a": teamA } = await seedTenants();
  await go(`#/jobs/${teamA[0]}`);
  const link = page.locator("#job-key");
  await link.filter({ hasText: /^team\/a$/ }).waitFor();
  assert.match(await page.locator("#job-curl").textContent(), /"key":"team\/a"/);
  await screenshot(page, "dashboard-job-key");
  await link.click();
  await page.waitForFunction(() => location.hash === "#/jobs?key=team%2Fa");
  await page.locator("[data-testid=job-row]").nth(1).waitFor();
  const ids = await page.locator("[data-testid=job-row]").evaluateAll((list) => list.map((r) => r.dataset.id));
  assert.deepEqual(ids.sort(), [...teamA].sort());
  // The filter is a field of the list's form too.
  await page.fill("#filter-key", "globex");
  await page.click("#filter-apply");
  await page.waitForFunction(() => location.hash.includes("key=globex"));
  await page.locator("[data-testid=job-row]").nth(3).waitFor();
  assert.equal(await page.locator("[data-testid=job-row]").count(), 4);
});

test("a key is paused and resumed from the queue page, keeping its own limits", async () => {
  await seedTenants();
  const keyOf = async (key) => call("GET", `/v1/queues/tenants/keys/${encodeURIComponent(key)}`);
  await go("#/queues/tenants");
  const teamA = keyRow("team/a");
  await teamA.locator("[data-testid=key-toggle]").filter({ hasText: "Pause" }).click();
  await teamA.and(page.locator("[data-paused=true]")).waitFor();
  assert.equal(await cellText(teamA, "key-status"), "paused");
  let key = await keyOf("team/a");
  assert.equal(key.paused, true);
  assert.equal(key.concurrency, 5);
  assert.equal(key.weight, 3);
  assert.deepEqual({ limit: key.rate_limit.limit, per: key.rate_limit.per }, { limit: 1, per: "1h" });
  await screenshot(page, "dashboard-queue-key-paused");

  await teamA.locator("[data-testid=key-toggle]").filter({ hasText: "Resume" }).click();
  await teamA.and(page.locator("[data-paused=false]")).waitFor();
  key = await keyOf("team/a");
  assert.equal(key.paused, false);
  assert.equal(key.concurrency, 5);
  assert.equal(key.weight, 3);

  // A key without settings of its own: pausing gives it one; resuming
  // removes it again, so the queue's limits apply as before.
  const globex = keyRow("globex");
  await globex.locator("[data-testid=key-toggle]").filter({ hasText: "Pause" }).click();
  await globex.and(page.locator("[data-paused=true]")).waitFor();
  key = await keyOf("globex");
  assert.equal(key.paused, true);
  assert.equal(key.overridden, true);
  await globex.locator("[data-testid=key-toggle]").filter({ hasText: "Resume" }).click();
  await globex.and(page.locator("[data-paused=false]")).waitFor();
  key = await keyOf("globex");
  assert.equal(key.paused, false);
  assert.equal(key.overridden, false);
  assert.equal(await page.locator("#alerts [data-testid=error]").count(), 0);
});

test("logging out ends the session", async () => {
  await page.click("#logout");
  await page.locator("#login-form").waitFor();
  const r = await page.evaluate(async () => (await fetch("/v1/queues")).status);
  assert.equal(r, 401);
  assert.deepEqual(page.problems.filter((p) => !/401|403/.test(p)), []);
});
