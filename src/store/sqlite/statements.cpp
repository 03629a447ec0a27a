#include "store/sqlite/statements.hpp"

#include "store/common/node_rows.hpp"
#include "store/sqlite/job_rows.hpp"
#include "store/sqlite/schedule_rows.hpp"

#include <fmt/format.h>

#include <string>

namespace errand::store::sqlite {
namespace {

// Timer queries name their index: without statistics the planner would take
// jobs_state_id and sort every waiting job instead of reading the first few.
// Their state predicates repeat the partial indexes' WHERE clauses verbatim,
// which is what lets SQLite use those indexes.
// job_insert of `rows` rows: row r binds parameters r * kJobInsertParams + 1
// to (r + 1) * kJobInsertParams. A new job has no errors: '' (as save_job
// writes an empty list), two bytes fewer than the column's default '[]'.
std::string job_insert_sql(std::size_t rows) {
  std::string sql =
      "INSERT INTO jobs(id, queue, type, payload, state, priority, run_at, created_at, attempt,"
      " errors, max_attempts, timeout_ms, idempotency_key, tags, key, unique_key, debounce_key,"
      " debounce_until, batch_id, links, on_done, traceparent, tracestate) VALUES ";
  for (std::size_t r = 0; r < rows; ++r) {
    const std::size_t p = r * kJobInsertParams;
    sql += fmt::format("{}(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, 0, ''", r == 0 ? "" : ", ",
                       p + 1, p + 2, p + 3, p + 4, p + 5, p + 6, p + 7, p + 8);
    for (std::size_t i = 9; i <= kJobInsertParams; ++i) sql += fmt::format(", ?{}", p + i);
    sql += ')';
  }
  return sql;
}

std::vector<NamedSql> named_sql() {
  const std::string cols{kJobColumns};
  const std::string schedule_cols{kScheduleColumns};
  // The priority of a key's next job: one probe of jobs_ready.
  const std::string head =
      "coalesce((SELECT priority FROM jobs INDEXED BY jobs_ready WHERE state = 1 AND queue = ?1"
      " AND key = ?2 ORDER BY priority DESC LIMIT 1), 0)";
  return {
      {Sql::begin_immediate, "begin_immediate", "BEGIN IMMEDIATE"},
      {Sql::begin_deferred, "begin_deferred", "BEGIN DEFERRED"},
      {Sql::commit, "commit", "COMMIT"},
      {Sql::rollback, "rollback", "ROLLBACK"},
      {Sql::savepoint, "savepoint", "SAVEPOINT op"},
      {Sql::release, "release", "RELEASE op"},
      {Sql::rollback_to, "rollback_to", "ROLLBACK TO op"},
      {Sql::job_insert, "job_insert", job_insert_sql(1)},
      {Sql::job_by_id, "job_by_id", "SELECT " + cols + " FROM jobs WHERE id = ?1"},
      {Sql::job_by_legacy_id, "job_by_legacy_id", "SELECT id FROM jobs WHERE legacy_id = ?1"},
      {Sql::job_by_idempotency_key, "job_by_idempotency_key",
       "SELECT id, legacy_id, state, type, payload FROM jobs"
       " WHERE queue = ?1 AND idempotency_key = ?2"},
      {Sql::job_lease_by_id, "job_lease_by_id",
       "SELECT id, state, lease_id, timeout_ms, cancel_requested, queue, attempt, key, links,"
       " batch_id FROM jobs WHERE id = ?1"},
      {Sql::job_save, "job_save",
       "UPDATE jobs SET state = ?2, run_at = ?3, started_at = ?4, finished_at = ?5, attempt = ?6,"
       " max_attempts = ?7, progress = ?8, result = ?9, errors = ?10, lease_id = ?11,"
       " worker = ?12, lease_expires_at = ?13, cancel_requested = ?14 WHERE rowid = ?1"},
      {Sql::job_set_progress, "job_set_progress", "UPDATE jobs SET progress = ?2 WHERE rowid = ?1"},
      {Sql::job_set_lease, "job_set_lease",
       "UPDATE jobs SET lease_expires_at = ?2 WHERE rowid = ?1"},
      {Sql::job_set_state, "job_set_state", "UPDATE jobs SET state = ?2 WHERE rowid = ?1"},
      {Sql::job_delete, "job_delete",
       "DELETE FROM jobs WHERE id = ?1 RETURNING queue, state, key, links"},
      {Sql::job_log_save, "job_log_save",
       "INSERT OR REPLACE INTO job_logs(job_id, attempt, at, log) VALUES (?1, ?2, ?3, ?4)"},
      {Sql::job_logs, "job_logs",
       "SELECT attempt, at, log FROM job_logs WHERE job_id = ?1 ORDER BY attempt"},
      // The two hot writes touch only the columns they change (no JSON rewritten).
      {Sql::job_claim_lease, "job_claim_lease",
       "UPDATE jobs SET state = 2, attempt = attempt + 1, lease_id = ?2, worker = ?3,"
       " lease_expires_at = ?4, started_at = coalesce(started_at, ?5) WHERE rowid = ?1"},
      {Sql::job_complete_leased, "job_complete_leased",
       "UPDATE jobs SET state = 3, result = ?2, finished_at = ?3, lease_id = NULL,"
       " lease_expires_at = NULL WHERE rowid = ?1"},
      {Sql::jobs_ready, "jobs_ready",
       "SELECT " + cols +
           " FROM jobs INDEXED BY jobs_ready WHERE state = 1 AND queue = ?1 AND key = ''"
           " AND run_at <= ?2 ORDER BY priority DESC, id LIMIT ?3"},
      {Sql::jobs_due, "jobs_due",
       "SELECT id, queue, state, legacy_id, attempt, key FROM jobs INDEXED BY jobs_waiting"
       " WHERE (state = 0 OR state = 4 OR state = 8) AND run_at <= ?1 ORDER BY run_at LIMIT ?2"},
      {Sql::jobs_lease_expired, "jobs_lease_expired",
       "SELECT " + cols +
           " FROM jobs INDEXED BY jobs_running WHERE state = 2 AND lease_expires_at <= ?1"
           " ORDER BY lease_expires_at LIMIT ?2"},
      {Sql::jobs_prune, "jobs_prune",
       "DELETE FROM jobs WHERE rowid IN (SELECT rowid FROM jobs INDEXED BY jobs_finished"
       " WHERE (state = 3 OR state = 5 OR state = 6) AND finished_at < ?1 ORDER BY finished_at "
       "LIMIT ?2)"
       " RETURNING queue, state"},
      {Sql::next_run_at, "next_run_at",
       "SELECT run_at FROM jobs INDEXED BY jobs_waiting WHERE (state = 0 OR state = 4 OR state = 8)"
       " ORDER BY run_at LIMIT 1"},
      {Sql::next_lease_expiry, "next_lease_expiry",
       "SELECT lease_expires_at FROM jobs INDEXED BY jobs_running WHERE state = 2"
       " ORDER BY lease_expires_at LIMIT 1"},
      {Sql::queue_oldest_ready, "queue_oldest_ready",
       "SELECT priority, run_at FROM jobs INDEXED BY jobs_ready WHERE state = 1 AND queue = ?1"
       " AND key = ?3 AND priority < ?2 ORDER BY priority DESC, id LIMIT 1"},
      {Sql::queue_all, "queue_all",
       "SELECT name, paused, processed, failed, n_scheduled, n_queued, n_running, n_succeeded,"
       " n_failed, n_dead, n_cancelled, n_blocked, n_waiting, concurrency, rate_limit, "
       "rate_per_ms, default_priority,"
       " default_max_attempts, default_timeout_ms, push_url, push_timeout_ms, push_concurrency,"
       " push_headers, push_secret, push_secret_prev, push_secret_prev_until, flow"
       " FROM queues ORDER BY name"},
      {Sql::queue_save, "queue_save",
       "INSERT INTO queues(name, paused, processed, failed, n_scheduled, n_queued, n_running,"
       " n_succeeded, n_failed, n_dead, n_cancelled, n_blocked, n_waiting, concurrency,"
       " rate_limit, rate_per_ms, default_priority, default_max_attempts, default_timeout_ms,"
       " push_url, push_timeout_ms, push_concurrency, push_headers, push_secret,"
       " push_secret_prev, push_secret_prev_until, flow)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
       " ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)"
       " ON CONFLICT(name) DO UPDATE SET"
       " paused = excluded.paused, processed = excluded.processed, failed = excluded.failed,"
       " n_scheduled = excluded.n_scheduled, n_queued = excluded.n_queued,"
       " n_running = excluded.n_running, n_succeeded = excluded.n_succeeded,"
       " n_failed = excluded.n_failed, n_dead = excluded.n_dead,"
       " n_cancelled = excluded.n_cancelled, n_blocked = excluded.n_blocked,"
       " n_waiting = excluded.n_waiting, concurrency = excluded.concurrency,"
       " rate_limit = excluded.rate_limit, rate_per_ms = excluded.rate_per_ms,"
       " default_priority = excluded.default_priority,"
       " default_max_attempts = excluded.default_max_attempts,"
       " default_timeout_ms = excluded.default_timeout_ms, push_url = excluded.push_url,"
       " push_timeout_ms = excluded.push_timeout_ms, push_concurrency = excluded.push_concurrency,"
       " push_headers = excluded.push_headers, push_secret = excluded.push_secret,"
       " push_secret_prev = excluded.push_secret_prev,"
       " push_secret_prev_until = excluded.push_secret_prev_until, flow = excluded.flow"},
      {Sql::schedule_by_name, "schedule_by_name", "SELECT " + schedule_cols + " WHERE s.name = ?1"},
      {Sql::schedule_all, "schedule_all", "SELECT " + schedule_cols + " ORDER BY s.name"},
      {Sql::schedule_save, "schedule_save",
       "INSERT OR REPLACE INTO schedules(name, cron, timezone, queue, type, payload, priority,"
       " max_attempts, overlap, paused, catch_up_ms, source, created_at, updated_at,"
       " fired_through, last_fired_at, last_job_id)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"},
      {Sql::schedule_delete, "schedule_delete",
       "DELETE FROM schedules WHERE name = ?1"
       " RETURNING name"},
      {Sql::schedule_fire_insert, "schedule_fire_insert",
       "INSERT INTO schedule_fires(schedule, fire_at, job_id) VALUES (?1, ?2, ?3)"
       " ON CONFLICT DO NOTHING RETURNING fire_at"},
      // Keeps the latest 1000 fire records of a schedule: fired_through, not
      // this table, is what stops older times from firing again.
      {Sql::schedule_fires_trim, "schedule_fires_trim",
       "DELETE FROM schedule_fires WHERE schedule = ?1 AND fire_at < (SELECT fire_at FROM"
       " schedule_fires WHERE schedule = ?1 ORDER BY fire_at DESC LIMIT 1 OFFSET 999)"},
      {Sql::schedule_fires_delete, "schedule_fires_delete",
       "DELETE FROM schedule_fires WHERE schedule = ?1"},
      {Sql::job_push_get, "job_push_get",
       "SELECT continuations, deferrals, state, signal, signal_nonce, signal_status FROM job_push"
       " WHERE job_id = ?1"},
      {Sql::job_push_save, "job_push_save",
       "INSERT OR REPLACE INTO job_push(job_id, continuations, deferrals, state, signal,"
       " signal_nonce, signal_status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
      {Sql::job_push_clear_deferrals, "job_push_clear_deferrals",
       "UPDATE job_push SET deferrals = 0 WHERE job_id = ?1 AND deferrals <> 0"},
      // Workflows (store/sqlite/links.cpp).
      {Sql::job_link_state, "job_link_state",
       "SELECT state, blockers, links, queue, key, run_at, attempt, legacy_id, batch_id FROM jobs"
       " WHERE id = ?1"},
      {Sql::job_set_links, "job_set_links",
       "UPDATE jobs SET links = links | ?2 WHERE id = ?1 AND links & ?2 <> ?2"},
      {Sql::job_set_blocking, "job_set_blocking",
       "UPDATE jobs SET state = ?2, blockers = ?3, links = links | ?4, errors = coalesce(?5,"
       " errors), finished_at = coalesce(?6, finished_at) WHERE id = ?1"},
      {Sql::dep_insert, "dep_insert",
       "INSERT OR IGNORE INTO job_deps(parent, child, counted) VALUES (?1, ?2, ?3)"},
      {Sql::deps_uncounted, "deps_uncounted",
       "UPDATE job_deps SET counted = 1 WHERE parent = ?1 AND counted = 0 RETURNING child"},
      {Sql::deps_parents, "deps_parents",
       "SELECT d.parent, j.legacy_id, j.state, j.result FROM job_deps d JOIN jobs j"
       " ON j.id = d.parent WHERE d.child = ?1 ORDER BY d.parent LIMIT 1000"},
      {Sql::deps_children, "deps_children",
       "SELECT d.child, j.legacy_id FROM job_deps d JOIN jobs j ON j.id = d.child"
       " WHERE d.parent = ?1 ORDER BY d.child LIMIT ?2"},
      {Sql::job_signal_wait, "job_signal_wait",
       "SELECT j.state, j.attempt, j.queue, j.key, j.legacy_id, p.signal_nonce, p.signal_status"
       " FROM jobs j JOIN job_push p ON p.job_id = j.id WHERE j.id = ?1"},
      {Sql::job_signal_save, "job_signal_save",
       "UPDATE job_push SET signal = ?2, signal_status = ?3 WHERE job_id = ?1"},
      {Sql::job_signal_timeout, "job_signal_timeout",
       "UPDATE job_push SET signal = NULL, signal_status = 3 WHERE job_id = ?1"
       " AND signal_status = 1"},
      {Sql::job_resume, "job_resume", "UPDATE jobs SET state = 1, run_at = ?2 WHERE id = ?1"},
      // Batches (store/sqlite/batches.cpp).
      {Sql::batch_insert, "batch_insert",
       "INSERT INTO batches(id, state, created_at, on_success, on_complete, on_death)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
      {Sql::batch_by_id, "batch_by_id",
       "SELECT id, state, created_at, finished_at, total, succeeded, dead, cancelled, on_success,"
       " on_complete, on_death, success_job, complete_job, death_job FROM batches WHERE id = ?1"},
      {Sql::batch_count, "batch_count",
       "UPDATE batches SET total = total + ?2, succeeded = succeeded + ?3, dead = dead + ?4,"
       " cancelled = cancelled + ?5 WHERE id = ?1"},
      {Sql::batch_save, "batch_save",
       "UPDATE batches SET state = ?2, finished_at = ?3, success_job = ?4, complete_job = ?5,"
       " death_job = ?6 WHERE id = ?1"},
      {Sql::jobs_of_batch, "jobs_of_batch",
       "SELECT " + cols +
           " FROM jobs INDEXED BY jobs_batch WHERE batch_id = ?1 AND id < ?2"
           " ORDER BY id DESC LIMIT ?3"},
      {Sql::batches_prune, "batches_prune",
       "DELETE FROM batches WHERE id IN (SELECT id FROM batches INDEXED BY batches_finished"
       " WHERE finished_at IS NOT NULL AND finished_at < ?1 ORDER BY finished_at LIMIT ?2)"},
      // Completion webhooks (store/sqlite/webhooks.cpp).
      {Sql::webhook_enqueue, "webhook_enqueue",
       "INSERT OR REPLACE INTO webhooks(job_id, queue, url, state, attempts, created_at, next_at)"
       " SELECT id, queue, on_done, 0, 0, ?2, ?2 FROM jobs WHERE id = ?1 AND on_done IS NOT NULL"
       " RETURNING queue"},
      {Sql::webhooks_due, "webhooks_due",
       "SELECT w.job_id, w.queue, w.url, w.attempts, w.created_at, j.legacy_id"
       " FROM webhooks w INDEXED BY webhooks_due JOIN jobs j ON j.id = w.job_id"
       " WHERE w.state = 0 AND w.next_at <= ?1 ORDER BY w.next_at LIMIT ?2"},
      {Sql::webhook_lease, "webhook_lease", "UPDATE webhooks SET next_at = ?2 WHERE job_id = ?1"},
      {Sql::webhook_save, "webhook_save",
       "UPDATE webhooks SET state = ?2, attempts = attempts + 1, last_status = ?3,"
       " last_error = ?4, next_at = coalesce(?5, next_at), delivered_at = ?6 WHERE job_id = ?1"},
      {Sql::webhook_by_job, "webhook_by_job",
       "SELECT state, attempts, created_at, next_at, last_status, last_error, delivered_at"
       " FROM webhooks WHERE job_id = ?1"},
      {Sql::setting_put_new, "setting_put_new",
       "INSERT INTO settings(name, value) VALUES (?1, ?2) ON CONFLICT(name) DO NOTHING"},
      {Sql::setting_get, "setting_get", "SELECT value FROM settings WHERE name = ?1"},
      // The write a read-only store tries to find out whether it may write again.
      {Sql::setting_probe, "setting_probe",
       "INSERT INTO settings(name, value) VALUES ('store_probe', ?1)"
       " ON CONFLICT(name) DO UPDATE SET value = excluded.value"},
      {Sql::stats_sample_save, "stats_sample_save",
       "INSERT OR IGNORE INTO stats_samples(at, totals) VALUES (?1, ?2)"},
      {Sql::stats_samples_trim, "stats_samples_trim", "DELETE FROM stats_samples WHERE at <= ?1"},
      {Sql::stats_samples_since, "stats_samples_since",
       "SELECT at, totals FROM stats_samples WHERE at > ?1 ORDER BY at"},
      {Sql::session_put, "session_put",
       "INSERT OR REPLACE INTO sessions(digest, csrf_token, client, expires_at, created_at)"
       " VALUES (?1, ?2, ?3, ?4, ?5)"},
      {Sql::session_get, "session_get",
       "SELECT digest, csrf_token, client, expires_at, created_at FROM sessions"
       " WHERE digest = ?1 AND expires_at > ?2"},
      {Sql::session_delete, "session_delete",
       "DELETE FROM sessions WHERE digest = ?1 RETURNING digest"},
      {Sql::session_list, "session_list",
       "SELECT digest, csrf_token, client, expires_at, created_at FROM sessions"
       " WHERE expires_at > ?1 ORDER BY created_at DESC, digest DESC LIMIT ?2"},
      // ?2 bounds the work of one call (SQLite has no DELETE ... LIMIT).
      {Sql::sessions_drop_expired, "sessions_drop_expired",
       "DELETE FROM sessions WHERE digest IN (SELECT digest FROM sessions"
       " WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2) RETURNING digest"},
      // The oldest ?2 of the sessions past the newest ?1 (in the order of
      // sessions_created, which holds the digest too: no sort).
      {Sql::sessions_drop_oldest, "sessions_drop_oldest",
       "DELETE FROM sessions WHERE digest IN (SELECT digest FROM sessions"
       " ORDER BY created_at, digest"
       " LIMIT max(0, min(?2, (SELECT count(*) FROM sessions) - ?1))) RETURNING digest"},
      {Sql::node_save, "node_save",
       "INSERT INTO nodes(id, name, address, version, store, started_at, last_seen,"
       " waiting_claims, event_streams, workers_connected)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT(id) DO UPDATE SET"
       " name = excluded.name, address = excluded.address, version = excluded.version,"
       " store = excluded.store, started_at = excluded.started_at,"
       " last_seen = excluded.last_seen, waiting_claims = excluded.waiting_claims,"
       " event_streams = excluded.event_streams, workers_connected = excluded.workers_connected"},
      {Sql::node_stop, "node_stop",
       "UPDATE nodes SET stopped_at = ?2, last_seen = ?2 WHERE id = ?1 RETURNING id"},
      {Sql::nodes_forget, "nodes_forget", "DELETE FROM nodes WHERE last_seen < ?1"},
      {Sql::node_all, "node_all", fmt::format("SELECT {} FROM nodes", kNodeColumns)},
      // Deduplication (unique) and debounce at enqueue (store/sqlite/insert.cpp).
      {Sql::job_by_unique_key, "job_by_unique_key",
       "SELECT id, legacy_id, state FROM jobs INDEXED BY jobs_unique WHERE queue = ?1"
       " AND unique_key = ?2 AND ((1 << state) & ?3) <> 0 AND created_at >= ?4"
       " ORDER BY id DESC LIMIT 1"},
      {Sql::job_by_debounce_key, "job_by_debounce_key",
       "SELECT id, legacy_id, state, debounce_until FROM jobs INDEXED BY jobs_debounce"
       " WHERE queue = ?1 AND debounce_key = ?2 AND state = 0 ORDER BY id DESC LIMIT 1"},
      {Sql::job_replace, "job_replace",
       "UPDATE jobs SET payload = ?2, run_at = ?3, priority = coalesce(?4, priority), state = ?5"
       " WHERE rowid = ?1 RETURNING key"},
      // Flow control (store/common/keys.hpp, store/sqlite/keys.cpp).
      {Sql::jobs_key_ready, "jobs_key_ready",
       "SELECT " + cols +
           " FROM jobs INDEXED BY jobs_ready WHERE state = 1 AND queue = ?1 AND key = ?2"
           " AND run_at <= ?3 ORDER BY priority DESC, id LIMIT ?4"},
      // ?3 queued, ?4 running, ?5 pass added, ?6 clock (key ''). A key that
      // gains queued jobs after none starts its turns at the queue's clock.
      {Sql::key_move, "key_move",
       "INSERT INTO queue_keys AS k(queue, key, n_queued, n_running, head_priority, pass, clock)"
       " VALUES (?1, ?2, ?3, ?4, " +
           head +
           ", ?5 + CASE WHEN ?3 > 0 THEN coalesce((SELECT clock FROM"
           " queue_keys WHERE queue = ?1 AND key = ''), 0) ELSE 0 END, coalesce(?6, 0))"
           " ON CONFLICT(queue, key) DO UPDATE SET"
           " pass = CASE WHEN k.n_queued <= 0 AND ?3 > 0 THEN max(k.pass, coalesce((SELECT clock"
           " FROM queue_keys WHERE queue = ?1 AND key = ''), 0)) ELSE k.pass END + ?5,"
           " n_queued = k.n_queued + ?3, n_running = k.n_running + ?4,"
           " clock = max(k.clock, coalesce(?6, 0)), head_priority = " +
           head + " RETURNING n_queued, n_running, overridden, bucket_at"},
      {Sql::key_drop_idle, "key_drop_idle",
       "DELETE FROM queue_keys WHERE queue = ?1 AND key = ?2 AND key <> '' AND n_queued <= 0"
       " AND n_running <= 0 AND overridden = 0 AND bucket_at IS NULL"},
      {Sql::keys_ready, "keys_ready",
       "SELECT key, n_queued, n_running, head_priority, pass, concurrency, rate_limit, paused,"
       " weight, bucket_tokens, bucket_at, throttled_until, overridden"
       " FROM queue_keys INDEXED BY queue_keys_ready"
       " WHERE n_queued > 0 AND queue = ?1 AND paused = 0 AND n_running < coalesce(concurrency, ?2)"
       " AND (throttled_until IS NULL OR throttled_until <= ?3)"
       " ORDER BY head_priority DESC, pass, key LIMIT ?4"},
      {Sql::key_by_name, "key_by_name",
       "SELECT key, n_queued, n_running, head_priority, pass, concurrency, rate_limit, paused,"
       " weight, bucket_tokens, bucket_at, throttled_until, overridden, clock"
       " FROM queue_keys WHERE queue = ?1 AND key = ?2"},
      {Sql::key_save_bucket, "key_save_bucket",
       "UPDATE queue_keys SET bucket_tokens = ?3, bucket_at = ?4, throttled_until = ?5"
       " WHERE queue = ?1 AND key = ?2"},
      {Sql::key_put, "key_put",
       "INSERT INTO queue_keys AS k(queue, key, overridden, concurrency, rate_limit, paused, "
       "weight)"
       " VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)"
       " ON CONFLICT(queue, key) DO UPDATE SET overridden = 1, concurrency = ?3,"
       " rate_limit = ?4, paused = ?5, weight = ?6,"
       " bucket_tokens = CASE WHEN k.rate_limit IS ?4 THEN k.bucket_tokens END,"
       " bucket_at = CASE WHEN k.rate_limit IS ?4 THEN k.bucket_at END,"
       " throttled_until = CASE WHEN k.rate_limit IS ?4 THEN k.throttled_until END"},
      {Sql::key_clear, "key_clear",
       "UPDATE queue_keys SET overridden = 0, concurrency = NULL, rate_limit = NULL, paused = 0,"
       " weight = NULL WHERE queue = ?1 AND key = ?2 AND overridden = 1"},
      {Sql::keys_by_name, "keys_by_name",
       "SELECT key, n_queued, n_running, head_priority, pass, concurrency, rate_limit, paused,"
       " weight, bucket_tokens, bucket_at, throttled_until, overridden"
       " FROM queue_keys WHERE queue = ?1 AND key > ?2 ORDER BY key LIMIT ?3"},
      // The dashboard's top keys: sorts the queue's keys (one row per key
      // with jobs or settings), at most a page of them kept.
      {Sql::keys_busiest, "keys_busiest",
       "SELECT key, n_queued, n_running, head_priority, pass, concurrency, rate_limit, paused,"
       " weight, bucket_tokens, bucket_at, throttled_until, overridden"
       " FROM queue_keys WHERE queue = ?1 AND key <> ''"
       " ORDER BY n_running + n_queued DESC, key LIMIT ?2"},
      {Sql::keys_throttled, "keys_throttled",
       "SELECT queue, key FROM queue_keys INDEXED BY queue_keys_throttled"
       " WHERE throttled_until IS NOT NULL AND throttled_until <= ?1"},
      {Sql::key_unthrottle, "key_unthrottle",
       "UPDATE queue_keys SET throttled_until = NULL WHERE queue = ?1 AND key = ?2"
       " RETURNING n_queued"},
      {Sql::next_key_refill, "next_key_refill",
       "SELECT throttled_until FROM queue_keys INDEXED BY queue_keys_throttled"
       " WHERE throttled_until IS NOT NULL ORDER BY throttled_until LIMIT 1"},
      // A bucket is full again a period after its last claim (at most a day).
      {Sql::keys_forget, "keys_forget",
       "DELETE FROM queue_keys WHERE key <> '' AND n_queued <= 0 AND n_running <= 0"
       " AND overridden = 0 AND bucket_at < ?1"},
  };
}

// The type filter repeats `type <> ''` so the planner may use the partial
// index jobs_type_id. Every variant mentions ?7 and ?8 so ?1..?8 can always
// be bound. The tag and text filters are not in the WHERE clause but a last
// column (kJobListHit) that job_list tests: the rows the other filters leave
// are read in id order, and a search stops after its budget of them.
std::string job_list_sql(unsigned filters) {
  const bool search = (filters & (kByTag | kByText)) != 0;
  std::string hit = (filters & kByTag)
                        ? "EXISTS (SELECT 1 FROM json_each(nullif(jobs.tags, '')) WHERE value = ?7)"
                        : "?7 IS NOT NULL";
  hit += (filters & kByText) ? " AND instr(payload, ?8) > 0" : " AND ?8 IS NOT NULL";
  // Running jobs are not in jobs_state_id: they are read through
  // jobs_running and sorted (there are at most as many as workers run).
  const bool running = (filters & kByState) && (filters & kRunning);
  std::string sql =
      fmt::format("SELECT {}, {} FROM jobs{} WHERE id < ?4 AND id >= ?6", kJobColumns,
                  search ? hit : std::string("1"), running ? " INDEXED BY jobs_running" : "");
  if (filters & kByQueue) sql += " AND queue = ?1";
  if (filters & kByState) sql += running ? " AND state = 2" : " AND state = ?2 AND state <> 2";
  if (filters & kByType) sql += " AND type = ?3 AND type <> ''";
  sql += (filters & kByKey) ? " AND key = ?9 AND key <> ''" : " AND ?9 IS NOT NULL";
  if (!search) sql += " AND ?7 IS NOT NULL AND ?8 IS NOT NULL";
  return sql + " ORDER BY id DESC LIMIT ?5";
}

}  // namespace

std::vector<NamedSql> Statements::all_sql() {
  auto all = named_sql();
  for (unsigned filters = 0; filters < kJobListVariants; ++filters) {
    all.push_back({Sql::count_, "job_list", job_list_sql(filters)});
  }
  for (std::size_t rows = 2; rows <= kJobInsertRowsMax; rows *= 2) {
    all.push_back({Sql::count_, "job_insert_rows", job_insert_sql(rows)});
  }
  return all;
}

core::Result<std::unique_ptr<Statements>> Statements::prepare(Db& db) {
  auto out = std::make_unique<Statements>();
  for (auto& named : named_sql()) {
    auto stmt = db.prepare(named.sql, named.label);
    if (!stmt) return stmt.error();
    (*out)[named.name] = Stmt(db, *stmt, named.label);
  }
  for (unsigned filters = 0; filters < kJobListVariants; ++filters) {
    auto stmt = db.prepare(job_list_sql(filters), "job_list");
    if (!stmt) return stmt.error();
    out->job_list_[filters] = Stmt(db, *stmt, "job_list");
  }
  for (std::size_t rows = 2, i = 1; rows <= kJobInsertRowsMax; rows *= 2, ++i) {
    auto stmt = db.prepare(job_insert_sql(rows), "job_insert_rows");
    if (!stmt) return stmt.error();
    out->job_insert_rows_[i] = Stmt(db, *stmt, "job_insert_rows");
  }
  return out;
}

Stmt& Statements::job_insert_rows(std::size_t rows) {
  if (rows == 1) return (*this)[Sql::job_insert];
  return job_insert_rows_[std::bit_width(rows) - 1];
}

}  // namespace errand::store::sqlite
