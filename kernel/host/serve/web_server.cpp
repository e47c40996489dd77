#include "serve/web_server.hpp"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <workbench/error.hpp>

#include "platform/files.hpp"
#include "platform/interrupt.hpp"
#include "serve/store_api.hpp"
#include "store/store.hpp"

namespace fs = std::filesystem;

namespace wb {

namespace {

// The run ids of a request's `run` parameters (run=1&run=2).
std::vector<int64_t> run_ids(const httplib::Request& req) {
  std::vector<int64_t> ids;
  const size_t n = req.get_param_value_count("run");
  for (size_t i = 0; i < n; ++i) ids.push_back(run_id_of(req.get_param_value("run", i)));
  return ids;
}

// A file below `root`, by its path relative to it: the empty path when it leads
// outside (.., a symbolic link out) or is not a regular file.
fs::path file_below(const fs::path& root, const std::string& rel) {
  std::error_code ec;
  const fs::path real = fs::canonical(root / rel, ec);
  if (ec || !fs::is_regular_file(real)) return {};
  return lies_within(root, real) ? real : fs::path();
}

const char* content_type(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".png") return "image/png";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".html") return "text/html; charset=utf-8";
  return "";
}

}  // namespace

void serve(const ServeOptions& opt, const std::function<void(const std::string&)>& ready) {
  // Opened as `results` opens it: read-only, its schema checked, a clear error first.
  auto store = Store::open_for_reading(opt.db);
  std::mutex store_mutex;  // one SQLite connection; the server answers on several threads
  const fs::path root = fs::canonical(fs::absolute(opt.db).parent_path());
  for (const char* f : {"index.html", "app.js", "style.css"})
    if (!fs::exists(fs::path(opt.web_dir) / f))
      throw Error(fmt::format("serve: the page's {} is not in {}", f, opt.web_dir));

  httplib::Server svr;
  // Every answer as JSON from the store, or {"error": ...} with 400 (or 404).
  auto api = [&](const std::string& pattern, auto answer) {
    svr.Get(pattern, [&, answer](const httplib::Request& req, httplib::Response& res) {
      try {
        std::lock_guard<std::mutex> lock(store_mutex);
        const nlohmann::json body = answer(req);
        if (body.is_null()) {
          res.status = 404;
          res.set_content(nlohmann::json{{"error", "not found"}}.dump(), "application/json");
          return;
        }
        res.set_content(body.dump(), "application/json");
      } catch (const std::exception& e) {
        res.status = 400;
        res.set_content(nlohmann::json{{"error", e.what()}}.dump(), "application/json");
      }
    });
  };
  api("/api/runs",
      [&](const httplib::Request& req) { return runs_json(*store, req.has_param("all")); });
  api(R"(/api/run/(\d+))",
      [&](const httplib::Request& req) { return run_json(*store, run_id_of(req.matches[1])); });
  api("/api/metrics",
      [&](const httplib::Request& req) { return metric_names_json(*store, run_ids(req)); });
  api("/api/curve", [&](const httplib::Request& req) {
    return curve_json(*store, req.get_param_value("name"), run_ids(req));
  });
  api("/api/results",
      [&](const httplib::Request& req) { return results_json(*store, run_ids(req)); });
  api("/api/diff",
      [&](const httplib::Request& req) { return config_diff_json(*store, run_ids(req)); });
  api("/api/images", [&](const httplib::Request&) {
    nlohmann::json out = nlohmann::json::array();
    std::error_code ec;
    const fs::path reports = root / "reports";
    if (fs::is_directory(reports))
      for (auto it = fs::recursive_directory_iterator(reports, ec);
           it != fs::recursive_directory_iterator(); it.increment(ec))
        if (it->is_regular_file() && it->path().extension() == ".png")
          out.push_back(fs::relative(it->path(), root).string());
    std::sort(out.begin(), out.end());
    return out;
  });
  // The store folder's images, by path below it; nothing else.
  svr.Get(R"(/files/(.+))", [&](const httplib::Request& req, httplib::Response& res) {
    const fs::path file = file_below(root, req.matches[1]);
    const std::string type = file.empty() ? "" : content_type(file);
    if (type.rfind("image/", 0) != 0) {
      res.status = 404;
      res.set_content("not found", "text/plain");
      return;
    }
    res.set_content(read_file(file), type);
  });
  // The page and its script, style and Chart.js.
  auto page_file = [&](const std::string& route, const fs::path& file) {
    svr.Get(route, [file](const httplib::Request&, httplib::Response& res) {
      try {
        res.set_content(read_file(file), content_type(file));
      } catch (const std::exception& e) {
        res.status = 500;
        res.set_content(e.what(), "text/plain");
      }
    });
  };
  page_file("/", fs::path(opt.web_dir) / "index.html");
  page_file("/app.js", fs::path(opt.web_dir) / "app.js");
  page_file("/style.css", fs::path(opt.web_dir) / "style.css");
  page_file("/chart.js", opt.chart_js);
  svr.set_default_headers({{"Cache-Control", "no-store"}, {"X-Content-Type-Options", "nosniff"}});
  // SO_REUSEADDR only: cpp-httplib's default adds SO_REUSEPORT, with which a second
  // server binds the port that the first holds and the two share its requests.
  svr.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });

  const int port = opt.port == 0 ? svr.bind_to_any_port(opt.host)
                                 : (svr.bind_to_port(opt.host, opt.port) ? opt.port : -1);
  if (port < 0)
    throw Error(
        fmt::format("serve: cannot listen on {}:{}: the port is taken (or the address is "
                    "not this machine's); pick another with --port",
                    opt.host, opt.port));
  install_interrupt_handler();
  // Ctrl-C and SIGTERM set a flag; this thread turns it into a clean stop.
  std::atomic<bool> listening{true};
  std::thread watcher([&] {
    while (listening && !interrupted()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    svr.stop();
  });
  ready(fmt::format("http://{}:{}/", opt.host, port));
  const bool ok = svr.listen_after_bind();
  listening = false;
  watcher.join();
  if (!ok && !interrupted()) throw Error("serve: the server stopped unexpectedly");
}

}  // namespace wb
