#include "store/postgres/sql_api.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

namespace errand::store::postgres {

// Every check mirrors one of POST /v1/jobs (api/jobs.cpp, core/fields.cpp,
// core/job.cpp, core/duration.cpp, core/time.cpp), message for message, so
// an app sees the same words whichever door it used. Helpers are named
// sql_*; only enqueue and enqueue_many are meant to be called, and only
// they are granted. The helpers run inside those SECURITY DEFINER functions,
// under their fixed search_path, which is why every name is qualified.
//
// The queue's job count is not added by the function itself: an upsert of
// the queue row would hold its lock until the app commits, and every
// server's writer (which adds its own deltas to that row) would wait for the
// app's transaction. Instead each call notes its counts in sql_enqueued,
// and a deferred constraint trigger adds them at COMMIT, the transaction's
// queues in name order as the writer does (store/postgres/queue_book.cpp).
const char* const kSqlEnqueueMigration = R"sql(
CREATE FUNCTION @s.sql_fail(code text, field text, message text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = code, MESSAGE = message, COLUMN = field;
END $$;

-- core::format_job_id: 13 Crockford base32 digits, most significant first.
CREATE FUNCTION @s.sql_job_id_text(id bigint) RETURNS text
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT string_agg(substr('0123456789ABCDEFGHJKMNPQRSTVWXYZ',
                           ((greatest(id, 0) >> (5 * (12 - i))) & 31)::int + 1, 1), '' ORDER BY i)
  FROM generate_series(0, 12) AS i
$$;

-- core::validate_label: printable ASCII without spaces, 1..limit bytes.
CREATE FUNCTION @s.sql_label_ok(value text, max_len integer) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
  SELECT value ~ '^[!-~]+$' AND octet_length(value) <= max_len
$$;

-- Fields::string: absent or null is NULL.
CREATE FUNCTION @s.sql_text_option(options jsonb, field text, max_len integer) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v jsonb := options -> field;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN RETURN NULL; END IF;
  IF jsonb_typeof(v) <> 'string' THEN
    PERFORM @s.sql_fail('ER400', field, field || ' must be a string');
  END IF;
  IF octet_length(v #>> '{}') > max_len THEN
    PERFORM @s.sql_fail('ER400', field, format('%s is longer than %s characters', field, max_len));
  END IF;
  RETURN v #>> '{}';
END $$;

-- Fields::integer: an integral JSON number (1.0 and 1e2 count) in [lo, hi].
CREATE FUNCTION @s.sql_integer_option(options jsonb, field text, lo bigint, hi bigint)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v jsonb := options -> field;
  n numeric;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN RETURN NULL; END IF;
  IF jsonb_typeof(v) = 'number' THEN n := v::numeric; END IF;
  IF n IS NULL OR n <> trunc(n) OR n < -9223372036854775808 OR n > 9223372036854775807 THEN
    PERFORM @s.sql_fail('ER400', field,
                        format('%s must be an integer from %s to %s', field, lo, hi));
  END IF;
  IF n < lo OR n > hi THEN
    PERFORM @s.sql_fail('ER400', field,
                        format('%s must be from %s to %s, got %s', field, lo, hi, n::bigint));
  END IF;
  RETURN n::bigint;
END $$;

-- core::parse_duration: "250ms", "10s", "5m", "2h", "1d" and compounds
-- ("1h30m"), at most a century; the same complaint at the same place.
CREATE FUNCTION @s.sql_duration_ms(s text, field text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  k_max constant bigint := 100::bigint * 365 * 86400000;
  total bigint := 0;
  pos integer := 1;
  digits text;
  n numeric;
  unit bigint;
  why text;
BEGIN
  IF s = '' THEN
    why := '';
  ELSIF left(s, 1) = '-' THEN
    why := ' (durations cannot be negative)';
  END IF;
  WHILE why IS NULL AND pos <= length(s) LOOP
    digits := substring(substr(s, pos) FROM '^[0-9]*');
    IF digits = '' THEN why := ''; EXIT; END IF;
    IF length(digits) > 1 AND left(digits, -1)::numeric > k_max THEN
      why := ' (too large)'; EXIT;
    END IF;
    n := digits::numeric;
    pos := pos + length(digits);
    IF substr(s, pos, 2) = 'ms' THEN
      unit := 1; pos := pos + 2;
    ELSIF pos > length(s) THEN
      why := ' (missing unit)'; EXIT;
    ELSE
      unit := CASE substr(s, pos, 1) WHEN 's' THEN 1000 WHEN 'm' THEN 60000
                                      WHEN 'h' THEN 3600000 WHEN 'd' THEN 86400000 END;
      IF unit IS NULL THEN why := ' (unknown unit)'; EXIT; END IF;
      pos := pos + 1;
    END IF;
    IF n > k_max / unit THEN why := ' (too large)'; EXIT; END IF;
    total := total + n::bigint * unit;
    IF total > k_max THEN why := ' (too large)'; EXIT; END IF;
  END LOOP;
  IF why IS NOT NULL THEN
    PERFORM @s.sql_fail('ER400', field,
      format('%s must be a duration such as "250ms", "10s", "5m", "2h" or "1d", got "%s"%s',
             field, s, why));
  END IF;
  RETURN total;
END $$;

-- Fields::duration: a duration string, in [lo, hi].
CREATE FUNCTION @s.sql_duration_option(options jsonb, field text, lo bigint, hi bigint,
                                       lo_text text, hi_text text)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v jsonb := options -> field;
  ms bigint;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN RETURN NULL; END IF;
  IF jsonb_typeof(v) <> 'string' THEN
    PERFORM @s.sql_fail('ER400', field,
                        field || ' must be a duration string such as "10s" or "5m"');
  END IF;
  ms := @s.sql_duration_ms(v #>> '{}', field);
  IF ms < lo OR ms > hi THEN
    PERFORM @s.sql_fail('ER400', field, format('%s must be from %s to %s, got "%s"', field,
                                               lo_text, hi_text, v #>> '{}'));
  END IF;
  RETURN ms;
END $$;

-- Fields::time and core::parse_rfc3339: "2026-01-31T08:00:00Z", an optional
-- fraction (cut to milliseconds), "Z" or an offset; unix milliseconds.
CREATE FUNCTION @s.sql_time_option(options jsonb, field text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  v jsonb := options -> field;
  s text;
  m text[];
  y integer; mo integer; d integer; h integer; mi integer; sec integer;
  first_day date;
  millis integer := 0;
  offset_min integer := 0;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN RETURN NULL; END IF;
  IF jsonb_typeof(v) <> 'string' THEN
    PERFORM @s.sql_fail('ER400', field, field || ' must be an RFC 3339 time string');
  END IF;
  s := v #>> '{}';
  m := regexp_match(s, '^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})'
                       '(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$');
  IF m IS NOT NULL THEN
    y := m[1]::integer; mo := m[2]::integer; d := m[3]::integer;
    h := m[4]::integer; mi := m[5]::integer; sec := m[6]::integer;
    IF mo BETWEEN 1 AND 12 AND d >= 1 AND h <= 23 AND mi <= 59 AND sec <= 60 THEN
      -- Year 0 is 1 BC, as in the proleptic calendar core::parse_rfc3339 uses.
      first_day := make_date(CASE WHEN y = 0 THEN -1 ELSE y END, mo, 1);
      IF d > extract(day FROM first_day + interval '1 month' - interval '1 day') THEN
        m := NULL;
      END IF;
    ELSE
      m := NULL;
    END IF;
  END IF;
  IF m IS NOT NULL AND m[8] NOT IN ('Z', 'z') THEN
    IF substr(m[8], 2, 2)::integer > 23 OR substr(m[8], 5, 2)::integer > 59 THEN
      m := NULL;
    ELSE
      offset_min := (substr(m[8], 2, 2)::integer * 60 + substr(m[8], 5, 2)::integer)
                    * CASE WHEN left(m[8], 1) = '-' THEN -1 ELSE 1 END;
    END IF;
  END IF;
  IF m IS NULL THEN
    PERFORM @s.sql_fail('ER400', field,
      format('%s must be an RFC 3339 time such as "2026-01-31T08:00:00Z", got "%s"', field, s));
  END IF;
  IF m[7] IS NOT NULL THEN millis := rpad(substr(m[7], 2, 3), 3, '0')::integer; END IF;
  RETURN ((first_day + (d - 1) - date '1970-01-01')::bigint * 86400
          + h * 3600 + mi * 60 + least(sec, 59)) * 1000 + millis - offset_min::bigint * 60000;
END $$;

-- parse_tags: at most 32 labels of 64; stored as the C++ store writes them.
CREATE FUNCTION @s.sql_tags(options jsonb) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v jsonb := options -> 'tags';
  t text[] := '{}';
  i integer;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) = 'null' THEN RETURN '[]'; END IF;
  IF jsonb_typeof(v) <> 'array' THEN
    PERFORM @s.sql_fail('ER400', 'tags', 'tags must be an array of strings');
  END IF;
  IF jsonb_array_length(v) > 32 THEN
    PERFORM @s.sql_fail('ER400', 'tags', 'tags may hold at most 32 tags');
  END IF;
  FOR i IN 0 .. jsonb_array_length(v) - 1 LOOP
    IF jsonb_typeof(v -> i) <> 'string' THEN
      PERFORM @s.sql_fail('ER400', format('tags[%s]', i), format('tags[%s] must be a string', i));
    END IF;
    IF NOT @s.sql_label_ok(v ->> i, 64) THEN
      PERFORM @s.sql_fail('ER400', format('tags[%s]', i),
                          format('tags[%s] must be 1-64 printable characters without spaces', i));
    END IF;
    t := t || to_json(v ->> i)::text;
  END LOOP;
  RETURN '[' || array_to_string(t, ',') || ']';
END $$;

-- Whether `v` has arrays or objects nested more than max_depth deep.
CREATE FUNCTION @s.sql_too_deep(v jsonb, max_depth integer) RETURNS boolean
LANGUAGE sql AS $$
  WITH RECURSIVE walk(node, depth) AS (
    SELECT v, 1 WHERE jsonb_typeof(v) IN ('object', 'array')
    UNION ALL
    SELECT c.child, walk.depth + 1
    FROM walk, LATERAL (SELECT value FROM jsonb_each(CASE WHEN jsonb_typeof(node) = 'object'
                                                          THEN node END)
                        UNION ALL
                        SELECT value FROM jsonb_array_elements(
                          CASE WHEN jsonb_typeof(node) = 'array' THEN node END)) AS c(child)
    WHERE jsonb_typeof(c.child) IN ('object', 'array') AND walk.depth <= max_depth
  )
  SELECT EXISTS (SELECT 1 FROM walk WHERE depth > max_depth)
$$;

-- The payload rules of the HTTP API: at most 1 MiB (its --max-payload
-- default) as stored, nested at most 64 deep (core::kMaxJsonDepth).
CREATE FUNCTION @s.sql_check_payload(payload jsonb, field text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  t text := payload::text;
BEGIN
  IF octet_length(t) > 1048576 THEN
    PERFORM @s.sql_fail('ER413', field, field || ' is larger than 1048576 bytes');
  END IF;
  -- Fewer than 65 brackets cannot nest 65 deep: most payloads skip the walk.
  IF length(t) - length(translate(t, '[{', '')) > 64 AND @s.sql_too_deep(payload, 64) THEN
    PERFORM @s.sql_fail('ER400', field, field || ' is nested more than 64 levels deep');
  END IF;
END $$;

-- A repeat under an idempotency key asks for the same job when its payload
-- is the stored text, or the same JSON value (a job enqueued over HTTP keeps
-- its client's text, which jsonb may print otherwise).
CREATE FUNCTION @s.sql_same_payload(stored text, given jsonb) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
  IF stored = given::text THEN RETURN true; END IF;
  BEGIN
    RETURN stored::jsonb = given;
  EXCEPTION WHEN others THEN
    RETURN false;  -- text jsonb refuses (a \u0000) is not the given value
  END;
END $$;

-- The job of `in_queue` holding `in_key`, as the caller's id; ER409 if it
-- has another type or payload; NULL if there is none.
CREATE FUNCTION @s.sql_existing(in_queue text, in_key text, in_type text, in_payload jsonb)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  j record;
BEGIN
  SELECT id, type, payload INTO j FROM @s.jobs
  WHERE queue = in_queue AND idempotency_key = in_key;
  IF NOT FOUND THEN RETURN NULL; END IF;
  IF j.type <> in_type OR NOT @s.sql_same_payload(j.payload, in_payload) THEN
    PERFORM @s.sql_fail('ER409', 'idempotency_key',
      format('idempotency_key "%s" already names job %s of queue %s, with another type or '
             'payload: a repeat must ask for the same job (or use a new key)',
             in_key, @s.sql_job_id_text(j.id), in_queue));
  END IF;
  RETURN @s.sql_job_id_text(j.id);
END $$;

-- Counts of jobs enqueued from SQL, waiting for their transaction's COMMIT.
CREATE TABLE @s.sql_enqueued (
  xact        bigint NOT NULL DEFAULT txid_current(),
  queue       text   NOT NULL,
  n_scheduled bigint NOT NULL,
  n_queued    bigint NOT NULL
);
CREATE INDEX sql_enqueued_xact ON @s.sql_enqueued(xact);

CREATE FUNCTION @s.sql_enqueued_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- The first row's trigger adds every count of the transaction; the
  -- others find nothing left.
  WITH taken AS (
    DELETE FROM @s.sql_enqueued WHERE xact = txid_current()
    RETURNING queue, n_scheduled, n_queued
  ), sums AS (
    SELECT queue, sum(n_scheduled)::bigint AS add_scheduled, sum(n_queued)::bigint AS add_queued
    FROM taken GROUP BY queue
  )
  INSERT INTO @s.queues AS q(name, n_scheduled, n_queued)
  SELECT queue, add_scheduled, add_queued FROM sums ORDER BY queue
  ON CONFLICT (name) DO UPDATE SET n_scheduled = q.n_scheduled + excluded.n_scheduled,
                                   n_queued = q.n_queued + excluded.n_queued;
  RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER sql_enqueued_at_commit AFTER INSERT ON @s.sql_enqueued
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION @s.sql_enqueued_apply();

-- Both public functions: validate everything, then insert in order.
CREATE FUNCTION @s.sql_enqueue(in_queue text, in_payloads jsonb, in_options jsonb,
                               many boolean)
RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  o jsonb := coalesce(in_options, '{}');
  known constant text[] := ARRAY['delay', 'run_at', 'priority', 'max_attempts', 'timeout',
                                 'tags', 'idempotency_key', 'type'];
  k text;
  n integer;
  i integer;
  job_type text;
  delay_ms bigint;
  run_at_ms bigint;
  prio bigint;
  attempts bigint;
  timeout_ms bigint;
  job_key text;
  tags text;
  now_ms bigint := floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint;
  d_priority bigint;
  d_attempts integer;
  d_timeout bigint;
  job_state smallint;
  p jsonb;
  existing text;
  new_id bigint;
  inserted bigint := 0;
BEGIN
  IF jsonb_typeof(o) <> 'object' THEN
    PERFORM @s.sql_fail('ER400', 'options', 'options must be a JSON object');
  END IF;
  FOR k IN SELECT jsonb_object_keys(o) LOOP
    IF k <> ALL (known) THEN
      PERFORM @s.sql_fail('ER400', k, format('unknown option %s (expected one of: %s)', k,
                                             array_to_string(known, ', ')));
    END IF;
  END LOOP;
  IF in_queue IS NULL THEN
    PERFORM @s.sql_fail('ER400', 'queue', 'queue is required');
  END IF;
  IF octet_length(in_queue) > 1024 THEN
    PERFORM @s.sql_fail('ER400', 'queue', 'queue is longer than 1024 characters');
  END IF;
  IF in_queue !~ '^[a-z0-9_.-]{1,64}$' THEN
    PERFORM @s.sql_fail('ER400', 'queue', format(
      'queue must be 1-64 characters of a-z, 0-9, ''_'', ''.'' or ''-''; got "%s"',
      left(in_queue, 100)));
  END IF;
  job_type := @s.sql_text_option(o, 'type', 1024);
  IF job_type IS NOT NULL AND NOT @s.sql_label_ok(job_type, 128) THEN
    PERFORM @s.sql_fail('ER400', 'type', 'type must be 1-128 printable characters without spaces');
  END IF;
  IF many THEN
    IF in_payloads IS NULL THEN RETURN; END IF;
    IF jsonb_typeof(in_payloads) <> 'array' THEN
      PERFORM @s.sql_fail('ER400', 'payloads', 'payloads must be a JSON array of payloads');
    END IF;
    IF jsonb_array_length(in_payloads) > 10000 THEN
      PERFORM @s.sql_fail('ER400', 'payloads', format(
        'payloads must hold at most 10000 payloads, got %s', jsonb_array_length(in_payloads)));
    END IF;
  END IF;
  n := jsonb_array_length(in_payloads);
  FOR i IN 0 .. n - 1 LOOP
    PERFORM @s.sql_check_payload(in_payloads -> i,
                                 CASE WHEN many THEN format('payloads[%s]', i) ELSE 'payload' END);
  END LOOP;
  delay_ms := @s.sql_duration_option(o, 'delay', 0, 3650::bigint * 86400000, '0s', '3650d');
  run_at_ms := @s.sql_time_option(o, 'run_at');
  IF delay_ms IS NOT NULL AND run_at_ms IS NOT NULL THEN
    PERFORM @s.sql_fail('ER400', 'delay', 'give either delay or run_at, not both');
  END IF;
  prio := @s.sql_integer_option(o, 'priority', -1000000, 1000000);
  attempts := @s.sql_integer_option(o, 'max_attempts', 1, 1000);
  timeout_ms := @s.sql_duration_option(o, 'timeout', 1000, 86400000, '1s', '1d');
  job_key := @s.sql_text_option(o, 'idempotency_key', 256);
  IF job_key = '' THEN
    PERFORM @s.sql_fail('ER400', 'idempotency_key', 'idempotency_key must not be empty');
  END IF;
  IF job_key IS NOT NULL AND many THEN
    PERFORM @s.sql_fail('ER400', 'idempotency_key',
      'idempotency_key names one job: enqueue_many takes none (call enqueue for each keyed job)');
  END IF;
  tags := @s.sql_tags(o);

  -- core::resolve_settings: the job's own, else the queue's, else the server's.
  SELECT default_priority, default_max_attempts, default_timeout_ms
  INTO d_priority, d_attempts, d_timeout FROM @s.queues WHERE name = in_queue;
  prio := coalesce(prio, d_priority, 0);
  attempts := coalesce(attempts, d_attempts, 10);
  timeout_ms := coalesce(timeout_ms, d_timeout, 300000);
  run_at_ms := coalesce(run_at_ms, now_ms + coalesce(delay_ms, 0));
  job_state := CASE WHEN run_at_ms > now_ms THEN 0 ELSE 1 END;  -- scheduled, queued
  job_type := coalesce(job_type, '');

  FOR i IN 0 .. n - 1 LOOP
    p := in_payloads -> i;
    IF job_key IS NOT NULL THEN
      existing := @s.sql_existing(in_queue, job_key, job_type, p);
      IF existing IS NOT NULL THEN RETURN NEXT existing; CONTINUE; END IF;
    END IF;
    new_id := NULL;
    INSERT INTO @s.jobs(id, queue, type, payload, state, priority, run_at, created_at, attempt,
                        max_attempts, timeout_ms, idempotency_key, tags)
    VALUES (@s.next_job_id(now_ms), in_queue, job_type, p::text, job_state, prio, run_at_ms,
            now_ms, 0, attempts, timeout_ms, job_key, tags)
    ON CONFLICT (queue, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING id INTO new_id;
    IF new_id IS NULL THEN
      -- Another transaction took the key after the look above, and committed
      -- (the insert waited for it): that job is the first.
      existing := @s.sql_existing(in_queue, job_key, job_type, p);
      IF existing IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = '40001', COLUMN = 'idempotency_key', MESSAGE = format(
          'idempotency_key "%s" of queue %s is being taken by another transaction; try again',
          job_key, in_queue);
      END IF;
      RETURN NEXT existing;
      CONTINUE;
    END IF;
    inserted := inserted + 1;
    RETURN NEXT @s.sql_job_id_text(new_id);
  END LOOP;
  IF inserted > 0 THEN
    INSERT INTO @s.sql_enqueued(queue, n_scheduled, n_queued)
    VALUES (in_queue, CASE WHEN job_state = 0 THEN inserted ELSE 0 END,
            CASE WHEN job_state = 1 THEN inserted ELSE 0 END);
    -- Delivered at COMMIT, on the channel every server LISTENs to
    -- (notify_channel in store/postgres/schema.cpp): a queue that has work,
    -- or "@" and the instant a scheduled job becomes due (listener.cpp).
    IF job_state = 1 THEN
      PERFORM pg_notify(left('@s_jobs', 63), in_queue);
    ELSE
      PERFORM pg_notify(left('@s_jobs', 63), '@' || run_at_ms);
    END IF;
  END IF;
END $$;

CREATE FUNCTION @s.enqueue(queue text, payload jsonb, options jsonb DEFAULT '{}')
RETURNS text LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
  SELECT id FROM @s.sql_enqueue(queue, jsonb_build_array(payload), options, false) AS id
$$;

CREATE FUNCTION @s.enqueue_many(queue text, payloads jsonb, options jsonb DEFAULT '{}')
RETURNS SETOF text LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
  SELECT id FROM @s.sql_enqueue(queue, payloads, options, true) AS id
$$;

REVOKE EXECUTE ON FUNCTION
  @s.sql_fail(text, text, text), @s.sql_job_id_text(bigint), @s.sql_label_ok(text, integer),
  @s.sql_text_option(jsonb, text, integer), @s.sql_integer_option(jsonb, text, bigint, bigint),
  @s.sql_duration_ms(text, text),
  @s.sql_duration_option(jsonb, text, bigint, bigint, text, text),
  @s.sql_time_option(jsonb, text), @s.sql_tags(jsonb), @s.sql_too_deep(jsonb, integer),
  @s.sql_check_payload(jsonb, text), @s.sql_same_payload(text, jsonb),
  @s.sql_existing(text, text, text, jsonb), @s.sql_enqueued_apply(),
  @s.sql_enqueue(text, jsonb, jsonb, boolean),
  @s.enqueue(text, jsonb, jsonb), @s.enqueue_many(text, jsonb, jsonb)
FROM PUBLIC;

DO $role$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'errand_producer') THEN
    BEGIN
      CREATE ROLE errand_producer NOLOGIN;
    EXCEPTION
      WHEN insufficient_privilege THEN
        RAISE NOTICE 'the role errand_producer is missing and % may not create it, so the '
                     'enqueue functions of schema @s are granted to no one: a superuser or a '
                     'role with CREATEROLE can run CREATE ROLE errand_producer NOLOGIN, and '
                     'then, as %: GRANT USAGE ON SCHEMA @s TO errand_producer; GRANT EXECUTE ON '
                     'FUNCTION @s.enqueue(text, jsonb, jsonb), @s.enqueue_many(text, jsonb, '
                     'jsonb) TO errand_producer', current_user, current_user;
        RETURN;
      WHEN duplicate_object OR unique_violation THEN
        NULL;  -- another schema's migration made it meanwhile
    END;
  END IF;
  GRANT USAGE ON SCHEMA @s TO errand_producer;
  GRANT EXECUTE ON FUNCTION @s.enqueue(text, jsonb, jsonb), @s.enqueue_many(text, jsonb, jsonb)
    TO errand_producer;
END $role$;
)sql";

namespace {

// `text` with its one `from` replaced by `to`; a version-2 text that no
// longer holds `from` is a programming error, caught by every test that
// migrates a schema.
std::string replaced(std::string text, std::string_view from, std::string_view to) {
  const auto at = text.find(from);
  if (at == std::string::npos || text.find(from, at + 1) != std::string::npos) {
    throw std::logic_error("sql_enqueue_keys_migration: not found once: " + std::string(from));
  }
  return text.replace(at, from.size(), to);
}

// sql_enqueue as version 6 defines it: version 2's with the `key` option.
std::string enqueue_function_v6() {
  const std::string v2 = kSqlEnqueueMigration;
  const auto begin = v2.find("CREATE FUNCTION @s.sql_enqueue(");
  const auto end = v2.find("END $$;", begin);
  if (begin == std::string::npos || end == std::string::npos) {
    throw std::logic_error("sql_enqueue_keys_migration: no sql_enqueue in version 2");
  }
  std::string f = v2.substr(begin, end + 7 - begin);
  f = replaced(f, "CREATE FUNCTION @s.sql_enqueue(", "CREATE OR REPLACE FUNCTION @s.sql_enqueue(");
  f = replaced(f, "'tags', 'idempotency_key', 'type'];",
               "'tags', 'idempotency_key', 'type', 'key'];");
  f = replaced(f, "  job_key text;\n", "  job_key text;\n  owner text;\n");
  f = replaced(f, "  tags := @s.sql_tags(o);\n", R"sql(  tags := @s.sql_tags(o);
  -- core::validate_job_key: 1-128 characters without control characters.
  owner := @s.sql_text_option(o, 'key', 65536);
  IF owner IS NOT NULL AND (owner = '' OR char_length(owner) > 128
                            OR owner ~ '[\x01-\x1f\x7f-\x9f]') THEN
    PERFORM @s.sql_fail('ER400', 'key',
                        'key must be 1-128 characters of UTF-8 without control characters');
  END IF;
  owner := coalesce(owner, '');
)sql");
  f = replaced(f, "max_attempts, timeout_ms, idempotency_key, tags)",
               "max_attempts, timeout_ms, idempotency_key, tags, key)");
  f = replaced(f, "now_ms, 0, attempts, timeout_ms, job_key, tags)",
               "now_ms, 0, attempts, timeout_ms, job_key, tags, owner)");
  f = replaced(f,
               "INSERT INTO @s.sql_enqueued(queue, n_scheduled, n_queued)\n    VALUES (in_queue,",
               "INSERT INTO @s.sql_enqueued(queue, key, n_scheduled, n_queued)\n    VALUES "
               "(in_queue, owner,");
  return f;
}

std::string keys_migration() {
  const std::string f = enqueue_function_v6();
  return R"sql(
ALTER TABLE @s.sql_enqueued ADD COLUMN key text NOT NULL DEFAULT '';

CREATE OR REPLACE FUNCTION @s.sql_enqueued_apply() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  -- The first row's trigger adds every count of the transaction (queues in
  -- name order, then keys in order, as the writer locks them); the others
  -- find nothing left. A keyed job that gains a queued count after none
  -- starts its turns at the queue's clock (store/common/keys.hpp).
  INSERT INTO @s.queues AS q(name, n_scheduled, n_queued)
  SELECT queue, sum(n_scheduled)::bigint, sum(n_queued)::bigint
  FROM @s.sql_enqueued WHERE xact = txid_current() GROUP BY queue ORDER BY queue
  ON CONFLICT (name) DO UPDATE SET n_scheduled = q.n_scheduled + excluded.n_scheduled,
                                   n_queued = q.n_queued + excluded.n_queued;
  INSERT INTO @s.queue_keys AS k(queue, key, n_queued, head_priority, pass)
  SELECT e.queue, e.key, sum(e.n_queued)::bigint,
         coalesce((SELECT j.priority FROM @s.jobs j WHERE j.state = 1 AND j.queue = e.queue
                   AND j.key = e.key ORDER BY j.priority DESC LIMIT 1), 0),
         coalesce((SELECT c.clock FROM @s.queue_keys c WHERE c.queue = e.queue AND c.key = ''), 0)
  FROM @s.sql_enqueued e WHERE e.xact = txid_current() AND e.key <> ''
  GROUP BY e.queue, e.key HAVING sum(e.n_queued) > 0 ORDER BY e.queue, e.key
  ON CONFLICT (queue, key) DO UPDATE SET
    pass = CASE WHEN k.n_queued <= 0 THEN greatest(k.pass, excluded.pass) ELSE k.pass END,
    n_queued = k.n_queued + excluded.n_queued, head_priority = excluded.head_priority;
  DELETE FROM @s.sql_enqueued WHERE xact = txid_current();
  RETURN NULL;
END $$;

)sql" + f +
         "\n";
}

}  // namespace

const char* sql_enqueue_keys_migration() {
  static const std::string text = keys_migration();
  return text.c_str();
}

const char* sql_enqueue_webhook_migration() {
  static const std::string text = [] {
    std::string f = enqueue_function_v6();
    f = replaced(f, "  d_timeout bigint;\n", "  d_timeout bigint;\n  d_on_done text;\n");
    f = replaced(f,
                 "  SELECT default_priority, default_max_attempts, default_timeout_ms\n"
                 "  INTO d_priority, d_attempts, d_timeout FROM",
                 "  SELECT default_priority, default_max_attempts, default_timeout_ms,\n"
                 "         flow::jsonb ->> 'on_done'\n"
                 "  INTO d_priority, d_attempts, d_timeout, d_on_done FROM");
    // The queue's completion webhook; 32: store/common/job_rows.hpp kLinkWebhook.
    f = replaced(f, "max_attempts, timeout_ms, idempotency_key, tags, key)",
                 "max_attempts, timeout_ms, idempotency_key, tags, key, links, on_done)");
    f = replaced(f, "now_ms, 0, attempts, timeout_ms, job_key, tags, owner)",
                 "now_ms, 0, attempts, timeout_ms, job_key, tags, owner,\n"
                 "            CASE WHEN d_on_done IS NULL THEN 0 ELSE 32 END, d_on_done)");
    return "\n" + f + "\n";
  }();
  return text.c_str();
}

}  // namespace errand::store::postgres
