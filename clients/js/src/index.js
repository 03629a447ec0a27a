// errand-client: Errand's HTTP API for JavaScript and TypeScript. fetch only,
// no dependencies: Node 18+, Deno, Bun, edge runtimes and browsers.
export { Errand } from "./client.js";
export { ErrandError, NoRetry, RetryLater } from "./errors.js";
export { Worker, RunningJob } from "./worker.js";
export { verifySignature, pushHandler, nodeListener } from "./push.js";
export { parseEvents } from "./watch.js";
export { reduceJob, parseJobUrl, watchJobUrl, INITIAL_JOB_VIEW } from "./job_view.js";
