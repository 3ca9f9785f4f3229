-- GET the URL given to wrk, with the Authorization header from WRK_AUTH (if set).
local auth = os.getenv("WRK_AUTH")
if auth and auth ~= "" then wrk.headers["Authorization"] = auth end
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
