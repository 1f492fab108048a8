-- wrk script of benches/syscalls.sh: stops sending once COUNT answers arrived and creates the file
-- DONE (wrk itself only knows durations: the caller then ends it with SIGINT, which makes it
-- report), so that syscalls can be counted over a fixed number of requests. METHOD and BODY
-- choose the request (default GET without a body). Requests still in flight when it stops are
-- abandoned: at most one per connection more than COUNT reaches the gateway. Use with -t1.
local count = tonumber(os.getenv("COUNT") or "10000")
local method = os.getenv("METHOD") or "GET"
local body = os.getenv("BODY")
local done = os.getenv("DONE")
local answered = 0

wrk.method = method
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

function response(status, headers, body)
  answered = answered + 1
  if answered == count then
    wrk.thread:stop()
    if done then
      io.open(done, "w"):close()
    end
  end
end
