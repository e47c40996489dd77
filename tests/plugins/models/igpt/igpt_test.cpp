#include <gtest/gtest.h>

#include <set>

#include <workbench/workbench.hpp>

#include "flash_attention.hpp"
#include "igpt_module.hpp"  // plugins/models/igpt, for the norm
#include "test_support.hpp"

namespace {

struct Tiny {
  Tiny(const std::vector<std::string>& sets = {}) {
    rc = wbtest::run_config(wbtest::minimal_experiment(), sets);
    host = std::make_unique<wbtest::HostFixture>(rc.at("model"));
    model = wbtest::plugins().create<wb::Model>("igpt", *host->context);
    model->build({16, 12});
  }
  // The output head starts at zero; a random one makes logits depend on the input.
  void randomise_head() {
    torch::NoGradGuard no_grad;
    for (auto& p : model->module().named_parameters())
      if (p.key().find("head") != std::string::npos) p.value().normal_(0, 0.1);
  }
  wb::RunConfig rc;
  std::unique_ptr<wbtest::HostFixture> host;
  std::shared_ptr<wb::Model> model;
};

// How many nodes of the autograd graph behind `loss` have `part` in their name.
int nodes_named(const torch::Tensor& loss, const std::string& part) {
  int found = 0;
  std::vector<torch::autograd::Node*> todo{loss.grad_fn().get()};
  std::set<torch::autograd::Node*> seen;
  while (!todo.empty()) {
    auto* n = todo.back();
    todo.pop_back();
    if (!n || !seen.insert(n).second) continue;
    found += n->name().find(part) != std::string::npos;
    for (const auto& e : n->next_edges()) todo.push_back(e.function.get());
  }
  return found;
}

torch::Tensor tokens(int64_t n, int64_t s, uint64_t seed) {
  auto gen = torch::make_generator<at::CPUGeneratorImpl>(seed);
  return torch::randint(0, 16, {n, s}, gen, torch::kLong);
}

// Cross-entropy of `m` predicting `x` (vocabulary 16), causal with the start-of-sequence
// shift or bidirectional, under bfloat16 autocast when `bf16`.
torch::Tensor loss_on(wb::Model& m, const torch::Tensor& x, bool causal, bool bf16) {
  wb::ForwardInput in;
  in.tokens = x;
  in.causal = causal;
  in.shift_sos = causal;
  wb::BfloatAutocast autocast(torch::kCPU, bf16);
  auto out = m.forward(in, wb::FeatureRequest{false});
  return torch::nn::functional::cross_entropy(out.logits.reshape({-1, 16}).to(torch::kFloat),
                                              x.reshape(-1));
}

}  // namespace

TEST(Igpt, ShapesAndOneFeaturePerLayerIncludingTheEmbedding) {
  Tiny t;
  wb::ForwardInput in;
  in.tokens = tokens(3, 12, 1);
  auto out = t.model->forward(in, wb::FeatureRequest{true});
  EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 12, 16}));
  ASSERT_EQ(out.features.size(), 3u);  // layers 0, 1, 2
  for (const auto& f : out.features) EXPECT_EQ(f.sizes(), (std::vector<int64_t>{3, 32}));
}

TEST(Igpt, OutputHeadStartsAtZero) {
  Tiny t;
  wb::ForwardInput in;
  in.tokens = tokens(2, 12, 1);
  EXPECT_EQ(t.model->forward(in).logits.abs().max().item<float>(), 0.0f);
}

TEST(Igpt, NoBiasesAnywhere) {
  Tiny t;
  for (const auto& p : t.model->module().named_parameters())
    EXPECT_EQ(p.key().find("bias"), std::string::npos) << p.key();
}

