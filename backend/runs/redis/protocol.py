"""What the API and the workers agree on in Redis: key names and the Lua scripts that change state.

Keys (all under `descent:`):
- `jobs`              stream of submitted runs, read by the consumer group `workers`
                      (`python -m backend.worker`); an entry stays pending until its
                      worker acknowledges it, so a job whose worker died is claimed
                      again (XAUTOCLAIM) once it has been idle for the visibility timeout.
- `run:{id}`          hash: status, attempt (the fencing token of the current worker),
                      worker, requeues, updated.
- `run:{id}:steps`    the run's step stream: `k` (steps | steps.columns | epoch | ... | reset |
                      end), `d` (JSON; for `steps.columns`, a step frame's compressed columns:
                      `columns.encode`'s meta as JSON, a newline, its bytes), `t` (the worker's
                      clock when it wrote the frame). A new attempt starts with a `reset`
                      entry and trims everything before it.
- `run:{id}:cancel`   set by `DELETE /api/runs/{id}`; the worker polls it between steps.
- `active`            set of queued or running run ids; `events` stream of queued / ended.
- `store`             the identity of the API's run store; a worker whose store differs refuses to work.
- `client:{c}:runs`   set: the runs client `c` has admitted (admission, below); `admitting` the runs
                      admitted by some API replica and not yet submitted; `client:{c}:computing`
                      sorted set: the client's unstored computations, scored by when their lease ends.
- `address:{a}:runs`, `address:{a}:computing`: the same for all the clients at address `a` together.
- `worker:{name}`     heartbeat (JSON: device, concurrency, running runs), expires unless refreshed;
                      `workers` indexes the names by last heartbeat, so nobody scans the keyspace.

Every state change that several processes race for is one Lua script, so it is
atomic: a run is queued once, started by one worker at a time (a worker whose
job was claimed by another can no longer write frames, its attempt number being
stale), and ends once.
"""

import orjson

from backend.runs import columns
from backend.runs.columns import StepColumns
from backend.runs.model import Status
from backend.runs.store import Frame

STEP_COLUMNS = "steps.columns"  # a stream entry's kind: a step frame as its compressed columns

PREFIX = "descent:"
JOBS = PREFIX + "jobs"
GROUP = "workers"
ACTIVE = PREFIX + "active"
EVENTS = PREFIX + "events"
WORKER_PREFIX = PREFIX + "worker:"
WORKERS = PREFIX + "workers"  # sorted set: worker name → its last heartbeat (Unix time)
STORE = PREFIX + "store"  # the run store's identity, published by the API, checked by workers
ADMITTING = PREFIX + "admitting"  # set: runs admitted by an API replica, not yet submitted
EVENTS_MAXLEN = 10_000
ENDED = tuple(s.value for s in Status if s.ended)


def run_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}"


def steps_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}:steps"


def cancel_key(run_id: str) -> str:
    return f"{PREFIX}run:{run_id}:cancel"


def client_runs_key(client: str) -> str:
    return f"{PREFIX}client:{client}:runs"


def client_computing_key(client: str) -> str:
    return f"{PREFIX}client:{client}:computing"


def address_runs_key(address: str) -> str:
    return f"{PREFIX}address:{address}:runs"


def address_computing_key(address: str) -> str:
    return f"{PREFIX}address:{address}:computing"


