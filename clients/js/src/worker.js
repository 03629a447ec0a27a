// A worker: claims jobs with a long poll, runs `handler(job)` for each with at
// most `concurrency` at once, heartbeats each lease at a third of its length,
// and completes the job with the handler's return value or fails it with its
// error (NoRetry: no retry; RetryLater: retried after its retryIn), unless
// the handler ended the attempt with job.continue(). stop() (and, in Node,
// SIGTERM or SIGINT) stops claiming and lets running jobs finish for
// `grace`; what still runs then is failed so another worker retries it.
// The claim in flight is not cut short (a long poll the server still holds
// could take a job nobody would run): stopping waits for it, at most `wait`
// (default 10s), and runs what it brings.
import { ErrandError, NoRetry, RetryLater } from "./errors.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export class Worker {
  constructor(client, { queues, concurrency = 1, handler, name, wait = "10s", lease, grace = 30000, signals = true } = {}) {
    if (!queues || !handler) throw new TypeError("worker needs queues and a handler");
    this.client = client;
    this.queues = [].concat(queues);
    this.concurrency = concurrency;
    this.handler = handler;
    this.name = name || `js-${globalThis.process?.pid ?? "worker"}-${Math.random().toString(36).slice(2, 8)}`;
    this.wait = wait;
    this.lease = lease;
    this.grace = grace;
    this.signals = signals;
    this.running = new Map(); // job id -> promise
    this.stopping = false;
    this.stopped = new Promise((resolve) => (this.onStop = resolve));
    this.done = null;
  }

  // Runs until stop(); resolves when every job has ended.
  start() {
    if (this.done) return this.done;
    let onSignal;
    if (this.signals && globalThis.process?.once) {
      onSignal = () => this.stop();
      process.once("SIGTERM", onSignal);
      process.once("SIGINT", onSignal);
    }
    this.done = this.loop().finally(() => {
      if (onSignal) {
        process.removeListener("SIGTERM", onSignal);
        process.removeListener("SIGINT", onSignal);
      }
    });
    return this.done;
  }

  // Stops claiming; running jobs get `grace` ms to finish.
  stop() {
    this.stopping = true;
    this.onStop();
    return this.done || Promise.resolve();
  }

  async loop() {
    let backoff = 100;
    while (!this.stopping) {
      if (this.running.size >= this.concurrency) {
        await Promise.race([...this.running.values(), this.stopped]);
        continue;
      }
      let jobs;
      try {
        const answer = await this.client.claim(this.queues, {
          worker: this.name,
          max: this.concurrency - this.running.size,
          wait: this.wait,
          lease: this.lease,
        });
        jobs = answer.jobs;
        backoff = 100;
      } catch (err) {
        if (this.stopping) break;
        await sleep(backoff); // the server is away: try again, backing off
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      for (const claimed of jobs) {
        const p = this.run(claimed).finally(() => this.running.delete(claimed.id));
        this.running.set(claimed.id, p);
      }
    }
    await this.drain();
  }

  async drain() {
    if (!this.running.size) return;
    let timer;
    const late = new Promise((r) => (timer = setTimeout(r, this.grace, "late")));
    const all = Promise.allSettled([...this.running.values()]);
    const outcome = await Promise.race([all, late]);
    clearTimeout(timer);
    if (outcome === "late") {
      for (const job of this.jobs?.values() || []) job._abort("the worker is stopping");
      await all;
    }
  }

  async run(claimed) {
    const job = new RunningJob(this.client, claimed);
    (this.jobs ||= new Map()).set(claimed.id, job);
    const beat = this.heartbeats(job);
    try {
      const result = await Promise.race([this.handler(job), job.aborted]);
      if (job.continued) return;
      await this.report(() => this.client.complete(job.id, job.leaseId, result === undefined ? null : result));
    } catch (err) {
      if (job.continued) return; // the lease is gone: nothing more to report
      const message = err?.message || String(err);
      const options = err instanceof NoRetry ? { retry: false } : err instanceof RetryLater ? { retryIn: err.retryIn } : {};
      await this.report(() => this.client.fail(job.id, job.leaseId, message, options));
    } finally {
      job._end();
      await beat;
      this.jobs.delete(claimed.id);
    }
  }

  // An outcome that cannot reach the server is sent again; one the server
  // refuses (409: the lease is gone) is dropped.
  async report(send) {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await send();
      } catch (err) {
        if (!(err instanceof ErrandError) || err.status !== 0) return;
        await sleep(200 * 2 ** attempt);
      }
    }
  }

  async heartbeats(job) {
    const leaseMs = Math.max(1000, Date.parse(job.leaseExpiresAt) - Date.now());
    const every = Math.max(300, Math.floor(leaseMs / 3));
    while (!(await job._sleep(every))) {
      try {
        const beat = await this.client.heartbeat(job.id, job.leaseId);
        if (beat.cancel_requested) job._cancel();
      } catch (err) {
        if (err instanceof ErrandError && err.status === 409) {
          // A heartbeat that crossed a continue finds the lease gone: not a loss.
          if (!job.continuing) job._abort("the lease was lost");
          return;
        }
      }
    }
  }
}

