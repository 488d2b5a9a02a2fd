// safetensors writing: round trips through the reader, layout details, refused inputs.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "recap/common/error.h"
#include "recap/io/safetensors.h"
#include "recap/io/safetensors_writer.h"
#include "test_support.h"

using namespace recap;

namespace {

std::uint64_t header_length(const std::string& bytes) {
  std::uint64_t n = 0;
  for (int i = 0; i < 8; ++i) n |= std::uint64_t(static_cast<unsigned char>(bytes[i])) << (8 * i);
  return n;
}

}  // namespace

TEST(SafetensorsWriter, RoundTripsNamesShapesValuesAndMetadata) {
  test::TempDir dir;
  const std::vector<float> matrix = {1.5f, -2.0f, 3.25f, 0.0f, 1e-30f, -7.0f};
  const std::vector<float> vector = {42.0f, 43.0f, 44.0f};
  const float scalar = 4.6052f;
  io::write_safetensors(dir / "m.safetensors",
                        {{"layer.weight", {2, 3}, matrix.data()},
                         {"layer.bias", {3}, vector.data()},
                         {"logit_scale", {}, &scalar},
                         {"empty", {0, 5}, nullptr}},
                        {{"format", "pt"}, {"note", "demo model"}});

  io::SafetensorsFile file(dir / "m.safetensors");
  ASSERT_EQ(file.tensors().size(), 4u);
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}, {"note", "demo model"}}));
  EXPECT_EQ(file.at("layer.weight").shape, (std::vector<std::int64_t>{2, 3}));
  EXPECT_EQ(file.at("layer.weight").to_float(), matrix);
  EXPECT_EQ(file.at("layer.bias").to_float(), vector);
  EXPECT_TRUE(file.at("logit_scale").shape.empty());
  EXPECT_EQ(file.at("logit_scale").to_float(), std::vector<float>{scalar});
  EXPECT_EQ(file.at("empty").shape, (std::vector<std::int64_t>{0, 5}));
  EXPECT_EQ(file.at("empty").nbytes, 0u);
  for (const auto& t : file.tensors()) EXPECT_EQ(t.dtype, io::DType::f32);
}

TEST(SafetensorsWriter, PadsTheHeaderAndKeepsTheGivenOrder) {
  test::TempDir dir;
  const std::vector<float> a = {1, 2, 3}, b = {4};
  // Names of several lengths so that an unpadded header would rarely end on a multiple of 8.
  for (const std::string name : {"x", "xy", "xyz", "weight.long.name"}) {
    io::write_safetensors(dir / "t.safetensors", {{name, {3}, a.data()}, {"b", {1}, b.data()}});
    const std::string bytes = test::read_bytes(dir / "t.safetensors");
    const std::uint64_t n = header_length(bytes);
    EXPECT_EQ((8 + n) % 8, 0u) << name;
    EXPECT_EQ(bytes.size(), 8 + n + 16);
    const auto header = nlohmann::json::parse(bytes.substr(8, n));  // trailing spaces are JSON whitespace
    EXPECT_EQ(header[name]["data_offsets"], nlohmann::json({0, 12}));
    EXPECT_EQ(header["b"]["data_offsets"], nlohmann::json({12, 16}));
    EXPECT_FALSE(header.contains("__metadata__"));  // none given, none written
    io::SafetensorsFile file(dir / "t.safetensors");
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(file.at(name).data) % 8, 0u);
  }
}

TEST(SafetensorsWriter, WritesAFileWithNoTensors) {
  test::TempDir dir;
  io::write_safetensors(dir / "none.safetensors", {});
  io::SafetensorsFile file(dir / "none.safetensors");
  EXPECT_TRUE(file.tensors().empty());
}

TEST(SafetensorsWriter, RefusesBadNamesAndShapesAndLeavesNoFile) {
  test::TempDir dir;
  const float v[2] = {1, 2};
  const auto path = dir / "bad.safetensors";
  EXPECT_THROW(io::write_safetensors(path, {{"a", {1}, v}, {"a", {1}, v + 1}}), UsageError);
  EXPECT_THROW(io::write_safetensors(path, {{"", {1}, v}}), UsageError);
  EXPECT_THROW(io::write_safetensors(path, {{"__metadata__", {1}, v}}), UsageError);
  EXPECT_THROW(io::write_safetensors(path, {{"a", {-1}, v}}), UsageError);
  EXPECT_THROW(io::write_safetensors(path, {{"a", {2}, nullptr}}), UsageError);
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}
