"""errand: Errand's HTTP API for Python, standard library only (Python 3.9+).

    from errand import Client
    client = Client("http://127.0.0.1:8740", key=None)
    job = client.enqueue("emails", {"to": "ada@example.com"}, delay="10s")
"""

from .client import Client, ErrandError
from .push import handle_push, verify_signature
from .worker import NoRetry, RetryLater, RunningJob, Worker

__all__ = ["Client", "ErrandError", "Worker", "RunningJob", "NoRetry", "RetryLater",
           "verify_signature", "handle_push"]