// The job a handler runs: its fields, progress(), continue(), and a signal
// that aborts when the job is cancelled or the lease is lost. Workflows
// (docs/API.md): `parents` [{id, state, result}] of a job enqueued with
// `after`; for a job that was continued, `continuation` (how many times),
// `state` (what the last continue saved) and `signalBody` (after a wait for
// a signal: its body, null when the wait timed out; undefined otherwise —
// `signal` is the AbortSignal).
export class RunningJob {
  constructor(client, claimed) {
    this.client = client;
    this.claimed = claimed;
    this.id = claimed.id;
    this.queue = claimed.queue;
    this.type = claimed.type;
    this.payload = claimed.payload;
    this.attempt = claimed.attempt;
    this.maxAttempts = claimed.max_attempts;
    this.leaseId = claimed.lease_id;
    this.leaseExpiresAt = claimed.lease_expires_at;
    this.tags = claimed.tags;
    this.key = claimed.key ?? null;
    this.parents = claimed.parents ?? [];
    this.continuation = claimed.continuation ?? 0;
    this.state = claimed.state ?? null;
    this.signalBody = claimed.signal;
    this.continued = false;
    this.continuing = false;
    this.controller = new AbortController();
    this.signal = this.controller.signal;
    this.cancelRequested = false;
    this.aborted = new Promise((_, reject) => (this._rejectAborted = reject));
    this.aborted.catch(() => {});
    this.ended = false;
    this.wake = null;
  }

  progress(percent, message, data) {
    return this.client.progress(this.id, this.leaseId, { percent, message, data });
  }

  // Ends this attempt without failing it: the job sleeps ({delay} or
  // {until}) or waits for a signal ({signal: {timeout}}), then is claimed
  // again with `state`. The worker then reports nothing for this attempt:
  // return once it resolved (the handler's value is ignored). Answers as
  // errand.continueJob does; hand its signal_url to whoever will signal.
  async continue(options = {}) {
    this.continuing = true;
    try {
      const answer = await this.client.continueJob(this.id, this.leaseId, options);
      this.continued = true;
      this._end(); // no more heartbeats: the lease is gone
      return answer;
    } finally {
      this.continuing = false;
    }
  }

  // A cancel asked for on the server: the handler sees it in
  // cancelRequested and signal, and decides when to stop.
  _cancel() {
    this.cancelRequested = true;
    if (!this.signal.aborted) this.controller.abort(new Error("the job was cancelled"));
  }

  // The attempt cannot go on (lease lost, worker stopping): the handler's
  // promise is abandoned and the attempt failed.
  _abort(reason) {
    if (!this.signal.aborted) this.controller.abort(new Error(reason));
    this._rejectAborted(new Error(reason));
  }

  _end() {
    this.ended = true;
    this.wake?.();
  }

  // Sleeps ms; true when the job ended meanwhile.
  _sleep(ms) {
    if (this.ended) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => resolve(this.ended), ms);
      this.wake = () => (clearTimeout(t), resolve(true));
    });
  }
}
