// A worker process for the SIGTERM test: takes one job that runs a while,
// prints "started", and exits after the worker's graceful stop.
import { Errand } from "../src/index.js";

const errand = new Errand({ url: process.argv[2] });
const worker = errand.worker({
  queues: ["sigterm"],
  wait: "1s",
  handler: async (job) => {
    process.stdout.write("started\n");
    await new Promise((r) => setTimeout(r, job.payload.ms));
    return "done";
  },
});
await worker.start();
process.stdout.write("stopped\n");
