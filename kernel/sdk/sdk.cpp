// Out-of-line destructors: they anchor the SDK classes' vtables and type info in
// libworkbench, so host and plugins agree on one copy.
#include <workbench/workbench.hpp>

#include <c10/util/Exception.h>

namespace wb {

Error::~Error() = default;
Plugin::~Plugin() = default;
Dataset::~Dataset() = default;
Quantizer::~Quantizer() = default;
Model::~Model() = default;
DecodeState::~DecodeState() = default;
Objective::~Objective() = default;
Evaluator::~Evaluator() = default;
FeatureService::~FeatureService() = default;
Optimiser::~Optimiser() = default;
Progress::~Progress() = default;
ArtifactCache::~ArtifactCache() = default;
ArtifactLock::~ArtifactLock() = default;
ResultSink::~ResultSink() = default;
PluginContext::~PluginContext() = default;

std::string message_of(const std::exception& e) {
  if (const auto* c10 = dynamic_cast<const c10::Error*>(&e)) return c10->what_without_backtrace();
  return e.what();
}

torch::Generator PluginContext::generator(const std::string& stream) const {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed(stream));
  return gen;
}

}  // namespace wb
