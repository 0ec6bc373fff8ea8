-- Pool.map: a pool of 3 worker processes maps a function
-- over a list; map returns the results in the order of the list, whichever
-- worker ran each item. There is no network here, so "scraping" a URL only
-- checks that it looks like one.
local mp = require("mp")

local function scrape(url)
  if url:match("^https?://[%w.-]+") then
    return "URL " .. url .. " Scraped"
  end
  return "URL " .. url .. " not Scraped"
end

local pool = mp.Pool(3)
local urls = {
  "https://www.baidu.com",
  "http://www.meituan.com/",
  "http://blog.csdn.net/",
  "xxxyxxx",
}
for _, line in ipairs(pool:map(scrape, urls)) do
  print(line)
end
pool:close()
pool:join()
