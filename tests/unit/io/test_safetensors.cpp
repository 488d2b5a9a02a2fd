// safetensors reading: the golden Hugging Face checkpoint, and hand-made corrupt files.
#include <gtest/gtest.h>

#include <cstring>
#include <nlohmann/json.hpp>

#include "recap/common/error.h"
#include "recap/io/safetensors.h"
#include "test_support.h"

using namespace recap;

namespace {

// Builds a safetensors image from a header and data section.
std::string make_file(const nlohmann::json& header, const std::string& data) {
  const std::string text = header.dump();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((text.size() >> (8 * i)) & 0xff);
  return bytes + text + data;
}

std::string floats(std::initializer_list<float> values) {
  std::string s(values.size() * 4, '\0');
  std::memcpy(s.data(), values.begin(), s.size());
  return s;
}

}  // namespace

TEST(Safetensors, ReadsGoldenClipCheckpoint) {
  io::SafetensorsFile file(test::test_data_dir() / "golden/clip/tiny-vit/hf/model.safetensors");
  EXPECT_EQ(file.tensors().size(), 78u);  // 79 header entries less __metadata__
  const auto& emb = file.at("text_model.embeddings.token_embedding.weight");
  EXPECT_EQ(emb.shape, (std::vector<std::int64_t>{49408, 32}));
  EXPECT_EQ(emb.dtype, io::DType::f32);
  EXPECT_EQ(emb.nbytes, 49408u * 32 * 4);
  const auto& scale = file.at("logit_scale");
  EXPECT_TRUE(scale.shape.empty());
  EXPECT_EQ(scale.to_float().size(), 1u);
  EXPECT_EQ(file.find("no.such.tensor"), nullptr);
  EXPECT_THROW(file.at("no.such.tensor"), InputError);
}

TEST(Safetensors, ReadsMetadataAndHalfTypes) {
  test::TempDir dir;
  nlohmann::json header = {{"__metadata__", {{"format", "pt"}}},
                           {"h", {{"dtype", "F16"}, {"shape", {2}}, {"data_offsets", {0, 4}}}},
                           {"b", {{"dtype", "BF16"}, {"shape", {1}}, {"data_offsets", {4, 6}}}},
                           {"i", {{"dtype", "I64"}, {"shape", {1}}, {"data_offsets", {6, 14}}}}};
  std::string data("\x00\x3c\x00\xc0\x80\x3f", 6);  // f16 1, -2; bf16 1
  data += std::string("\x07\x00\x00\x00\x00\x00\x00\x00", 8);
  test::write_bytes(dir / "t.safetensors", make_file(header, data));
  io::SafetensorsFile file(dir / "t.safetensors");
  EXPECT_EQ(file.metadata().at("format"), "pt");
  EXPECT_EQ(file.at("h").to_float(), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(file.at("b").to_float(), (std::vector<float>{1.0f}));
  EXPECT_EQ(file.at("i").to_int64(), (std::vector<std::int64_t>{7}));
}

class SafetensorsBadInput : public ::testing::Test {
 protected:
  void expect_refused(const std::string& bytes, const std::string& fragment) {
    test::write_bytes(dir_ / "bad.safetensors", bytes);
    try {
      io::SafetensorsFile file(dir_ / "bad.safetensors");
      FAIL() << "accepted a bad file expecting '" << fragment << "'";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("bad.safetensors"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
  test::TempDir dir_;
};

TEST_F(SafetensorsBadInput, TooShort) { expect_refused("abc", "shorter"); }
TEST_F(SafetensorsBadInput, HeaderLongerThanFile) {
  expect_refused(std::string("\xff\x00\x00\x00\x00\x00\x00\x00{}", 10), "truncated");
}
TEST_F(SafetensorsBadInput, HeaderNotJson) {
  expect_refused(std::string("\x03\x00\x00\x00\x00\x00\x00\x00{x}", 11), "not valid JSON");
}
TEST_F(SafetensorsBadInput, TruncatedData) {
  nlohmann::json header = {{"w", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}}};
  expect_refused(make_file(header, floats({1, 2})), "outside");
}
TEST_F(SafetensorsBadInput, SizeDisagreesWithShape) {
  nlohmann::json header = {{"w", {{"dtype", "F32"}, {"shape", {3}}, {"data_offsets", {0, 8}}}}};
  expect_refused(make_file(header, floats({1, 2})), "need 12");
}
TEST_F(SafetensorsBadInput, Overlap) {
  nlohmann::json header = {{"a", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0, 8}}}},
                           {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {4, 12}}}}};
  expect_refused(make_file(header, floats({1, 2, 3})), "share bytes");
}
TEST_F(SafetensorsBadInput, UnknownDtype) {
  nlohmann::json header = {{"a", {{"dtype", "C64"}, {"shape", {1}}, {"data_offsets", {0, 8}}}}};
  expect_refused(make_file(header, floats({1, 2})), "unsupported dtype");
}
// Shapes whose byte count wraps around 64 bits to the tensor's real size are refused.
TEST_F(SafetensorsBadInput, ShapesThatWrapAround64BitsAreRefused) {
  for (const std::vector<std::int64_t>& shape : std::vector<std::vector<std::int64_t>>{
           {4611686018427387906, 1},          // (2^62 + 2) * 4 = 2^64 + 8
           {2, 2305843009213693953},          // 2 * (2^61 + 1) * 4 = 2^64 + 8
           {1152921504606846976, 16, 1},      // 2^66: wraps to 0
           {9223372036854775807, 9223372036854775807}}) {
    nlohmann::json header = {{"w", {{"dtype", "F32"}, {"shape", shape}, {"data_offsets", {0, 8}}}}};
    expect_refused(make_file(header, floats({1, 2})), "too large");
  }
}

