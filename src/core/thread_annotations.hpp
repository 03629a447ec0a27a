// Clang's thread-safety annotations, so that locking rules are checked by the
// compiler instead of living in comments: a member written `GUARDED_BY(mutex_)`
// may be touched only with `mutex_` held, a function `REQUIRES(mutex_)` may be
// called only with it held, one `EXCLUDES(mutex_)` only without it. Clang
// checks them under -Wthread-safety (the tsan preset makes that an error);
// other compilers see nothing. The capabilities are core::Mutex and
// core::MutexLock (core/mutex.hpp). The vocabulary and its meaning are clang's
// (https://clang.llvm.org/docs/ThreadSafetyAnalysis.html); leveldb and
// abseil use the same names.
//
// A function the analysis cannot follow (a lock taken in one function and
// released in another, say) may opt out with NO_THREAD_SAFETY_ANALYSIS, and
// says beside it why.
#pragma once

#if defined(__clang__)
#define ERRAND_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define ERRAND_THREAD_ANNOTATION(x)
#endif

// Each macro is defined only if no other header did (leveldb's and the clang
// documentation's spell them the same way, to the same effect).

// A class that is a lock ("mutex") or a scoped holder of one.
#ifndef CAPABILITY
#define CAPABILITY(x) ERRAND_THREAD_ANNOTATION(capability(x))
#endif
#ifndef SCOPED_CAPABILITY
#define SCOPED_CAPABILITY ERRAND_THREAD_ANNOTATION(scoped_lockable)
#endif

// Members: read or written only while holding the capability; for a pointer,
// what it points at.
#ifndef GUARDED_BY
#define GUARDED_BY(x) ERRAND_THREAD_ANNOTATION(guarded_by(x))
#endif
#ifndef PT_GUARDED_BY
#define PT_GUARDED_BY(x) ERRAND_THREAD_ANNOTATION(pt_guarded_by(x))
#endif

// Lock order between capabilities.
#ifndef ACQUIRED_BEFORE
#define ACQUIRED_BEFORE(...) ERRAND_THREAD_ANNOTATION(acquired_before(__VA_ARGS__))
#endif
#ifndef ACQUIRED_AFTER
#define ACQUIRED_AFTER(...) ERRAND_THREAD_ANNOTATION(acquired_after(__VA_ARGS__))
#endif

// Functions: called with the capability held (exclusively, or shared), or
// without it (the function takes it itself).
#ifndef REQUIRES
#define REQUIRES(...) ERRAND_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#endif
#ifndef REQUIRES_SHARED
#define REQUIRES_SHARED(...) ERRAND_THREAD_ANNOTATION(requires_shared_capability(__VA_ARGS__))
#endif
#ifndef EXCLUDES
#define EXCLUDES(...) ERRAND_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#endif

// Functions that take or give back the capability (with no argument: `this`).
#ifndef ACQUIRE
#define ACQUIRE(...) ERRAND_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#endif
#ifndef ACQUIRE_SHARED
#define ACQUIRE_SHARED(...) ERRAND_THREAD_ANNOTATION(acquire_shared_capability(__VA_ARGS__))
#endif
#ifndef RELEASE
#define RELEASE(...) ERRAND_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#endif
#ifndef RELEASE_SHARED
#define RELEASE_SHARED(...) ERRAND_THREAD_ANNOTATION(release_shared_capability(__VA_ARGS__))
#endif
// Takes it when it returns `result` (true or false).
#ifndef TRY_ACQUIRE
#define TRY_ACQUIRE(...) ERRAND_THREAD_ANNOTATION(try_acquire_capability(__VA_ARGS__))
#endif
// Tells the analysis the capability is held from here on (a checked assertion).
#ifndef ASSERT_CAPABILITY
#define ASSERT_CAPABILITY(x) ERRAND_THREAD_ANNOTATION(assert_capability(x))
#endif
// A getter of the capability itself (`Mutex& mutex() RETURN_CAPABILITY(mutex_)`).
#ifndef RETURN_CAPABILITY
#define RETURN_CAPABILITY(x) ERRAND_THREAD_ANNOTATION(lock_returned(x))
#endif

// Turns the analysis off for one function; give the reason beside it.
#ifndef NO_THREAD_SAFETY_ANALYSIS
#define NO_THREAD_SAFETY_ANALYSIS ERRAND_THREAD_ANNOTATION(no_thread_safety_analysis)
#endif
