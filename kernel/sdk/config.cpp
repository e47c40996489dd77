#include <workbench/config.hpp>

#include <cmath>

#include <fmt/format.h>

#include <workbench/error.hpp>

namespace wb {

const char* type_name(Type t) {
  switch (t) {
    case Type::Bool:
      return "bool";
    case Type::Int:
      return "integer";
    case Type::Float:
      return "float";
    case Type::String:
      return "string";
    case Type::IntList:
      return "integer list";
    case Type::FloatList:
      return "float list";
    case Type::StringList:
      return "string list";
  }
  return "?";
}

Type type_of(const Value& v) {
  return static_cast<Type>(v.index());
}

namespace {
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}
// Shortest text that reads back as the same double, always with a '.' or exponent
// so it stays a float in TOML.
std::string float_text(double d) {
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}
template <class T, class F>
std::string list_text(const std::vector<T>& xs, F f) {
  std::string out = "[";
  for (size_t i = 0; i < xs.size(); ++i) out += (i ? ", " : "") + f(xs[i]);
  return out + "]";
}
}  // namespace

std::string to_text(const Value& v) {
  switch (type_of(v)) {
    case Type::Bool:
      return std::get<bool>(v) ? "true" : "false";
    case Type::Int:
      return std::to_string(std::get<int64_t>(v));
    case Type::Float:
      return float_text(std::get<double>(v));
    case Type::String:
      return quote(std::get<std::string>(v));
    case Type::IntList:
      return list_text(std::get<std::vector<int64_t>>(v),
                       [](int64_t x) { return std::to_string(x); });
    case Type::FloatList:
      return list_text(std::get<std::vector<double>>(v), float_text);
    case Type::StringList:
      return list_text(std::get<std::vector<std::string>>(v), quote);
  }
  return "";
}

std::string bounds_problem(const Key& k, double x) {
  // nan and inf are valid TOML, but no key of the workbench means anything by them.
  if (!std::isfinite(x)) return "is not a finite number";
  if ((k.min && x < *k.min) || (k.max && x > *k.max))
    return fmt::format("is out of range [{}, {}]", k.min ? fmt::format("{}", *k.min) : "-inf",
                       k.max ? fmt::format("{}", *k.max) : "inf");
  return "";
}

Key& Schema::add(Key k) {
  if (find(k.name)) throw Error(fmt::format("schema declares key '{}' twice", k.name));
  keys_.push_back(std::move(k));
  return keys_.back();
}
Key& Schema::boolean(const std::string& name, bool def, const std::string& doc) {
  return add(Key{name, Type::Bool, def, doc});
}
Key& Schema::integer(const std::string& name, int64_t def, const std::string& doc) {
  return add(Key{name, Type::Int, def, doc});
}
Key& Schema::number(const std::string& name, double def, const std::string& doc) {
  return add(Key{name, Type::Float, def, doc});
}
Key& Schema::string(const std::string& name, const std::string& def, const std::string& doc) {
  return add(Key{name, Type::String, def, doc});
}
Key& Schema::int_list(const std::string& name, std::vector<int64_t> def, const std::string& doc) {
  return add(Key{name, Type::IntList, std::move(def), doc});
}
Key& Schema::required(const std::string& name, Type type, const std::string& doc) {
  Key k{name, type, Value{}, doc};
  k.required = true;
  return add(std::move(k));
}
const Key* Schema::find(const std::string& name) const {
  for (const auto& k : keys_)
    if (k.name == name) return &k;
  return nullptr;
}

const Value& Section::at(const std::string& key) const {
  auto it = values_.find(key);
  if (it == values_.end())
    throw Error(
        fmt::format("[{}] has no key '{}' (a plugin read a key it did not declare)", name_, key));
  return it->second;
}

namespace {
template <class T>
const T& typed(const Section& s, const std::string& key, Type want) {
  const Value& v = s.at(key);
  if (const T* p = std::get_if<T>(&v)) return *p;
  throw Error(fmt::format("[{}] key '{}' has type {}, read as {}", s.name(), key,
                          type_name(type_of(v)), type_name(want)));
}
}  // namespace

bool Section::get_bool(const std::string& key) const {
  return typed<bool>(*this, key, Type::Bool);
}
int64_t Section::get_int(const std::string& key) const {
  return typed<int64_t>(*this, key, Type::Int);
}
double Section::get_float(const std::string& key) const {
  if (const auto* i = std::get_if<int64_t>(&at(key))) return static_cast<double>(*i);
  return typed<double>(*this, key, Type::Float);
}
const std::string& Section::get_string(const std::string& key) const {
  return typed<std::string>(*this, key, Type::String);
}
std::vector<int64_t> Section::get_int_list(const std::string& key) const {
  return typed<std::vector<int64_t>>(*this, key, Type::IntList);
}
std::vector<double> Section::get_float_list(const std::string& key) const {
  if (const auto* i = std::get_if<std::vector<int64_t>>(&at(key)))
    return std::vector<double>(i->begin(), i->end());
  return typed<std::vector<double>>(*this, key, Type::FloatList);
}
std::vector<std::string> Section::get_string_list(const std::string& key) const {
  return typed<std::vector<std::string>>(*this, key, Type::StringList);
}

}  // namespace wb
