// The named statements of the SQLite store, prepared once at open and reused
// for the life of the connection (no SQL is built per call). The names are
// the same in every backend. Owned by the writer; not thread-safe.
#pragma once

#include "store/sqlite/db.hpp"

#include <array>
#include <bit>
#include <memory>
#include <string>
#include <vector>

namespace errand::store::sqlite {

enum class Sql {
  begin_immediate,
  begin_deferred,
  commit,
  rollback,
  savepoint,
  release,
  rollback_to,
  job_insert,
  job_by_id,
  job_by_legacy_id,
  job_by_idempotency_key,
  job_lease_by_id,
  job_save,
  job_set_progress,
  job_set_lease,
  job_set_state,
  job_delete,
  job_log_save,
  job_logs,
  job_claim_lease,
  job_complete_leased,
  jobs_ready,
  jobs_due,
  jobs_lease_expired,
  jobs_prune,
  next_run_at,
  next_lease_expiry,
  queue_all,
  queue_oldest_ready,
  queue_save,
  schedule_by_name,
  schedule_all,
  schedule_save,
  schedule_delete,
  schedule_fire_insert,
  schedule_fires_trim,
  schedule_fires_delete,
  job_push_get,
  job_push_save,
  job_push_clear_deferrals,
  setting_put_new,
  setting_get,
  stats_sample_save,
  stats_samples_trim,
  stats_samples_since,
  session_put,
  session_get,
  session_delete,
  session_list,
  setting_probe,
  sessions_drop_expired,
  sessions_drop_oldest,
  node_save,
  node_stop,
  nodes_forget,
  node_all,
  jobs_key_ready,
  job_by_unique_key,
  job_by_debounce_key,
  job_replace,
  key_move,
  key_drop_idle,
  keys_ready,
  key_by_name,
  key_save_bucket,
  key_put,
  key_clear,
  keys_by_name,
  keys_busiest,
  keys_throttled,
  key_unthrottle,
  next_key_refill,
  keys_forget,
  job_link_state,
  job_set_links,
  job_set_blocking,
  dep_insert,
  deps_uncounted,
  deps_parents,
  deps_children,
  job_signal_wait,
  job_signal_save,
  job_signal_timeout,
  job_resume,
  batch_insert,
  batch_by_id,
  batch_count,
  batch_save,
  jobs_of_batch,
  batches_prune,
  webhook_enqueue,
  webhooks_due,
  webhook_lease,
  webhook_save,
  webhook_by_job,
  count_,
};

// job_list variants: one statement per combination of optional filters.
enum JobListFilter : unsigned {
  kByQueue = 1,
  kByState = 2,
  kByType = 4,
  kByTag = 8,
  kByText = 16,
  kRunning = 32,  // with kByState: the state is running
  kByKey = 64,
  kJobListVariants = 128
};

// job_insert binds this many parameters a row. Statements of 2, 4, ... up
// to kJobInsertRowsMax rows (a power of two) write the rows of a batch with
// one statement each: a statement's own cost (its cursors on the table and
// each index, its end) is most of a one-row insert's.
inline constexpr std::size_t kJobInsertParams = 21;
inline constexpr std::size_t kJobInsertRowsMax = 32;

// A statement's name and SQL text, for preparing and for plan checks in tests.
struct NamedSql {
  Sql name;
  const char* label;
  std::string sql;
};

class Statements {
 public:
  static core::Result<std::unique_ptr<Statements>> prepare(Db& db);
  // Every statement this store prepares, job_list variants included.
  static std::vector<NamedSql> all_sql();

  Stmt& operator[](Sql name) { return named_[static_cast<std::size_t>(name)]; }
  // Parameters: ?1 queue, ?2 state, ?3 type, ?4 highest id (exclusive),
  // ?5 limit, ?6 lowest id (inclusive), ?7 tag, ?8 text, ?9 key.
  Stmt& job_list(unsigned filters) { return job_list_[filters % kJobListVariants]; }
  // job_insert of `rows` rows: a power of two, at most kJobInsertRowsMax.
  Stmt& job_insert_rows(std::size_t rows);

 private:
  std::array<Stmt, static_cast<std::size_t>(Sql::count_)> named_;
  std::array<Stmt, kJobListVariants> job_list_;
  std::array<Stmt, std::bit_width(kJobInsertRowsMax)> job_insert_rows_;  // [log2 rows]
};

}  // namespace errand::store::sqlite
