-- ServeBench: GET /v1/features/u<k>, k cycling over KEYS users, paced by common.lua.
local keys = tonumber(os.getenv("KEYS") or "20000")
local n = 0
make_request = function()
  n = n + 1
  return wrk.format("GET", "/v1/features/u" .. (n * 7919 % keys))
end
dofile((os.getenv("SERVEBENCH_LUA") or ".") .. "/common.lua")