# KEYS: run, jobs, active, events · ARGV: run id, run JSON, now
# (an admitted run's hash holds only `admitted`, with the admission lease as its TTL: kept, made lasting)
SUBMIT = f"""
if redis.call('HEXISTS', KEYS[1], 'status') == 1 then return 0 end
redis.call('HSET', KEYS[1], 'status', 'queued', 'attempt', 0, 'requeues', 0, 'updated', ARGV[3])
redis.call('PERSIST', KEYS[1])
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
-- its client's and its address's runs (see ADMISSION); a missing field is false, not nil
for _, admitted in ipairs(redis.call('HMGET', KEYS[1], 'admitted', 'admitted_address')) do
  if admitted then redis.call('SREM', admitted, ARGV[6]) end
end
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

# Admission, shared by every API replica: one script, so checking a limit and taking the slot is
# one step whichever replica asks. The clock is Redis's own (TIME), so replicas' clocks may differ.
# KEYS: active, admitting, the client's runs, the client's computations, its address's runs, its
#       address's computations
# ARGV: action, member (a run id, or a computation's token), lease (s), runs per client,
#       queued runs, computations per client, run key prefix, runs per address, computations per address
# Actions: run / compute → 0 admitted, 1 the client has its runs, 2 the server's queue is full,
#          3 the client has its computations, 4 its address has its runs, 5 its address has its
#          computations; renew-run / renew / release-run / release → 0.
# A client's run counts while its hash says queued or running, or, admitted and not yet
# submitted, while its hash (`admitted` fields only) lives: the lease. Slots are derived from run
# states and leases, so an API replica that dies holding one leaks it for one lease at most;
# FINISH gives a run's slot back, and this script forgets any member whose run has ended or gone.
ADMISSION = """
local now = redis.call('TIME')
now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local action, member, lease, prefix = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[7]
local lease_ms = math.ceil(lease * 1000)
local run = prefix .. member
if action == 'run' then
  for _, runs in ipairs({KEYS[3], KEYS[5]}) do
    for _, id in ipairs(redis.call('SMEMBERS', runs)) do
      local status = redis.call('HGET', prefix .. id, 'status')
      if (status and status ~= 'queued' and status ~= 'running')
          or (not status and redis.call('EXISTS', prefix .. id) == 0) then
        redis.call('SREM', runs, id)
      end
    end
  end
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[2])) do  -- submitted (now in active), or lapsed
    if redis.call('EXISTS', prefix .. id) == 0 or redis.call('HEXISTS', prefix .. id, 'status') == 1 then
      redis.call('SREM', KEYS[2], id)
    end
  end
  if redis.call('SCARD', KEYS[3]) >= tonumber(ARGV[4]) then return 1 end
  if redis.call('SCARD', KEYS[5]) >= tonumber(ARGV[8]) then return 4 end
  if redis.call('SCARD', KEYS[1]) + redis.call('SCARD', KEYS[2]) >= tonumber(ARGV[5]) then return 2 end
  redis.call('HSET', run, 'admitted', KEYS[3], 'admitted_address', KEYS[5])
  redis.call('PEXPIRE', run, lease_ms)
  redis.call('SADD', KEYS[3], member)
  redis.call('SADD', KEYS[5], member)
  redis.call('SADD', KEYS[2], member)
  return 0
end
if action == 'renew-run' or action == 'release-run' then
  if redis.call('EXISTS', run) == 1 and redis.call('HEXISTS', run, 'status') == 0 then
    if action == 'renew-run' then
      redis.call('PEXPIRE', run, lease_ms)
    else  -- never submitted: forget it now rather than when its lease ends
      redis.call('DEL', run)
      redis.call('SREM', KEYS[3], member)
      redis.call('SREM', KEYS[5], member)
      redis.call('SREM', KEYS[2], member)
    end
  end
  return 0
end
if action == 'release' then
  redis.call('ZREM', KEYS[4], member)
  redis.call('ZREM', KEYS[6], member)
  return 0
end
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now)
if action == 'compute' then
  if redis.call('ZCARD', KEYS[4]) >= tonumber(ARGV[6]) then return 3 end
  if redis.call('ZCARD', KEYS[6]) >= tonumber(ARGV[9]) then return 5 end
  redis.call('ZADD', KEYS[4], now + lease, member)
  redis.call('ZADD', KEYS[6], now + lease, member)
else  -- renew: only a computation still counted
  redis.call('ZADD', KEYS[4], 'XX', now + lease, member)
  redis.call('ZADD', KEYS[6], 'XX', now + lease, member)
end
redis.call('PEXPIRE', KEYS[4], lease_ms)
redis.call('PEXPIRE', KEYS[6], lease_ms)
return 0
"""


def stream_entry(frame: Frame) -> tuple[str, bytes]:
    """A frame as a step-stream entry's kind and data: step columns compressed, every bit kept
    (for frames of 200 starts, 30% of their JSON, and nothing to parse back into columns),
    anything else as its JSON."""
    kind, records = frame
    if kind == "steps" and isinstance(records, StepColumns):
        meta, data = columns.encode(records)
        return STEP_COLUMNS, orjson.dumps(meta) + b"\n" + data
    return kind, orjson.dumps(records)


def entry_frame(kind: str, data: bytes) -> Frame:
    """The frame a step-stream entry holds (neither a reset nor an end)."""
    if kind == STEP_COLUMNS:
        meta, _, packed = data.partition(b"\n")
        return "steps", columns.decode(orjson.loads(meta), packed)
    return kind, orjson.loads(data)


def stream_frames(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[Frame]:
    """The frames of a step stream's entries, from the last reset on (end markers left out)."""
    frames: list[Frame] = []
    for _, fields in entries:
        kind = fields[b"k"].decode()
        if kind == "reset":
            frames = []
        elif kind != "end":
            frames.append(entry_frame(kind, fields[b"d"]))
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
