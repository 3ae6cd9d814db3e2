-- wrk: refresh-token grants where every token is redeemed once, by the request that
-- follows the response carrying it.  bench/compare.py prepends `authorization` and
-- `seeds` (this run's first tokens, more than there are connections).  A response hands
-- its new token back to a stack the next request pops, so a connection mostly chains the
-- token it was just given; no token is ever sent twice (replaying one would rightly
-- revoke its family).
local stack = {}
for i = #seeds, 1, -1 do stack[#stack + 1] = seeds[i] end

request = function()
  local token = table.remove(stack) or "exhausted"
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = authorization,
  }, "grant_type=refresh_token&refresh_token=" .. token)
end

response = function(status, headers, body)
  local token = body:match('"refresh_token"%s*:%s*"([^"]+)"')
  if token then stack[#stack + 1] = token end
end
