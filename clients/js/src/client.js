// Errand's HTTP API v1 as methods. Answers are the API's JSON as docs/API.md
// and docs/openapi.yaml describe them (snake_case fields); options passed to
// calls may be camelCase (`maxAttempts`) or the API's own names.
import { call, currentUrl, query, urlList } from "./http.js";
import { watch } from "./watch.js";
import { Worker } from "./worker.js";

const enc = encodeURIComponent;

// {maxAttempts: 3} -> {max_attempts: 3}; other keys pass as they are.
export function snake(options) {
  const out = {};
  for (const [k, v] of Object.entries(options || {})) {
    if (v === undefined) continue;
    out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = v;
  }
  return out;
}

function durationOf(value) {
  if (typeof value === "number") return `${Math.round(value)}ms`;
  return value;
}

function timeOf(value) {
  return value instanceof Date ? value.toISOString() : value;
}

function enqueueBody(queue, payload, options) {
  const body = snake(options);
  for (const k of ["delay", "timeout"]) if (k in body) body[k] = durationOf(body[k]);
  if ("run_at" in body) body.run_at = timeOf(body.run_at);
  return { ...body, queue, ...(payload === undefined ? {} : { payload }) };
}

function jobItems(jobs) {
  return jobs.map(({ queue, payload, ...o }) => enqueueBody(queue, payload, o));
}

export class Errand {
  // url: the server ("http://127.0.0.1:8740"), or several sharing one
  // PostgreSQL database ("http://a:8740,http://b:8740" or a list): calls go
  // to one until it fails, then to the next (onFailover(from, to, reason)
  // hears it); key: an API key (or undefined for a server without keys);
  // fetch: a fetch to use instead of the global one.
  constructor({ url, key, fetch, headers, onFailover } = {}) {
    const env = globalThis.process?.env || {};
    const urls = urlList(url || env.ERRAND_URL || "http://127.0.0.1:8740");
    this.options = { urls, current: 0, key: key ?? env.ERRAND_KEY, fetch, headers, onFailover };
    this.queues = new Queues(this);
    this.schedules = new Schedules(this);
    this.batches = new Batches(this);
  }

  // The URL in use.
  get url() {
    return currentUrl(this.options);
  }

  async request(method, path, body, extra) {
    return (await call(this.options, method, path, body, extra)).body;
  }

  // --- jobs ---------------------------------------------------------------
  enqueue(queue, payload, options = {}) {
    return this.request("POST", "/v1/jobs", enqueueBody(queue, payload, options));
  }

  // jobs: [{queue, payload, ...options}]; all or nothing.
  async enqueueMany(jobs) {
    return (await this.request("POST", "/v1/jobs/batch", { jobs: jobItems(jobs) })).jobs;
  }

  get(id, { token } = {}) {
    return this.request("GET", `/v1/jobs/${enc(id)}${query({ token })}`, undefined, token ? { key: null } : {});
  }

  // One page: {jobs, next_cursor, partial}. Filters: queue, state, type, key,
  // tag, q, since, until, batch, limit, cursor, include.
  listPage(filters = {}) {
    return this.request("GET", `/v1/jobs${query(snake(filters))}`);
  }

  // Every job matching the filters, newest first, page after page.
  async *list(filters = {}) {
    let cursor = filters.cursor;
    do {
      const page = await this.listPage({ ...filters, cursor });
      yield* page.jobs;
      cursor = page.next_cursor;
    } while (cursor);
  }

  cancel(id) {
    return this.request("POST", `/v1/jobs/${enc(id)}/cancel`);
  }

  retry(id) {
    return this.request("POST", `/v1/jobs/${enc(id)}/retry`);
  }

  delete(id) {
    return this.request("DELETE", `/v1/jobs/${enc(id)}`);
  }

  async logs(id) {
    return (await this.request("GET", `/v1/jobs/${enc(id)}/logs`)).logs;
  }

  // action: "retry" | "cancel" | "delete"; one result per id.
  async bulk(action, ids) {
    return (await this.request("POST", "/v1/jobs/bulk", { action, ids })).results;
  }

  // The job's URL with its token: what a page needs to follow it (useJob).
  jobUrl(id, token) {
    return `${this.url.replace(/\/+$/, "")}/v1/jobs/${enc(id)}?token=${enc(token)}`;
  }

