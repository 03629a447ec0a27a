// Types of errand-client. Answers are the API's JSON (docs/openapi.yaml).

export type Duration = string | number; // "10s", "1h30m", or milliseconds
export type JobState =
  | "scheduled"
  | "queued"
  | "running"
  | "succeeded"
  | "failed"
  | "dead"
  | "cancelled"
  | "blocked"
  | "waiting";
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface ClientOptions {
  /** One server, or several sharing one database ("http://a:8740,http://b:8740" or a list). */
  url?: string | string[];
  /** Called when a call moves on to the next URL. */
  onFailover?: (from: string, to: string, reason: string) => void;
  key?: string;
  fetch?: typeof fetch;
  headers?: Record<string, string>;
}

export interface EnqueueOptions {
  type?: string;
  delay?: Duration;
  runAt?: Date | string;
  priority?: number;
  maxAttempts?: number;
  timeout?: Duration;
  idempotencyKey?: string;
  tags?: string[];
  tokenScope?: "payload"[];
  /** Whom the job belongs to: the unit of per-key limits and fair turns. */
  key?: string;
  /** Parent job ids (in a batch, also refs of earlier items): the job is `blocked` until they succeed. */
  after?: string[];
  afterFailure?: "cancel" | "run";
  /** In a batch: a name later items use in `after`. */
  ref?: string;
  /** W3C trace context the job joins (docs/API.md "Trace context"). */
  traceparent?: string;
  tracestate?: string;
  [field: string]: unknown;
}

/** The W3C trace context a job was enqueued with (present only when it has one). */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

export interface Enqueued {
  id: string;
  state: JobState;
  token: string;
  duplicate?: true;
}

export interface Progress {
  percent: number | null;
  message: string;
  data?: Json;
  updated_at: string;
}

export interface Job {
  id: string;
  queue: string;
  type: string | null;
  state: JobState;
  payload?: Json;
  priority: number;
  run_at: string;
  attempt: number;
  max_attempts: number;
  timeout: string;
  idempotency_key?: string | null;
  tags?: string[];
  progress: Progress | null;
  result?: Json;
  errors: { attempt: number; at: string; message: string }[];
  log?: string;
  cancel_requested: boolean;
  worker?: string | null;
  lease_expires_at?: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  push?: { continuations: number; state_bytes: number };
  key?: string | null;
  parents?: { id: string; state: JobState }[];
  after_failure?: "cancel" | "run";
  children?: string[];
  batch?: string;
  /** The last continue's wait for a signal; `url` while waiting (keys that read the job whole). */
  signal?: { status: "waiting" | "received" | "timed_out"; url?: string; body?: Json };
  trace?: TraceContext;
  [field: string]: unknown;
}

export interface JobFilters {
  queue?: string;
  state?: JobState;
  type?: string;
  key?: string;
  tag?: string;
  q?: string;
  batch?: string;
  since?: string;
  until?: string;
  limit?: number;
  cursor?: string;
  include?: "payload";
}

export interface JobPage {
  jobs: Job[];
  next_cursor: string | null;
  partial: boolean;
}

export type ItemResult =
  | { id: string; ok: true; state: JobState | null }
  | { id: string; ok: false; error: { code: string; message: string } };

export interface ClaimedJob {
  id: string;
  queue: string;
  type: string | null;
  payload: Json;
  attempt: number;
  max_attempts: number;
  priority: number;
  lease_id: string;
  lease_expires_at: string | null;
  tags: string[];
  created_at: string;
  key?: string | null;
  /** A job enqueued with `after`: its parents and their results. */
  parents?: { id: string; state: JobState; result: Json }[];
  /** Present once the job was continued: how many times, and the last continue's state. */
  continuation?: number;
  state?: Json;
  /** After a wait for a signal: its body (null: the wait timed out). */
  signal?: Json;
  /** The job's W3C trace context, to continue the enqueue's trace in the handler. */
  trace?: TraceContext;
}

