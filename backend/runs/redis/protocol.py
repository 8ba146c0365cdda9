"""What the API and the workers agree on in Redis: key names and the Lua scripts that change state.

Keys (all under `descent:`):
- `jobs`              stream of submitted runs, read by the consumer group `workers`
                      (`python -m backend.worker`); an entry stays pending until its
                      worker acknowledges it, so a job whose worker died is claimed
                      again (XAUTOCLAIM) once it has been idle for the visibility timeout.
- `run:{id}`          hash: status, attempt (the fencing token of the current worker),
                      worker, requeues, updated.
- `run:{id}:steps`    the run's step stream: `k` (steps | epoch | reset | end), `d` (JSON),
                      `t` (the worker's clock when it wrote the frame). A new attempt
                      starts with a `reset` entry and trims everything before it.
- `run:{id}:cancel`   set by `DELETE /api/runs/{id}`; the worker polls it between steps.
- `active`            set of queued or running run ids; `events` stream of queued / ended.
- `store`             the identity of the API's run store; a worker whose store differs refuses to work.
- `worker:{name}`     heartbeat (JSON: device, concurrency, running runs), expires unless refreshed;
                      `workers` indexes the names by last heartbeat, so nobody scans the keyspace.

Every state change that several processes race for is one Lua script, so it is
atomic: a run is queued once, started by one worker at a time (a worker whose
job was claimed by another can no longer write frames, its attempt number being
stale), and ends once.
"""

import orjson

from backend.runs.model import Status
from backend.runs.store import Frame

PREFIX = "descent:"
JOBS = PREFIX + "jobs"
GROUP = "workers"
ACTIVE = PREFIX + "active"
EVENTS = PREFIX + "events"
WORKER_PREFIX = PREFIX + "worker:"
WORKERS = PREFIX + "workers"  # sorted set: worker name → its last heartbeat (Unix time)
STORE = PREFIX + "store"  # the run store's identity, published by the API, checked by workers
EVENTS_MAXLEN = 10_000
ENDED = tuple(s.value for s in Status if s.ended)


def run_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}"


def steps_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}:steps"


def cancel_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}:cancel"


# KEYS: run, jobs, active, events · ARGV: run id, run JSON, now
SUBMIT = f"""
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempt', 0, 'requeues', 0, 'updated', ARGV[3])
redis.call('XADD', KEYS[2], '*', 'run', ARGV[1], 'body', ARGV[2])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', {EVENTS_MAXLEN}, '*', 'run', ARGV[1], 'event', 'queued')
return 1
"""

# KEYS: run, steps · ARGV: worker, now → {attempt, requeues}; attempt 0: the run has ended, skip it
BEGIN = """
local status = redis.call('HGET', KEYS[1], 'status')
if status and status ~= 'queued' and status ~= 'running' then return {0, 0} end
local attempt = redis.call('HINCRBY', KEYS[1], 'attempt', 1)
redis.call('HSET', KEYS[1], 'status', 'running', 'worker', ARGV[1], 'updated', ARGV[2])
if redis.call('XLEN', KEYS[2]) > 0 then
  local id = redis.call('XADD', KEYS[2], '*', 'k', 'reset', 'd', attempt, 't', ARGV[2])
  redis.call('XTRIM', KEYS[2], 'MINID', id)
end
return {attempt, tonumber(redis.call('HGET', KEYS[1], 'requeues') or '0')}
"""

# KEYS: run, steps · ARGV: attempt, kind, data, now → 0 when another attempt owns the run
APPEND = """
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], '*', 'k', ARGV[2], 'd', ARGV[3], 't', ARGV[4])
return 1
"""

# KEYS: run, jobs · ARGV: attempt, group, consumer, job id: keep a running job from looking idle
TOUCH = """
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('XCLAIM', KEYS[2], ARGV[2], ARGV[3], 0, ARGV[4], 'JUSTID')
return 1
"""

# KEYS: run, steps, cancel, active, events, jobs
# ARGV: attempt ('' = unfenced), status, end JSON, now, retention, run id, group, job id ('' = none)
FINISH = f"""
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('XADD', KEYS[2], '*', 'k', 'end', 'd', ARGV[3], 't', ARGV[4])
redis.call('HSET', KEYS[1], 'status', ARGV[2], 'updated', ARGV[4])
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('EXPIRE', KEYS[2], ARGV[5])
redis.call('DEL', KEYS[3])
redis.call('SREM', KEYS[4], ARGV[6])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', {EVENTS_MAXLEN}, '*',
           'run', ARGV[6], 'event', 'ended', 'status', ARGV[2])
if ARGV[8] ~= '' then
  redis.call('XACK', KEYS[6], ARGV[7], ARGV[8])
  redis.call('XDEL', KEYS[6], ARGV[8])
end
return 1
"""

# KEYS: run, jobs · ARGV: attempt, run id, run JSON, group, job id: a stopping worker gives a job back
REQUEUE = """
if redis.call('HGET', KEYS[1], 'attempt') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'worker', '')
redis.call('HINCRBY', KEYS[1], 'requeues', 1)
redis.call('XADD', KEYS[2], '*', 'run', ARGV[2], 'body', ARGV[3])
redis.call('XACK', KEYS[2], ARGV[4], ARGV[5])
redis.call('XDEL', KEYS[2], ARGV[5])
return 1
"""

# KEYS: run, cancel · ARGV: retention, now, worker key prefix
# → 2: cancelled here (queued, or its worker is gone): the caller ends it; 1: its worker will stop; 0: ended
CANCEL = """
local status = redis.call('HGET', KEYS[1], 'status')
if status == 'queued' then
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated', ARGV[2])
  return 2
end
if status ~= 'running' then return 0 end
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
local worker = redis.call('HGET', KEYS[1], 'worker')
if not worker or redis.call('EXISTS', ARGV[3] .. worker) == 0 then
  -- its worker is gone; should it only be stalled, the new attempt number fences it out
  redis.call('HINCRBY', KEYS[1], 'attempt', 1)
  redis.call('HSET', KEYS[1], 'status', 'cancelled', 'updated', ARGV[2])
  return 2
end
return 1
"""


def stream_frames(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Frame]:
    """The frames of a step stream's entries, from the last reset on (end markers left out)."""
    frames: list[Frame] = []
    for _, fields in entries:
        kind = fields[b"k"].decode()
        if kind == "reset":
            frames = []
        elif kind != "end":
            frames.append((kind, orjson.loads(fields[b"d"])))
    return frames


# KEYS: jobs · ARGV: group: the consumer group over the job stream, read from the stream's
# start (jobs queued before any worker count); it may exist already (BUSYGROUP)
ENSURE_GROUP = """
local ok = redis.pcall('XGROUP', 'CREATE', KEYS[1], ARGV[1], '0', 'MKSTREAM')
if type(ok) == 'table' and ok.err and not string.find(ok.err, 'BUSYGROUP') then
  return redis.error_reply(ok.err)
end
return 1
"""
