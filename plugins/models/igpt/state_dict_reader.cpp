#include "state_dict_reader.hpp"

#include <caffe2/serialize/inline_container.h>

#include <cstring>
#include <memory>
#include <variant>
#include <vector>

#include <fmt/format.h>
#include <workbench/error.hpp>

namespace igpt {

namespace {

struct Mark {};
struct None {};
struct Global {
  std::string name;  // "module.name"
};
struct Storage {
  std::string key;
  torch::ScalarType dtype;
};
struct Value;
using Tuple = std::vector<Value>;
struct Dict {
  std::map<std::string, torch::Tensor> tensors;  // the string -> tensor entries
};
struct Value {
  std::variant<Mark, None, bool, int64_t, double, std::string, Global, Storage,
               std::shared_ptr<Tuple>, std::shared_ptr<Dict>, torch::Tensor>
      v;
};

// Legacy storage class names, as torch.save writes them, to element types.
const std::map<std::string, torch::ScalarType> kStorages = {
    {"torch.FloatStorage", torch::kFloat32}, {"torch.DoubleStorage", torch::kFloat64},
    {"torch.HalfStorage", torch::kFloat16},  {"torch.BFloat16Storage", torch::kBFloat16},
    {"torch.LongStorage", torch::kInt64},    {"torch.IntStorage", torch::kInt32},
    {"torch.ShortStorage", torch::kInt16},   {"torch.CharStorage", torch::kInt8},
    {"torch.ByteStorage", torch::kUInt8},    {"torch.BoolStorage", torch::kBool}};

class Interpreter {
 public:
  Interpreter(const std::string& path, caffe2::serialize::PyTorchStreamReader& zip,
              const char* data, size_t size)
      : path_(path), zip_(zip), p_(data), end_(data + size) {}

