#pragma once
// expect_error<E>(body, fragment): runs `body`, expecting an exception of type E whose
// message contains `fragment` (the readers' errors name the file and the entry).
#include <gtest/gtest.h>

#include <string>

namespace recap::test {

template <typename E, typename F>
void expect_error(F body, const std::string& fragment) {
  try {
    body();
    ADD_FAILURE() << "no error; expected one mentioning '" << fragment << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

}  // namespace recap::test
