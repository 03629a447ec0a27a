#!/bin/sh
# A job as a shell script, run by `errand work`: imports {"rows": N} rows,
# one at a time, reporting progress as it goes.
#
#   errand work imports -- examples/shell/import.sh
#   errand enqueue imports '{"rows": 20}'
#
# The payload arrives on stdin; ERRAND_JOB_ID, ERRAND_ATTEMPT and friends are
# in the environment. Lines of the form `::progress PERCENT MESSAGE` update
# the job's progress, `::result JSON` sets its result, `::no-retry` makes a
# failure final. Exit 0 completes the job; exit 75 asks for a retry; any
# other exit fails the attempt with the last stderr lines as the error.
set -eu

payload=$(cat)
rows=$(printf '%s' "$payload" | sed -n 's/.*"rows"[[:space:]]*:[[:space:]]*\([0-9][0-9]*\).*/\1/p')
if [ -z "$rows" ]; then
  echo "expected a payload like {\"rows\": 20}, got: $payload" >&2
  echo "::no-retry"  # bad input: retrying cannot help
  exit 1
fi

echo "job $ERRAND_JOB_ID, attempt $ERRAND_ATTEMPT: importing $rows rows"
i=0
while [ "$i" -lt "$rows" ]; do
  i=$((i + 1))
  sleep "${IMPORT_SECONDS_PER_ROW:-0.1}"  # the real work goes here
  echo "::progress $((i * 100 / rows)) imported $i/$rows rows"
done
echo "::result {\"imported\": $rows}"
