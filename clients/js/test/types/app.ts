// A small TypeScript app on errand-client, type-checked by `tsc -p test/types`
// (never run): the declarations must let an app say what it means, and
// refuse what it must not.
import { Errand, ErrandError, NoRetry, pushHandler, verifySignature, type Job } from "errand-client";
import { useJob } from "errand-client/react";

interface ImportPayload {
  rows: number;
}

export async function enqueueImport(errand: Errand): Promise<string> {
  const { id, token } = await errand.enqueue("imports", { rows: 500 }, { delay: "10s", maxAttempts: 3 });
  const job: Job = await errand.get(id);
  if (job.state === "dead") throw new Error(job.errors.at(-1)?.message);
  for await (const event of errand.watch(id)) if (event.event === "progress") console.log(event.data.percent);
  return errand.jobUrl(id, token);
}

export function startWorker(errand: Errand) {
  return errand
    .worker<ImportPayload>({
      queues: ["imports"],
      concurrency: 4,
      handler: async (job) => {
        await job.progress(10, `importing ${job.payload.rows} rows`);
        if (job.payload.rows > 1e6) throw new NoRetry("too many rows");
        return { imported: job.payload.rows };
      },
    })
    .start();
}

export const POST = pushHandler<ImportPayload>(async (job, step) => {
  const rows = await step.run("read", async () => job.payload.rows);
  await step.sleep("cool-down", "1m");
  await step.progress(50, "half way");
  const approval = await step.waitForSignal<{ ok: boolean }>("approval", { timeout: "7d" }, notifyReviewer);
  return { rows, approved: approval?.ok ?? false };
});

declare function notifyReviewer(url: string): Promise<void>;

// A pull worker that waits for a payment's webhook between two runs.
export function startOrderWorker(errand: Errand) {
  return errand
    .worker<{ order: number }>({
      queues: ["orders"],
      handler: async (job) => {
        if (job.continuation === 0) {
          const { signal_url } = await job.continue({ state: { order: job.payload.order }, signal: { timeout: "7d" } });
          if (signal_url) await notifyReviewer(`${errand.url}${signal_url}`);
          return;
        }
        return { order: job.payload.order, paid: job.signalBody ?? null };
      },
    })
    .start();
}

export async function importInPages(errand: Errand, pages: ImportPayload[][]): Promise<number> {
  await errand.queues.setKey("imports", "customer/42", { concurrency: 2, rateLimit: { limit: 10, per: "1m" } });
  for await (const key of errand.queues.keys("imports", { sort: "busiest" })) console.log(key.key, key.queued);
  const { id } = await errand.batches.create({ open: true, onComplete: { queue: "notify", payload: { to: "ops" } } });
  for (const page of pages) {
    await errand.batches.add(id, page.map((payload) => ({ queue: "imports", payload, key: "customer/42" })));
  }
  const batch = await errand.batches.seal(id);
  return batch.counts.total;
}

export async function check(body: string, header: string | null): Promise<boolean> {
  return verifySignature(body, header, ["whsec_new", "whsec_old"], { tolerance: 300 });
}

export function describe(e: unknown): string {
  return e instanceof ErrandError ? `${e.code} ${e.status} ${e.field ?? ""}` : String(e);
}

export function ProgressText({ url }: { url: string }): string {
  const { state, progress, message } = useJob(url);
  return `${state} ${progress ?? 0}% ${message ?? ""}`;
}

// @ts-expect-error: a queue name is required
void new Errand().enqueue();
// @ts-expect-error: the bulk action is one of three
void new Errand().bulk("explode", []);
// @ts-expect-error: a worker needs a handler
void new Errand().worker({ queues: ["q"] });
// @ts-expect-error: keys sort by key or busiest
void new Errand().queues.keys("q", { sort: "newest" });
// @ts-expect-error: a wait for a signal needs a timeout
void pushHandler(async (_job, step) => step.waitForSignal("approval", {}));