  // The job's events (snapshot, state, progress, and a final succeeded, dead
  // or cancelled) as an async iterator; reconnects with Last-Event-ID.
  watch(id, options = {}) {
    return watch(this.options, id, options);
  }

  // --- workers --------------------------------------------------------------
  async claim(queues, { worker, max, wait, lease, signal } = {}) {
    const body = snake({ queues: [].concat(queues), worker, max, wait: durationOf(wait), lease: durationOf(lease) });
    return this.request("POST", "/v1/claim", body, { signal });
  }

  heartbeat(id, leaseId, extend) {
    return this.request("POST", `/v1/jobs/${enc(id)}/heartbeat`, snake({ lease_id: leaseId, extend: durationOf(extend) }));
  }

  // The worker's key, or none during a push call (the lease authorizes it).
  progress(id, leaseId, { percent, message, data } = {}, { key } = {}) {
    return this.request("POST", `/v1/jobs/${enc(id)}/progress`, snake({ lease_id: leaseId, percent, message, data }), { key });
  }

  complete(id, leaseId, result, { log } = {}) {
    return this.request("POST", `/v1/jobs/${enc(id)}/complete`, snake({ lease_id: leaseId, result, log }));
  }

  fail(id, leaseId, error, { retry, retryIn, log } = {}) {
    const body = snake({ lease_id: leaseId, error: String(error), retry, retry_in: durationOf(retryIn), log });
    return this.request("POST", `/v1/jobs/${enc(id)}/fail`, body);
  }

  // acks: [{id, lease_id, result?} | {id, lease_id, error, retry?, retry_in?}]
  async acks(acks) {
    return (await this.request("POST", "/v1/acks", { acks: acks.map(snake) })).results;
  }

  // Ends the attempt without failing it: the job sleeps (delay, or until a
  // time) or waits for a signal (signal: {timeout}), then is claimed again
  // with `state`. Answers {id, state, run_at, signal_url?, signal_timeout_at?};
  // signal_url is a path: errand.signal(it, body) resumes the job.
  continueJob(id, leaseId, { state, delay, until, signal, progress } = {}) {
    const body = snake({ lease_id: leaseId, state, delay: durationOf(delay), until: timeOf(until), progress });
    if (signal) body.signal = { ...signal, timeout: durationOf(signal.timeout) };
    return this.request("POST", `/v1/jobs/${enc(id)}/continue`, body);
  }

