-- GET a random job among ids WRK_ID_LO..WRK_ID_HI: polls spread over the whole history.
local auth = os.getenv("WRK_AUTH")
local prefix = os.getenv("WRK_PATH_PREFIX")       -- ".../applications/Vision/jobs/"
local lo = tonumber(os.getenv("WRK_ID_LO"))
local hi = tonumber(os.getenv("WRK_ID_HI"))
local counter = 0

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  counter = counter + 1
  local headers = {}
  if auth and auth ~= "" then headers["Authorization"] = auth end
  return wrk.format("GET", prefix .. math.random(lo, hi), headers)
end
dofile(os.getenv("WRK_LUA_DIR") .. "/report.lua")
