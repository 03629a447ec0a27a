#include "core/mutex.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>

namespace errand::core {
namespace {

// Whether another thread finds `mutex` free (it takes and lets go of it).
bool free_elsewhere(Mutex& mutex) {
  bool taken = false;
  std::thread([&] {
    if (!mutex.try_lock()) return;
    taken = true;
    mutex.unlock();
  }).join();
  return taken;
}

TEST(Mutex, ALockHoldsItUntilItUnlocksAndTakesItAgain) {
  Mutex mutex;
  MutexLock lock(mutex);
  EXPECT_FALSE(free_elsewhere(mutex));
  lock.unlock();
  EXPECT_TRUE(free_elsewhere(mutex));
  lock.lock();
  EXPECT_FALSE(free_elsewhere(mutex));
}

TEST(Mutex, ALockLetGoOfBeforeItsEndIsNotUnlockedTwice) {
  Mutex mutex;
  {
    MutexLock lock(mutex);
    lock.unlock();
  }
  EXPECT_TRUE(free_elsewhere(mutex));
}

TEST(Mutex, ALockThatAdoptsATryLockLetsGoAtItsEnd) {
  Mutex mutex;
  if (!mutex.try_lock()) {
    ADD_FAILURE() << "a free mutex refused try_lock";
    return;
  }
  {
    MutexLock lock(mutex, adopt_lock);
    EXPECT_FALSE(free_elsewhere(mutex));
  }
  EXPECT_TRUE(free_elsewhere(mutex));
}

struct Flag {
  Mutex mutex;
  CondVar changed;
  bool set GUARDED_BY(mutex) = false;
};

TEST(CondVar, AWaitReturnsOnceThePredicateHoldsWithTheMutexHeld) {
  Flag flag;
  std::thread setter([&] {
    MutexLock lock(flag.mutex);
    flag.set = true;
    flag.changed.notify_all();
  });
  {
    MutexLock lock(flag.mutex);
    flag.changed.wait(flag.mutex, [&]() REQUIRES(flag.mutex) { return flag.set; });
    EXPECT_TRUE(flag.set);
    EXPECT_FALSE(free_elsewhere(flag.mutex));
  }
  setter.join();
  EXPECT_TRUE(free_elsewhere(flag.mutex));
}

TEST(CondVar, ATimedWaitSaysThePredicateStillFailsAtItsDeadline) {
  Flag flag;
  MutexLock lock(flag.mutex);
  const bool set = flag.changed.wait_for(flag.mutex, std::chrono::milliseconds(1),
                                         [&]() REQUIRES(flag.mutex) { return flag.set; });
  EXPECT_FALSE(set);
  EXPECT_FALSE(free_elsewhere(flag.mutex));
  EXPECT_EQ(flag.changed.wait_until(flag.mutex, std::chrono::steady_clock::now()),
            std::cv_status::timeout);
  EXPECT_FALSE(free_elsewhere(flag.mutex));
}

TEST(CondVar, APredicateThatThrowsLeavesTheMutexToItsLock) {
  Flag flag;
  {
    MutexLock lock(flag.mutex);
    EXPECT_THROW(flag.changed.wait(
                     flag.mutex,
                     [&]() REQUIRES(flag.mutex) -> bool { throw std::runtime_error("predicate"); }),
                 std::runtime_error);
    EXPECT_FALSE(free_elsewhere(flag.mutex));
  }
  EXPECT_TRUE(free_elsewhere(flag.mutex));
}

}  // namespace
}  // namespace errand::core