  Value run() {
    while (true) {
      const uint8_t op = byte();
      switch (op) {
        case 0x80:
          byte();
          break;  // PROTO
        case 0x95:
          skip(8);
          break;  // FRAME
        case '.':
          return pop();  // STOP
        case '(':
          push(Mark{});
          break;  // MARK
        case ')':
          push(std::make_shared<Tuple>());
          break;  // EMPTY_TUPLE
        case '}':
          push(std::make_shared<Dict>());
          break;  // EMPTY_DICT
        case 'N':
          push(None{});
          break;  // NONE
        case 0x88:
          push(true);
          break;  // NEWTRUE
        case 0x89:
          push(false);
          break;  // NEWFALSE
        case 'K':
          push(int64_t(byte()));
          break;  // BININT1
        case 'M':
          push(int64_t(uint_le(2)));
          break;  // BININT2
        case 'J':
          push(int64_t(int32_t(uint_le(4))));
          break;  // BININT
        case 0x8a:
          push(long1());
          break;  // LONG1
        case 'G':
          push(binfloat());
          break;  // BINFLOAT
        case 'X':
          push(text(uint_le(4)));
          break;  // BINUNICODE
        case 0x8c:
          push(text(byte()));
          break;  // SHORT_BINUNICODE
        case 0x8d:
          push(text(uint_le(8)));
          break;  // BINUNICODE8
        case 'q':
          memo_[byte()] = top();
          break;  // BINPUT
        case 'r':
          memo_[uint_le(4)] = top();
          break;  // LONG_BINPUT
        case 0x94:
          memo_[memo_.size()] = top();
          break;  // MEMOIZE
        case 'h':
          push(memo(byte()));
          break;  // BINGET
        case 'j':
          push(memo(uint_le(4)));
          break;  // LONG_BINGET
        case 't':
          push(std::make_shared<Tuple>(pop_to_mark()));
          break;  // TUPLE
        case 0x85:
          tuple_of(1);
          break;  // TUPLE1
        case 0x86:
          tuple_of(2);
          break;  // TUPLE2
        case 0x87:
          tuple_of(3);
          break;     // TUPLE3
        case 'c': {  // GLOBAL
          std::string module = line(), name = line();
          push(Global{module + "." + name});
          break;
        }
        case 0x93: {  // STACK_GLOBAL
          auto name = as<std::string>(pop(), "STACK_GLOBAL name");
          auto module = as<std::string>(pop(), "STACK_GLOBAL module");
          push(Global{module + "." + name});
          break;
        }
        case 'Q':
          push(persistent(pop()));
          break;     // BINPERSID
        case 'R': {  // REDUCE
          auto args = pop();
          auto fn = pop();
          push(call(fn, args));
          break;
        }
        case 's': {  // SETITEM
          auto value = pop();
          auto key = pop();
          set_item(top(), key, value);
          break;
        }
        case 'u': {  // SETITEMS
          auto items = pop_to_mark();
          for (size_t i = 0; i + 1 < items.size(); i += 2) set_item(top(), items[i], items[i + 1]);
          break;
        }
        case 'b':
          pop();
          break;  // BUILD: an OrderedDict's state (_metadata) is not needed
        default:
          fail(fmt::format("pickle opcode 0x{:02x} at byte {} is not one a state dict uses", op,
                           p_ - 1 - begin_));
      }
    }
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw wb::Error(fmt::format("{}: data.pkl: {}", path_, why));
  }
  void need(size_t n) const {
    if (size_t(end_ - p_) < n) fail("ends in the middle of an opcode (truncated?)");
  }
  uint8_t byte() {
    need(1);
    return uint8_t(*p_++);
  }
  void skip(size_t n) {
    need(n);
    p_ += n;
  }
  uint64_t uint_le(int n) {
    need(size_t(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(p_[i]);
    p_ += n;
    return v;
  }
  int64_t long1() {
    const int n = byte();
    if (n > 8) fail("an integer of more than 8 bytes");
    if (n == 0) return 0;
    need(size_t(n));
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(p_[i]);
    if (uint8_t(p_[n - 1]) & 0x80 && n < 8) v |= ~uint64_t(0) << (8 * n);  // sign
    p_ += n;
    return int64_t(v);
  }
  double binfloat() {
    need(8);
    uint64_t bits = 0;
    for (int i = 0; i < 8; ++i) bits = (bits << 8) | uint8_t(p_[i]);  // big-endian
    p_ += 8;
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  std::string text(uint64_t n) {
    need(n);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  std::string line() {
    const char* nl = static_cast<const char*>(std::memchr(p_, '\n', size_t(end_ - p_)));
    if (!nl) fail("GLOBAL without its newline");
    std::string s(p_, nl);
    p_ = nl + 1;
    return s;
  }

  void push(Value v) { stack_.push_back(std::move(v)); }
  template <class T>
  void push(T v) {
    stack_.push_back(Value{std::move(v)});
  }
  Value pop() {
    if (stack_.empty()) fail("pops an empty stack");
    Value v = std::move(stack_.back());
    stack_.pop_back();
    return v;
  }
  Value& top() {
    if (stack_.empty()) fail("reads an empty stack");
    return stack_.back();
  }
  Value memo(uint64_t i) {
    auto it = memo_.find(i);
    if (it == memo_.end()) fail(fmt::format("memo entry {} read before it was written", i));
    return it->second;
  }
  Tuple pop_to_mark() {
    Tuple items;
    while (true) {
      Value v = pop();
      if (std::holds_alternative<Mark>(v.v)) break;
      items.push_back(std::move(v));
    }
    return Tuple(items.rbegin(), items.rend());
  }
  void tuple_of(int n) {
    Tuple t(static_cast<size_t>(n));
    for (int i = n - 1; i >= 0; --i) t[size_t(i)] = pop();
    push(std::make_shared<Tuple>(std::move(t)));
  }
  template <class T>
  T as(const Value& v, const char* what) const {
    if (const T* x = std::get_if<T>(&v.v)) return *x;
    fail(fmt::format("{} is not of the expected kind", what));
  }

  // ('storage', torch.FloatStorage, key, location, numel)
  Value persistent(const Value& id) {
    const auto t = as<std::shared_ptr<Tuple>>(id, "a persistent id");
    if (t->size() < 5 || as<std::string>((*t)[0], "persistent id tag") != "storage")
      fail("a persistent id other than a storage");
    const std::string type = as<Global>((*t)[1], "storage type").name;
    const auto it = kStorages.find(type);
    if (it == kStorages.end()) fail(fmt::format("storage type {} is not read here", type));
    return Value{Storage{as<std::string>((*t)[2], "storage key"), it->second}};
  }

  Value call(const Value& fn, const Value& args_value) {
    const std::string name = as<Global>(fn, "a called object").name;
    const auto args = as<std::shared_ptr<Tuple>>(args_value, "call arguments");
    if (name == "collections.OrderedDict" || name == "builtins.dict")
      return Value{std::make_shared<Dict>()};
    if (name == "torch._utils._rebuild_tensor_v2") {
      if (args->size() < 4) fail("_rebuild_tensor_v2 with too few arguments");
      const auto storage = as<Storage>((*args)[0], "a tensor's storage");
      const int64_t offset = as<int64_t>((*args)[1], "a tensor's offset");
      const auto size = ints((*args)[2]), stride = ints((*args)[3]);
      return Value{tensor(storage, offset, size, stride)};
    }
    if (name == "torch._utils._rebuild_parameter") {
      if (args->empty()) fail("_rebuild_parameter without its tensor");
      return Value{as<torch::Tensor>((*args)[0], "a parameter's tensor")};
    }
    fail(fmt::format("calls {}, which a state dict of tensors does not", name));
  }

  std::vector<int64_t> ints(const Value& v) const {
    std::vector<int64_t> out;
    for (const auto& x : *as<std::shared_ptr<Tuple>>(v, "a shape"))
      out.push_back(as<int64_t>(x, "a dimension"));
    return out;
  }

  torch::Tensor tensor(const Storage& s, int64_t offset, const std::vector<int64_t>& size,
                       const std::vector<int64_t>& stride) {
    auto it = storages_.find(s.key);
    if (it == storages_.end()) {
      const std::string record = "data/" + s.key;
      if (!zip_.hasRecord(record)) fail(fmt::format("no record {} in the archive", record));
      auto [data, bytes] = zip_.getRecord(record);
      const int64_t elem = static_cast<int64_t>(torch::elementSize(s.dtype));
      if (bytes % size_t(elem) != 0) fail(fmt::format("record {} is not whole elements", record));
      auto flat = torch::empty({int64_t(bytes) / elem}, torch::TensorOptions().dtype(s.dtype));
      std::memcpy(flat.data_ptr(), data.get(), bytes);
      it = storages_.emplace(s.key, flat).first;
    }
    const auto& flat = it->second;
    // The largest element the view reaches must lie inside the storage.
    int64_t last = offset;
    for (size_t i = 0; i < size.size(); ++i) {
      if (size[i] == 0) return torch::empty(size, flat.options());
      last += (size[i] - 1) * (i < stride.size() ? stride[i] : 0);
    }
    if (size.size() != stride.size() || offset < 0 || last >= flat.numel())
      fail(fmt::format("a tensor of storage {} reaches element {} of its {}", s.key, last,
                       flat.numel()));
    return flat.as_strided(size, stride, offset).clone();
  }

  void set_item(Value& target, const Value& key, const Value& value) {
    auto* dict = std::get_if<std::shared_ptr<Dict>>(&target.v);
    if (!dict) fail("SETITEM on something that is not a dict");
    const auto* k = std::get_if<std::string>(&key.v);
    const auto* t = std::get_if<torch::Tensor>(&value.v);
    if (k && t) (*dict)->tensors[*k] = *t;
  }

  std::string path_;
  caffe2::serialize::PyTorchStreamReader& zip_;
  const char* p_;
  const char* end_;
  const char* begin_ = p_;
  std::vector<Value> stack_;
  std::map<uint64_t, Value> memo_;
  std::map<std::string, torch::Tensor> storages_;
};

}  // namespace

std::map<std::string, torch::Tensor> read_state_dict(const std::string& path) {
  std::unique_ptr<caffe2::serialize::PyTorchStreamReader> zip;
  try {
    zip = std::make_unique<caffe2::serialize::PyTorchStreamReader>(path);
  } catch (const std::exception& e) {
    const std::string msg = e.what();
    throw wb::Error(fmt::format("{}: not a torch.save zip archive ({})", path,
                                msg.substr(0, std::min(msg.find('\n'), size_t(100)))));
  }
  if (zip->hasRecord("byteorder")) {
    auto [data, n] = zip->getRecord("byteorder");
    if (std::string(static_cast<const char*>(data.get()), n) != "little")
      throw wb::Error(fmt::format("{}: a big-endian archive", path));
  }
  if (!zip->hasRecord("data.pkl")) throw wb::Error(fmt::format("{}: no data.pkl", path));
  auto [pkl, size] = zip->getRecord("data.pkl");
  Interpreter interp(path, *zip, static_cast<const char*>(pkl.get()), size);
  const Value result = interp.run();
  const auto* dict = std::get_if<std::shared_ptr<Dict>>(&result.v);
  if (!dict) throw wb::Error(fmt::format("{}: holds no dict of tensors", path));
  return (*dict)->tensors;
}

}  // namespace igpt
