// The dashboard in a real browser (Debian's chromium, headless): log in, see
// jobs arrive live, open one and watch its progress, retry a dead job,
// bulk-cancel 50 jobs, filter by state, pause a queue; a wrong key and a
// write without the CSRF token are refused. Every page is screenshotted at
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

test("logging out ends the session", async () => {
  await page.click("#logout");
  await page.locator("#login-form").waitFor();
  const r = await page.evaluate(async () => (await fetch("/v1/queues")).status);
  assert.equal(r, 401);
  assert.deepEqual(page.problems.filter((p) => !/401|403/.test(p)), []);
});
