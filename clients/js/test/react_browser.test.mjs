// useJob in a real browser: a React page (bundled by esbuild from
// errand-client/react and the pinned react/react-dom) renders a job's state,
// progress and result live from the real server, cross-origin with the job's
// token, in Debian's chromium driven by playwright-core (tests/browser).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import * as esbuild from "esbuild";

import { Errand } from "../src/index.js";
import { ErrandProcess, pollUntil } from "./server.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "..", "..", "tests", "browser", "package.json"));
const { chromium } = require("playwright-core");

const PRODUCER = "p".repeat(24);
let server;
let page;
let browser;
let site;
let dir;

const ENTRY = `
import { createElement } from "react";
import { createRoot } from "react-dom/client";
import { useJob } from "errand-client/react";

function Job({ url }) {
  const job = useJob(url);
  return createElement("output", {
    id: "job",
    "data-state": job.state,
    "data-progress": job.progress ?? "",
    "data-result": JSON.stringify(job.result),
  }, job.message ?? "");
}
window.mount = (url) => createRoot(document.getElementById("root")).render(createElement(Job, { url }));
`;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "errand-react-"));
  writeFileSync(join(dir, "entry.mjs"), ENTRY);
  const bundle = await esbuild.build({
    entryPoints: [join(dir, "entry.mjs")],
    bundle: true,
    write: false,
    format: "iife",
    define: { "process.env.NODE_ENV": '"production"' },
    alias: { "errand-client/react": join(here, "..", "src", "react.js") },
    nodePaths: [join(here, "..", "node_modules")],
    logLevel: "silent",
  });
  const script = bundle.outputFiles[0].text;
  site = createServer((req, res) => {
    if (req.url === "/app.js") return res.writeHead(200, { "Content-Type": "text/javascript" }).end(script);
    res.writeHead(200, { "Content-Type": "text/html" }).end('<!doctype html><div id="root"></div><script src="/app.js"></script>');
  });
  await new Promise((r) => site.listen(0, "127.0.0.1", r));
  const origin = `http://127.0.0.1:${site.address().port}`;
  server = await new ErrandProcess({ keys: [`producer:${PRODUCER}`, `worker:${"w".repeat(24)}`], args: ["--cors-origin", origin] }).start();
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
  page = await browser.newPage();
  page.problems = [];
  page.on("pageerror", (e) => page.problems.push(e.message));
  await page.goto(origin);
});

after(async () => {
  await browser?.close();
  site?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("useJob renders a job's progress and result as they happen", async () => {
  const producer = new Errand({ url: server.url, key: PRODUCER });
  const worker = new Errand({ url: server.url, key: "w".repeat(24) });
  const { id, token } = await producer.enqueue("imports", { rows: 3 });
  await page.evaluate((url) => window.mount(url), producer.jobUrl(id, token));
  const job = page.locator("#job");
  const attr = (name) => job.getAttribute(name);
  await pollUntil(async () => (await attr("data-state")) === "queued", "the page to show the queued job");
  const [claimed] = (await worker.claim("imports", { wait: "1s" })).jobs;
  await worker.progress(claimed.id, claimed.lease_id, { percent: 50, message: "half way" });
  await pollUntil(async () => (await attr("data-progress")) === "50", "the page to show 50 %");
  assert.equal(await job.textContent(), "half way");
  assert.equal(await attr("data-state"), "running");
  await worker.complete(claimed.id, claimed.lease_id, { rows: 3 });
  await pollUntil(async () => (await attr("data-state")) === "succeeded", "the page to show the result");
  assert.equal(await attr("data-result"), '{"rows":3}');
  assert.deepEqual(page.problems, []);
});

test("a token that is not the job's shows the error", async () => {
  const producer = new Errand({ url: server.url, key: PRODUCER });
  const { id } = await producer.enqueue("imports", {});
  const other = await producer.enqueue("imports", {});
  await page.reload();
  await page.evaluate((url) => window.mount(url), producer.jobUrl(id, other.token));
  await pollUntil(async () => (await page.locator("#job").getAttribute("data-state")) === "error", "the error state");
});
