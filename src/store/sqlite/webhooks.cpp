// Completion webhooks (store/store.hpp "completion webhooks") on SQLite: one
// row per job whose end is to be told, due at next_at while pending.
#include "core/id.hpp"
#include "core/push.hpp"
#include "store/sqlite/ops.hpp"

namespace errand::store::sqlite::ops {
namespace {

enum class WebhookState { pending = 0, delivered = 1, failed = 2 };

std::string_view state_name(std::int64_t s) {
  return s == 1 ? "delivered" : s == 2 ? "failed" : "pending";
}

}  // namespace

core::Result<void> webhook_job_ended(OpContext& c, std::int64_t rowid, core::TimePoint now) {
  Query q(c.sql[Sql::webhook_enqueue]);
  q.bind_int(1, rowid).bind_time(2, now);
  auto row = q.step();
  if (!row) return row.error();
  if (!*row) return {};
  const std::string queue(q.text_at(0));
  if (auto done = q.run(); !done) return done;
  QueueRow& row_of_queue = c.queues.edit(queue);  // written at commit
  if (row_of_queue.secrets.current.empty()) row_of_queue.secrets.current = core::make_push_secret();
  return {};
}

core::Result<std::vector<WebhookDelivery>> webhook_claim(OpContext& c,
                                                         const WebhookClaimParams& p) {
  std::vector<WebhookDelivery> out;
  {
    Query q(c.sql[Sql::webhooks_due]);
    q.bind_time(1, p.now).bind_int(2, static_cast<std::int64_t>(p.max));
    for (;;) {
      auto row = q.step();
      if (!row) return row.error();
      if (!*row) break;
      out.push_back({.job_id = public_id(q, 0, 5),
                     .queue = std::string(q.text_at(1)),
                     .url = std::string(q.text_at(2)),
                     .attempts = static_cast<int>(q.int_at(3)),
                     .created_at = q.time_at(4)});
    }
  }
  for (const auto& d : out) {
    auto rowid = find_rowid(c.sql, d.job_id);
    if (!rowid) return rowid.error();
    Query q(c.sql[Sql::webhook_lease]);
    q.bind_int(1, *rowid).bind_time(2, p.now + p.lease);
    if (auto done = q.run(); !done) return done.error();
  }
  return out;
}

core::Result<Unit> webhook_result(OpContext& c, const WebhookResultParams& p) {
  auto rowid = find_rowid(c.sql, p.job_id);
  if (!rowid) return rowid.error();
  const auto state = p.delivered  ? WebhookState::delivered
                     : p.retry_at ? WebhookState::pending
                                  : WebhookState::failed;
  Query q(c.sql[Sql::webhook_save]);
  q.bind_int(1, *rowid).bind_int(2, static_cast<int>(state));
  if (p.status) {
    q.bind_int(3, p.status);
  } else {
    q.bind_null(3);
  }
  q.bind_text_or_null(4, p.error).bind_opt_time(5, p.retry_at);
  q.bind_opt_time(6, p.delivered ? std::optional(p.now) : std::nullopt);
  if (auto done = q.run(); !done) return done.error();
  return Unit{};
}

core::Result<void> load_webhook(Statements& sql, JobRow& row) {
  Query q(sql[Sql::webhook_by_job]);
  q.bind_int(1, row.rowid);
  auto found = q.step();
  if (!found) return found.error();
  if (!*found) return {};
  core::WebhookInfo w;
  w.state = std::string(state_name(q.int_at(0)));
  w.attempts = static_cast<int>(q.int_at(1));
  w.created_at = q.time_at(2);
  if (q.int_at(0) == 0) w.next_at = q.time_at(3);
  w.last_status = q.is_null(4) ? 0 : static_cast<int>(q.int_at(4));
  if (!q.is_null(5)) w.last_error = std::string(q.text_at(5));
  w.delivered_at = q.opt_time_at(6);
  row.job.webhook = std::move(w);
  return {};
}

}  // namespace errand::store::sqlite::ops
