"""The HTTP API v1 as methods. Answers are the API's JSON (dicts) as
docs/API.md and docs/openapi.yaml describe them."""

import json
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request


class ErrandError(Exception):
    """An error answer ({"error": {"code", "message", "field"}}), or a server
    that cannot be reached (code "unavailable", status 0)."""

    def __init__(self, message, code="internal", status=0, field=None):
        super().__init__(message)
        self.message, self.code, self.status, self.field = message, code, status, field


def _q(value):
    return urllib.parse.quote(str(value), safe="")


def _query(params):
    items = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
    return ("?" + urllib.parse.urlencode(items)) if items else ""


_NOT_SENT = (ConnectionRefusedError, socket.gaierror)
_SIGNAL_URL = re.compile(r"^(https?://.*?)?(/v1/signals/[^/?#]+)$")
_HARMLESS = re.compile(r"^/v1/(claim|jobs/[^/]+/(heartbeat|progress)|queues/[^/]+/(pause|resume))$")


def _harmless_to_repeat(method, path, body):
    """Whether a call whose connection broke after it was sent may be sent again."""
    if method in ("GET", "PUT") or _HARMLESS.match(path.split("?")[0]):
        return True
    if path == "/v1/jobs":
        return bool((body or {}).get("idempotency_key"))
    if path == "/v1/jobs/batch":
        return all(j.get("idempotency_key") for j in (body or {}).get("jobs", []))
    return False