// Found by tests/fuzz/fuzz_safetensors_header: shapes and offsets must be integers (nlohmann
// would cast 1e20 to int64, undefined behaviour); an empty tensor between two overlapping
// ones must not hide the overlap; empty tensors read as empty.
TEST_F(SafetensorsBadInput, ShapesAndOffsetsMustBeIntegers) {
  expect_refused(make_file({{"w", {{"dtype", "F32"}, {"shape", {1e20}}, {"data_offsets", {0, 8}}}}}, floats({1, 2})),
                 "not an integer");
  expect_refused(make_file({{"w", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {0.5, 8}}}}}, floats({1, 2})),
                 "not a non-negative integer");
  expect_refused(make_file({{"w", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {-8, 8}}}}}, floats({1, 2})),
                 "not a non-negative integer");
  expect_refused(make_file({{"w", {{"dtype", "F32"}, {"shape", "2"}, {"data_offsets", {0, 8}}}}}, floats({1, 2})),
                 "not an array");
}

TEST_F(SafetensorsBadInput, OverlapBehindAnEmptyTensorIsFound) {
  nlohmann::json header = {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                           {"b", {{"dtype", "F32"}, {"shape", {0}}, {"data_offsets", {4, 4}}}},
                           {"c", {{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {8, 12}}}}};
  expect_refused(make_file(header, floats({1, 2, 3, 4})), "share bytes");
}

TEST(Safetensors, EmptyTensorsReadAsEmpty) {
  test::TempDir dir;
  nlohmann::json header = {{"f", {{"dtype", "F32"}, {"shape", {0, 3}}, {"data_offsets", {0, 0}}}},
                           {"i", {{"dtype", "I64"}, {"shape", {0}}, {"data_offsets", {0, 0}}}}};
  test::write_bytes(dir / "empty.safetensors", make_file(header, ""));
  io::SafetensorsFile file(dir / "empty.safetensors");
  EXPECT_TRUE(file.at("f").to_float().empty());
  EXPECT_TRUE(file.at("i").to_int64().empty());
}
