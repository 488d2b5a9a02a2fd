// .npy reading and writing, checked against bytes numpy 1.24 itself wrote.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "recap/common/error.h"
#include "recap/io/mapped_file.h"
#include "recap/io/npy.h"
#include "recap/io/npy_tensor.h"
#include "test_support.h"

using namespace recap;

namespace {

const std::string kPad(58, ' ');
// np.save(np.arange(6, dtype=np.float32).reshape(2, 3))
const std::string kNumpyF32 = std::string("\x93NUMPY\x01\x00v\x00", 10) +
                              "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + kPad + "\n" +
                              std::string("\x00\x00\x00\x00\x00\x00\x80?\x00\x00\x00@\x00\x00@@\x00\x00\x80@\x00\x00\xa0@", 24);
// numpy.lib.format.write_array(..., version=(2, 0)) of the same array
const std::string kNumpyF32v2 = std::string("\x93NUMPY\x02\x00t\x00\x00\x00", 12) +
                                "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(56, ' ') +
                                "\n" + kNumpyF32.substr(128);
// np.save(np.array([[1.5, -2.0], [65504, 6e-8]], dtype=np.float16))
const std::string kNumpyF16 = std::string("\x93NUMPY\x01\x00v\x00", 10) +
                              "{'descr': '<f2', 'fortran_order': False, 'shape': (2, 2), }" + kPad + "\n" +
                              std::string("\x00>\x00\xc0\xff{\x01\x00", 8);

}  // namespace

TEST(Npy, WriterProducesNumpysExactBytes) {
  test::TempDir dir;
  const float values[] = {0, 1, 2, 3, 4, 5};
  io::write_npy(dir / "a.npy", values, {2, 3});
  EXPECT_EQ(test::read_bytes(dir / "a.npy"), kNumpyF32);
}

TEST(Npy, ReadsVersion1And2) {
  test::TempDir dir;
  for (const auto& bytes : {kNumpyF32, kNumpyF32v2}) {
    test::write_bytes(dir / "a.npy", bytes);
    auto m = io::read_npy_matrix(dir / "a.npy");
    ASSERT_EQ(m.rows, 2);
    ASSERT_EQ(m.cols, 3);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(m.values[i], float(i));
  }
}

TEST(Npy, Float16ConvertedExactly) {
  test::TempDir dir;
  test::write_bytes(dir / "h.npy", kNumpyF16);
  auto m = io::read_npy_matrix(dir / "h.npy");
  EXPECT_EQ(m.values[0], 1.5f);
  EXPECT_EQ(m.values[1], -2.0f);
  EXPECT_EQ(m.values[2], 65504.0f);
  EXPECT_EQ(m.values[3], 5.960464477539063e-08f);  // the subnormal numpy stores for 6e-8
}

TEST(Npy, HalfConversionCoversSpecialValues) {
  EXPECT_TRUE(std::isinf(io::half_to_float(0x7c00)));
  EXPECT_TRUE(std::isnan(io::half_to_float(0x7e00)));
  EXPECT_EQ(io::half_to_float(0x8000), -0.0f);
  EXPECT_EQ(io::half_to_float(0x3c00), 1.0f);
  EXPECT_EQ(io::bfloat16_to_float(0x3f80), 1.0f);
}

