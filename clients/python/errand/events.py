"""A job's events (GET /v1/jobs/{id}/events, Server-Sent Events) as a
generator, reconnecting with Last-Event-ID after a dropped connection or a
server restart."""

import http.client
import json
import time
import urllib.parse

from .client import ErrandError

FINAL = ("succeeded", "dead", "cancelled")


def _parse(block):
    event, event_id, data = "message", None, []
    for line in block.splitlines():
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            event = value
        elif field == "id":
            event_id = value
        elif field == "data":
            data.append(value)
    if not data and event_id is None:
        return None
    text = "\n".join(data)
    try:
        return event, event_id, json.loads(text)
    except ValueError:
        return event, event_id, text


def watch(client, job_id, token=None, last_event_id=None, max_backoff=5.0):
    backoff = 0.1
    while True:
        parts = urllib.parse.urlsplit(client.url)  # the URL in use: it moves on after a failure
        path = f"{parts.path.rstrip('/')}/v1/jobs/{urllib.parse.quote(job_id, safe='')}/events"
        if token:
            path += "?token=" + urllib.parse.quote(token, safe="")
        headers = {"Accept": "text/event-stream"}
        if client.key and not token:
            headers["Authorization"] = f"Bearer {client.key}"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=60)
        else:
            conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=60)
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            if resp.status == 204:
                return
            if resp.status >= 400:
                raw = resp.read()
                try:
                    err = json.loads(raw)["error"]
                except (ValueError, KeyError, TypeError):
                    err = {"code": "internal", "message": raw.decode(errors="replace")}
                if resp.status not in (429, 503):
                    raise ErrandError(err.get("message", ""), err.get("code"), resp.status, err.get("field"))
            else:
                buffer = ""
                while True:
                    line = resp.readline()
                    if not line:
                        break
                    buffer += line.decode("utf-8")
                    if not buffer.endswith("\n\n"):
                        continue
                    parsed = _parse(buffer)
                    buffer = ""
                    if parsed is None:
                        continue
                    event, event_id, data = parsed
                    if event_id is not None:
                        last_event_id = event_id
                    backoff = 0.1
                    yield parsed
                    if event in FINAL or (event == "snapshot" and isinstance(data, dict) and data.get("state") in FINAL):
                        return
        except (OSError, http.client.HTTPException) as e:
            client._failover(str(e))  # reconnect below, to the next URL when there are several
        finally:
            conn.close()
        time.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)
