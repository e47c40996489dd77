// `workbench serve [--db PATH] [--host ADDR] [--port N]`: a local web page over the
// store, read-only (serve/web_server.hpp); Ctrl-C stops it.
#include <iostream>
#include <memory>

#include <fmt/format.h>
#include <boost/dll/runtime_symbol_info.hpp>

#include "commands.hpp"
#include "serve/web_server.hpp"

namespace fs = std::filesystem;

namespace wb::cli {

void add_serve(CLI::App& app, int& exit_code) {
  auto opt = std::make_shared<ServeOptions>();
  opt->db = default_db();
  auto* cmd = app.add_subcommand("serve", "A local web page over the store: runs, curves, layers");
  cmd->add_option("--db", opt->db, "results store")->capture_default_str();
  cmd->add_option("--host", opt->host, "address to listen on (another machine's view: 0.0.0.0)")
      ->capture_default_str();
  cmd->add_option("--port", opt->port, "port (0: any free one)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  cmd->callback([opt, &exit_code] {
    // <prefix>/share/workbench/web beside <prefix>/bin/workbench (build and install trees).
    const fs::path exe = boost::dll::program_location().string();
    opt->web_dir = (exe.parent_path().parent_path() / "share" / "workbench" / "web").string();
    serve(*opt, [&](const std::string& url) {
      std::cout << fmt::format("serving {} at {} (read-only; Ctrl-C stops)", opt->db, url)
                << std::endl;
    });
    std::cout << "serve: stopped" << std::endl;
    exit_code = 0;
  });
}

}  // namespace wb::cli
