#include "engine/chat/chat_template.hpp"
#include <gtest/gtest.h>
TEST(chat_template, x) {
  auto t = troupe::chat_template::parse("hi {{ name }}");
  ASSERT_TRUE(t);
  auto r = t->render({{"name", "bob"}});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(*r, "hi bob");
}
