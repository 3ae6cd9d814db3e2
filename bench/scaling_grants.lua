-- Client-credentials grants, each from one of many registered clients picked at random.
-- bench/scaling.py puts `local credentials = {"Basic ...", ...}` in front of this file.
-- After the warm-up every worker's client cache holds them all, as in production; what
-- is left to grow with the registry is the lookup of a client the cache does not hold.
wrk.method = "POST"
wrk.body = "grant_type=client_credentials"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

function request()
  wrk.headers["Authorization"] = credentials[math.random(#credentials)]
  return wrk.format()
end
