-- wrk script: POST /fhir/Appointment, cycling through the slot ids in
-- $SLOTS_FILE and the demo patients, with the bearer token in $TOKEN.
-- Once a slot is taken, later bookings of it are answered 409 by the module
-- (a real call: the atomic take fails), so the run mixes 201 and 409.
local token = os.getenv("TOKEN")
local slots = {}
for line in io.lines(os.getenv("SLOTS_FILE")) do slots[#slots + 1] = line end
local patients = {"9990000018", "9990000026", "9990000034", "9990000042", "9990000050"}
local n = 0

init = function(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

request = function()
  n = n + 1
  local slot = slots[math.random(#slots)]
  local patient = patients[(n % #patients) + 1]
  local body = '{"resourceType":"Appointment","status":"booked","slot":[{"reference":"Slot/' .. slot ..
    '"}],"participant":[{"actor":{"identifier":{"system":"https://fhir.nhs.uk/Id/nhs-number","value":"' ..
    patient .. '"}},"status":"accepted"}]}'
  return wrk.format("POST", "/fhir/Appointment",
    {["Content-Type"] = "application/fhir+json", ["Authorization"] = "Bearer " .. token}, body)
end
