#include <gtest/gtest.h>

#include <workbench/config.hpp>
#include <workbench/error.hpp>

using wb::Section;
using wb::Value;

TEST(Config, TypedGettersReadWhatWasDeclared) {
  Section s("model", {{"layers", Value(int64_t{4})},
                      {"lr", Value(0.5)},
                      {"name", Value(std::string("igpt"))},
                      {"on", Value(true)},
                      {"ids", Value(std::vector<int64_t>{1, 2})}});
  EXPECT_EQ(s.get_int("layers"), 4);
  EXPECT_DOUBLE_EQ(s.get_float("lr"), 0.5);
  EXPECT_DOUBLE_EQ(s.get_float("layers"), 4.0);  // integers read as floats
  EXPECT_EQ(s.get_string("name"), "igpt");
  EXPECT_TRUE(s.get_bool("on"));
  EXPECT_EQ(s.get_int_list("ids"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(s.get_float_list("ids"), (std::vector<double>{1.0, 2.0}));
}

TEST(Config, ReadingAnUndeclaredOrMistypedKeyNamesIt) {
  Section s("model", {{"layers", Value(int64_t{4})}});
  EXPECT_THROW(
      {
        try {
          s.get_string("layers");
        } catch (const wb::Error& e) {
          EXPECT_STREQ(e.what(), "[model] key 'layers' has type integer, read as string");
          throw;
        }
      },
      wb::Error);
  EXPECT_THROW(s.get_int("heads"), wb::Error);
}

TEST(Config, ValuesPrintAsTomlThatReadsBack) {
  EXPECT_EQ(wb::to_text(Value(int64_t{3})), "3");
  EXPECT_EQ(wb::to_text(Value(3.0)), "3.0");
  EXPECT_EQ(wb::to_text(Value(0.003)), "0.003");
  EXPECT_EQ(wb::to_text(Value(std::string("a\"b"))), "\"a\\\"b\"");
  EXPECT_EQ(wb::to_text(Value(std::vector<int64_t>{1, 2})), "[1, 2]");
  EXPECT_EQ(wb::to_text(Value(false)), "false");
}

TEST(Config, SchemaRefusesAKeyDeclaredTwice) {
  wb::Schema s;
  s.integer("levels", 16, "grey levels");
  EXPECT_THROW(s.integer("levels", 8, "again"), wb::Error);
}
