#include "run/tokens.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <torch/serialize.h>

#include "platform/interrupt.hpp"
#include "plugins/plugin_guard.hpp"
#include "run/resize.hpp"

namespace fs = std::filesystem;

namespace wb {

namespace {

const std::vector<std::string> kSplits = {"train", "val", "test"};

// One line of sources.tsv: path, size, modification time, inode change time (both ns)
// and inode number. The change time catches an edit in place that restores size and
// modification time (the kernel sets it on every write and no user call can set it
// back); the inode number catches a file replaced by another.
std::string fingerprint(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw Error(fmt::format("{}: cannot stat ({})", path, std::strerror(errno)));
  const auto ns = [](const timespec& t) { return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec; };
  return fmt::format("{}\t{}\t{}\t{}\t{}", path, st.st_size, ns(st.st_mtim), ns(st.st_ctim),
                     st.st_ino);
}

void write_sources(const std::string& path, const std::vector<std::string>& inputs) {
  write_atomically(path, [&](const std::string& tmp) {
    std::ofstream out(tmp);
    for (const auto& p : inputs) out << fingerprint(p) << "\n";
    out.close();
    if (!out) throw Error(fmt::format("{}: cannot write", tmp));
  });
}

// Why the cache built from the files listed in sources.tsv is stale, or "" if it is not.
std::string stale_because(const std::string& sources) {
  std::ifstream in(sources);
  std::string line;
  while (std::getline(in, line)) {
    // A line of an older format starts with a number, not a path: it reads as gone.
    const std::string path = line.substr(0, line.find('\t'));
    std::error_code ec;
    if (!fs::exists(path, ec)) return fmt::format("{} is gone", path);
    if (fingerprint(path) != line) return fmt::format("{} changed", path);
  }
  return "";
}

// Why the token arrays cannot be this palette's and labels' ("" when they can): a cache
// whose checksum matched can still be one an older build wrote wrongly.
std::string tokens_problem(const TokenData& td, int64_t vocab) {
  for (const auto& [name, split] : td.splits) {
    const auto& t = split.tokens;
    if (t.numel() && (t.min().item<int64_t>() < 0 || t.max().item<int64_t>() >= vocab))
      return fmt::format("{} tokens outside the palette's [0, {})", name, vocab);
    const auto& l = split.labels;
    if (l.numel() && (l.min().item<int64_t>() < 0 || l.max().item<int64_t>() >= td.num_classes))
      return fmt::format("{} labels outside [0, {})", name, td.num_classes);
  }
  return "";
}

TokenData read_tokens(const std::string& tokens_path, const std::string& palette_path,
                      Quantizer& quantizer) {
  TokenData td;
  try {
    torch::serialize::InputArchive ar;
    ar.load_from(tokens_path);
    for (const auto& s : kSplits) {
      ar.read(s + "_tokens", td.splits[s].tokens);
      ar.read(s + "_labels", td.splits[s].labels);
    }
    torch::Tensor meta, unlabeled;
    ar.read("meta", meta);  // height, width, num_classes, has unlabeled
    td.height = meta[0].item<int64_t>();
    td.width = meta[1].item<int64_t>();
    td.num_classes = meta[2].item<int64_t>();
    if (meta[3].item<int64_t>()) ar.read("unlabeled_tokens", td.unlabeled);
  } catch (...) {
    throw Error(fmt::format("{}: cannot read the token cache: {}", tokens_path,
                            current_exception_message()));
  }
  try {
    quantizer.load(palette_path);
  } catch (...) {
    throw Error(
        fmt::format("{}: cannot read the palette: {}", palette_path, current_exception_message()));
  }
  const std::string problem = tokens_problem(td, quantizer.vocab_size());
  if (!problem.empty()) throw Error(fmt::format("{}: {}", tokens_path, problem));
  td.reused = true;
  return td;
}

}  // namespace

ImageSplit load_images(const RunConfig& rc, Dataset& dataset, const std::string& split) {
  const auto& ds = rc.at("dataset");
  ImageSplit s = dataset.load(split);
  const int64_t limit = ds.get_int(split == "train" ? "max_train" : "max_eval");
  if (split != "unlabeled" && limit > 0 && s.images.size(0) > limit) {
    s.images = s.images.slice(0, 0, limit);
    s.labels = s.labels.slice(0, 0, limit);
  }
  if (ds.get_int("resolution") > 0)
    s.images = resize_images(s.images, ds.get_int("resolution"), ds.get_string("resize"));
  return s;
}

namespace {

// Dataset -> resize -> quantizer, written to the cache; tokens.pt last, so its
// presence means the cache is complete.
TokenData make_tokens(const RunConfig& rc, const PluginRegistry& reg, HostContext& dctx,
                      Quantizer& quantizer, const std::string& dir) {
  TokenData td;
  const auto& ds = rc.at("dataset");
  auto dataset = reg.create<Dataset>(ds.get_string("plugin"), dctx);
  std::map<std::string, ImageSplit> images;
  for (const auto& s : kSplits) images[s] = load_images(rc, *dataset, s);
  ImageSplit unlabeled;
  if (ds.get_bool("unlabeled")) unlabeled = load_images(rc, *dataset, "unlabeled");
  td.num_classes = static_cast<int64_t>(dataset->class_names().size());
  td.height = images["train"].images.size(1);
  td.width = images["train"].images.size(2);
  log_message(LogLevel::Info,
              fmt::format("data: {} train / {} val / {} test{} images of {}x{}x{}, {} classes",
                          images["train"].images.size(0), images["val"].images.size(0),
                          images["test"].images.size(0),
                          unlabeled.images.defined()
                              ? fmt::format(" / {} unlabeled", unlabeled.images.size(0))
                              : "",
                          td.height, td.width, images["train"].images.size(3), td.num_classes));
  // Ctrl-C or SIGTERM while reading or fitting: stop before anything is cached (a
  // quantizer that returned early would leave a palette no run should reuse).
  const auto stop_if_asked = [] {
    if (interrupted()) throw Interrupted("interrupted while making the tokens");
  };
  stop_if_asked();
  quantizer.fit(images["train"].images);
  stop_if_asked();
  torch::serialize::OutputArchive ar;
  for (const auto& s : kSplits) {
    td.splits[s] = TokenSplit{quantizer.encode(images[s].images), images[s].labels};
    ar.write(s + "_tokens", td.splits[s].tokens);
    ar.write(s + "_labels", td.splits[s].labels);
  }
  if (unlabeled.images.defined()) {
    td.unlabeled = quantizer.encode(unlabeled.images);
    ar.write("unlabeled_tokens", td.unlabeled);
  }
  ar.write("meta",
           torch::tensor({td.height, td.width, td.num_classes, int64_t(td.unlabeled.defined())},
                         torch::kLong));
  const std::string palette = (fs::path(dir) / "palette.pt").string();
  const std::string tokens = (fs::path(dir) / "tokens.pt").string();
  stop_if_asked();
  write_checked(palette, [&](const std::string& tmp) { quantizer.save(tmp); });
  write_sources((fs::path(dir) / "sources.tsv").string(), dctx.inputs());
  td.sha256 = write_checked(tokens, [&](const std::string& tmp) { save_archive(ar, tmp); });
  return td;
}

}  // namespace

TokenData load_tokens(const RunConfig& rc, const PluginRegistry& reg, HostContext& dctx,
                      Quantizer& quantizer, ArtifactCache& artifacts) {
  // Another run making the same tokens waits here, then reuses them.
  const auto held = artifacts.lock("tokens", rc.data_hash);
  const std::string dir = artifacts.dir("tokens", rc.data_hash);
  const std::string tokens = (fs::path(dir) / "tokens.pt").string();
  const std::string palette = (fs::path(dir) / "palette.pt").string();
  const std::string sources = (fs::path(dir) / "sources.tsv").string();
  TokenData td;
  std::string stale, sha256;
  // Both files checked against their records (a damaged one is removed, and so the
  // cache is incomplete and made again), then their sources.
  const auto warn = [](const std::string& m) { log_message(LogLevel::Warn, "tokens: " + m); };
  const bool palette_ok = reuse_checked(palette, warn);
  const bool tokens_ok = reuse_checked(tokens, warn, &sha256);
  if (palette_ok && tokens_ok && fs::exists(sources))
    stale = stale_because(sources);
  else
    stale = "no complete cache";
  if (stale.empty()) {
    td = read_tokens(tokens, palette, quantizer);
    td.sha256 = sha256;
    log_message(LogLevel::Info, fmt::format("tokens: reusing cache {}", dir));
  } else {
    if (stale != "no complete cache")
      log_message(LogLevel::Warn, fmt::format("tokens: {} since the cache {} was made; "
                                              "re-encoding",
                                              stale, dir));
    fs::remove(tokens);
    td = make_tokens(rc, reg, dctx, quantizer, dir);
  }
  // Made or reused, every run lists the files its numbers came from.
  artifacts.record("palette", rc.data_hash, palette);
  artifacts.record("tokens", rc.data_hash, tokens);
  return td;
}

std::string data_changed(const RunConfig& rc, const StoreArtifacts& artifacts) {
  const std::string sources =
      (fs::path(artifacts.path("tokens", rc.data_hash)) / "sources.tsv").string();
  std::error_code ec;
  return fs::exists(sources, ec) ? stale_because(sources) : "";
}

DataFacts data_facts(const TokenData& td, const Quantizer& quantizer) {
  DataFacts facts;
  facts.vocab_size = quantizer.vocab_size();
  facts.channels = quantizer.channels();
  facts.image_side = td.height;
  facts.context = td.height * td.width;
  facts.num_classes = td.num_classes;
  return facts;
}

}  // namespace wb
