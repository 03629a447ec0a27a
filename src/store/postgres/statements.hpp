// The named statements whose plans matter most, shared with the plan test
// (postgres_store_test.cpp), which asserts that on a filled and ANALYZEd
// schema none of them reads `jobs` sequentially. Defined beside the verbs
// that run them.
#pragma once

#include "store/postgres/conn.hpp"

namespace errand::store::postgres::sql {

extern const Statement jobs_ready;              // claim.cpp: $1 queue, $2 now, $3 limit
extern const Statement jobs_promote_due;        // timers.cpp: $1 now, $2 limit
extern const Statement jobs_lease_expired;      // timers.cpp: $1 now, $2 limit
extern const Statement next_run_at;             // timers.cpp
extern const Statement next_lease_expiry;       // timers.cpp
extern const Statement jobs_prune;              // timers.cpp: $1 finished_before, $2 limit
extern const Statement queue_oldest_ready;      // read.cpp: $1 queue, $2 below priority
extern const Statement job_by_idempotency_key;  // insert.cpp: $1 queue, $2 key

// read.cpp: job_list's variants. $1 upper id, $2 lower id, $3 queue,
// $4 state, $5 type, $6 text, $7 limit.
enum ListFilter : unsigned { kByQueue = 1, kByState = 2, kByType = 4, kByText = 8, kByKey = 16 };
inline constexpr unsigned kListVariants = 32;
Statement job_list(unsigned filters);

}  // namespace errand::store::postgres::sql