TEST(Igpt, CausalWithSosPredictsEachTokenFromThoseBefore) {
  Tiny t;
  torch::NoGradGuard no_grad;
  t.randomise_head();
  wb::ForwardInput in;
  in.tokens = tokens(1, 12, 1);
  auto a = t.model->forward(in).logits;
  in.tokens = in.tokens.clone();
  in.tokens[0][5] = (in.tokens[0][5].item<int64_t>() + 1) % 16;
  auto b = t.model->forward(in).logits;
  // Position i sees tokens < i: positions 0..5 are unchanged, 6.. change.
  EXPECT_TRUE(torch::equal(a.slice(1, 0, 6), b.slice(1, 0, 6)));
  EXPECT_FALSE(torch::allclose(a.slice(1, 6), b.slice(1, 6)));
  // Bidirectional attention lets every position see the change.
  in.causal = false;
  auto c = t.model->forward(in).logits;
  in.tokens[0][5] = (in.tokens[0][5].item<int64_t>() + 1) % 16;
  auto d = t.model->forward(in).logits;
  EXPECT_FALSE(torch::allclose(c.slice(1, 0, 5), d.slice(1, 0, 5)));
}

TEST(Igpt, ExplicitDimensionsOverrideTheNamedSize) {
  Tiny t({"model.layers=3", "model.width=24", "model.heads=3"});
  EXPECT_EQ(t.model->num_layers(), 3);
  EXPECT_EQ(t.model->width(), 24);
  auto rc = wbtest::run_config(wbtest::minimal_experiment(), {"model.width=30", "model.heads=4"});
  wbtest::HostFixture host(rc.at("model"));
  EXPECT_THROW(wbtest::plugins().create<wb::Model>("igpt", *host.context), wb::Error);
}

