// Test helpers shared by every store test: a fixed `now`, and `call`, which
// runs a callback verb and waits for its result on the calling thread.
#pragma once

#include "store/store.hpp"

#include <future>
#include <memory>

namespace errand::store {

inline const core::TimePoint kNow = core::from_unix_ms(1'800'000'000'000);

// Calls `verb(callback)` and waits for the callback's result.
template <class T, class Verb>
core::Result<T> call(Verb&& verb) {
  auto promise = std::make_shared<std::promise<core::Result<T>>>();
  auto future = promise->get_future();
  verb([promise](core::Result<T> r) { promise->set_value(std::move(r)); });
  return future.get();
}

}  // namespace errand::store
