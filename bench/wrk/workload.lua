-- wrk script of bench/run.sh: every request is signed for one of the seeded users, picked at
-- random, and goes to that user's own paths. Environment:
--   WRK_WORKLOAD    list | list-tag | create | create-keyed | toggle | mixed | gql-list | gql-create
--                   | gql-page1
--                   | gql-page500
--                   | pgrst-list | pgrst-create | pgql-list
--   WRK_USERS_FILE  lines "user_id token task_id,task_id,... cursor" written by `bench-tool seed`
--                   (cursor: the user's page-500 `after` cursor, or "-" below 10,000 tasks)
-- done() prints one tab-separated line starting with @@RESULT for run.sh to collect.

local workload = os.getenv("WRK_WORKLOAD") or "list"
local users_file = os.getenv("WRK_USERS_FILE")

local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("thread_number", counter)
end

local users = {}
-- Requests are built once per user (and task) here, so the load generator spends its CPU on
-- sending, not on formatting.
local list_requests, list_tag_requests, create_requests, toggle_requests = {}, {}, {}, {}
-- create-keyed: each request carries a new Idempotency-Key, so it is built when sent.
local create_paths, create_headers = {}, {}
local gql_list_requests, gql_create_requests = {}, {}
local gql_page1_requests, gql_page500_requests = {}, {}
local pgrst_list_requests, pgrst_create_requests = {}, {}
local pgql_list_requests = {}

-- The GraphQL list of issue 14: what a list screen shows, with the owner through its loader.
local GQL_LIST = '{"query":"{ tasks(first: 20) { nodes { id title description completed createdAt '
  .. 'updatedAt owner { id } } } }"}'
local GQL_CREATE = '{"query":"mutation { createTask(input: {title: \\"wrk gql\\"}) { id } }"}'
-- Keyset pages of 20 (CREATED_AT DESC): the first, and page 500 after the user's cursor.
local GQL_PAGE_FIELDS = ' { nodes { id title completed } pageInfo { endCursor hasNextPage } } }"}'
local GQL_PAGE1 = '{"query":"{ tasks(first: 20)' .. GQL_PAGE_FIELDS
local function gql_page_after(cursor)
  return '{"query":"{ tasks(first: 20, after: \\"' .. cursor .. '\\")' .. GQL_PAGE_FIELDS
end
local PGRST_LIST = "/tasks?select=id,user_id,title,description,completed,created_at,updated_at"
  .. "&order=created_at.desc,id.desc&limit=20"
-- PostGraphile 4's names for GQL_LIST: the caller's 20 newest tasks (row-level security keeps
-- the caller's own), with the owner through the user_id foreign key.
local PGQL_LIST = '{"query":"{ allTasks(first: 20, orderBy: [CREATED_AT_DESC, ID_DESC]) '
  .. '{ nodes { id title description completed createdAt updatedAt userByUserId { id } } } }"}'

local function split(text, separator)
  local parts = {}
  for part in string.gmatch(text, "([^" .. separator .. "]+)") do
    parts[#parts + 1] = part
  end
  return parts
end

function init(args)
  math.randomseed(os.time() * 1000 + (thread_number or 0))
  if not users_file then
    error("WRK_USERS_FILE is not set")
  end
  for line in io.lines(users_file) do
    -- The task ids may be empty (then two spaces in a row): match the fields by position.
    local id, token, tasks, cursor = line:match("^(%S+) (%S+) (%S*) ?(%S*)")
    if not id then
      error("malformed line in " .. users_file .. ": " .. line)
    end
    local user = { id = id, token = token, tasks = split(tasks, ",") }
    users[#users + 1] = user
    local auth = { ["Authorization"] = "Bearer " .. user.token }
    local json = { ["Authorization"] = "Bearer " .. user.token, ["Content-Type"] = "application/json" }
    local base = "/api/" .. user.id .. "/tasks"
    list_requests[#users] = wrk.format("GET", base .. "?limit=20", auth)
    -- Tasks carrying both tags (bench-tool seeds t0..t4 and t0..t6 in cycles): one in 35.
    list_tag_requests[#users] = wrk.format("GET", base .. "?limit=20&tag=t1&tag=t2", auth)
    create_requests[#users] = wrk.format("POST", base, json, '{"title":"wrk create"}')
    create_paths[#users] = base
    create_headers[#users] = json
    local toggles = {}
    for i, task in ipairs(user.tasks) do
      toggles[i] = wrk.format("PATCH", base .. "/" .. task .. "/complete", auth)
    end
    toggle_requests[#users] = toggles
    gql_list_requests[#users] = wrk.format("POST", "/graphql", json, GQL_LIST)
    gql_create_requests[#users] = wrk.format("POST", "/graphql", json, GQL_CREATE)
    gql_page1_requests[#users] = wrk.format("POST", "/graphql", json, GQL_PAGE1)
    if cursor ~= "" and cursor ~= "-" then
      gql_page500_requests[#users] = wrk.format("POST", "/graphql", json, gql_page_after(cursor))
    elseif workload == "gql-page500" then
      error("gql-page500 needs each user's page-500 cursor (seed 10,000 tasks per user or more)")
    end
    pgrst_list_requests[#users] = wrk.format("GET", PGRST_LIST, auth)
    local pgrst_json = {
      ["Authorization"] = "Bearer " .. user.token,
      ["Content-Type"] = "application/json",
      ["Prefer"] = "return=representation",
    }
    pgrst_create_requests[#users] = wrk.format("POST", "/tasks", pgrst_json, '{"title":"wrk pgrst"}')
    pgql_list_requests[#users] = wrk.format("POST", "/graphql", json, PGQL_LIST)
  end
  if #users == 0 then
    error("no users in " .. users_file)
  end
end

-- A key no other request of the run sends: the thread, a counter, and a random part (two wrk
-- processes never share a run, but a key per user would not collide across threads either).
local sent = 0
local function create_keyed(n)
  sent = sent + 1
  local headers = {}
  for name, value in pairs(create_headers[n]) do
    headers[name] = value
  end
  headers["Idempotency-Key"] = string.format("wrk-%d-%d-%d", thread_number or 0, sent, math.random(1e9))
  return wrk.format("POST", create_paths[n], headers, '{"title":"wrk create"}')
end

local function toggle(n)
  local toggles = toggle_requests[n]
  return toggles[math.random(#toggles)]
end

local pick = {
  ["list"] = function(n) return list_requests[n] end,
  ["list-tag"] = function(n) return list_tag_requests[n] end,
  ["create"] = function(n) return create_requests[n] end,
  ["create-keyed"] = create_keyed,
  ["toggle"] = toggle,
  ["mixed"] = function(n)
    local r = math.random()
    if r < 0.8 then
      return list_requests[n]
    elseif r < 0.9 then
      return create_requests[n]
    else
      return toggle(n)
    end
  end,
  ["gql-list"] = function(n) return gql_list_requests[n] end,
  ["gql-create"] = function(n) return gql_create_requests[n] end,
  ["gql-page1"] = function(n) return gql_page1_requests[n] end,
  ["gql-page500"] = function(n) return gql_page500_requests[n] end,
  ["pgrst-list"] = function(n) return pgrst_list_requests[n] end,
  ["pgrst-create"] = function(n) return pgrst_create_requests[n] end,
  ["pgql-list"] = function(n) return pgql_list_requests[n] end,
}

local choose = pick[workload]
if not choose then
  error("unknown WRK_WORKLOAD " .. workload)
end

function request()
  return choose(math.random(#users))
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local ms = function(us) return string.format("%.2f", us / 1000) end
  io.write(string.format(
    "@@RESULT\t%.1f\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n",
    summary.requests / seconds,
    ms(latency:percentile(50)),
    ms(latency:percentile(95)),
    ms(latency:percentile(99)),
    ms(latency.max),
    summary.requests,
    e.status,
    e.connect + e.read + e.write + e.timeout
  ))
end
