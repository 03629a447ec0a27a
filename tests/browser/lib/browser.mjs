// Debian's chromium, headless, driven by playwright-core; screenshots go to
// ERRAND_ARTIFACTS (ctest sets it to the build's artifacts/ directory).
import { chromium } from "playwright-core";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

// A page that records its console errors and failed requests in `page.problems`.
export async function newPage(browser, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.problems = [];
  page.on("console", (m) => {
    if (m.type() === "error") page.problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => page.problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => {
    // An EventSource closed by the page itself is not a problem.
    if (r.failure()?.errorText !== "net::ERR_ABORTED") page.problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  return page;
}

export async function screenshot(page, name) {
  const dir = process.env.ERRAND_ARTIFACTS || join(process.cwd(), "artifacts");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
