// errand-client/react: useJob(jobUrlWithToken) follows one job from the
// browser and re-renders with {state, progress, message, data, result,
// error}. The URL is the job's with its token (errand.jobUrl(id, token) on
// the server); the server must allow the page's origin (--cors-origin).
import { useEffect, useReducer } from "react";

import { INITIAL_JOB_VIEW, reduceJob, watchJobUrl } from "./job_view.js";

export { INITIAL_JOB_VIEW, reduceJob, parseJobUrl } from "./job_view.js";

export function useJob(jobUrl) {
  const [view, dispatch] = useReducer(reduceJob, INITIAL_JOB_VIEW);
  useEffect(() => {
    if (!jobUrl) return undefined;
    const abort = new AbortController();
    (async () => {
      try {
        for await (const e of watchJobUrl(jobUrl, { signal: abort.signal })) dispatch(e);
      } catch (err) {
        if (!abort.signal.aborted) dispatch({ event: "error", data: err });
      }
    })();
    return () => abort.abort();
  }, [jobUrl]);
  return view;
}
