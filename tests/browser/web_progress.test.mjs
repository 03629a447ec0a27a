// examples/web-progress in a real browser: the page enqueues an import through
// the example app, shows a live progress bar fed by /v1/jobs/{id}/events
// (cross-origin, with the job's read token), and the bar runs from 0 to 100 %
// while `errand work` runs examples/shell/import.sh.
import { test, after, before } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ROOT, Child, api, errandBin, freePort, startErrand } from "./lib/processes.mjs";
import { launch, newPage, screenshot } from "./lib/browser.mjs";

const PRODUCER = "producer:browser-test-producer-key";
const WORKER = "worker:browser-test-worker-key-1";
const secret = (key) => key.slice(key.indexOf(":") + 1);

let errand, app, browser;
const started = [];

before(async () => {
  const appPort = await freePort();
  const appOrigin = `http://127.0.0.1:${appPort}`;
  errand = await startErrand(["--key", PRODUCER, "--key", WORKER, "--cors-origin", appOrigin]);
  started.push(errand);
  // A dead server first: the app's enqueue goes on to the live one.
  const dead = `http://127.0.0.1:${await freePort()}`;
  app = new Child("web-progress", process.execPath, [join(ROOT, "examples/web-progress/app.mjs")], {
    env: {
      ERRAND_URL: `${dead},${errand.url}`,
      ERRAND_PUBLIC_URL: errand.url,
      ERRAND_KEY: secret(PRODUCER),
      PORT: String(appPort),
    },
  });
  started.push(app);
  await app.waitFor(/web-progress listening on/);
  app.url = appOrigin;
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const child of started.reverse()) await child.stop();
});

test("clicking Import shows the job's progress live, from 0 to 100 %, and its final message", async () => {
  const page = await newPage(browser, { viewport: { width: 800, height: 500 } });
  // Every value the bar takes, in order, as the page sees it.
  await page.addInitScript(() => {
    window.barValues = [];
    new MutationObserver((records) => {
      for (const r of records) {
        const node = r.target;
        if (r.type === "attributes" && node.getAttribute("role") === "progressbar") {
          window.barValues.push(Number(node.getAttribute("aria-valuenow")));
        }
      }
    }).observe(document, { subtree: true, attributes: true, attributeFilter: ["aria-valuenow"] });
  });
  await page.goto(app.url);
  await page.getByRole("button", { name: "Import" }).click();

  // The page follows the job before any worker runs it: queued, at 0 %.
  const holder = page.locator("#import-progress");
  await holder.and(page.locator("[data-state=queued]")).waitFor({ timeout: 30000 });
  const bar = page.getByRole("progressbar", { name: "Import progress" });
  assert.equal(await bar.getAttribute("aria-valuenow"), "0");
  assert.equal(await holder.locator(".errand-progress-message").textContent(), "Waiting");

  const worker = new Child("worker", errandBin(),
    ["work", "imports", "--", "sh", join(ROOT, "examples/shell/import.sh")],
    { env: { ERRAND_URL: errand.url, ERRAND_KEY: secret(WORKER), IMPORT_SECONDS_PER_ROW: "0.1" } });
  started.push(worker);

  await holder.and(page.locator("[data-state=running]")).waitFor({ timeout: 30000 });
  await screenshot(page, "web-progress-running");
  await holder.and(page.locator("[data-state=succeeded]")).waitFor({ timeout: 60000 });
  await screenshot(page, "web-progress-done");

  const values = await page.evaluate(() => window.barValues);
  assert.equal(values[0], 0, `the bar starts at 0: ${values}`);
  assert.equal(values.at(-1), 100, `the bar ends at 100: ${values}`);
  assert.ok(values.some((v) => v > 0 && v < 100), `the bar moves through values between: ${values}`);
  for (let i = 1; i < values.length; i++) {
    assert.ok(values[i] >= values[i - 1], `the bar never goes back: ${values}`);
  }
  assert.equal(await bar.getAttribute("aria-valuenow"), "100");
  assert.equal(await holder.locator(".errand-progress-message").textContent(), "imported 20/20 rows");
  assert.equal(await bar.getAttribute("aria-valuetext"), "imported 20/20 rows");
  assert.equal(await page.getByRole("button", { name: "Import" }).isEnabled(), true);

  // What the page showed is what the server holds.
  const jobUrl = await page.evaluate(() => performance.getEntriesByType("resource")
    .map((e) => e.name).find((n) => n.includes("/events?token=")));
  assert.ok(jobUrl, "the page read the job's events with its token");
  const id = new URL(jobUrl).pathname.split("/")[3];
  const job = await api(errand, "GET", `/v1/jobs/${id}`, { key: secret(PRODUCER) });
  assert.equal(job.status, 200);
  assert.equal(job.body.state, "succeeded");
  assert.deepEqual(job.body.result, { imported: 20 });
  assert.deepEqual(job.body.progress.percent, 100);
  assert.deepEqual(page.problems, []);
  await worker.stop();
});

test("a page whose origin is not allowed says why at once instead of waiting", async () => {
  // localhost and 127.0.0.1 are two origins: only the second is allowed.
  const page = await newPage(browser, { viewport: { width: 800, height: 500 } });
  const origin = app.url.replace("127.0.0.1", "localhost");
  await page.goto(origin);
  await page.getByRole("button", { name: "Import" }).click();
  const holder = page.locator("#import-progress");
  await holder.and(page.locator("[data-state=error]")).waitFor({ timeout: 10000 });
  const message = await holder.locator(".errand-progress-message").textContent();
  assert.match(message, /^Cannot show progress: cannot reach Errand at http:\/\/127\.0\.0\.1:\d+/);
  assert.ok(message.includes(`errand server --cors-origin ${origin}`), message);
  assert.equal(await page.getByRole("progressbar").getAttribute("aria-valuetext"), message);
  await screenshot(page, "web-progress-origin-not-allowed");
  await page.close();
});

test("a page given an altered token is refused: 401 on its events", async () => {
  const page = await newPage(browser);
  await page.goto(app.url);
  const enqueued = await page.evaluate(async () => (await fetch("/import", { method: "POST", body: "{}" })).json());
  const tampered = enqueued.jobUrl.replace(/.$/, (c) => (c === "a" ? "b" : "a"));
  const refusal = page.waitForResponse((r) => r.url().includes("/events") && r.status() === 401);
  await page.evaluate(([url]) => {
    window.failed = null;
    window.watch = Errand.watch(url, { onError: (e) => { window.failed = e.message; } });
  }, [tampered]);
  // The browser's EventSource sees 401; errand.js asks the job's URL why and
  // reports at once, without retrying a token that cannot work.
  assert.equal((await refusal).status(), 401);
  await page.waitForFunction(() => window.failed !== null);
  assert.match(await page.evaluate(() => window.failed), /refused the job's token/);
  await page.evaluate(() => window.watch.close());
});
