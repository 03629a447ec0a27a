// The one line `errand work` prints per finished job:
//   ✓ emails 01JDQ7Z3K5X9V2M4N6P8R0T2W4 1.2s
//   ✗ emails 01JDQ7Z3K5X9V2M4N6P8R0T2W4 0.3s attempt 2/10: exit code 3: smtp refused
// with `[dead]` or `[cancelled]` after a failure that ended the job, and the
// same as one JSON object per line with `--json`.
//
// Pure functions of the outcome; unit-tested in work_protocol_test.cpp.
#pragma once

#include "client/worker.hpp"

#include <boost/json/object.hpp>

#include <string>

namespace errand::cli {

std::string summary_line(const client::JobOutcome& outcome);
boost::json::object summary_json(const client::JobOutcome& outcome);

}  // namespace errand::cli
