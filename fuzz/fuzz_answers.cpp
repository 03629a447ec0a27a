// The client's parsing of server answers (client/wire, core/job_json,
// core/schedule_json, core/queue_json): a hostile or broken server makes the
// client report an error, never crash.
#include "client/wire.hpp"
#include "core/job_json.hpp"
#include "core/queue_json.hpp"
#include "core/schedule_json.hpp"

#include <boost/json/parse.hpp>

#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace wire = errand::client::wire;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)errand::core::job_from_json(text);
  (void)wire::parse_job(text);
  (void)wire::parse_job_page(text);
  (void)wire::parse_claimed(text);
  (void)wire::parse_schedule(text);
  (void)wire::parse_schedules(text);
  (void)errand::core::schedule_list_from_json(text);
  boost::system::error_code ec;
  const auto v = boost::json::parse(text, ec);
  if (ec) return 0;
  (void)wire::parse_enqueued(v);
  (void)wire::parse_enqueued_batch(v);
  (void)wire::parse_heartbeat(v);
  (void)wire::parse_finished(v);
  (void)wire::parse_continued(v);
  (void)wire::parse_ack_results(v);
  (void)wire::parse_queues(v);
  (void)wire::parse_queue_page(v);
  (void)wire::parse_push_secret(v);
  (void)wire::parse_key_page(v);
  (void)errand::core::queue_from_json(v);
  (void)errand::core::key_page_from_json(v);
  return 0;
}
