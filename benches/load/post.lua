-- wrk script of benches/load.sh: POST /v1/users (CreateUser) with a small User JSON body.
wrk.method = "POST"
wrk.body = '{"displayName":"bench","email":"b@example.com"}'
wrk.headers["Content-Type"] = "application/json"
