#include "test_support.hpp"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/format.h>

namespace fs = std::filesystem;

namespace wbtest {

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "wbtest-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr)  // a null result would crash every test that follows
    throw std::runtime_error(fmt::format("mkdtemp {}: {}", tmpl, std::strerror(errno)));
  path = tmpl;
}
TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

const wb::PluginRegistry& plugins() {
  static const wb::PluginRegistry reg = [] {
    wb::PluginRegistry r;
    r.scan({WB_TEST_PLUGIN_DIR});
    return r;
  }();
  return reg;
}

namespace {
void write_bytes(const std::string& path, const std::string& bytes, bool gzip) {
  if (gzip) {
    gzFile f = gzopen(path.c_str(), "wb");
    gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
    gzclose(f);
  } else {
    std::ofstream(path, std::ios::binary)
        .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
}
void put_be32(std::string& s, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s += static_cast<char>((v >> shift) & 0xff);
}
}  // namespace

void write_idx_images(const std::string& path, const torch::Tensor& images, bool gzip) {
  std::string s;
  put_be32(s, 0x00000803);
  for (int d = 0; d < 3; ++d) put_be32(s, static_cast<uint32_t>(images.size(d)));
  auto c = images.contiguous();
  s.append(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
  write_bytes(path, s, gzip);
}

void write_idx_labels(const std::string& path, const torch::Tensor& labels, bool gzip) {
  std::string s;
  put_be32(s, 0x00000801);
  put_be32(s, static_cast<uint32_t>(labels.size(0)));
  auto c = labels.to(torch::kUInt8).contiguous();
  s.append(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), c.numel());
  write_bytes(path, s, gzip);
}

namespace {
std::pair<torch::Tensor, torch::Tensor> patterns(int64_t n, uint64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  auto labels = torch::randint(0, 4, {n}, gen, torch::kLong);
  auto images = torch::randint(0, 60, {n, 28, 28}, gen, torch::kLong);  // noise
  for (int64_t i = 0; i < n; ++i) {
    auto img = images[i];
    switch (labels[i].item<int64_t>()) {
      case 1:
        img += 180;
        break;
      case 2:
        img.slice(0, 0, 14) += 180;
        break;
      case 3:
        img.slice(1, 0, 14) += 180;
        break;
      default:
        break;
    }
  }
  return {images.clamp(0, 255).to(torch::kUInt8), labels};
}
}  // namespace

void write_pattern_dataset(const std::string& dir, int64_t n_train, int64_t n_test, bool gzip) {
  fs::create_directories(dir);
  const std::string ext = gzip ? ".gz" : "";
  auto [xtr, ytr] = patterns(n_train, 1);
  auto [xte, yte] = patterns(n_test, 2);
  write_idx_images(dir + "/train-images-idx3-ubyte" + ext, xtr, gzip);
  write_idx_labels(dir + "/train-labels-idx1-ubyte" + ext, ytr, gzip);
  write_idx_images(dir + "/t10k-images-idx3-ubyte" + ext, xte, gzip);
  write_idx_labels(dir + "/t10k-labels-idx1-ubyte" + ext, yte, gzip);
}

std::string minimal_experiment(const std::string& dataset_keys) {
  return fmt::format(R"(
[dataset]
plugin = "fashion_mnist"
{}
[quantizer]
plugin = "grey"
[model]
plugin = "igpt"
size = "tiny"
[objective]
plugin = "ar"
)",
                     dataset_keys);
}

wb::RunConfig run_config(const std::string& toml, const std::vector<std::string>& overrides) {
  return wb::parse_experiment(toml, "test.toml", overrides, plugins()).runs.at(0);
}

HostFixture::HostFixture(const wb::Section& section, uint64_t seed) {
  store = std::make_unique<wb::Store>(dir / "results.db");
  int64_t exp = store->experiment("test", "test.toml");
  run = store->begin_run(exp, "default", "hash", "pretrain", "", 0, wb::Provenance{});
  artifacts = std::make_unique<wb::StoreArtifacts>(dir / "artifacts", store.get(), run);
  results = std::make_unique<wb::StoreResults>(store.get(), run, section.get_string("plugin"),
                                               "evalhash");
  context =
      std::make_unique<wb::HostContext>(section, seed, torch::kCPU, artifacts.get(), results.get());
}

int run_cli(const std::string& args, std::string* output, const std::string& env) {
  std::string cmd = fmt::format("env {} {} {} 2>&1", env, WB_TEST_CLI, args);
  FILE* p = popen(cmd.c_str(), "r");
  std::array<char, 4096> buf{};
  output->clear();
  while (fgets(buf.data(), buf.size(), p)) *output += buf.data();
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string one(wb::Store& store, const std::string& sql) {
  std::string out;
  store.query(sql, {}, [&](auto&, const auto& v) { out = v[0]; });
  return out;
}

int64_t count(wb::Store& store, const std::string& sql) {
  const std::string n = one(store, sql);
  return n.empty() ? -1 : std::stoll(n);
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}

}  // namespace wbtest
