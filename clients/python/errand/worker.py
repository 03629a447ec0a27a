"""A worker: claims jobs with a long poll, runs handler(job) in threads (at
most `concurrency` at once), heartbeats each lease at a third of its length,
completes with the handler's return value or fails with its exception
(NoRetry: no retry; RetryLater: retried after its retry_in), unless the
handler ended the attempt with job.continue_job(). stop() — and
SIGTERM or SIGINT when run() is called in the main thread — stops claiming and
lets running jobs finish. The claim in flight is not cut short (a long poll
the server still holds could take a job nobody would run): stopping waits for
it, at most `wait` (default 10s), and runs what it brings."""

import os
import signal
import socket
import threading
import time
from datetime import datetime

from .client import ErrandError


class NoRetry(Exception):
    """Raised by a handler: the job fails for good."""


class RetryLater(Exception):
    """Raised by a handler: retry after retry_in ("30s") instead of the backoff."""

    def __init__(self, message, retry_in):
        super().__init__(message)
        self.retry_in = retry_in


class RunningJob:
    """The job a handler runs. Workflows (docs/API.md): `parents` [{"id",
    "state", "result"}] of a job enqueued with `after`; for a job that was
    continued, `continuation` (how many times), `state` (what the last
    continue saved) and `signal` (after a wait for a signal: its body; None
    when the wait timed out, or when there was none — `"signal" in
    job.claimed` tells them apart)."""

    def __init__(self, client, claimed):
        self.client = client
        self.claimed = claimed
        self.id = claimed["id"]
        self.queue = claimed["queue"]
        self.type = claimed.get("type")
        self.payload = claimed.get("payload")
        self.attempt = claimed["attempt"]
        self.max_attempts = claimed["max_attempts"]
        self.lease_id = claimed["lease_id"]
        self.key = claimed.get("key")
        self.parents = claimed.get("parents") or []
        self.continuation = claimed.get("continuation", 0)
        self.state = claimed.get("state")
        self.signal = claimed.get("signal")
        self.continued = False  # continue_job() ended the attempt
        self.cancel_requested = threading.Event()  # set when a cancel reaches the heartbeat
        self.ended = threading.Event()
        self.abandoned = False  # failed by the worker's stop after its grace

    def progress(self, percent=None, message=None, data=None):
        return self.client.progress(self.id, self.lease_id, percent, message, data)

    def continue_job(self, state=None, delay=None, until=None, signal=None, progress=None):
        """Ends this attempt without failing it: the job sleeps (delay or
        until) or waits for a signal (signal={"timeout": "7d"}), then is
        claimed again with `state`. The worker then reports nothing for this
        attempt: return once it answered (the handler's value is ignored).
        Answers as Client.continue_job; hand its signal_url to whoever will signal."""
        answer = self.client.continue_job(self.id, self.lease_id, state=state, delay=delay, until=until,
                                          signal=signal, progress=progress)
        self.continued = True
        return answer


def _lease_seconds(claimed):
    try:
        expiry = datetime.fromisoformat(claimed["lease_expires_at"].replace("Z", "+00:00")).timestamp()
        return max(1.0, expiry - time.time())
    except (KeyError, TypeError, ValueError, AttributeError):
        return 30.0


class Worker:
    def __init__(self, client, queues, handler, concurrency=1, name=None, wait="10s", lease=None, grace=30.0):
        self.client = client
        self.queues = [queues] if isinstance(queues, str) else list(queues)
        self.handler = handler
        self.concurrency = concurrency
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.wait = wait
        self.lease = lease
        self.grace = grace  # seconds running jobs get after stop(); then they are failed, to be retried
        self._running = {}  # job id -> RunningJob
        self._running_lock = threading.Lock()
        self._stop = threading.Event()
        self._free = concurrency  # slots for jobs, guarded by _changed
        self._changed = threading.Condition()
        self._threads = []

    def stop(self):
        with self._changed:
            self._stop.set()
            self._changed.notify_all()

    def _take_slots(self):
        """Waits for a free slot (or stop()); takes every free one. 0: stopping."""
        with self._changed:
            self._changed.wait_for(lambda: self._free > 0 or self._stop.is_set())
            if self._stop.is_set():
                return 0
            free, self._free = self._free, 0
            return free

    def _give_slots(self, n):
        with self._changed:
            self._free += n
            self._changed.notify_all()

    def run(self):
        """Runs until stop() (or SIGTERM/SIGINT in the main thread); returns
        when every running job has ended."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, lambda *_: self.stop())
        backoff = 0.1
        while not self._stop.is_set():
            free = self._take_slots()
            if not free:
                break
            try:
                jobs = self.client.claim(self.queues, worker=self.name, max=free, wait=self.wait,
                                         lease=self.lease)["jobs"]
                backoff = 0.1
            except ErrandError:
                jobs = []
                self._give_slots(free)
                free = 0
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)
            self._give_slots(free - len(jobs))
            for claimed in jobs:
                t = threading.Thread(target=self._run_one, args=(claimed,), daemon=True)
                self._threads.append(t)
                t.start()
            self._threads = [t for t in self._threads if t.is_alive()]
        deadline = time.monotonic() + self.grace
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        with self._running_lock:
            late = list(self._running.values())
        for job in late:  # still running after the grace: another worker retries it
            if job.continued:
                continue
            job.abandoned = True
            self._report(lambda: self.client.fail(job.id, job.lease_id, "the worker stopped before the job ended"))

    def _heartbeats(self, job, every):
        while not job.ended.wait(every) and not job.continued:
            try:
                if self.client.heartbeat(job.id, job.lease_id).get("cancel_requested"):
                    job.cancel_requested.set()
            except ErrandError as e:
                if e.status == 409:
                    return

    def _run_one(self, claimed):
        job = RunningJob(self.client, claimed)
        with self._running_lock:
            self._running[job.id] = job
        beat = threading.Thread(target=self._heartbeats, args=(job, max(0.3, _lease_seconds(claimed) / 3)),
                                daemon=True)
        beat.start()
        try:
            try:
                result = self.handler(job)
                if job.abandoned or job.continued:
                    return
            except Exception as e:
                if not job.continued:  # after a continue the lease is gone: nothing to report
                    self._report_failure(job, e)
            else:
                self._report(lambda: self.client.complete(job.id, job.lease_id, result))
        finally:
            with self._running_lock:
                self._running.pop(job.id, None)
            job.ended.set()
            beat.join()
            self._give_slots(1)

    def _report_failure(self, job, e):
        if isinstance(e, NoRetry):
            self._report(lambda: self.client.fail(job.id, job.lease_id, str(e), retry=False))
        elif isinstance(e, RetryLater):
            self._report(lambda: self.client.fail(job.id, job.lease_id, str(e), retry_in=e.retry_in))
        else:  # any other error: retried with backoff
            self._report(lambda: self.client.fail(job.id, job.lease_id, str(e) or type(e).__name__))

    @staticmethod
    def _report(send):
        for attempt in range(5):
            try:
                return send()
            except ErrandError as e:
                if e.status != 0:
                    return None  # refused (409: the lease is gone): nothing to retry
                time.sleep(0.2 * 2 ** attempt)
        return None