  // Resumes a job waiting for a signal with `body` (any JSON) as its signal.
  // `url`: the signal_url as given (the path /v1/signals/…, or that path on
  // an absolute URL, which is called as it is) or its token alone. It is the
  // capability: no API key is sent. A second signal is a conflict (409).
  async signal(url, body) {
    const m = /^(https?:\/\/.*?)?(\/v1\/signals\/[^/?#]+)$/.exec(String(url));
    const path = m ? m[2] : `/v1/signals/${enc(url)}`;
    const options = m?.[1] ? { ...this.options, urls: urlList(m[1]), current: 0 } : this.options;
    return (await call(options, "POST", path, body, { key: null })).body;
  }

  // A worker: errand.worker({queues, concurrency, handler}).start().
  worker(options) {
    return new Worker(this, options);
  }

  // --- the server -----------------------------------------------------------
  stats({ window } = {}) {
    return this.request("GET", `/v1/stats${query({ window })}`);
  }

  async nodes() {
    return (await this.request("GET", "/v1/nodes")).nodes;
  }

  health() {
    return this.request("GET", "/healthz", undefined, { key: null });
  }

  openapi() {
    return this.request("GET", "/v1/openapi.json", undefined, { key: null });
  }
}

class Queues {
  constructor(client) {
    this.client = client;
  }

  // Every queue, by name, page after page.
  async *list({ limit } = {}) {
    let cursor;
    do {
      const page = await this.client.request("GET", `/v1/queues${query({ limit, cursor })}`);
      yield* page.queues;
      cursor = page.next_cursor;
    } while (cursor);
  }

  get(name) {
    return this.client.request("GET", `/v1/queues/${enc(name)}`);
  }

  // Replaces the whole configuration: {paused, concurrency, rate_limit:
  // {limit, per}, defaults: {priority, max_attempts, timeout}, push}.
  set(name, config = {}) {
    return this.client.request("PUT", `/v1/queues/${enc(name)}`, config);
  }

  pause(name) {
    return this.client.request("POST", `/v1/queues/${enc(name)}/pause`);
  }

  resume(name) {
    return this.client.request("POST", `/v1/queues/${enc(name)}/resume`);
  }

  pushSecret(name) {
    return this.client.request("GET", `/v1/queues/${enc(name)}/push-secret`);
  }

  rotatePushSecret(name, { keepPrevious } = {}) {
    const body = keepPrevious === undefined ? undefined : { keep_previous: durationOf(keepPrevious) };
    return this.client.request("POST", `/v1/queues/${enc(name)}/push-secret/rotate`, body);
  }

  // The queue's job keys with jobs queued or running, or settings of their
  // own, page after page: by key, or (sort: "busiest") one page of the
  // busiest.
  async *keys(name, { limit, sort } = {}) {
    let cursor;
    do {
      const page = await this.client.request("GET", `/v1/queues/${enc(name)}/keys${query({ limit, sort, cursor })}`);
      yield* page.keys;
      cursor = page.next_cursor;
    } while (cursor);
  }

  getKey(name, key) {
    return this.client.request("GET", `/v1/queues/${enc(name)}/keys/${enc(key)}`);
  }

  // Replaces the key's own settings: {concurrency, rate_limit: {limit, per,
  // burst}, paused, weight}; a setting left out is the queue's again.
  setKey(name, key, settings = {}) {
    return this.client.request("PUT", `/v1/queues/${enc(name)}/keys/${enc(key)}`, snake(settings));
  }

  // Removes the key's own settings: the queue's apply again.
  deleteKey(name, key) {
    return this.client.request("DELETE", `/v1/queues/${enc(name)}/keys/${enc(key)}`);
  }
}

// Jobs that end as one, with callback jobs: on_success (every job
// succeeded), on_complete (every job ended), on_death (the first job died).
class Batches {
  constructor(client) {
    this.client = client;
  }

  // jobs: [{queue, payload, ...options}] as enqueueMany takes them; each
  // callback {queue, payload?, type?, ...}; open: true to add pages with
  // add() before seal(). Answers {id, state, jobs}.
  create({ jobs = [], ...options } = {}) {
    const body = snake(options);
    for (const k of ["on_success", "on_complete", "on_death"]) if (body[k]) body[k] = snake(body[k]);
    return this.client.request("POST", "/v1/batches", { jobs: jobItems(jobs), ...body });
  }

  // Adds a page of jobs to an open batch (give them idempotency keys: a
  // page sent again then adds nothing twice). Answers {id, state, jobs}.
  add(id, jobs) {
    return this.client.request("POST", `/v1/batches/${enc(id)}/jobs`, { jobs: jobItems(jobs) });
  }

  // No more jobs: the callbacks may fire. Sealing twice changes nothing.
  seal(id) {
    return this.client.request("POST", `/v1/batches/${enc(id)}/seal`);
  }

  // {id, state, counts, created_at, finished_at, callbacks}.
  get(id) {
    return this.client.request("GET", `/v1/batches/${enc(id)}`);
  }
}

class Schedules {
  constructor(client) {
    this.client = client;
  }

  async list() {
    return (await this.client.request("GET", "/v1/schedules")).schedules;
  }

  get(name) {
    return this.client.request("GET", `/v1/schedules/${enc(name)}`);
  }

  // Creates or replaces: {cron, timezone, queue, type, payload, priority,
  // max_attempts, overlap, paused, catch_up}.
  set(name, spec) {
    return this.client.request("PUT", `/v1/schedules/${enc(name)}`, snake(spec));
  }

  delete(name) {
    return this.client.request("DELETE", `/v1/schedules/${enc(name)}`);
  }

  trigger(name) {
    return this.client.request("POST", `/v1/schedules/${enc(name)}/trigger`);
  }

  pause(name) {
    return this.client.request("POST", `/v1/schedules/${enc(name)}/pause`);
  }

  resume(name) {
    return this.client.request("POST", `/v1/schedules/${enc(name)}/resume`);
  }
}
