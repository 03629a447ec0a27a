/*
 * errand.js: follow an Errand job from the browser. No dependencies.
 *
 *   <div id="import-progress"></div>
 *   <script src="https://errand.example.com/v1/errand.js"></script>
 *   <script>
 *     // jobUrl: "https://errand.example.com/v1/jobs/ID?token=TOKEN" (the token from the enqueue)
 *     Errand.progressBar(document.getElementById("import-progress"), jobUrl);
 *     // or your own rendering:
 *     Errand.watch(jobUrl, {
 *       onProgress: function (p) { console.log(p.percent, p.message); },
 *       onState: function (state, data) { console.log(state); },
 *       onDone: function (data) { console.log(data.state, data.result || data.error); },
 *       onError: function (err) { console.error(err); }
 *     });
 *
 * The page's origin must be allowed with `errand server --cors-origin`; when
 * it is not (or Errand cannot be reached) the bar says so, and onError gets an
 * Error whose message names the origin to allow.
 */
(function (global) {
  "use strict";

  var FINAL_STATES = ["succeeded", "dead", "cancelled"];
  var MAX_RETRIES = 6;

  // ".../v1/jobs/ID?token=T" -> ".../v1/jobs/ID/events?token=T"
  function eventsUrl(jobUrl) {
    var q = jobUrl.indexOf("?");
    var base = q < 0 ? jobUrl : jobUrl.slice(0, q);
    var query = q < 0 ? "" : jobUrl.slice(q);
    base = base.replace(/\/+$/, "");
    if (!/\/events$/.test(base)) base += "/events";
    return base + query;
  }

  function originOf(url) {
    var m = /^(https?:\/\/[^\/?#]+)/i.exec(url);
    return m ? m[1] : url;
  }

  // Why the events of `jobUrl` cannot be read, asked of the job's own URL
  // (an EventSource tells nothing): calls back with {message, final}.
  // `final`: retrying cannot help (a bad token, an unknown job).
  function diagnose(jobUrl, done) {
    var here = global.location ? global.location.origin : "this page";
    var unreachable = {
      message: "cannot reach Errand at " + originOf(jobUrl) + " — is it running, and is this " +
        "page's origin allowed with errand server --cors-origin " + here + "?",
      final: false
    };
    if (typeof global.fetch !== "function") return done(unreachable);
    global.fetch(jobUrl, { headers: { Accept: "application/json" } }).then(function (r) {
      if (r.status === 401 || r.status === 403) {
        done({ message: "Errand refused the job's token (altered or expired)", final: true });
      } else if (r.status === 404) {
        done({ message: "Errand has no such job", final: true });
      } else {
        done({ message: "cannot follow the job at " + jobUrl + " (HTTP " + r.status + ")", final: false });
      }
    }, function () {
      done(unreachable);
    });
  }

  function parse(event) {
    try {
      return JSON.parse(event.data);
    } catch (e) {
      return null;
    }
  }

  // Follows a job until it is finished. Returns {close()}.
  function watch(jobUrl, handlers) {
    handlers = handlers || {};
    var url = eventsUrl(jobUrl);
    var source = null;
    var closed = false;
    var failures = 0;
    var timer = null;
    var reached = false;   // an event came: the stream works from this page
    var reported = false;  // onError was called for the current trouble

    function call(name, a, b) {
      var f = handlers[name];
      if (typeof f !== "function") return;
      try {
        f(a, b);
      } catch (e) {
        setTimeout(function () { throw e; }, 0);
      }
    }

    function close() {
      closed = true;
      clearTimeout(timer);
      if (source) source.close();
    }

    function finish(state, data) {
      if (closed) return;
      close();
      call("onState", state, data);
      call("onDone", data);
    }

    function connect() {
      if (closed) return;
      source = new EventSource(url);
      source.addEventListener("snapshot", function (e) {
        var job = parse(e);
        if (!job) return;
        failures = 0;
        reached = true;
        reported = false;
        if (job.progress) call("onProgress", job.progress, job);
        if (FINAL_STATES.indexOf(job.state) < 0) call("onState", job.state, job);
      });
      source.addEventListener("state", function (e) {
        var data = parse(e);
        if (!data) return;
        failures = 0;
        call("onState", data.state, data);
      });
      source.addEventListener("progress", function (e) {
        var data = parse(e);
        if (data) call("onProgress", data);
      });
      FINAL_STATES.forEach(function (state) {
        source.addEventListener(state, function (e) {
          finish(state, parse(e) || { state: state });
        });
      });
      source.onerror = function () {
        if (closed) return;
        // While CONNECTING the browser reconnects by itself and sends
        // Last-Event-ID, so nothing is missed or repeated. CLOSED means the
        // server refused (bad token, unknown job) or the network failed
        // hard: try again with backoff, then give up.
        if (source.readyState !== EventSource.CLOSED) return;
        failures += 1;
        var retry = function () {
          if (closed) return;
          if (failures > MAX_RETRIES) {
            closed = true;
            if (!reported) call("onError", new Error("cannot follow the job at " + url));
            return;
          }
          timer = setTimeout(connect, Math.min(30000, 1000 * Math.pow(2, failures - 1)));
        };
        // The first failure of a page that never got an event is asked
        // about at once, so the page can say why instead of waiting.
        if (reached || reported) return retry();
        diagnose(jobUrl, function (why) {
          if (closed) return;
          reported = true;
          if (why.final) closed = true;
          call("onError", new Error(why.message));
          retry();
        });
      };
    }

    connect();
    return { close: close };
  }

  var LABELS = { connecting: "Waiting", scheduled: "Waiting", queued: "Waiting",
                 running: "Working", failed: "Retrying", succeeded: "Done", dead: "Failed",
                 cancelled: "Cancelled" };

  function el(tag, className) {
    var node = document.createElement(tag);
    node.className = className;
    return node;
  }

  // Renders an accessible progress bar for the job into `element` and keeps
  // it current. Returns {close()}.
  function progressBar(element, jobUrl, options) {
    options = options || {};
    var bar = el("div", "errand-progress-track");
    bar.setAttribute("role", "progressbar");
    bar.setAttribute("aria-valuemin", "0");
    bar.setAttribute("aria-valuemax", "100");
    bar.setAttribute("aria-label", options.label || "Progress");
    bar.style.cssText = "height:0.75em;background:#e5e7eb;border-radius:0.375em;overflow:hidden";
    var fill = el("div", "errand-progress-fill");
    fill.style.cssText = "height:100%;width:0;background:#2563eb;transition:width 0.2s";
    var message = el("div", "errand-progress-message");
    message.setAttribute("aria-live", "polite");
    bar.appendChild(fill);
    element.innerHTML = "";
    element.appendChild(bar);
    element.appendChild(message);

    var text = "";
    function show(state, percent, msg) {
      if (state) element.setAttribute("data-state", state);
      if (typeof percent === "number") {
        fill.style.width = percent + "%";
        bar.setAttribute("aria-valuenow", String(percent));
      }
      if (typeof msg === "string" && msg) text = msg;
      var label = text || LABELS[state] || "";
      message.textContent = label;
      bar.setAttribute("aria-valuetext", label);
    }

    // "connecting" until the first event arrives; then the job's own state.
    show("connecting", 0, "");
    return watch(jobUrl, {
      onProgress: function (p) { show(null, p.percent, p.message); },
      onDone: function (data) {
        if (data.state === "succeeded") {
          fill.style.background = "#16a34a";
          show("succeeded", 100, text || LABELS.succeeded);
        } else {
          fill.style.background = "#dc2626";
          text = LABELS[data.state] + (data.error ? ": " + data.error : "");
          show(data.state, null, null);
        }
        if (typeof options.onDone === "function") options.onDone(data);
      },
      onState: function (state) {
        if (element.getAttribute("data-state") === "error") {
          text = "";  // reached after all: the error no longer holds
          fill.style.background = "#2563eb";
        }
        show(state, null, null);
      },
      onError: function (err) {
        text = "Cannot show progress: " + err.message;
        fill.style.background = "#dc2626";
        show("error", null, null);
        if (typeof options.onError === "function") options.onError(err);
      }
    });
  }

  global.Errand = { watch: watch, progressBar: progressBar, eventsUrl: eventsUrl };
})(typeof window !== "undefined" ? window : this);