export interface ClaimAnswer {
  jobs: ClaimedJob[];
  warnings?: { queue: string; code: "queue_not_found" | "push_queue" | "queue_paused"; message: string }[];
}

export interface JobEvent {
  event: "snapshot" | "state" | "progress" | "succeeded" | "dead" | "cancelled" | string;
  id?: string;
  data: any;
}

export interface WatchOptions {
  token?: string;
  lastEventId?: string;
  signal?: AbortSignal;
  maxBackoff?: number;
  onReconnect?: (error: unknown) => void;
}

export interface ContinueOptions {
  /** Handed to the next claim (any JSON). */
  state?: Json;
  delay?: Duration;
  until?: Date | string;
  /** Wait for a signal (at most `timeout`) instead of sleeping. */
  signal?: { timeout: Duration };
  progress?: { percent?: number; message?: string; data?: Json };
}

export interface Continued {
  id: string;
  state: JobState;
  run_at: string;
  /** A path (/v1/signals/…): `signal(it, body)` resumes the job. */
  signal_url?: string;
  signal_timeout_at?: string;
}

export interface CallbackJob {
  queue: string;
  type?: string;
  payload?: Json;
  priority?: number;
  max_attempts?: number;
  maxAttempts?: number;
  timeout?: Duration;
  key?: string;
  tags?: string[];
}

export interface BatchOptions {
  jobs?: ({ queue: string; payload?: unknown } & EnqueueOptions)[];
  onSuccess?: CallbackJob;
  onComplete?: CallbackJob;
  onDeath?: CallbackJob;
  /** Leave it open for add(); callbacks fire only after seal(). */
  open?: boolean;
}

export interface BatchInsert {
  id: string;
  state: "open" | "sealed" | "done";
  jobs: Enqueued[];
}

export interface Batch {
  id: string;
  state: "open" | "sealed" | "done";
  counts: { total: number; succeeded: number; dead: number; cancelled: number; pending: number };
  created_at: string;
  finished_at: string | null;
  callbacks: Partial<Record<"success" | "complete" | "death", { queue: string; job_id: string | null }>>;
}

export interface RateLimit {
  limit: number;
  per: string;
  burst?: number;
}

export interface KeySettings {
  concurrency?: number | null;
  rate_limit?: RateLimit | null;
  rateLimit?: RateLimit | null;
  paused?: boolean;
  weight?: number | null;
}

export interface Key {
  queue: string;
  key: string;
  queued: number;
  running: number;
  /** It has settings of its own. */
  overridden: boolean;
  concurrency: number | null;
  rate_limit: RateLimit | null;
  paused: boolean;
  weight: number | null;
  throttled_until: string | null;
}

export interface QueueConfig {
  paused?: boolean;
  concurrency?: number | null;
  rate_limit?: { limit: number; per: string } | null;
  key_concurrency?: number | null;
  key_rate_limit?: RateLimit | null;
  defaults?: { priority?: number | null; max_attempts?: number | null; timeout?: string | null } | null;
  push?: { url: string; timeout?: string; concurrency?: number; headers?: Record<string, string> } | null;
  [field: string]: unknown;
}

export interface Queue {
  name: string;
  paused: boolean;
  counts: Record<JobState, number>;
  processed: number;
  failed_total: number;
  config: QueueConfig;
  [field: string]: unknown;
}

export interface PushSecret {
  queue: string;
  secret: string;
  previous: string | null;
  previous_expires_at: string | null;
}

export interface ScheduleSpec {
  cron: string;
  queue: string;
  timezone?: string;
  type?: string;
  payload?: Json;
  priority?: number;
  max_attempts?: number;
  maxAttempts?: number;
  overlap?: "allow" | "skip";
  paused?: boolean;
  catch_up?: string;
  catchUp?: string;
}

export interface Schedule {
  name: string;
  cron: string;
  timezone: string;
  queue: string;
  type: string | null;
  payload: Json;
  priority: number | null;
  max_attempts: number | null;
  overlap: "allow" | "skip";
  paused: boolean;
  catch_up: string;
  source: "api" | "config";
  created_at: string;
  updated_at: string;
  last_fired_at: string | null;
  last_job: { id: string; state: JobState | null } | null;
  next: { at: string; local: string }[];
  [field: string]: unknown;
}

