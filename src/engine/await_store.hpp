// Bridges the Store's callback verbs into Asio coroutines.
//
// `co_await await_store<T>([&](store::Callback<T> done) { store.verb(params, done); })`
// suspends the calling coroutine until the store answers, then resumes it on
// its own executor (never on the store's thread). The pending operation keeps
// the executor's work count up, so an io_context does not return early. The
// store may run the verb on the calling thread (store::RunHere): the
// coroutine still resumes only after the initiation returns, through the
// executor's queue.
#pragma once

#include "store/store.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <utility>

namespace errand::engine {

template <class T, class Submit>
boost::asio::awaitable<core::Result<T>> await_store(Submit submit) {
  namespace asio = boost::asio;
  return asio::async_initiate<decltype(asio::use_awaitable), void(core::Result<T>)>(
      [submit = std::move(submit)](auto handler) mutable {
        using Handler = decltype(handler);
        auto work = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        auto shared = std::make_shared<Handler>(std::move(handler));
        // The callback only posts, so the store may answer on this thread
        // before submit returns (store::RunHere).
        store::RunHere here;
        submit(store::Callback<T>([shared, work](core::Result<T> r) mutable {
          asio::post(work, [shared, r = std::move(r)]() mutable { (*shared)(std::move(r)); });
        }));
      },
      asio::use_awaitable);
}

}  // namespace errand::engine