TEST(Igpt, SameSeedSameInitialWeights) {
  Tiny a, b;
  auto pa = a.model->module().parameters(), pb = b.model->module().parameters();
  ASSERT_EQ(pa.size(), pb.size());
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

namespace {
// Layers and width of a named size, read from the plugin without building it.
std::pair<int64_t, int64_t> dims(const std::string& size) {
  auto rc = wbtest::run_config(wbtest::minimal_experiment(), {"model.size=" + size});
  wbtest::HostFixture host(rc.at("model"));
  auto model = wbtest::plugins().create<wb::Model>("igpt", *host.context);
  return {model->num_layers(), model->width()};
}
int64_t count_parameters(const std::string& size, int64_t* layers = nullptr,
                         int64_t* width = nullptr) {
  auto rc = wbtest::run_config(wbtest::minimal_experiment(), {"model.size=" + size});
  wbtest::HostFixture host(rc.at("model"));
  auto model = wbtest::plugins().create<wb::Model>("igpt", *host.context);
  model->build({512, 1024});
  int64_t n = 0;
  for (const auto& p : model->module().parameters()) n += p.numel();
  if (layers) *layers = model->num_layers();
  if (width) *width = model->width();
  return n;
}
// The architecture's count at vocab V = 512 and context S = 1024: per block q, k, v,
// proj (4 d^2), the 4d MLP (8 d^2) and two norms (2d); token embedding, position
// embedding and head (V d + S d + d V), the SOS vector and the final norm (2d).
int64_t formula(int64_t layers, int64_t d) {
  return layers * (12 * d * d + 2 * d) + 512 * d + 1024 * d + d * 512 + 2 * d;
}
}  // namespace

// The paper's sizes at vocab 512 and context 1024: iGPT-S 76M, M 455M, L 1362M and
// XL 6801M parameters; this architecture must match each within 1%. S and M are built
// and counted; L and XL (5.4 and 27 GB of weights) are counted by the formula that
// the built S and M match exactly.
TEST(Igpt, PaperSizesHaveThePapersParameterCounts) {
  int64_t layers = 0, width = 0;
  const int64_t s = count_parameters("s", &layers, &width);
  EXPECT_EQ(layers, 24);
  EXPECT_EQ(width, 512);
  EXPECT_EQ(s, formula(24, 512));
  EXPECT_NEAR(static_cast<double>(s), 76e6, 0.01 * 76e6) << s;
  const int64_t m = count_parameters("m");
  EXPECT_EQ(m, formula(36, 1024));
  EXPECT_NEAR(static_cast<double>(m), 455e6, 0.01 * 455e6) << m;
  EXPECT_EQ(dims("l"), std::make_pair(int64_t{48}, int64_t{1536}));
  EXPECT_EQ(dims("xl"), std::make_pair(int64_t{60}, int64_t{3072}));
  EXPECT_NEAR(static_cast<double>(formula(48, 1536)), 1362e6, 0.01 * 1362e6);
  EXPECT_NEAR(static_cast<double>(formula(60, 3072)), 6801e6, 0.01 * 6801e6);
}

// The CPU sizes, built at vocab 512 and context 1024: their layers and width, and
// exactly the architecture's count.
TEST(Igpt, SmallSizesHaveTheirShapesAndTheArchitecturesCount) {
  const std::map<std::string, std::pair<int64_t, int64_t>> shapes = {
      {"tiny", {2, 32}}, {"mini", {4, 64}}, {"xs", {8, 128}}};
  for (const auto& [size, shape] : shapes) {
    int64_t layers = 0, width = 0;
    const int64_t n = count_parameters(size, &layers, &width);
    EXPECT_EQ(std::make_pair(layers, width), shape) << size;
    EXPECT_EQ(n, formula(layers, width)) << size;
  }
}

// Incremental decoding with the key/value cache computes what the full causal pass
// computes: the logits at every position, one position per call.
TEST(Igpt, DecodingStepByStepGivesTheFullPassLogits) {
  Tiny t;
  torch::NoGradGuard no_grad;
  // The head starts at zero, which would hide any difference: give it weights.
  for (auto& p : t.model->module().named_parameters())
    if (p.key() == "head.weight") p.value().normal_(0, 0.5);
  auto x = tokens(3, 12, 9);
  wb::ForwardInput in;
  in.tokens = x;                            // causal, SOS shift: the AR view
  auto full = t.model->forward(in).logits;  // (3, 12, 16)
  auto state = t.model->start_decoding(3);
  ASSERT_TRUE(state);
  torch::Tensor previous;
  for (int64_t pos = 0; pos < 12; ++pos) {
    auto step = t.model->decode_step(*state, previous);  // (3, 16)
    EXPECT_TRUE(torch::allclose(step, full.select(1, pos), 1e-5, 1e-5)) << "position " << pos;
    previous = x.select(1, pos);
  }
  EXPECT_THROW(t.model->decode_step(*state, previous), wb::Error);  // past the context
}

TEST(Igpt, NormIsRmsWithoutMeanOrBias) {
  igpt::RmsNorm norm(2);
  // (3, 4): mean square 12.5, so x / sqrt(12.5 + 1e-5). (1, 1): unchanged, where a
  // LayerNorm would subtract the mean and give (0, 0).
  auto y = norm(torch::tensor({3.f, 4.f, 1.f, 1.f}).view({2, 2}));
  const float r = 1.0f / std::sqrt(12.5f + 1e-5f);
  EXPECT_TRUE(torch::allclose(y, torch::tensor({3 * r, 4 * r, 1.f, 1.f}).view({2, 2}), 1e-5, 1e-5))
      << y;
  ASSERT_EQ(norm->parameters().size(), 1u);  // the gain g only, starting at 1
  EXPECT_TRUE(torch::equal(norm->g, torch::ones({2})));
}

TEST(Igpt, MaskedPositionsHaveAZeroTokenEmbedding) {
  Tiny t;
  torch::NoGradGuard no_grad;
  t.randomise_head();
  wb::ForwardInput in;
  in.tokens = tokens(1, 12, 1);
  in.causal = false;
  in.shift_sos = false;
  in.masked = torch::zeros({1, 12}, torch::kBool);
  in.masked[0][4] = true;
  auto a = t.model->forward(in).logits;
  // Another token at the masked position changes nothing: the model never sees it.
  in.tokens = in.tokens.clone();
  in.tokens[0][4] = (in.tokens[0][4].item<int64_t>() + 1) % 16;
  EXPECT_TRUE(torch::equal(a, t.model->forward(in).logits));
  // The same change unmasked is seen.
  in.masked[0][4] = false;
  EXPECT_FALSE(torch::allclose(a, t.model->forward(in).logits));
}

// checkpoint_activations recomputes each block in the backward pass: the same loss and
// the same gradients as the plain pass, in float32 and under bfloat16 autocast, for
// causal and bidirectional attention; feature passes (no gradients) are unchanged.
TEST(Igpt, CheckpointedActivationsGiveThePlainPasssGradients) {
  for (bool bf16 : {false, true}) {
    for (bool causal : {true, false}) {
      Tiny plain({"model.layers=3"}), ckpt({"model.layers=3", "model.checkpoint_activations=true"});
      plain.randomise_head();
      {
        torch::NoGradGuard no_grad;  // the same weights in both
        auto a = plain.model->module().parameters(), b = ckpt.model->module().parameters();
        for (size_t i = 0; i < a.size(); ++i) b[i].copy_(a[i]);
      }
      auto x = tokens(4, 12, 3);
      auto loss_of = [&](wb::Model& m) { return loss_on(m, x, causal, bf16); };
      auto l1 = loss_of(*plain.model), l2 = loss_of(*ckpt.model);
      EXPECT_EQ(l1.item<float>(), l2.item<float>()) << "bf16 " << bf16 << " causal " << causal;
      // The checkpointed graph holds one node per block in place of the blocks' own.
      auto blocks_in_graph = [](const torch::Tensor& loss) {
        return nodes_named(loss, "CheckpointFunction");
      };
      EXPECT_EQ(blocks_in_graph(l1), 0);
      EXPECT_EQ(blocks_in_graph(l2), 3);
      l1.backward();
      l2.backward();
      auto a = plain.model->module().named_parameters();
      auto b = ckpt.model->module().named_parameters();
      for (const auto& p : a) {
        const auto& g1 = p.value().grad();
        const auto& g2 = b[p.key()].grad();
        ASSERT_EQ(g1.defined(), g2.defined()) << p.key();  // sos has none without the shift
        if (!g1.defined()) continue;
        const double scale = g1.abs().max().item<double>() + 1e-12;
        EXPECT_LE((g1 - g2).abs().max().item<double>(), 1e-6 * scale)
            << p.key() << " bf16 " << bf16 << " causal " << causal;
      }
    }
  }
}

// model.attention picks the kernel; the own one gives LibTorch's loss and gradients (the
// kernel itself is tested against the composed attention in igpt_attention_test.cpp),
// and auto takes it for bfloat16 (the graph holds its node then) and for float32 where
// its AVX-512 build runs.
TEST(Igpt, TheOwnAttentionGivesLibTorchsLossAndGradientsAndAutoTakesItForBfloat16) {
  if (!igpt::flash_attention_cpu_problem().empty())
    GTEST_SKIP() << "the own attention does not run here: " << igpt::flash_attention_cpu_problem()
                 << " (the model uses LibTorch's kernel)";
  auto graph_has_own = [](const torch::Tensor& loss) {
    return nodes_named(loss, "FlashAttentionFn") > 0;  // not LibTorch's FlashAttention node
  };
  for (bool causal : {true, false}) {
    Tiny own(std::vector<std::string>{"model.attention=\"own\""}),
        lib(std::vector<std::string>{"model.attention=\"libtorch\""}),
        automatic(std::vector<std::string>{});
    own.randomise_head();
    {
      torch::NoGradGuard no_grad;
      auto a = own.model->module().parameters(), b = lib.model->module().parameters(),
           c = automatic.model->module().parameters();
      for (size_t i = 0; i < a.size(); ++i) {
        b[i].copy_(a[i]);
        c[i].copy_(a[i]);
      }
    }
    auto x = tokens(4, 12, 5);
    auto loss_of = [&](wb::Model& m, bool bf16) { return loss_on(m, x, causal, bf16); };
    auto l1 = loss_of(*own.model, false), l2 = loss_of(*lib.model, false);
    EXPECT_TRUE(graph_has_own(l1));
    EXPECT_FALSE(graph_has_own(l2));
    EXPECT_NEAR(l1.item<float>(), l2.item<float>(), 1e-5) << "causal " << causal;
    l1.backward();
    l2.backward();
    auto a = own.model->module().named_parameters();
    auto b = lib.model->module().named_parameters();
    for (const auto& p : a) {
      const auto &g1 = p.value().grad(), &g2 = b[p.key()].grad();
      ASSERT_EQ(g1.defined(), g2.defined()) << p.key();  // sos: unused without the shift
      if (g1.defined()) EXPECT_TRUE(torch::allclose(g1, g2, 1e-4, 1e-5)) << p.key();
    }
    EXPECT_EQ(graph_has_own(loss_of(*automatic.model, false)), igpt::flash_attention_avx512());
    EXPECT_TRUE(graph_has_own(loss_of(*automatic.model, true)));
  }
}

// model.attention = auto: the own kernel for bfloat16 where its products run on AMX
// (training and inference), for bfloat16 with gradients up to 512 tokens elsewhere, and
// for float32 where its AVX-512 build runs; LibTorch's for bfloat16 in inference mode
// without AMX (the probe's feature pass). `own` and `libtorch` force theirs.
TEST(Igpt, AutoAttentionTakesTheOwnKernelWhereItMeasuredFaster) {
  auto block = [](igpt::Attention a) { return igpt::Block(igpt::Dims{1, 32, 2, 16, 1024, a}); };
  auto q = [](int64_t s, torch::ScalarType t) { return torch::zeros({1, 2, s, 16}, t); };
  const auto automatic = block(igpt::Attention::Auto);
  EXPECT_TRUE(automatic->takes_own_attention(q(196, torch::kBFloat16), 196));
  EXPECT_EQ(automatic->takes_own_attention(q(1024, torch::kBFloat16), 1024),
            igpt::flash_attention_bf16_products());
  // float32: the own kernel where its AVX-512 build runs, in training and inference.
  EXPECT_EQ(automatic->takes_own_attention(q(196, torch::kFloat), 196),
            igpt::flash_attention_avx512());
  {
    c10::InferenceMode inference;  // the probe's feature pass
    EXPECT_EQ(automatic->takes_own_attention(q(196, torch::kBFloat16), 196),
              igpt::flash_attention_bf16_products());
    EXPECT_EQ(automatic->takes_own_attention(q(1024, torch::kBFloat16), 1024),
              igpt::flash_attention_bf16_products());
    EXPECT_EQ(automatic->takes_own_attention(q(1024, torch::kFloat), 1024),
              igpt::flash_attention_avx512());
  }
  {
    torch::NoGradGuard no_grad;  // a checkpointed block's first forward: still training
    EXPECT_TRUE(automatic->takes_own_attention(q(196, torch::kBFloat16), 196));
  }
  EXPECT_TRUE(block(igpt::Attention::Own)->takes_own_attention(q(1024, torch::kFloat), 1024));
  EXPECT_FALSE(
      block(igpt::Attention::LibTorch)->takes_own_attention(q(196, torch::kBFloat16), 196));
}

// On a GPU, `auto` asks LibTorch for cuDNN's attention first, for that call only: the
// process-wide order is put back, and the values are LibTorch's default kernel's.
TEST(Igpt, OnAGpuAutoAttentionAsksForCudnnFirstAndPutsTheOrderBack) {
  if (!torch::cuda::is_available())
    GTEST_SKIP() << "no CUDA device here: the GPU path is checked by tools/gpu/check.sh";
  torch::manual_seed(5);
  igpt::Block automatic(igpt::Dims{1, 128, 2, 16, 256, igpt::Attention::Auto});
  igpt::Block libtorch(igpt::Dims{1, 128, 2, 16, 256, igpt::Attention::LibTorch});
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < automatic->parameters().size(); ++i)
    libtorch->parameters()[i].copy_(automatic->parameters()[i]);
  automatic->to(torch::kCUDA, torch::kBFloat16);
  libtorch->to(torch::kCUDA, torch::kBFloat16);
  auto h = torch::randn({2, 256, 128}, torch::TensorOptions(torch::kCUDA).dtype(torch::kBFloat16));
  const auto before = at::globalContext().sDPPriorityOrder();
  auto ours = automatic->attend(h, true).to(torch::kFloat32);
  EXPECT_EQ(at::globalContext().sDPPriorityOrder(), before);
  auto theirs = libtorch->attend(h, true).to(torch::kFloat32);
  EXPECT_TRUE(torch::allclose(ours, theirs, 0.02, 0.02)) << (ours - theirs).abs().max();
}