export declare class ErrandError extends Error {
  code: string;
  status: number;
  field?: string;
}
export declare class NoRetry extends Error {}
export declare class RetryLater extends Error {
  constructor(message: string, retryIn: Duration);
  retryIn: Duration;
}

export declare class RunningJob<P = any> {
  readonly id: string;
  readonly queue: string;
  readonly type: string | null;
  readonly payload: P;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly leaseId: string;
  readonly tags: string[];
  readonly signal: AbortSignal;
  readonly cancelRequested: boolean;
  readonly key: string | null;
  readonly parents: { id: string; state: JobState; result: Json }[];
  /** How many times the job was continued (0: never). */
  readonly continuation: number;
  /** What the last continue saved (null: never continued). */
  readonly state: Json;
  /** After a wait for a signal: its body (null: the wait timed out); undefined otherwise. */
  readonly signalBody: Json | undefined;
  /** Whether continue() ended this attempt. */
  readonly continued: boolean;
  progress(percent?: number, message?: string, data?: Json): Promise<{ ok: true }>;
  /** Ends the attempt without failing it; the worker then reports nothing for it. */
  continue(options?: ContinueOptions): Promise<Continued>;
}

export interface WorkerOptions<P = any> {
  queues: string | string[];
  handler: (job: RunningJob<P>) => unknown | Promise<unknown>;
  concurrency?: number;
  name?: string;
  wait?: Duration;
  lease?: Duration;
  grace?: number;
  signals?: boolean;
}

