-- ServeBench: POST /v1/score with a card-fraud event of user u<k>, paced by common.lua.
local keys = tonumber(os.getenv("KEYS") or "20000")
local merchants = {"grocery", "fuel", "restaurant", "travel", "electronics"}
local n = 0
local headers = {["Content-Type"] = "application/json"}
make_request = function()
  n = n + 1
  local body = string.format(
    '{"event_id":"q%d","ts":1800000000000,"user":"u%d","amount":%d.5,"merchant":"%s","country":"DE","device_age_days":%d}',
    n, n * 7919 % keys, n % 500, merchants[n % 5 + 1], n % 900)
  return wrk.format("POST", "/v1/score", headers, body)
end
dofile((os.getenv("SERVEBENCH_LUA") or ".") .. "/common.lua")
