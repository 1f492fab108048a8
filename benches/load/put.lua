-- wrk script of benches/load.sh: PUT /v1/users/1 (ReplaceUser) with the same User JSON body.
wrk.method = "PUT"
wrk.body = '{"displayName":"bench","email":"b@example.com"}'
wrk.headers["Content-Type"] = "application/json"
