// `workbench serve` on a store of known runs (two seeds of one config, and a run
// still training): its JSON endpoints, its refusals (a path out of the store's folder,
// a port taken, a missing store), a clean stop on SIGTERM, and the page in a real
// browser (headless Chromium, --dump-dom): the runs, a grouped curve with its band, the
// layer plot's best layer, the differing config keys, a note with markup shown as
// text. A screenshot of each page is written into the build folder.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "run/runner.hpp"
#include "run/sampler.hpp"
#include "test_support.hpp"

extern char** environ;

namespace fs = std::filesystem;

namespace {

const char* kNote = "<script>document.title='pwned'</script><b>bold?</b>";

std::string config(int seed, int steps) {
  return fmt::format("[experiment]\nname = \"web\"\nseed = {}\n\n[training]\nsteps = {}\n", seed,
                     steps);
}

// Two seeds of one config (finished) and a run of another config still training.
void write_store(const std::string& path) {
  wb::Store s(path);
  const int64_t e = s.experiment("web", "web.toml");
  for (int seed : {0, 1}) {
    const int64_t run =
        s.begin_run(e, "default", fmt::format("c{}", seed), fmt::format("p{}", seed),
                    config(seed, 5), seed, wb::Provenance{});
    for (int step = 1; step <= 5; ++step)
      s.metric(run, step, "train/loss", 3.0 - 0.2 * step - seed);
    for (int layer = 0; layer < 3; ++layer) {
      s.result(run, "linear_probe", "lp", "accuracy", layer, "val",
               0.5 + 0.1 * layer - 0.05 * seed);
      s.result(run, "linear_probe", "lp", "accuracy", layer, "test", 0.5 + 0.1 * layer);
    }
    s.result(run, "linear_probe", "lp", "best_layer_accuracy", -1, "test", 0.7 + 0.01 * seed);
    s.end_run(run, "finished");
    if (seed == 0) s.note(run, kNote);
  }
  const int64_t live =
      s.begin_run(e, "training.steps=9", "c9", "p9", config(0, 9), 0, wb::Provenance{});
  s.metric(live, 3, "train/loss", 2.0);
}

// `workbench serve ARGS` started in the background; its first line gives the URL.
struct Server {
  explicit Server(const std::string& args, const std::string& log) {
    const std::string cmd = fmt::format("exec {} serve {} > '{}' 2>&1", WB_TEST_CLI, args, log);
    const char* argv[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    if (posix_spawn(&pid, "/bin/sh", nullptr, nullptr, const_cast<char**>(argv), environ) != 0)
      pid = -1;
    const std::regex url(R"(http://127\.0\.0\.1:(\d+)/)");
    for (int i = 0; i < 300 && port == 0; ++i) {  // up to 30 s
      std::smatch m;
      const std::string text = wbtest::read_text(log);
      if (std::regex_search(text, m, url)) port = std::stoi(m[1]);
      int status = 0;
      if (port == 0 && waitpid(pid, &status, WNOHANG) == pid) {  // it ended: say why
        exited = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
        pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  // SIGTERM, then its exit status (-1 when it did not end within 10 s).
  int stop() {
    if (pid <= 0) return exited;
    kill(pid, SIGTERM);
    for (int i = 0; i < 100; ++i) {
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    pid = -1;
    return -1;
  }
  ~Server() { stop(); }
  pid_t pid = -1;
  int port = 0;
  int exited = -1;
};

std::string chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (fs::exists(p)) return p;
  return "";
}

// A store made by small real runs: two seeds of one config (pretraining, validation,
// a linear probe at every layer), and a run of another config left training (its row
// as a live run leaves it: begun, a point of its curve, not ended).
void write_store_by_runs(const wbtest::TempDir& dir) {
  wbtest::write_pattern_dataset(dir / "data", 300, 100);
  const std::string file =
      wbtest::minimal_experiment(
          fmt::format("path = \"{}\"\nresolution = 7\nmax_eval = 100\n", dir / "data")) +
      "[experiment]\nname = \"web\"\n[training]\nsteps = 20\nbatch_size = 16\nlog_every = "
      "2\nval_every = "
      "10\n[[evaluators]]\nplugin = \"linear_probe\"\nl2_steps = 1\nmax_iter = 30\n";
  wb::Store store(dir / "results.db");
  for (const std::string seed : {"0", "1"}) {
    auto exp = wb::parse_experiment(file, dir / "web.toml", {"experiment.seed=" + seed},
                                    wbtest::plugins());
    ASSERT_TRUE(wb::run_experiment(exp, store, wbtest::plugins(), {}).ok());
  }
  store.note(1, kNote);
  const int64_t e = store.experiment("web", "web.toml");
  std::string config = store.run(1)->config;  // run 1's, but for 9 steps
  config.replace(config.find("steps = 20"), 10, "steps = 9");
  const int64_t live =
      store.begin_run(e, "training.steps=9", "c9", "p9", config, 0, wb::Provenance{});
  store.metric(live, 3, "train/loss", 2.0);
}

}  // namespace

TEST(Serve, AnswersItsEndpointsRefusesWhatItMustAndStopsOnSigterm) {
  wbtest::TempDir dir;
  write_store(dir / "results.db");
  fs::create_directories(dir / "reports/web");
  wb::write_png_grid(dir / "reports/web/samples-p0.png",
                     {torch::full({1, 4, 4, 1}, 200, torch::kUInt8)}, 1);
  Server server(fmt::format("--db {} --port 0", dir / "results.db"), dir / "serve.log");
  ASSERT_GT(server.port, 0) << wbtest::read_text(dir / "serve.log");
  httplib::Client http("127.0.0.1", server.port);

  auto runs_res = http.Get("/api/runs");
  ASSERT_TRUE(runs_res) << "no answer";
  ASSERT_EQ(runs_res->status, 200);
  const auto runs = nlohmann::json::parse(runs_res->body);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]["status"], "running");
  EXPECT_EQ(runs[0]["progress"]["step"], 3);
  EXPECT_EQ(runs[0]["progress"]["steps"], 9);
  EXPECT_EQ(runs[2]["note"], kNote);  // as stored; the page puts it in as text
  EXPECT_EQ(runs[1]["group"], runs[2]["group"]) << "two seeds of one config";
  EXPECT_NE(runs[0]["group"], runs[1]["group"]);
  // Headline results: each finished run's own first whole-model test rows (at most 3).
  EXPECT_TRUE(runs[0]["headline"].empty()) << "the run still training has none";
  {
    wb::Store store(dir / "results.db");
    for (int i : {1, 2}) {
      std::vector<double> expected;
      store.query(
          "SELECT value FROM results WHERE run_id = ? AND layer = -1 AND split = 'test' AND "
          "value IS NOT NULL ORDER BY id LIMIT 3",
          {std::to_string(runs[i]["id"].get<int64_t>())},
          [&](auto&, const auto& v) { expected.push_back(std::stod(v[0])); });
      ASSERT_FALSE(expected.empty());
      std::vector<double> got;
      for (const auto& h : runs[i]["headline"]) got.push_back(h["value"]);
      EXPECT_EQ(got, expected) << "run " << runs[i]["id"];
      EXPECT_EQ(runs[i]["headline"][0]["evaluator"], "linear_probe");
    }
  }

  const auto diff = nlohmann::json::parse(http.Get("/api/diff?run=1&run=3")->body);
  std::vector<std::string> keys;
  for (const auto& d : diff) keys.push_back(d["key"]);
  EXPECT_EQ(keys, (std::vector<std::string>{"training.steps"}));
  const auto curve = nlohmann::json::parse(http.Get("/api/curve?name=train/loss&run=2")->body);
  EXPECT_EQ(curve["runs"][0]["points"].size(), 5u);
  EXPECT_EQ(http.Get("/api/curve?name=train/loss&run=x")->status, 400);
  EXPECT_EQ(http.Get("/api/run/99")->status, 404);

  // Files below the store's folder only, and images only.
  EXPECT_EQ(http.Get("/files/reports/web/samples-p0.png")->status, 200);
  for (const std::string path :
       {"/files/../results.db", "/files/%2e%2e/results.db", "/files/results.db",
        "/files/reports/../../etc/passwd", "/files//etc/passwd"}) {
    auto res = http.Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_EQ(res->body.find("SQLite"), std::string::npos) << path;
  }

  // The port taken: a second server says so and exits non-zero.
  Server second(fmt::format("--db {} --port {}", dir / "results.db", server.port),
                dir / "second.log");
  EXPECT_EQ(second.port, 0);
  EXPECT_NE(second.exited, 0);
  EXPECT_NE(wbtest::read_text(dir / "second.log").find("the port is taken"), std::string::npos)
      << wbtest::read_text(dir / "second.log");
  // A missing store: named, non-zero.
  std::string out;
  EXPECT_NE(wbtest::run_cli(fmt::format("serve --db {} --port 0", dir / "absent.db"), &out), 0);
  EXPECT_NE(out.find("absent.db"), std::string::npos) << out;

  EXPECT_EQ(server.stop(), 0) << wbtest::read_text(dir / "serve.log");
  EXPECT_NE(wbtest::read_text(dir / "serve.log").find("serve: stopped"), std::string::npos);
}

TEST(Serve, ThePagesRenderInARealBrowser) {
  const std::string browser = chromium();
  if (browser.empty())
    FAIL() << "no chromium (bash tools/setup.sh --tests installs Debian's chromium)";
  wbtest::TempDir dir;
  write_store_by_runs(dir);
  fs::create_directories(dir / "reports/web");
  wb::write_png_grid(dir / "reports/web/samples-p0.png",
                     {torch::full({1, 4, 4, 1}, 200, torch::kUInt8)}, 8);
  Server server(fmt::format("--db {} --port 0", dir / "results.db"), dir / "serve.log");
  ASSERT_GT(server.port, 0) << wbtest::read_text(dir / "serve.log");
  // Screenshots beside the binaries: build/serve_<page>.png.
  const fs::path build = fs::path(WB_TEST_CLI).parent_path().parent_path();
  auto page = [&](const std::string& name) {
    const std::string url = fmt::format("http://127.0.0.1:{}/#{}", server.port, name);
    const std::string flags =
        "--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,900 "
        "--virtual-time-budget=8000";
    const std::string dom = dir / (name + ".html");
    std::system(
        fmt::format("{} {} --dump-dom '{}' > '{}' 2>/dev/null", browser, flags, url, dom).c_str());
    std::system(fmt::format("{} {} --screenshot='{}' '{}' > /dev/null 2>&1", browser, flags,
                            (build / ("serve_" + name + ".png")).string(), url)
                    .c_str());
    return wbtest::read_text(dom);
  };
  const std::string runs = page("runs");
  EXPECT_NE(runs.find("data-page-ready=\"runs\""), std::string::npos) << runs;
  for (const std::string id : {"1", "2", "3"})
    EXPECT_NE(runs.find("data-run=\"" + id + "\""), std::string::npos) << id << "\n" << runs;
  // The note as text: its markup escaped in the DOM, never a script or a <b>.
  EXPECT_NE(runs.find("&lt;script&gt;document.title='pwned'&lt;/script&gt;&lt;b&gt;"),
            std::string::npos)
      << runs;
  EXPECT_EQ(runs.find("<b>bold?</b>"), std::string::npos) << runs;
  EXPECT_EQ(runs.find("<title>pwned"), std::string::npos) << runs;
  // The keys that differ between the selected runs (all three at first), and only those.
  EXPECT_NE(runs.find("<td>experiment.seed</td>"), std::string::npos) << runs;
  EXPECT_NE(runs.find("<td>training.steps</td>"), std::string::npos) << runs;
  EXPECT_EQ(runs.find("<td>model.layers</td>"), std::string::npos) << runs;

  const std::string curves = page("curves");
  EXPECT_NE(curves.find("data-page-ready=\"curves\""), std::string::npos) << curves;
  EXPECT_NE(curves.find("default (n=2): mean of 2 runs (seeds 1, 0), band min to max"),
            std::string::npos)
      << curves;
  EXPECT_NE(curves.find("<canvas id=\"curve-chart\""), std::string::npos) << curves;

  const std::string layers = page("layers");
  EXPECT_NE(layers.find("linear_probe accuracy (test) by layer"), std::string::npos) << layers;
  EXPECT_NE(layers.find("default (n=2): best layer on val "), std::string::npos) << layers;
  // Results side by side: the best-layer row, one column per selected run.
  const std::string compare = page("compare");
  EXPECT_NE(compare.find("<td>linear_probe best_layer_accuracy layer -1 test</td>"),
            std::string::npos)
      << compare;
  EXPECT_NE(compare.find("#3 training.steps=9</th>"), std::string::npos) << compare;
  EXPECT_NE(compare.find("<td>linear_probe accuracy layer 2 test</td>"), std::string::npos)
      << compare;
  // The store folder's images, loaded from the server.
  const std::string images = page("images");
  EXPECT_NE(images.find("<img src=\"/files/reports/web/samples-p0.png\""), std::string::npos)
      << images;
  for (const std::string name : {"runs", "curves", "layers", "compare", "images"})
    EXPECT_TRUE(fs::exists(build / ("serve_" + name + ".png"))) << name;
}
