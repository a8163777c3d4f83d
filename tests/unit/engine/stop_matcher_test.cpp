#include "engine/stop_matcher.hpp"

#include <gtest/gtest.h>

namespace troupe {
namespace {

TEST(stop_matcher, emits_text_at_once_when_there_are_no_stop_strings) {
  stop_matcher m({});
  EXPECT_EQ(m.push("Hello").text, "Hello");
  EXPECT_EQ(m.push(", world").text, ", world");
  EXPECT_EQ(m.flush(), "");
}

TEST(stop_matcher, holds_back_a_possible_stop_prefix_until_it_diverges) {
  stop_matcher m({"\n\nUser:"});
  EXPECT_EQ(m.push("Hi\n").text, "Hi");
  EXPECT_EQ(m.push("\nUs").text, "");
  auto r = m.push("ually");
  EXPECT_FALSE(r.stopped);
  EXPECT_EQ(r.text, "\n\nUsually");
}

TEST(stop_matcher, cuts_before_a_stop_string_split_across_pushes) {
  stop_matcher m({"STOP"});
  EXPECT_EQ(m.push("abc ST").text, "abc ");
  auto r = m.push("OP and more");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "");
  EXPECT_EQ(r.matched_stop, "STOP");
  EXPECT_EQ(m.flush(), "");
  EXPECT_EQ(m.push("later").text, "");
}

TEST(stop_matcher, earliest_of_several_stop_strings_wins) {
  stop_matcher m({"world", "lo"});
  auto r = m.push("hello world");
  EXPECT_TRUE(r.stopped);
  EXPECT_EQ(r.text, "hel");
  EXPECT_EQ(r.matched_stop, "lo");
}

TEST(stop_matcher, never_splits_a_utf8_character_when_holding_back) {
  // "é" is 0xC3 0xA9; a stop string that starts with 0xA9 must not make the matcher cut between.
  stop_matcher m({"\xA9z"});
  auto r = m.push("caf\xC3\xA9");
  EXPECT_EQ(r.text, "caf");
  EXPECT_EQ(m.flush(), "\xC3\xA9");
}

TEST(stop_matcher, flush_releases_held_back_text) {
  stop_matcher m({"###"});
  EXPECT_EQ(m.push("a#").text, "a");
  EXPECT_EQ(m.flush(), "#");
}

}  // namespace
}  // namespace troupe
