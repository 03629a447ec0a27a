import type { JobEvent, JobView } from "./index.js";

export type { JobView } from "./index.js";
export declare const INITIAL_JOB_VIEW: JobView;
export declare function reduceJob(view: JobView, event: JobEvent): JobView;
export declare function parseJobUrl(jobUrl: string): { url: string; id: string; token?: string };
// Follows the job at `jobUrl` (its URL with ?token=) and re-renders as it changes.
export declare function useJob(jobUrl: string | null | undefined): JobView;
