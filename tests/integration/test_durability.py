"""Nothing acknowledged is lost (DESIGN.md, "Principles"): a 202 for an enqueue
or a 200 for a complete is sent only once the change is fsync'd, so it
survives `kill -9` of the server at any moment.

Each round writes from several connections at once, kills the server with
SIGKILL while requests are in flight, restarts it on the same data directory
and checks every acknowledged change is there.
"""

import random
import threading
import time
import unittest

from harness import ErrandServer, ErrandTestCase, log, poll_until

ROUNDS = 3
WRITERS = 8
QUEUE = "durable"


class Writers:
    """Threads that each send requests on a connection of their own until an
    error (the server died) or `stop`; the acknowledged ones are recorded."""

    def __init__(self, server, count, step):
        self.server = server
        self.step = step
        self.lock = threading.Lock()
        self.acked = []      # whatever step() returns for acknowledged requests
        self.refused = []    # non-success statuses seen (e.g. 503 while stopping)
        self.stop = threading.Event()
        self.error = None
        self.threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(count)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def _run(self, index):
        conn = self.server.connection(timeout=20)
        n = 0
        try:
            while not self.stop.is_set():
                ok, value = self.step(conn, index, n)
                n += 1
                with self.lock:
                    (self.acked if ok else self.refused).append(value)
        except Exception as e:  # connection refused/reset once the server is gone
            self.error = e
        finally:
            conn.close()

    def count(self):
        with self.lock:
            return len(self.acked)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(30)
            assert not t.is_alive(), "a writer is stuck"


def enqueue_step(round_no):
    def step(conn, index, n):
        if index == 0:
            # One writer uses batches, which are all-or-nothing and durable too.
            jobs = [{"queue": QUEUE, "payload": {"r": round_no, "w": index, "n": n, "k": k}} for k in range(5)]
            r = conn.request("POST", "/v1/jobs/batch", {"jobs": jobs}, retry=False)
            if r.status == 202:
                return True, [(j["id"], jobs[k]["payload"]) for k, j in enumerate(r.body["jobs"])]
            return False, (r.status, r.body)
        payload = {"r": round_no, "w": index, "n": n}
        r = conn.request("POST", "/v1/jobs", {"queue": QUEUE, "payload": payload}, retry=False)
        if r.status == 202:
            return True, [(r.body["id"], payload)]
        return False, (r.status, r.body)

    return step


def complete_step(conn, index, n):
    r = conn.request("POST", "/v1/claim", {"queues": [QUEUE], "worker": f"w{index}", "max": 3, "lease": "10m"},
                     retry=False)
    if r.status != 200:
        return False, (r.status, r.body)
    done = []
    for job in r.body["jobs"]:
        result = {"by": index, "n": n, "id": job["id"]}
        c = conn.request("POST", f"/v1/jobs/{job['id']}/complete", {"lease_id": job["lease_id"], "result": result},
                         retry=False)
        if c.status == 200:
            done.append((job["id"], result))
    return True, done


class DurabilityTest(ErrandTestCase):
    def test_acknowledged_enqueues_and_completes_survive_kill9(self):
        server = ErrandServer()
        self.addCleanup(server.cleanup)
        server.start()
        enqueued = {}   # id -> payload, every job that got 202
        completed = {}  # id -> result, every complete that got 200
        for round_no in range(ROUNDS):
            # -- enqueue from WRITERS connections, kill -9 mid-stream ------------
            target = 150 + random.randrange(100)
            writers = Writers(server, WRITERS, enqueue_step(round_no)).start()
            t0 = time.monotonic()
            poll_until(lambda: writers.count() >= target, 60, message=f"{target} acknowledged enqueues")
            server.kill9()
            writers.join()
            got = [pair for batch in writers.acked for pair in batch]
            log(f"round {round_no}: {len(got)} enqueues acknowledged in {time.monotonic() - t0:.2f}s "
                f"before kill -9; refused: {writers.refused[:3]}")
            for jid, payload in got:
                self.assertNotIn(jid, enqueued, "an id was handed out twice")
                enqueued[jid] = payload
            server.start()
            self.check_enqueued(server, enqueued, round_no)
            self.check_completed(server, completed, round_no)

            # -- claim + complete from several connections, kill -9 mid-stream ---
            target = 40 + random.randrange(40)
            workers = Writers(server, 4, complete_step).start()
            poll_until(lambda: sum(len(b) for b in list(workers.acked)) >= target, 60,
                       message=f"{target} acknowledged completes")
            server.kill9()
            workers.join()
            done = [pair for batch in workers.acked for pair in batch]
            log(f"round {round_no}: {len(done)} completes acknowledged before kill -9")
            for jid, result in done:
                # (A claimed job may be one whose enqueue was committed but never answered.)
                self.assertNotIn(jid, completed, "a job was completed twice")
                completed[jid] = result
            server.start()
            self.check_completed(server, completed, round_no)
            self.check_enqueued(server, enqueued, round_no)
        self.assertEqual(server.stop(), 0)

    def check_enqueued(self, server, enqueued, round_no):
        listed = server.list_all(queue=QUEUE)
        ids = [j["id"] for j in listed]
        self.assertEqual(len(ids), len(set(ids)), "a job is listed twice")
        by_id = {j["id"]: j for j in listed}
        missing = [jid for jid in enqueued if jid not in by_id]
        self.assertEqual(missing, [], f"round {round_no}: {len(missing)} of {len(enqueued)} acknowledged "
                                      f"enqueues lost after kill -9")
        for jid, payload in enqueued.items():
            self.assertEqual(by_id[jid]["payload"], payload, jid)

    def check_completed(self, server, completed, round_no):
        for jid, result in completed.items():
            job = server.get_job(jid)
            self.assertEqual(job["state"], "succeeded",
                             f"round {round_no}: job {jid} was completed (200) but is {job['state']} after kill -9")
            self.assertEqual(job["result"], result, jid)

    def test_graceful_restart_keeps_everything(self):
        with ErrandServer() as server:
            ids = [j["id"] for j in server.enqueue_batch([{"queue": QUEUE, "payload": i} for i in range(20)])]
            done = server.claim(QUEUE, max=5)
            for j in done[:3]:
                server.complete(j, result=j["id"])
            server.fail(done[3], retry=False, error="no")
            self.assertEqual(server.stop(), 0)
            server.start()
            states = {j["id"]: j["state"] for j in server.list_all(queue=QUEUE)}
            self.assertEqual(set(states), set(ids))
            self.assertEqual(sum(1 for s in states.values() if s == "succeeded"), 3)
            self.assertEqual(states[done[3]["id"]], "dead")
            self.assertEqual(states[done[4]["id"]], "running")
            self.assertEqual(sum(1 for s in states.values() if s == "queued"), 15)
            for j in done[:3]:
                self.assertEqual(server.get_job(j["id"])["result"], j["id"])
            # The running job's lease survived the restart: its worker can still finish it.
            server.complete(done[4], result="after restart")
            self.assertEqual(server.get_job(done[4]["id"])["state"], "succeeded")


if __name__ == "__main__":
    unittest.main()
