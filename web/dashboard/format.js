// format.js: formatting of numbers, rate limits, times, durations and JSON for display,
// and the small parsers the pages share (job ids, shell quoting).

// In the order of a job's life: waiting to run (for parents, a time, a worker),
// running or waiting for a signal, then its ends.
export const STATES = ["blocked", "scheduled", "queued", "running", "waiting", "succeeded", "failed", "dead", "cancelled"];
export const FINAL_STATES = ["succeeded", "dead", "cancelled"];

// A job id: 13 characters of Crockford base32, uppercase (26 for jobs made
// before schema version 7).
const JOB_ID = /^[0-7][0-9A-HJKMNP-TV-Z]{12}([0-9A-HJKMNP-TV-Z]{13})?$/;
export function isJobId(text) {
  return JOB_ID.test(text);
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
export function count(n) {
  return typeof n === "number" && Number.isFinite(n) ? integer.format(n) : "—";
}

// Jobs per second: two decimals below 10, one below 100, none above.
export function rate(n) {
  if (typeof n !== "number" || !Number.isFinite(n)) return "—";
  const digits = n < 10 ? 2 : n < 100 ? 1 : 0;
  return n.toFixed(digits) + "/s";
}

// A rate limit {limit, per, burst?} as "100 per 1m" or "100 per 1m, burst 20";
// "—" for none.
export function rateLimit(r) {
  if (!r || typeof r !== "object") return "—";
  const burst = typeof r.burst === "number" ? `, burst ${count(r.burst)}` : "";
  return `${count(r.limit)} per ${r.per || r.period || "?"}${burst}`;
}

// Milliseconds as a short duration: "850 ms", "3.4 s", "2 min 5 s", "3 h 10 min", "2 d 4 h".
export function duration(ms) {
  if (typeof ms !== "number" || !Number.isFinite(ms)) return "—";
  if (ms < 0) ms = 0;
  if (ms < 10) return ms.toFixed(2).replace(/\.?0+$/, "") + " ms";
  if (ms < 1000) return Math.round(ms) + " ms";
  const s = ms / 1000;
  if (s < 60) return s.toFixed(s < 10 ? 1 : 0) + " s";
  const total = Math.floor(s);
  const d = Math.floor(total / 86400), hr = Math.floor((total % 86400) / 3600);
  const min = Math.floor((total % 3600) / 60), sec = total % 60;
  if (d) return `${d} d ${hr} h`;
  if (hr) return `${hr} h ${min} min`;
  return `${min} min ${sec} s`;
}

export function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

const dateTime = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});
// An RFC 3339 time in the browser's time zone, "—" for none.
export function absolute(iso) {
  const t = parseTime(iso);
  return t === null ? "—" : dateTime.format(t);
}

const timeOnly = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const shortDate = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
// Compact: the time alone for today, else with the day.
export function compactTime(iso) {
  const t = parseTime(iso);
  if (t === null) return "—";
  return new Date(t).toDateString() === new Date().toDateString() ? timeOnly.format(t) : shortDate.format(t);
}

// "12 s ago", "in 3 min", "just now".
export function relative(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (t === null) return "—";
  const diff = t - now;
  if (Math.abs(diff) < 1500) return "just now";
  const text = duration(Math.abs(diff)).replace(/ \d+ (s|min|h)$/, "");
  return diff < 0 ? `${text} ago` : `in ${text}`;
}

// Pretty JSON for a <pre>; undefined shows as "null".
export function prettyJson(value) {
  return JSON.stringify(value === undefined ? null : value, null, 2);
}

// Quotes a string for a POSIX shell: 'it'\''s'.
export function shellQuote(text) {
  return "'" + String(text).replace(/'/g, "'\\''") + "'";
}

// "2026-03-30T08:00:00+02:00" -> "2026-03-30 08:00 +02:00" (kept in the schedule's zone).
export function localWallTime(text) {
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})(?::(\d{2}))?(?:\.\d+)?(Z|[+-]\d{2}:\d{2})?$/.exec(text || "");
  if (!m) return text || "—";
  const secs = m[3] && m[3] !== "00" ? ":" + m[3] : "";
  const zone = m[4] === "Z" ? "UTC" : m[4] || "";
  return `${m[1]} ${m[2]}${secs} ${zone}`.trim();
}

// <input type="datetime-local"> value <-> RFC 3339 UTC.
export function localInputToIso(value) {
  if (!value) return "";
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? "" : new Date(t).toISOString();
}
export function isoToLocalInput(iso) {
  const t = parseTime(iso);
  if (t === null) return "";
  const d = new Date(t);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}
