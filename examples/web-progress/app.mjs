// A tiny web app that hands a slow import to Errand and shows its users a
// live progress bar. Node 20, standard library only.
//
//   export ERRAND_KEYS="producer:demo-producer-secret,worker:demo-worker-secret"
//   errand server --cors-origin http://localhost:3000                               # terminal 1
//   ERRAND_KEY=demo-worker-secret errand work imports -- examples/shell/import.sh   # terminal 2
//   ERRAND_KEY=demo-producer-secret node examples/web-progress/app.mjs              # terminal 3
//   open http://localhost:3000 and click "Import"
//
// Environment:
//   ERRAND_URL         where this app reaches Errand (default http://127.0.0.1:8740);
//                      several servers sharing one database: URL1,URL2,...
//   ERRAND_PUBLIC_URL  where the browser reaches Errand (default: ERRAND_URL's first)
//   ERRAND_KEY         a producer key (a server with --cors-origin needs keys)
//   PORT, HOST         where this app listens (default 3000 on 127.0.0.1; PORT=0 picks one)
//
// The browser never sees an API key: the app enqueues the job and hands the
// page the job's URL with its read token, which lets the page read that one
// job (state, progress, result) and nothing else.
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { readFileSync } from "node:fs";

const errandUrls = (process.env.ERRAND_URL || "http://127.0.0.1:8740").split(",").map((u) => u.trim().replace(/\/+$/, ""));
const publicUrl = (process.env.ERRAND_PUBLIC_URL || errandUrls[0]).replace(/\/+$/, "");
const errandKey = process.env.ERRAND_KEY || "";
const page = readFileSync(new URL("./index.html", import.meta.url), "utf8")
  .replaceAll("{{ERRAND_PUBLIC_URL}}", publicUrl);

// Enqueues the import and returns what the page needs to follow it. With
// several servers, one that cannot be reached or answers 503 passes the job
// on to the next: its idempotency key makes sending it twice safe.
async function startImport(rows) {
  const job = { queue: "imports", type: "import", payload: { rows }, idempotency_key: randomUUID() };
  let failure;
  for (const url of errandUrls) {
    let response;
    try {
      response = await fetch(`${url}/v1/jobs`, {
        method: "POST",
        headers: {
          "Content-Type": "application/json",
          ...(errandKey ? { Authorization: `Bearer ${errandKey}` } : {}),
        },
        body: JSON.stringify(job),
      });
    } catch (e) {
      failure = new Error(`cannot reach Errand at ${url}: ${e.cause?.message ?? e.message}`);
      continue;
    }
    const body = await response.json();
    failure = new Error(`Errand at ${url} answered ${response.status}: ${body.error?.message}`);
    if (response.status === 503) continue;
    if (!response.ok) throw failure;
    return { id: body.id, jobUrl: `${publicUrl}/v1/jobs/${body.id}?token=${encodeURIComponent(body.token)}` };
  }
  throw failure;
}

function send(res, status, type, body) {
  res.writeHead(status, { "Content-Type": type, "Cache-Control": "no-store" });
  res.end(body);
}

async function readJson(req) {
  let text = "";
  for await (const chunk of req) {
    text += chunk;
    if (text.length > 10000) throw new Error("request body too large");
  }
  return text ? JSON.parse(text) : {};
}

const server = createServer(async (req, res) => {
  try {
    if (req.method === "GET" && req.url === "/") return send(res, 200, "text/html; charset=utf-8", page);
    if (req.method === "POST" && req.url === "/import") {
      const { rows = 20 } = await readJson(req);
      if (!Number.isInteger(rows) || rows < 1 || rows > 1000) {
        return send(res, 400, "application/json", JSON.stringify({ error: "rows must be 1 … 1000" }));
      }
      return send(res, 200, "application/json", JSON.stringify(await startImport(rows)));
    }
    send(res, 404, "text/plain", "not found\n");
  } catch (err) {
    send(res, 502, "application/json", JSON.stringify({ error: String(err.message || err) }));
  }
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST || "127.0.0.1", () => {
  const { address, port } = server.address();
  // The address to open is the page's origin, which Errand must allow: say
  // both the same way (localhost, as the README does, for a loopback host).
  const host = ["127.0.0.1", "::1", "localhost"].includes(address) ? "localhost" : address;
  const origin = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  console.log(`web-progress listening on ${origin} (Errand at ${errandUrls.join(", ")})`);
  console.log(`open ${origin}; Errand must allow that origin: errand server --cors-origin ${origin}`);
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
