-- wrk script for bench/run.ts. Arguments (after `--`): <token file or "-"> [<json body file or "-"> <method> ["raw"]]
-- With a token file each request carries the next token of the pool; with "raw", each line is the
-- whole Authorization value (bench/rejections.ts sends refused values too). The raw requests are formatted
-- once in init(), so request() only hands the next one over: the rotation costs the load generator
-- as little as possible and the server nothing. done() prints one JSON line that bench/run.ts parses.
local tokens = {}
local count = 0
local index = 0
local method = "GET"
local body = nil
local raw = false

function init(args)
  local file = args[1]
  raw = args[4] == "raw"
  if file ~= nil and file ~= "-" then
    for line in io.lines(file) do
      if #line > 0 then
        count = count + 1
        if raw then tokens[count] = line else tokens[count] = "Bearer " .. line end
      end
    end
  end
  if args[2] ~= nil and args[2] ~= "-" then
    local f = io.open(args[2], "rb")
    body = f:read("*a")
    f:close()
  end
  if args[3] ~= nil then method = args[3] end
  for i = 1, count do
    tokens[i] = wrk.format(method, nil, { ["Authorization"] = tokens[i] }, body)
  end
  if count == 0 then
    if body ~= nil then wrk.method = method; wrk.body = body end
    -- static request: wrk builds it once from wrk.method/headers/body
    request = nil
  end
end

request = function()
  index = index + 1
  if index > count then index = 1 end
  return tokens[index]
end

function done(summary, latency, requests)
  local e = summary.errors
  local status = e.status
  io.write(string.format(
    '\nWRKJSON {"requests":%d,"duration_us":%d,"status_errors":%d,"errors":%d,"p50":%d,"p90":%d,"p99":%d,"max":%d}\n',
    summary.requests, summary.duration, status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
