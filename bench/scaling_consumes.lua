-- Credit consumes for users picked at random, each with a fresh idempotency key
-- ("<run>-<wrk thread>-<n>"), so every request writes a ledger entry.  bench/scaling.py
-- puts `local token, run, path, subs = "...", "...", "/api/...?user=", {"<sub>", ...}`
-- in front of this file.
local threads, counter = 0, 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  math.randomseed(os.time() + 7919 * tid)
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. token

function request()
  counter = counter + 1
  local key = run .. "-" .. tid .. "-" .. counter
  local body = '{"amount": 1, "service": "bench-scale", "idempotency_key": "' .. key .. '"}'
  return wrk.format(nil, path .. subs[math.random(#subs)], nil, body)
end
