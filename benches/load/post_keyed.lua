-- wrk script of benches/load.sh: POST /v1/users (CreateUser) with a small User JSON body and a
-- fresh Idempotency-Key on every request, so each one is claimed and stored, never replayed.
wrk.method = "POST"
wrk.body = '{"displayName":"bench","email":"b@example.com"}'
wrk.headers["Content-Type"] = "application/json"
math.randomseed(os.time())
local prefix = tostring(math.random(1, 1000000000))
local counter = 0
request = function()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = prefix .. "-" .. counter
  return wrk.format()
end
