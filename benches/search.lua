-- wrk script: GET /api/search with the next query from benches/search-queries.txt.
local queries = {}
for line in io.lines("benches/search-queries.txt") do
  if #line > 0 then queries[#queries + 1] = line end
end

local function urlencode(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local counter = 0
request = function()
  counter = counter + 1
  local q = queries[(counter % #queries) + 1]
  return wrk.format("GET", "/api/search?q=" .. urlencode(q))
end
