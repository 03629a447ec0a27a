// Request bodies as the routes parse them (core/fields, core/queue_json,
// core/json_text): an object, then the queue settings, key limits, webhook
// and progress fields read from it, and client JSON checked as verbatim
// text. Bad input is an error naming a field, never a crash.
#include "core/fields.hpp"
#include "core/json_text.hpp"
#include "core/push.hpp"
#include "core/queue_json.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)errand::core::check_json(text, "payload");
  auto body = errand::core::parse_object(text, true);
  if (!body) {
    if (body.error().message.empty()) std::abort();
    return 0;
  }
  for (auto r : {errand::core::queue_settings_from_body(*body).has_value(),
                 errand::core::key_limits_from_body(*body).has_value()}) {
    (void)r;
  }
  const errand::core::Fields f(*body);
  (void)errand::core::webhook_from_body(f, "on_done");
  (void)errand::core::progress_from_fields(f);
  (void)errand::core::parse_push_config(*body, "push");
  return 0;
}