class Client:
    """Client(url=None, key=None, timeout=60, on_failover=None): url defaults to
    $ERRAND_URL, then http://127.0.0.1:8740; key to $ERRAND_KEY. Several
    servers sharing one PostgreSQL database: "http://a:8740,http://b:8740" (or
    a list); calls go to one until it cannot be reached or answers 503, then
    to the next (on_failover(from_url, to_url, reason) hears it)."""

    def __init__(self, url=None, key=None, timeout=60, on_failover=None):
        url = url or os.environ.get("ERRAND_URL") or "http://127.0.0.1:8740"
        self.urls = [u.strip().rstrip("/") for u in (url.split(",") if isinstance(url, str) else url) if u.strip()]
        self.current = 0
        self.on_failover = on_failover
        self.key = key if key is not None else os.environ.get("ERRAND_KEY")
        self.timeout = timeout
        self.queues = _Queues(self)
        self.schedules = _Schedules(self)
        self.batches = _Batches(self)

    @property
    def url(self):
        """The URL in use."""
        return self.urls[self.current]

    def _failover(self, reason):
        if len(self.urls) > 1:
            old = self.url
            self.current = (self.current + 1) % len(self.urls)
            if self.on_failover:
                self.on_failover(old, self.url, reason)

    # ---- transport -----------------------------------------------------------
    def request(self, method, path, body=None, key=..., timeout=None, headers=None):
        """Sends one call; returns the answer's JSON. Raises ErrandError."""
        reasons = []
        for _ in self.urls:
            url = self.url
            try:
                return self._send(url, method, path, body, key, timeout, headers)
            except ErrandError as e:
                if e.status == 503 and len(self.urls) > 1 and "may or may not" not in e.message:
                    reasons.append(f"{url}: answered 503: {e.message}")
                    self._failover(e.message)
                    continue
                if e.status != 0:
                    raise
                reasons.append(f"{url}: {e.message}")
                self._failover(e.message)
                if isinstance(e.__cause__, _NOT_SENT) or _harmless_to_repeat(method, path, body):
                    continue
                break
        if len(self.urls) > 1:
            raise ErrandError(f"cannot reach errand at any of its {len(self.urls)} URLs: {'; '.join(reasons)}",
                              "unavailable", 0)
        raise ErrandError(f"cannot reach errand at {reasons[0]}", "unavailable", 0)

    def _send(self, url, method, path, body, key, timeout, headers):
        data = None if body is None else json.dumps(body).encode()
        hdrs = dict(headers or {})
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        k = self.key if key is ... else key
        if k:
            hdrs["Authorization"] = f"Bearer {k}"
        req = urllib.request.Request(url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            try:
                err = json.loads(raw)["error"]
            except (ValueError, KeyError, TypeError):
                err = {"code": "internal", "message": f"errand answered {e.code}: {raw[:200]!r}"}
            raise ErrandError(err.get("message", ""), err.get("code", "internal"), e.code, err.get("field")) from None
        except (urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise ErrandError(str(reason), "unavailable", 0) from (reason if isinstance(reason, BaseException) else e)
        return json.loads(raw) if raw else None

    # ---- jobs ------------------------------------------------------------------
    def enqueue(self, queue, payload=None, **options):
        """options: type, delay, run_at, priority, max_attempts, timeout,
        idempotency_key, tags, token_scope, traceparent, tracestate (the API's
        fields). Claimed jobs and push calls' jobs carry the job's "trace"
        ({"traceparent", "tracestate"}) when it has one."""
        return self.request("POST", "/v1/jobs", dict(options, queue=queue, payload=payload))

    def enqueue_many(self, jobs):
        """jobs: [{"queue", "payload", ...options}]; all or nothing."""
        return self.request("POST", "/v1/jobs/batch", {"jobs": list(jobs)})["jobs"]

    def get(self, job_id, token=None):
        if token:
            return self.request("GET", f"/v1/jobs/{_q(job_id)}{_query({'token': token})}", key=None)
        return self.request("GET", f"/v1/jobs/{_q(job_id)}")

    def list_page(self, **filters):
        """One page: {"jobs", "next_cursor", "partial"}. Filters: queue, state,
        type, key, tag, q, since, until, batch, limit, cursor, include."""
        return self.request("GET", "/v1/jobs" + _query(filters))

    def list(self, **filters):
        """Every job matching the filters, newest first, page after page (a generator)."""
        while True:
            page = self.list_page(**filters)
            yield from page["jobs"]
            if not page.get("next_cursor"):
                return
            filters["cursor"] = page["next_cursor"]

    def cancel(self, job_id):
        return self.request("POST", f"/v1/jobs/{_q(job_id)}/cancel")

    def retry(self, job_id):
        return self.request("POST", f"/v1/jobs/{_q(job_id)}/retry")

    def delete(self, job_id):
        return self.request("DELETE", f"/v1/jobs/{_q(job_id)}")

    def logs(self, job_id):
        return self.request("GET", f"/v1/jobs/{_q(job_id)}/logs")["logs"]

    def bulk(self, action, ids):
        return self.request("POST", "/v1/jobs/bulk", {"action": action, "ids": list(ids)})["results"]

    def job_url(self, job_id, token):
        return f"{self.url}/v1/jobs/{_q(job_id)}?token={_q(token)}"

    def watch(self, job_id, token=None, last_event_id=None, max_backoff=5.0):
        """The job's events as a generator of (event, id, data), reconnecting
        with Last-Event-ID; ends after the final event (succeeded, dead, cancelled)."""
        from .events import watch

        return watch(self, job_id, token=token, last_event_id=last_event_id, max_backoff=max_backoff)

    # ---- workers ---------------------------------------------------------------
    def claim(self, queues, worker=None, max=None, wait=None, lease=None):
        queues = [queues] if isinstance(queues, str) else list(queues)
        body = {k: v for k, v in dict(queues=queues, worker=worker, max=max, wait=wait, lease=lease).items()
                if v is not None}
        timeout = self.timeout + _seconds(wait) if wait else None
        return self.request("POST", "/v1/claim", body, timeout=timeout)

    def heartbeat(self, job_id, lease_id, extend=None):
        body = {"lease_id": lease_id, **({"extend": extend} if extend else {})}
        return self.request("POST", f"/v1/jobs/{_q(job_id)}/heartbeat", body)

    def progress(self, job_id, lease_id, percent=None, message=None, data=None, key=...):
        body = {k: v for k, v in dict(lease_id=lease_id, percent=percent, message=message, data=data).items()
                if v is not None}
        return self.request("POST", f"/v1/jobs/{_q(job_id)}/progress", body, key=key)

    def complete(self, job_id, lease_id, result=None, log=None):
        body = {"lease_id": lease_id, "result": result, **({"log": log} if log is not None else {})}
        return self.request("POST", f"/v1/jobs/{_q(job_id)}/complete", body)

    def fail(self, job_id, lease_id, error, retry=None, retry_in=None, log=None):
        body = {k: v for k, v in dict(lease_id=lease_id, error=str(error), retry=retry, retry_in=retry_in,
                                      log=log).items() if v is not None}
        return self.request("POST", f"/v1/jobs/{_q(job_id)}/fail", body)

    def acks(self, acks):
        return self.request("POST", "/v1/acks", {"acks": list(acks)})["results"]

    def continue_job(self, job_id, lease_id, state=None, delay=None, until=None, signal=None, progress=None):
        """Ends the attempt without failing it: the job sleeps (delay, or until
        a time) or waits for a signal (signal={"timeout": "7d"}), then is
        claimed again with `state`. → {"id", "state", "run_at", "signal_url"?,
        "signal_timeout_at"?}; signal_url is a path: signal(it, body) resumes
        the job."""
        body = {k: v for k, v in dict(delay=delay, until=until, signal=signal, progress=progress).items()
                if v is not None}
        body.update(lease_id=lease_id, state=state)
        return self.request("POST", f"/v1/jobs/{_q(job_id)}/continue", body)

    def signal(self, url, body=None):
        """Resumes a job waiting for a signal with `body` (any JSON) as its
        signal. `url`: the signal_url as given (the path /v1/signals/…, or that
        path on an absolute URL, which is called as it is) or its token alone.
        It is the capability: no API key is sent. A second signal is a
        conflict (409)."""
        m = _SIGNAL_URL.match(str(url))
        path = m.group(2) if m else f"/v1/signals/{_q(url)}"
        client = Client(m.group(1), timeout=self.timeout) if m and m.group(1) else self
        return client.request("POST", path, body, key=None)

    # ---- the server --------------------------------------------------------------
    def stats(self, window=None):
        return self.request("GET", "/v1/stats" + _query({"window": window}))

    def nodes(self):
        return self.request("GET", "/v1/nodes")["nodes"]

    def health(self):
        return self.request("GET", "/healthz", key=None)

    def openapi(self):
        return self.request("GET", "/v1/openapi.json", key=None)


def _seconds(duration):
    """"1h30m" -> 5400.0 (for time-outs of long polls)."""
    if isinstance(duration, (int, float)):
        return float(duration)
    import re

    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h|d)", duration))


class _Queues:
    def __init__(self, client):
        self.c = client

    def list(self, limit=None):
        cursor = None
        while True:
            page = self.c.request("GET", "/v1/queues" + _query({"limit": limit, "cursor": cursor}))
            yield from page["queues"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def get(self, name):
        return self.c.request("GET", f"/v1/queues/{_q(name)}")

    def set(self, name, **config):
        """Replaces the whole configuration: paused, concurrency, rate_limit, defaults, push."""
        return self.c.request("PUT", f"/v1/queues/{_q(name)}", config)

    def pause(self, name):
        return self.c.request("POST", f"/v1/queues/{_q(name)}/pause")

    def resume(self, name):
        return self.c.request("POST", f"/v1/queues/{_q(name)}/resume")

    def push_secret(self, name):
        return self.c.request("GET", f"/v1/queues/{_q(name)}/push-secret")

    def rotate_push_secret(self, name, keep_previous=None):
        body = {"keep_previous": keep_previous} if keep_previous else None
        return self.c.request("POST", f"/v1/queues/{_q(name)}/push-secret/rotate", body)

    def keys(self, name, limit=None, sort=None):
        """The queue's job keys with jobs queued or running, or settings of
        their own, page after page (a generator): by key, or (sort="busiest")
        one page of the busiest."""
        cursor = None
        while True:
            page = self.c.request("GET", f"/v1/queues/{_q(name)}/keys"
                                  + _query({"limit": limit, "sort": sort, "cursor": cursor}))
            yield from page["keys"]
            cursor = page.get("next_cursor")
            if not cursor:
                return

    def get_key(self, name, key):
        return self.c.request("GET", f"/v1/queues/{_q(name)}/keys/{_q(key)}")

    def set_key(self, name, key, **settings):
        """Replaces the key's own settings: concurrency, rate_limit ({"limit",
        "per", "burst"}), paused, weight; a setting left out is the queue's again."""
        return self.c.request("PUT", f"/v1/queues/{_q(name)}/keys/{_q(key)}", settings)

    def delete_key(self, name, key):
        """Removes the key's own settings: the queue's apply again."""
        return self.c.request("DELETE", f"/v1/queues/{_q(name)}/keys/{_q(key)}")


class _Batches:
    """Jobs that end as one, with callback jobs: on_success (every job
    succeeded), on_complete (every job ended), on_death (the first job died)."""

    def __init__(self, client):
        self.c = client

    def create(self, jobs=(), on_success=None, on_complete=None, on_death=None, open=None):
        """jobs: [{"queue", "payload", ...options}] as enqueue_many takes them;
        each callback {"queue", "payload"?, "type"?, …}; open=True to add pages
        with add() before seal(). → {"id", "state", "jobs"}."""
        body = {k: v for k, v in dict(on_success=on_success, on_complete=on_complete, on_death=on_death,
                                      open=open).items() if v is not None}
        return self.c.request("POST", "/v1/batches", dict(body, jobs=list(jobs)))

    def add(self, batch_id, jobs):
        """Adds a page of jobs to an open batch (give them idempotency keys: a
        page sent again then adds nothing twice). → {"id", "state", "jobs"}."""
        return self.c.request("POST", f"/v1/batches/{_q(batch_id)}/jobs", {"jobs": list(jobs)})

    def seal(self, batch_id):
        """No more jobs: the callbacks may fire. Sealing twice changes nothing."""
        return self.c.request("POST", f"/v1/batches/{_q(batch_id)}/seal")

    def get(self, batch_id):
        """{"id", "state", "counts", "created_at", "finished_at", "callbacks"}."""
        return self.c.request("GET", f"/v1/batches/{_q(batch_id)}")


class _Schedules:
    def __init__(self, client):
        self.c = client

    def list(self):
        return self.c.request("GET", "/v1/schedules")["schedules"]

    def get(self, name):
        return self.c.request("GET", f"/v1/schedules/{_q(name)}")

    def set(self, name, cron, queue, **spec):
        return self.c.request("PUT", f"/v1/schedules/{_q(name)}", dict(spec, cron=cron, queue=queue))

    def delete(self, name):
        return self.c.request("DELETE", f"/v1/schedules/{_q(name)}")

    def trigger(self, name):
        return self.c.request("POST", f"/v1/schedules/{_q(name)}/trigger")

    def pause(self, name):
        return self.c.request("POST", f"/v1/schedules/{_q(name)}/pause")

    def resume(self, name):
        return self.c.request("POST", f"/v1/schedules/{_q(name)}/resume")
