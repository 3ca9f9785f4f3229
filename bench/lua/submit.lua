-- POST the trivial job (WRK_BODY) to the URL given to wrk, as fast as the connections allow.
wrk.method = "POST"
wrk.body = os.getenv("WRK_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = os.getenv("WRK_AUTH")
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
