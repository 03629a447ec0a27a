// A push endpoint's answer (core/push.hpp decide_push_outcome): the status
// (the first byte picks one), Retry-After (up to the first newline) and the
// body, from any endpoint — a continue body, a result, garbage — decide what
// happens to the job, never a crash; a continue never goes back in time.
#include "core/job.hpp"
#include "core/push.hpp"

#include <array>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace errand::core;
  if (size == 0) return 0;
  constexpr std::array<unsigned, 8> kStatus = {200, 201, 202, 204, 400, 429, 500, 503};
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const auto newline = rest.find('\n');
  const auto retry_after = newline == rest.npos ? std::string_view{} : rest.substr(0, newline);
  const auto body = newline == rest.npos ? rest : rest.substr(newline + 1);
  const PushAnswer answer{.status = kStatus[data[0] % kStatus.size()],
                          .retry_after = retry_after,
                          .no_retry = (data[0] & 0x80) != 0,
                          .body = body};
  Job job;
  job.id = "1M8HZ4NKB0007";
  job.queue = "q";
  job.attempt = 1;
  job.max_attempts = 3;
  const auto now = TimePoint{std::chrono::milliseconds{1'774'746'000'000}};
  const auto outcome = decide_push_outcome(answer, job, now, PushLimits{});
  if (outcome.kind == PushOutcome::Kind::continue_ && outcome.run_at < now) std::abort();
  (void)parse_retry_after(retry_after, now);
  return 0;
}