export declare class Worker {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export declare class Errand {
  constructor(options?: ClientOptions);
  readonly url: string;
  enqueue(queue: string, payload?: unknown, options?: EnqueueOptions): Promise<Enqueued>;
  enqueueMany(jobs: ({ queue: string; payload?: unknown } & EnqueueOptions)[]): Promise<Enqueued[]>;
  get(id: string, options?: { token?: string }): Promise<Job>;
  listPage(filters?: JobFilters): Promise<JobPage>;
  list(filters?: JobFilters): AsyncIterableIterator<Job>;
  cancel(id: string): Promise<Job>;
  retry(id: string): Promise<Job>;
  delete(id: string): Promise<{ id: string; deleted: true }>;
  logs(id: string): Promise<{ attempt: number; at: string; log: string }[]>;
  bulk(action: "retry" | "cancel" | "delete", ids: string[]): Promise<ItemResult[]>;
  jobUrl(id: string, token: string): string;
  watch(id: string, options?: WatchOptions): AsyncIterableIterator<JobEvent>;
  claim(queues: string | string[], options?: { worker?: string; max?: number; wait?: Duration; lease?: Duration; signal?: AbortSignal }): Promise<ClaimAnswer>;
  heartbeat(id: string, leaseId: string, extend?: Duration): Promise<{ lease_expires_at: string; cancel_requested: boolean }>;
  progress(id: string, leaseId: string, progress?: { percent?: number; message?: string; data?: Json }, options?: { key?: string | null }): Promise<{ ok: true }>;
  complete(id: string, leaseId: string, result?: unknown, options?: { log?: string }): Promise<{ id: string; state: JobState }>;
  fail(id: string, leaseId: string, error: string, options?: { retry?: boolean; retryIn?: Duration; log?: string }): Promise<{ id: string; state: JobState; run_at: string }>;
  acks(acks: { id: string; lease_id: string; result?: unknown; error?: string; retry?: boolean; retry_in?: string; log?: string }[]): Promise<ItemResult[]>;
  continueJob(id: string, leaseId: string, options?: ContinueOptions): Promise<Continued>;
  /** The signal_url (a path, or absolute) or its token; no API key is sent. */
  signal(url: string, body?: unknown): Promise<{ id: string; state: JobState }>;
  worker<P = any>(options: WorkerOptions<P>): Worker;
  stats(options?: { window?: "5m" | "15m" | "1h" }): Promise<Record<string, any>>;
  nodes(): Promise<Record<string, any>[]>;
  health(): Promise<{ status: "ok"; node?: string }>;
  openapi(): Promise<Record<string, any>>;
  readonly queues: {
    list(options?: { limit?: number }): AsyncIterableIterator<Queue>;
    get(name: string): Promise<Queue>;
    set(name: string, config?: QueueConfig): Promise<Queue>;
    pause(name: string): Promise<Queue>;
    resume(name: string): Promise<Queue>;
    pushSecret(name: string): Promise<PushSecret>;
    rotatePushSecret(name: string, options?: { keepPrevious?: Duration }): Promise<PushSecret>;
    keys(name: string, options?: { limit?: number; sort?: "key" | "busiest" }): AsyncIterableIterator<Key>;
    getKey(name: string, key: string): Promise<Key>;
    setKey(name: string, key: string, settings?: KeySettings): Promise<Key>;
    deleteKey(name: string, key: string): Promise<Key>;
  };
  readonly batches: {
    create(options: BatchOptions): Promise<BatchInsert>;
    add(id: string, jobs: ({ queue: string; payload?: unknown } & EnqueueOptions)[]): Promise<BatchInsert>;
    seal(id: string): Promise<Batch>;
    get(id: string): Promise<Batch>;
  };
  readonly schedules: {
    list(): Promise<Schedule[]>;
    get(name: string): Promise<Schedule>;
    set(name: string, spec: ScheduleSpec): Promise<Schedule>;
    delete(name: string): Promise<{ name: string; deleted: true }>;
    trigger(name: string): Promise<Enqueued & { schedule: Schedule }>;
    pause(name: string): Promise<Schedule>;
    resume(name: string): Promise<Schedule>;
  };
}

export interface PushJob<P = any> extends Omit<Job, "payload"> {
  payload: P;
  continuation: number;
  leaseId: string;
  /** A job enqueued with `after`: its parents and their results. */
  parents?: { id: string; state: JobState; result: Json }[];
}

export interface Step {
  run<T>(name: string, fn: () => T | Promise<T>): Promise<T>;
  sleep(name: string, duration: Duration): Promise<void>;
  /**
   * Waits for a signal, at most `timeout`: the signal's body (null: the wait timed out). send(url) runs once, in
   * the call that starts the wait, with the URL that resumes the job.
   */
  waitForSignal<T = Json>(
    name: string,
    options: { timeout: Duration },
    send?: (url: string) => unknown | Promise<unknown>,
  ): Promise<T | null>;
  progress(percent?: number, message?: string, data?: Json): Promise<void>;
}

export interface PushHandlerOptions {
  secret?: string | string[];
  tolerance?: number;
  url?: string;
  key?: string;
}

export declare function verifySignature(
  rawBody: string | ArrayBuffer | Uint8Array,
  header: string | null | undefined,
  secrets: string | string[],
  options?: { tolerance?: number; now?: number },
): Promise<boolean>;

export declare function pushHandler<P = any>(
  fn: (job: PushJob<P>, step: Step) => unknown | Promise<unknown>,
  options?: PushHandlerOptions,
): (request: Request) => Promise<Response>;

export declare function nodeListener(handler: (request: Request) => Promise<Response>): (req: any, res: any) => Promise<void>;

export declare function parseEvents(text: string): { events: JobEvent[]; rest: string };

export interface JobView {
  state: JobState | "connecting" | "error";
  progress: number | null;
  message: string | null;
  data: Json | null;
  result: Json | null;
  error: string | null;
}
export declare const INITIAL_JOB_VIEW: JobView;
export declare function reduceJob(view: JobView, event: JobEvent): JobView;
export declare function parseJobUrl(jobUrl: string): { url: string; id: string; token?: string };
export declare function watchJobUrl(jobUrl: string, options?: WatchOptions & { fetch?: typeof fetch }): AsyncIterableIterator<JobEvent>;
