// Errors the client throws. An answer of the server that is an error
// ({"error": {"code", "message", "field"?}}) becomes an ErrandError with its
// code, HTTP status and field; a server that cannot be reached is an
// ErrandError with code "unavailable" and status 0.

export class ErrandError extends Error {
  constructor(message, { code = "internal", status = 0, field = undefined, cause = undefined } = {}) {
    super(message, cause ? { cause } : undefined);
    this.name = "ErrandError";
    this.code = code;
    this.status = status;
    this.field = field;
  }
}

// Thrown by a worker's handler (or a push step function): the job fails for
// good, with no retry.
export class NoRetry extends Error {
  constructor(message) {
    super(message);
    this.name = "NoRetry";
  }
}

// Thrown by a handler to retry after a given time instead of the server's
// backoff: `new RetryLater("rate limited", "30s")`.
export class RetryLater extends Error {
  constructor(message, retryIn) {
    super(message);
    this.name = "RetryLater";
    this.retryIn = retryIn;
  }
}
