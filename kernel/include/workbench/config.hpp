#pragma once
// A plugin's configuration: the schema it declares and the validated section it reads.
// The host checks every key of an experiment file against the schema before any
// plugin runs, so getters never see an unknown key or a wrong type.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <workbench/export.hpp>

namespace wb {

enum class Type { Bool, Int, Float, String, IntList, FloatList, StringList };

WB_API const char* type_name(Type t);

using Value = std::variant<bool, int64_t, double, std::string, std::vector<int64_t>,
                           std::vector<double>, std::vector<std::string>>;

WB_API Type type_of(const Value& v);
// TOML-style text of a value: 3, 0.5, "s", [1, 2]. Used in canonical configs and --describe.
WB_API std::string to_text(const Value& v);

// One key a plugin accepts.
struct WB_API Key {
  std::string name;
  Type type = Type::Int;
  Value default_value;
  std::string doc;
  bool required = false;             // no default: the experiment file must set it
  std::vector<std::string> choices;  // for strings: the allowed values (empty: any)
  std::optional<double> min, max;    // for numbers: inclusive bounds

  Key& range(double lo, double hi) {
    min = lo;
    max = hi;
    return *this;
  }
  Key& at_least(double lo) {
    min = lo;
    return *this;
  }
  Key& one_of(std::vector<std::string> c) {
    choices = std::move(c);
    return *this;
  }
};

// Why `x` cannot be a value of `k` ("" when it can): not a finite number, or outside
// the key's bounds. The one range check of experiment files and of the CLI's options.
WB_API std::string bounds_problem(const Key& k, double x);

// The keys of one config section, in declaration order.
class WB_API Schema {
 public:
  Key& boolean(const std::string& name, bool def, const std::string& doc);
  Key& integer(const std::string& name, int64_t def, const std::string& doc);
  Key& number(const std::string& name, double def, const std::string& doc);
  Key& string(const std::string& name, const std::string& def, const std::string& doc);
  Key& int_list(const std::string& name, std::vector<int64_t> def, const std::string& doc);
  Key& required(const std::string& name, Type type, const std::string& doc);

  const std::vector<Key>& keys() const { return keys_; }
  const Key* find(const std::string& name) const;

 private:
  Key& add(Key k);
  std::vector<Key> keys_;
};

// A validated section: every declared key present, defaults filled in.
class WB_API Section {
 public:
  Section() = default;
  Section(std::string name, std::map<std::string, Value> values)
      : name_(std::move(name)), values_(std::move(values)) {}

  const std::string& name() const { return name_; }
  bool has(const std::string& key) const { return values_.count(key) != 0; }
  const Value& at(const std::string& key) const;

  bool get_bool(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;  // an integer value reads as a float
  const std::string& get_string(const std::string& key) const;
  std::vector<int64_t> get_int_list(const std::string& key) const;
  std::vector<double> get_float_list(const std::string& key) const;
  std::vector<std::string> get_string_list(const std::string& key) const;

  const std::map<std::string, Value>& values() const { return values_; }

 private:
  std::string name_;
  std::map<std::string, Value> values_;
};

}  // namespace wb
