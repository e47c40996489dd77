#pragma once
// `workbench serve`: a local web page over a results store (cpp-httplib), read-only.
// The page (share/workbench/web: index.html, app.js, style.css) draws with Chart.js
// (Debian's libjs-chart.js, served from its file: nothing is fetched from the
// internet) from the JSON endpoints of store_api.hpp. Files under the store's folder
// (sample grids, report figures) are served by path below it, nothing outside it.
#include <functional>
#include <string>

namespace wb {

struct ServeOptions {
  std::string db;
  std::string host = "127.0.0.1";  // only this machine, unless asked
  int port = 8000;                 // 0: any free port (the line printed says which)
  std::string web_dir;             // the page's files
  std::string chart_js = "/usr/share/javascript/chart.js/chart.min.js";
};

// Serves until Ctrl-C or SIGTERM; `ready(url)` is called once listening. Errors (a
// missing or unreadable store, a store of another schema, a port taken) are thrown
// as wb::Error before anything is served.
void serve(const ServeOptions& opt, const std::function<void(const std::string& url)>& ready);

}  // namespace wb
