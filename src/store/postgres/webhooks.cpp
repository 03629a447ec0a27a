// Completion webhooks (store/store.hpp "completion webhooks") on PostgreSQL:
// one row per job whose end is to be told; servers take due ones with
// FOR UPDATE SKIP LOCKED and lease them, so each call is made by one.
#include "core/id.hpp"
#include "core/push.hpp"
#include "store/postgres/ops.hpp"

namespace errand::store::postgres::ops {
namespace {

const Statement kEnqueue{
    "webhook_enqueue",
    "INSERT INTO webhooks(job_id, queue, url, state, attempts, created_at, next_at)"
    " SELECT id, queue, on_done, 0, 0, $2, $2 FROM jobs WHERE id = $1 AND on_done IS NOT NULL"
    " ON CONFLICT (job_id) DO UPDATE SET state = 0, attempts = 0, created_at = excluded.created_at,"
    " next_at = excluded.next_at, last_status = NULL, last_error = NULL, delivered_at = NULL"
    " RETURNING queue"};
const Statement kEnsureSecret{
    "queue_ensure_secret",
    "UPDATE queues SET push_secret = $2 WHERE name = $1 AND push_secret IS NULL"};
const Statement kDue{"webhooks_due",
                     "UPDATE webhooks w SET next_at = $3 FROM (SELECT job_id FROM webhooks"
                     " WHERE state = 0 AND next_at <= $1 ORDER BY next_at LIMIT $2"
                     " FOR UPDATE SKIP LOCKED) d WHERE w.job_id = d.job_id"
                     " RETURNING w.job_id, w.queue, w.url, w.attempts, w.created_at"};
const Statement kSave{
    "webhook_save",
    "UPDATE webhooks SET state = $2, attempts = attempts + 1, last_status = $3, last_error = $4,"
    " next_at = coalesce($5, next_at), delivered_at = $6 WHERE job_id = $1"};
const Statement kByJob{"webhook_by_job",
                       "SELECT state, attempts, created_at, next_at, last_status, last_error,"
                       " delivered_at FROM webhooks WHERE job_id = $1"};

std::string_view state_name(std::int64_t s) {
  return s == 1 ? "delivered" : s == 2 ? "failed" : "pending";
}

}  // namespace

core::Result<void> webhook_job_ended(OpContext& c, std::int64_t rowid, core::TimePoint now) {
  auto r = c.db.run(kEnqueue, Params().integer(rowid).time(now));
  if (!r) return r.error();
  if (r->empty()) return {};
  const std::string queue(r->text(0, 0));
  auto secret = c.db.run(kEnsureSecret, Params().text(queue).text(core::make_push_secret()));
  if (!secret) return secret.error();
  return {};
}

core::Result<std::vector<WebhookDelivery>> webhook_claim(OpContext& c,
                                                         const WebhookClaimParams& p) {
  Params params;
  params.time(p.now).integer(static_cast<std::int64_t>(p.max)).time(p.now + p.lease);
  auto r = c.db.run(kDue, params);
  if (!r) return r.error();
  std::vector<WebhookDelivery> out;
  for (int i = 0; i < r->size(); ++i) {
    out.push_back({.job_id = core::format_job_id(r->integer(i, 0)),
                   .queue = std::string(r->text(i, 1)),
                   .url = std::string(r->text(i, 2)),
                   .attempts = static_cast<int>(r->integer(i, 3)),
                   .created_at = r->time(i, 4)});
  }
  return out;
}

core::Result<Unit> webhook_result(OpContext& c, const WebhookResultParams& p) {
  const auto rowid = core::parse_job_id(p.job_id);
  if (!rowid) return job_not_found(p.job_id);
  const int state = p.delivered ? 1 : p.retry_at ? 0 : 2;
  Params params;
  params.integer(*rowid).integer(state);
  if (p.status) {
    params.integer(p.status);
  } else {
    params.null();
  }
  params.text_or_null(p.error).opt_time(p.retry_at);
  params.opt_time(p.delivered ? std::optional(p.now) : std::nullopt);
  if (auto r = c.db.run(kSave, params); !r) return r.error();
  return Unit{};
}

core::Result<void> load_webhook(Conn& db, JobRow& row) {
  auto r = db.run(kByJob, Params().integer(row.rowid));
  if (!r) return r.error();
  if (r->empty()) return {};
  core::WebhookInfo w;
  w.state = std::string(state_name(r->integer(0, 0)));
  w.attempts = static_cast<int>(r->integer(0, 1));
  w.created_at = r->time(0, 2);
  if (r->integer(0, 0) == 0) w.next_at = r->time(0, 3);
  w.last_status = static_cast<int>(r->opt_integer(0, 4).value_or(0));
  if (!r->is_null(0, 5)) w.last_error = std::string(r->text(0, 5));
  w.delivered_at = r->opt_time(0, 6);
  row.job.webhook = std::move(w);
  return {};
}

}  // namespace errand::store::postgres::ops
