// Processes for the browser tests: the real `errand` binary (ERRAND_BIN),
// example apps, workers. Each child's output goes to a log file; waiting for a
// line polls that file with a deadline. Everything started is killed at exit.
import { spawn } from "node:child_process";
import { mkdtempSync, openSync, readFileSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

const children = new Set();
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
});

export function errandBin() {
  const bin = process.env.ERRAND_BIN;
  if (!bin) throw new Error("set ERRAND_BIN to the errand binary (ctest does this)");
  return bin;
}

export function tempDir(prefix) {
  return mkdtempSync(join(tmpdir(), prefix));
}

// Polls fn() until it returns a truthy value; throws naming `what` after `timeoutMs`.
export async function pollUntil(fn, what, timeoutMs = 30000, intervalMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// A loopback port free right now (for a process that cannot report its own).
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

export class Child {
  constructor(name, command, args, { env = {}, cwd = ROOT } = {}) {
    this.name = name;
    this.logPath = join(tempDir(`errand-${name}-`), "log");
    const fd = openSync(this.logPath, "w");
    this.proc = spawn(command, args, {
      cwd,
      env: { ...process.env, ...env },
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    children.add(this.proc);
  }

  log() {
    return readFileSync(this.logPath, "utf8");
  }

  // Waits for a line matching `re` in the output; returns the match.
  async waitFor(re, timeoutMs = 30000) {
    return pollUntil(() => {
      if (this.proc.exitCode !== null) {
        throw new Error(`${this.name} exited with ${this.proc.exitCode}:\n${this.log()}`);
      }
      return this.log().match(re);
    }, `${re} from ${this.name}:\n${this.log()}`, timeoutMs);
  }

  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const exited = new Promise((r) => this.proc.once("exit", r));
    this.proc.kill("SIGTERM");
    const timer = setTimeout(() => this.proc.kill("SIGKILL"), 20000);
    await exited;
    clearTimeout(timer);
  }
}

// `errand server` on a free loopback port with its own data directory.
export async function startErrand(args = []) {
  const data = join(tempDir("errand-browser-"), "data");
  const server = new Child("server", errandBin(), ["server", "--listen", "127.0.0.1:0", "--data", data, ...args]);
  const [, url] = await server.waitFor(/errand listening on (http:\/\/\S+)/);
  server.url = url.replace(/\/+$/, "");
  return server;
}

// One API call with a bearer key; returns {status, body}.
export async function api(server, method, path, { key, body } = {}) {
  const response = await fetch(server.url + path, {
    method,
    headers: {
      ...(key ? { Authorization: `Bearer ${key}` } : {}),
      ...(body !== undefined ? { "Content-Type": "application/json" } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: response.status, body: parsed };
}
