#pragma once
// Pixels to tokens for one run: dataset -> resize -> quantizer, cached on disk under
// artifacts/tokens/<data_hash>/ (tokens.pt, palette.pt, sources.tsv), so a second run
// with the same data settings starts training at once.
#include <map>
#include <string>

#include <torch/types.h>
#include <workbench/workbench.hpp>

#include "experiment/experiment.hpp"
#include "plugins/plugin_registry.hpp"
#include "run/run_context.hpp"

namespace wb {

struct TokenData {
  std::map<std::string, TokenSplit> splits;  // train, val, test
  torch::Tensor unlabeled;                   // int64 (M, S) extra pretraining tokens, or undefined
  int64_t height = 0, width = 0, num_classes = 0;
  bool reused = false;  // read from the cache rather than made
  // SHA-256 of tokens.pt: what the tokens are, whichever data file and settings made
  // them. Part of the key of everything made from them (checkpoints, features).
  std::string sha256;
};

// The run's token arrays: read from the cache when it is complete, its files match
// their checksum records and no input file the dataset declared
// (PluginContext::depends_on) has changed since; made otherwise.
// The quantizer ends up fitted or loaded either way, so evaluators can decode.
TokenData load_tokens(const RunConfig& rc, const PluginRegistry& reg, HostContext& dataset_ctx,
                      Quantizer& quantizer, ArtifactCache& artifacts);

// Why the token cache of the run's data settings no longer matches the files it was
// made from ("data.idx changed"), or "" (also when there is no cache). Reads only.
std::string data_changed(const RunConfig& rc, const StoreArtifacts& artifacts);

// What the tokens and their fitted quantizer say about the run's data (PluginContext::
// data() of the plugins made after them).
DataFacts data_facts(const TokenData& td, const Quantizer& quantizer);

// One split's images as the token pipeline sees them: loaded by the dataset plugin,
// cut to max_train / max_eval, resized to the run's resolution; not quantized.
ImageSplit load_images(const RunConfig& rc, Dataset& dataset, const std::string& split);

}  // namespace wb
