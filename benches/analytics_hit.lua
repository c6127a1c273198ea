-- wrk script: a stream of distinct page-view beacons from many visitors.
-- ROUND (environment) keeps ids unique across runs against the same spool.
local round = os.getenv("ROUND") or "0"
local n = 0
local uas = {
  "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
  "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
  "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
}
request = function()
  n = n + 1
  local body = string.format(
    '{"id":"bench-%s-%d","p":"/comic/page-%d","c":%d,"r":"https://www.reddit.com/r/comics/comments/%d/","w":%d}',
    round, n, n % 2000, n % 2000 + 1, n % 50, 360 + (n % 4) * 400)
  local headers = {
    ["Content-Type"] = "text/plain;charset=UTF-8",
    ["Origin"] = "https://comic.example",
    ["User-Agent"] = uas[n % 3 + 1],
    ["X-Forwarded-For"] = string.format("10.%d.%d.%d", n % 200, math.floor(n / 200) % 200, n % 7),
  }
  return wrk.format("POST", "/api/hit", headers, body)
end
