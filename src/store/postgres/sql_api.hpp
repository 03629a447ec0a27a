// Transactional enqueue from SQL: the schema's public functions, for apps
// that enqueue inside their own database transaction ("the order row and its
// confirmation email commit together or not at all").
//
//   <schema>.enqueue(queue text, payload jsonb, options jsonb DEFAULT '{}')
//     RETURNS text                    -- the job's id
//   <schema>.enqueue_many(queue text, payloads jsonb, options jsonb DEFAULT '{}')
//     RETURNS SETOF text              -- one id per payload, in order
//
// They validate as POST /v1/jobs does (same fields, ranges and messages;
// SQLSTATE ER400 for bad input, ER413 for a payload over 1 MiB, ER409 for an
// idempotency conflict, the field in the error's COLUMN) and write what the
// store's job_insert_many writes (store/postgres/insert.cpp): the job row,
// its id from next_job_id and formatted as core::format_job_id does, the
// queue's settings resolved from its row else the server's defaults, and the
// queue's job count. The count is added by a deferred constraint trigger at
// the caller's COMMIT, so the queue row is locked only while committing and
// an app's long transaction never holds up the servers. A job made runnable
// NOTIFYs notify_channel(schema), so a waiting claim wakes at commit.
//
// The functions are SECURITY DEFINER with a fixed search_path; EXECUTE is
// revoked from PUBLIC and granted to the role errand_producer, which the
// migration creates when its role may (CREATEROLE), else a NOTICE says what
// an admin runs. docs/API.md, "Enqueue from SQL", is the user's reference.
#pragma once

namespace errand::store::postgres {

// The migration adding the functions, their helpers and the producer role;
// `@s` stands for the schema's name (as in every migration of schema.cpp).
extern const char* const kSqlEnqueueMigration;

// The part of schema version 6 (flow control) that gives the functions the
// `key` option (core::Job::key): sql_enqueue replaced by its version-2 text
// with the option added, and the commit trigger adding the keys' queued
// counts to queue_keys after the queues' (the writer's lock order).
const char* sql_enqueue_keys_migration();

// Schema version 8: sql_enqueue gives a job the queue's default completion
// webhook (core::JobDefaults::on_done), as the server's enqueue does.
const char* sql_enqueue_webhook_migration();

}  // namespace errand::store::postgres
