// Loaded float32 weights are copy-on-write views of the safetensors file: the values are
// the file's, they outlive the reader, and writing them in place (training) leaves the
// file as it was.
#include <gtest/gtest.h>

#include <vector>

#include "recap/io/safetensors_writer.h"
#include "state_dict.h"
#include "test_support.h"

namespace recap::models::detail {
namespace {

TEST(StateDict, Float32WeightsAreCopyOnWriteViewsOfTheFile) {
  test::TempDir dir;
  const std::vector<float> w = {1.5f, -2.0f, 3.25f, 4.0f, 0.5f, -6.0f}, b = {7.0f, 8.0f};
  io::write_safetensors(dir / "m.safetensors", {{"w", {2, 3}, w.data()}, {"b", {2}, b.data()}});
  const auto bytes = test::read_bytes(dir / "m.safetensors");

  StateDict state;
  read_safetensors_into(dir / "m.safetensors", state);  // the reader is gone when this returns
  ASSERT_EQ(state["w"].sizes(), (std::vector<std::int64_t>{2, 3}));
  EXPECT_TRUE(torch::equal(state["w"], torch::tensor(w).view({2, 3})));
  EXPECT_TRUE(torch::equal(state["b"], torch::tensor(b)));
  StateDict again;
  read_safetensors_into(dir / "m.safetensors", again);

  state["w"].mul_(2);  // as an optimiser step would: a read-only mapping would crash here
  EXPECT_EQ(state["w"][0][0].item<float>(), 3.0f);
  EXPECT_EQ(test::read_bytes(dir / "m.safetensors"), bytes);  // the file is unchanged
  EXPECT_TRUE(torch::equal(again["w"], torch::tensor(w).view({2, 3})));  // and so is the other mapping
}

}  // namespace
}  // namespace recap::models::detail
