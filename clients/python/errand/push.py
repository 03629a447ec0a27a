"""Push delivery: verify_signature() checks the Errand-Signature header, and
handle_push(body, headers, fn) is a framework-neutral handler: it verifies the
call, runs fn(job, step) and returns (status, headers, body) to send back.
step.run(name, fn) runs fn once (its result is kept in the continuation
state; each new step ends the call with 202 `continue`), step.sleep(name,
duration) brings the job back after the duration, step.wait_for_signal(name,
timeout, send) waits for a signal and returns its body (None: timed out) —
send(url) runs once, in the call that starts the wait, with the URL that
resumes the job — and step.progress() reports progress at once (with `url`)."""

import hashlib
import hmac
import json
import os
import time
import urllib.request

from .worker import NoRetry


def verify_signature(raw_body, header, secrets, tolerance=300, now=None):
    """Whether `header` (t=<unix s>,v1=<hex>[,v1=…]) signs raw_body (bytes as
    received) with one of `secrets` (a string or a list), within `tolerance` seconds."""
    if not header or not secrets:
        return False
    if isinstance(raw_body, str):
        raw_body = raw_body.encode()
    t, sigs = None, []
    for part in header.split(","):
        k, _, v = part.strip().partition("=")
        if k == "t" and v.isdigit():
            t = int(v)
        elif k == "v1" and v:
            sigs.append(v.lower())
    if t is None or not sigs:
        return False
    if abs((time.time() if now is None else now) - t) > tolerance:
        return False
    ok = False
    for secret in [secrets] if isinstance(secrets, str) else list(secrets):
        expected = hmac.new(secret.encode(), str(t).encode() + b"." + raw_body, hashlib.sha256).hexdigest()
        for s in sigs:
            ok = hmac.compare_digest(expected, s) or ok
    return ok


class _Suspend(Exception):
    pass


class Step:
    def __init__(self, call, steps, url, key):
        self._call, self._steps, self._key = call, steps, key
        self._url = url.split(",")[0].strip().rstrip("/") if url else None  # the first of several servers
        self._suspend = None
        self.progress_value = None

    def run(self, name, fn):
        if name in self._steps:
            return self._steps[name]["value"]
        if self._suspend is not None:
            raise _Suspend()
        value = fn()
        self._steps[name] = {"value": value}
        self._suspend = {}
        raise _Suspend()

    def sleep(self, name, duration):
        if name in self._steps:
            return
        if self._suspend is not None:
            raise _Suspend()
        self._steps[name] = {"value": None}
        self._suspend = {"delay": duration}
        raise _Suspend()

    def wait_for_signal(self, name, timeout, send=None):
        """Waits for a signal, at most `timeout` ("7d"); returns its body (None:
        the wait timed out). send(url) runs once, in the call that starts the
        wait, with the URL that resumes the job (absolute with `url`, else the
        path): hand it out there."""
        if name in self._steps:
            if self._steps[name].get("waiting"):
                raise RuntimeError(f"step {name}: the call carries no signal for its wait")
            return self._steps[name]["value"]
        if self._suspend is not None:
            raise _Suspend()
        if not timeout:
            raise ValueError(f'step {name}: wait_for_signal needs a timeout ("7d")')
        path = self._call.get("signal_url")
        if not path:
            raise RuntimeError("this Errand gives no signal URLs: it cannot wait for a signal")
        if send is not None:
            send(self._url + path if self._url else path)
        self._steps[name] = {"waiting": True}
        self._suspend = {"signal": {"timeout": timeout}}
        raise _Suspend()

    def progress(self, percent=None, message=None, data=None):
        self.progress_value = {k: v for k, v in dict(percent=percent, message=message, data=data).items()
                               if v is not None}
        if not self._url:
            return
        body = json.dumps(dict(self.progress_value, lease_id=self._call["lease_id"])).encode()
        headers = {"Content-Type": "application/json"}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        req = urllib.request.Request(f"{self._url}/v1/jobs/{self._call['job']['id']}/progress",
                                     data=body, headers=headers, method="POST")
        try:
            urllib.request.urlopen(req, timeout=10).close()
        except OSError:
            pass


def _receive_signal(steps, call):
    """The call after a wait for a signal carries the signal's body (None: the
    wait timed out): it becomes the waiting step's value."""
    if "signal" not in call:
        return
    for name, s in steps.items():
        if isinstance(s, dict) and s.get("waiting"):
            steps[name] = {"value": call["signal"]}


def _answer(status, body, extra=None):
    return status, dict({"Content-Type": "application/json"}, **(extra or {})), json.dumps(body).encode()


def handle_push(body, headers, fn, secret=None, tolerance=300, url=None, key=None):
    """body: the raw request body (bytes); headers: a mapping (any case).
    Returns (status, headers, body bytes)."""
    secret = secret or os.environ.get("ERRAND_PUSH_SECRET")
    if not secret:
        return _answer(500, {"error": "no push secret: set ERRAND_PUSH_SECRET or pass secret="})
    lower = {k.lower(): v for k, v in dict(headers).items()}
    if not verify_signature(body, lower.get("errand-signature"), secret, tolerance):
        return _answer(401, {"error": "the Errand-Signature does not match"})
    call = json.loads(body)
    state = call.get("state") if isinstance(call.get("state"), dict) else {}
    steps = dict(state.get("steps") or {})
    _receive_signal(steps, call)
    step = Step(call, steps, url or os.environ.get("ERRAND_URL"), key)
    job = dict(call["job"], attempt=call["attempt"], continuation=call["continuation"], lease_id=call["lease_id"])
    if "parents" in call:
        job["parents"] = call["parents"]
    try:
        return _answer(200, fn(job, step))
    except _Suspend:
        nxt = {"state": dict(state, steps=steps)}
        if step._suspend and step._suspend.get("delay"):
            nxt["delay"] = step._suspend["delay"]
        if step._suspend and step._suspend.get("signal"):
            nxt["signal"] = step._suspend["signal"]
        if step.progress_value:
            nxt["progress"] = step.progress_value
        return _answer(202, {"continue": nxt})
    except NoRetry as e:
        return _answer(500, {"error": str(e)}, {"Errand-No-Retry": "true"})
    except Exception as e:  # a failed attempt: Errand retries this call with its state
        return _answer(500, {"error": str(e) or type(e).__name__})
