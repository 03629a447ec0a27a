// The real `errand` binary (ERRAND_BIN) for the package's tests: started on a
// free loopback port with its own data directory, stopped at the end.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const children = new Set();
process.on("exit", () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
});

export async function pollUntil(fn, what, timeoutMs = 20000, intervalMs = 20) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

// A pollUntil condition: job `id` once it has ended (succeeded, dead or
// cancelled), read with `errand`.
export const jobEnded = (errand, id) => async () => {
  const job = await errand.get(id);
  return ["succeeded", "dead", "cancelled"].includes(job.state) && job;
};

export class ErrandProcess {
  constructor({ args = [], keys = [] } = {}) {
    const bin = process.env.ERRAND_BIN;
    if (!bin) throw new Error("set ERRAND_BIN to the errand binary (ctest does this)");
    this.bin = bin;
    this.args = args;
    this.keys = keys;
    this.dir = mkdtempSync(join(tmpdir(), "errand-js-"));
    this.listen = "127.0.0.1:0";
    this.output = "";
  }

  async start() {
    const keyArgs = this.keys.flatMap((k) => ["--key", k]);
    const child = spawn(this.bin, ["server", "--listen", this.listen, "--data", join(this.dir, "data"), ...keyArgs, ...this.args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ERRAND_KEYS: "" },
    });
    children.add(child);
    this.child = child;
    const url = await new Promise((resolve, reject) => {
      const onData = (chunk) => {
        this.output += chunk;
        const m = /errand listening on (http:\/\/\S+)/.exec(this.output);
        if (m) resolve(m[1]);
      };
      child.stdout.on("data", onData);
      child.stderr.on("data", onData);
      child.on("exit", (code) => reject(new Error(`errand exited with ${code}:\n${this.output}`)));
    });
    this.url = url.replace(/\/$/, "");
    this.listen = this.url.replace("http://", ""); // a restart keeps the port
    return this;
  }

  async stop() {
    if (!this.child || this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill("SIGTERM");
    await exited;
  }

  async restart() {
    await this.stop();
    this.output = "";
    return this.start();
  }

  async close() {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