// The bulk conversion (F16C where the CPU has it) against the scalar one, on every one of
// the 65,536 halves (plus an odd tail): the same float bits, NaNs as NaNs.
TEST(Npy, BulkHalfConversionEqualsTheScalarOneForEveryHalf) {
  std::vector<std::uint16_t> halves(65536 + 5);
  for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i * 40503u);  // odd multiplier: a permutation
  std::vector<float> bulk(halves.size());
  io::convert_to_float(io::DType::f16, reinterpret_cast<const std::byte*>(halves.data()), halves.size(), bulk.data());
  int mismatches = 0;
  for (std::size_t i = 0; i < halves.size(); ++i) {
    const float scalar = io::half_to_float(halves[i]);
    if (std::isnan(scalar)) {
      mismatches += !std::isnan(bulk[i]);
      continue;
    }
    std::uint32_t a, b;
    std::memcpy(&a, &scalar, 4);
    std::memcpy(&b, &bulk[i], 4);
    mismatches += a != b;
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(Npy, IntegerRoundTrip) {
  test::TempDir dir;
  const std::int64_t pairs[] = {0, 5, 1, 6, 2, 7};
  io::write_npy(dir / "p.npy", pairs, {3, 2});
  std::vector<std::int64_t> shape;
  auto values = io::read_npy_int64(dir / "p.npy", &shape);
  EXPECT_EQ(shape, (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(values, (std::vector<std::int64_t>{0, 5, 1, 6, 2, 7}));
  const std::int32_t small[] = {-1, 4};
  io::write_npy(dir / "q.npy", small, {2});
  EXPECT_EQ(io::read_npy_int64(dir / "q.npy"), (std::vector<std::int64_t>{-1, 4}));
}

TEST(Npy, MappedReaderReadsChunks) {
  test::TempDir dir;
  auto m = test::random_normal(1000, 7, 1);
  io::write_npy(dir / "m.npy", m);
  io::NpyMatrixReader reader(dir / "m.npy");
  std::vector<float> chunk(100 * 7);
  reader.read_rows(900, 100, chunk.data());
  EXPECT_EQ(chunk[0], m.row(900)[0]);
  EXPECT_EQ(chunk.back(), m.values.back());
  ASSERT_NE(reader.direct_rows(0), nullptr);
  EXPECT_EQ(reader.direct_rows(3)[2], m.row(3)[2]);
}

// read_rows reads float32 files with pread (MappedFile::read), not through the mapping:
// every value of a chunk and of the last row must be the file's, and a range past the
// end is refused rather than read short.
TEST(Npy, ReadRowsReadsEveryValueAndNothingPastTheEnd) {
  test::TempDir dir;
  auto m = test::random_normal(257, 5, 2);
  io::write_npy(dir / "m.npy", m);
  io::NpyMatrixReader reader(dir / "m.npy");
  std::vector<float> rows(17 * 5);
  reader.read_rows(240, 17, rows.data());
  for (std::int64_t i = 0; i < 17; ++i)
    for (std::int64_t j = 0; j < 5; ++j) ASSERT_EQ(rows[i * 5 + j], m.row(240 + i)[j]) << i << "," << j;
  EXPECT_THROW(reader.read_rows(250, 8, rows.data()), std::out_of_range);
  io::MappedFile file(dir / "m.npy");
  std::vector<char> bytes(6);
  file.read(0, 6, bytes.data());
  EXPECT_EQ(std::string(bytes.data() + 1, 5), "NUMPY");
  EXPECT_THROW(file.read(file.size() - 2, 3, bytes.data()), std::out_of_range);
}

// Every malformed file must be refused with an InputError that names the file.
class NpyBadInput : public ::testing::Test {
 protected:
  void expect_refused(const std::string& bytes, const std::string& fragment) {
    test::write_bytes(dir_ / "bad.npy", bytes);
    try {
      io::read_npy_matrix(dir_ / "bad.npy");
      FAIL() << "accepted a bad file expecting '" << fragment << "'";
    } catch (const InputError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("bad.npy"), std::string::npos) << message;
      EXPECT_NE(message.find(fragment), std::string::npos) << message;
    }
  }
  test::TempDir dir_;
};

TEST_F(NpyBadInput, Empty) { expect_refused("", "empty"); }
TEST_F(NpyBadInput, NotNpy) { expect_refused("hello world, this is text", "magic"); }
TEST_F(NpyBadInput, TruncatedData) { expect_refused(kNumpyF32.substr(0, kNumpyF32.size() - 5), "truncated"); }
TEST_F(NpyBadInput, TruncatedHeader) { expect_refused(kNumpyF32.substr(0, 40), "truncated header"); }
TEST_F(NpyBadInput, FortranOrder) {
  std::string bytes = kNumpyF32;
  bytes.replace(bytes.find("False"), 5, "True ");
  expect_refused(bytes, "Fortran");
}
TEST_F(NpyBadInput, UnsupportedDtype) {
  std::string bytes = kNumpyF32;
  bytes.replace(bytes.find("<f4"), 3, "<c8");
  expect_refused(bytes, "unsupported");
}
TEST_F(NpyBadInput, IntegerWhereFloatsExpected) {
  std::string bytes = kNumpyF32;
  bytes.replace(bytes.find("<f4"), 3, "<i4");
  expect_refused(bytes, "int32");
}
TEST_F(NpyBadInput, OneDimensional) {
  test::TempDir dir;
  const float v[] = {1, 2, 3};
  io::write_npy(dir_ / "bad.npy", v, {3});
  EXPECT_THROW(io::read_npy_matrix(dir_ / "bad.npy"), InputError);
}
TEST_F(NpyBadInput, MissingFile) { EXPECT_THROW(io::read_npy_matrix(dir_ / "absent.npy"), InputError); }

// A header whose shape multiplies out past 64 bits must not wrap around to the real file
// size and pass the size check: every reader refuses it, for many wrapped shapes.
TEST_F(NpyBadInput, ShapesThatWrapAround64BitsAreRefusedByEveryReader) {
  // 24 data bytes. Each shape's byte count is 24 modulo 2^64, or overflows some other way.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"<f4", "(4611686018427387910, 1)"},  // (2^62 + 6) * 1 * 4 = 2^64 + 24
      {"<f4", "(2, 2305843009213693955)"},  // 2 * (2^61 + 3) * 4 = 2^64 + 24
      {"<f4", "(1152921504606846976, 16, 1)"},  // 2^60 * 16 * 4 = 2^66: wraps to 0 bytes
      {"<f8", "(3, 768614336404564651)"},  // 3 * 768614336404564651 * 8 = 2^64 + 8
      {"<i8", "(3, 9223372036854775807)"},
      {"<f4", "(99999999999999999999999, 1)"},  // past int64 altogether
  };
  for (const auto& [descr, shape] : cases) {
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    dict.append(118 - dict.size() - 1, ' ');
    const std::string bytes = std::string("\x93NUMPY\x01\x00v\x00", 10) + dict + "\n" + std::string(24, '\0');
    ASSERT_EQ(bytes.size(), 128u + 24u);
    test::write_bytes(dir_ / "wrap.npy", bytes);
    SCOPED_TRACE(descr + " " + shape);
    EXPECT_THROW(io::read_npy_matrix(dir_ / "wrap.npy"), InputError);
    EXPECT_THROW(io::NpyMatrixReader reader(dir_ / "wrap.npy"), InputError);
    EXPECT_THROW(io::read_npy_int64(dir_ / "wrap.npy"), InputError);
    EXPECT_THROW(io::read_npy_float(dir_ / "wrap.npy"), InputError);
  }
}

// Found by tests/fuzz/fuzz_npy_header: empty arrays read as empty (no memcpy from null).
TEST(Npy, EmptyArraysReadAsEmpty) {
  test::TempDir dir;
  const std::int64_t none[1] = {0};
  io::write_npy(dir / "ints.npy", none, {0});
  EXPECT_TRUE(io::read_npy_int64(dir / "ints.npy").empty());
  const float nothing[1] = {0};
  io::write_npy(dir / "floats.npy", nothing, {0, 3});
  EXPECT_EQ(io::read_npy_matrix(dir / "floats.npy").rows, 0);
  EXPECT_TRUE(io::read_npy_float(dir / "floats.npy").values.empty());
  // An empty array of the wrong type is still the wrong type.
  EXPECT_THROW(io::read_npy_int64(dir / "floats.npy"), InputError);
}
