"""The command `errand work` runs in test_work.py: does what its payload says.

Payload fields (all optional): "pid_file" (write our pid there first),
"ignore_term" (ignore SIGTERM), "log" (lines to print), "progress" ([percent,
message]), "wait_for" (a path: wait until it exists), "sleep" (seconds),
"succeed_on_attempt" (exit 1 with "transient failure" on stderr before this
attempt), "no_retry", "stderr" (a line for stderr), "result" (printed as
::result), "echo_env" (the ERRAND_* environment and payload as the result),
"exit" (the exit code, default 0), "steps" (continue with state {"step": n+1}
and a 1s delay until step n reaches it, then the result {"steps": n, "parents"}),
"wait_signal" (a timeout: on the first run wait for a signal, then the result
{"signal": <ERRAND_SIGNAL>}).
"""

import json
import os
import signal
import sys
import time

ENV = ("ERRAND_JOB_ID", "ERRAND_QUEUE", "ERRAND_JOB_TYPE", "ERRAND_ATTEMPT", "ERRAND_URL",
       "ERRAND_LEASE_ID")


def main():
    p = json.load(sys.stdin)
    if p.get("pid_file"):
        with open(p["pid_file"] + ".tmp", "w") as f:
            f.write(str(os.getpid()))
        os.replace(p["pid_file"] + ".tmp", p["pid_file"])
    if p.get("ignore_term"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for line in p.get("log", []):
        print(line, flush=True)
    if "progress" in p:
        print(f"::progress {p['progress'][0]} {p['progress'][1]}", flush=True)
    if "wait_for" in p:
        while not os.path.exists(p["wait_for"]):
            time.sleep(0.01)
    if "sleep" in p:
        time.sleep(p["sleep"])
    if int(os.environ["ERRAND_ATTEMPT"]) < p.get("succeed_on_attempt", 0):
        print("transient failure", file=sys.stderr, flush=True)
        return 1
    if p.get("no_retry"):
        print("::no-retry", flush=True)
    if "stderr" in p:
        print(p["stderr"], file=sys.stderr, flush=True)
    if "result" in p:
        print("::result " + json.dumps(p["result"]), flush=True)
    if "steps" in p:
        state = json.loads(os.environ.get("ERRAND_STATE", "null")) or {"step": 0}
        if state["step"] < p["steps"]:
            print("::continue " + json.dumps({"state": {"step": state["step"] + 1}, "delay": "1s"}),
                  flush=True)
        else:
            print("::result " + json.dumps({
                "steps": state["step"], "continuation": os.environ.get("ERRAND_CONTINUATION"),
                "parents": json.loads(os.environ.get("ERRAND_PARENTS", "[]"))}), flush=True)
    if "wait_signal" in p:
        if "ERRAND_SIGNAL" not in os.environ:
            print("::wait-signal " + json.dumps({"state": "asked", "timeout": p["wait_signal"]}),
                  flush=True)
        else:
            print("::result " + json.dumps({"signal": json.loads(os.environ["ERRAND_SIGNAL"]),
                                            "state": json.loads(os.environ["ERRAND_STATE"])}),
                  flush=True)
    if p.get("echo_env"):
        env = {k: os.environ.get(k) for k in ENV}
        print("::result " + json.dumps({"env": env, "payload": p}), flush=True)
    return p.get("exit", 0)


if __name__ == "__main__":
    sys.exit(main())
