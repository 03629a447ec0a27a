// The job's JSON form, as `GET /v1/jobs/{id}` returns it and as clients read
// it back. Shared by the API (rendering) and the client library (parsing).
#pragma once

#include "core/job.hpp"

#include <boost/json/object.hpp>

namespace errand::core {

boost::json::object job_to_json(const Job& job);
Result<Job> job_from_json(const boost::json::value& v);

// `GET /v1/jobs/{id}/logs`: {"id", "logs": [{attempt, at, log}]}, oldest first.
boost::json::object logs_to_json(const Job& job);

boost::json::object progress_to_json(const Progress& p);

}  // namespace errand::core
