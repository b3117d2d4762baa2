-- wrk script for bench/auth.sh: counts the responses that are not the
-- upstream's 200 (a 302 to the login or a 401 would otherwise pass as a
-- "success", wrk counts only >= 400 as errors), and those that lack or
-- carry the identity the upstream saw (the upstream nginx echoes
-- X-Auth-Request-User back as X-Seen-User). wrk -t1 only: the counts are
-- read from the one thread in done().
--
-- WANT_USER (environment): "yes" = every response must carry X-Seen-User,
-- "no" = none may.

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  responses, non200, wrong_user = 0, 0, 0
  statuses = {}
  want_user = os.getenv("WANT_USER") == "yes"
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 then
    non200 = non200 + 1
    statuses[status] = (statuses[status] or 0) + 1
  end
  local seen = headers["x-seen-user"] or headers["X-Seen-User"]
  if (seen ~= nil) ~= want_user then
    wrong_user = wrong_user + 1
  end
end

function done(summary, latency, requests)
  local r, n, w, codes = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    r = r + t:get("responses")
    n = n + t:get("non200")
    w = w + t:get("wrong_user")
    local s = t:get("statuses")
    for code, count in pairs(s) do
      codes = codes .. string.format(" %d:%d", code, count)
    end
  end
  io.write(string.format("lua: responses %d non200 %d wrong_identity %d statuses%s\n", r, n, w, codes))
end
