-- wrk script: bookings that succeed, with slots that never run out. Each
-- wrk thread takes its own share of the slot ids in $SLOTS_FILE, books
-- them in turn (POST /fhir/Appointment) and cancels each booking it gets
-- (PUT with status cancelled), which frees the slot for the next round.
-- The summary counts 201 (booked), 200 (cancelled) and anything else.
local token = os.getenv("TOKEN")
local slots = {}
for line in io.lines(os.getenv("SLOTS_FILE")) do slots[#slots + 1] = line end
local patients = {"9990000018", "9990000026", "9990000034", "9990000042", "9990000050"}
local headers = {["Content-Type"] = "application/fhir+json", ["Authorization"] = "Bearer " .. token}
local threads, counter = {}, 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  local count = tonumber(os.getenv("WRK_THREADS") or "2")
  mine = {}
  for i = id, #slots, count do mine[#mine + 1] = slots[i] end
  next_slot, n, pending = 1, 0, {}
  booked, cancelled, other = 0, 0, 0
end

function request()
  if #pending > 0 then
    local appointment = table.remove(pending, 1)
    return wrk.format("PUT", "/fhir/Appointment/" .. appointment, headers,
      '{"resourceType":"Appointment","status":"cancelled","cancelationReason":{"text":"benchmark"}}')
  end
  local slot = mine[next_slot]
  next_slot = next_slot % #mine + 1
  n = n + 1
  local body = '{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/' .. slot ..
    '"}],"participant":[{"actor":{"identifier":{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"' ..
    patients[(n % #patients) + 1] .. '"}},"status":"accepted"}]}'
  return wrk.format("POST", "/fhir/Appointment", headers, body)
end

function response(status, headers, body)
  if status == 201 then
    booked = booked + 1
    local appointment = body:match('"id":"([^"]+)"')
    if appointment then table.insert(pending, appointment) end
  elseif status == 200 then
    cancelled = cancelled + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local b, c, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    b, c, o = b + thread:get("booked"), c + thread:get("cancelled"), o + thread:get("other")
  end
  io.write(string.format("booked (201): %d, cancelled (200): %d, other: %d\n", b, c, o))
end
