// Exact top-k equals a brute-force sort, ties broken by the lower index, whatever the
// blocking and threading.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "recap/common/error.h"
#include "recap/io/npy.h"
#include "recap/retrieval/datastore.h"
#include "recap/retrieval/exact_search.h"
#include "test_support.h"

using namespace recap;

namespace {

// Reference: all scores in double, stable sort by (score desc, index asc).
std::vector<std::int64_t> brute_force(const io::FloatMatrix& q, std::int64_t qi, const io::FloatMatrix& base,
                                      std::int64_t k, std::vector<double>* top_scores = nullptr) {
  std::vector<double> s(static_cast<std::size_t>(base.rows));
  for (std::int64_t j = 0; j < base.rows; ++j) {
    double dot = 0;
    for (std::int64_t c = 0; c < base.cols; ++c) dot += double(q.row(qi)[c]) * base.row(j)[c];
    s[j] = dot;
  }
  std::vector<std::int64_t> order(s.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](auto a, auto b) { return s[a] > s[b]; });
  order.resize(static_cast<std::size_t>(k));
  if (top_scores)
    for (auto i : order) top_scores->push_back(s[i]);
  return order;
}

// Entries in {-1, 0, 1}: every dot product is a small integer, exact in float32 under
// any summation order, so many scores tie exactly.
io::FloatMatrix ternary(std::int64_t n, std::int64_t d, std::uint32_t seed) {
  std::mt19937 rng(seed);
  io::FloatMatrix m(n, d);
  for (auto& v : m.values) v = static_cast<float>(static_cast<int>(rng() % 3) - 1);
  return m;
}

// Every test runs on both kernels; the bf16-screened one where this CPU has native
// bfloat16 arithmetic (skipped elsewhere: the fp32 run still covers the logic).
class ExactSearch : public ::testing::TestWithParam<retrieval::SearchKernel> {
 protected:
  void SetUp() override {
    if (GetParam() != retrieval::SearchKernel::bf16_screened) return;
    const float one[4] = {1, 0, 0, 0};
    retrieval::SearchOptions probe;
    probe.kernel = retrieval::SearchKernel::bf16_screened;
    try {
      retrieval::exact_top_k(one, 1, one, 1, 4, 1, probe);
    } catch (const UsageError&) {
      GTEST_SKIP() << "no native bfloat16 arithmetic on this CPU";
    }
  }
  retrieval::SearchOptions options(std::int64_t query_block, std::int64_t base_block) const {
    retrieval::SearchOptions o;
    o.kernel = GetParam();
    o.query_block = query_block;
    o.base_block = base_block;
    return o;
  }
};

}  // namespace

INSTANTIATE_TEST_SUITE_P(Kernels, ExactSearch,
                         ::testing::Values(retrieval::SearchKernel::fp32, retrieval::SearchKernel::bf16_screened),
                         [](const auto& info) {
                           return info.param == retrieval::SearchKernel::fp32 ? std::string("fp32") : std::string("bf16");
                         });

TEST_P(ExactSearch, EqualsBruteForceOnRandomData) {
  auto base = test::random_normal(3001, 48, 1);
  auto queries = test::random_normal(37, 48, 2);
  test::normalize_rows(base);
  test::normalize_rows(queries);
  for (auto blocks : {std::pair<std::int64_t, std::int64_t>{512, 16384}, {7, 13}, {1, 1000}}) {
    auto top = retrieval::exact_top_k(queries.data(), queries.rows, base.data(), base.rows, base.cols, 10,
                                      options(blocks.first, blocks.second));
    for (std::int64_t q = 0; q < queries.rows; ++q) {
      std::vector<double> expected_scores;
      auto expected = brute_force(queries, q, base, 10, &expected_scores);
      for (int j = 0; j < 10; ++j) {
        EXPECT_EQ(top.ids_of(q)[j], expected[j]) << "query " << q << " rank " << j;
        EXPECT_NEAR(top.scores_of(q)[j], expected_scores[j], 1e-5);
      }
    }
  }
}

TEST_P(ExactSearch, TiesGoToTheLowerIndex) {
  auto base = ternary(2000, 6, 3);  // 3^6 = 729 distinct rows: many exact duplicates
  auto queries = ternary(25, 6, 4);
  for (auto blocks : {std::pair<std::int64_t, std::int64_t>{512, 16384}, {3, 17}}) {
    auto opts = options(blocks.first, blocks.second);
    opts.threads = 2;
    auto top = retrieval::exact_top_k(queries.data(), queries.rows, base.data(), base.rows, base.cols, 25, opts);
    for (std::int64_t q = 0; q < queries.rows; ++q) {
      auto expected = brute_force(queries, q, base, 25);
      EXPECT_TRUE(std::equal(expected.begin(), expected.end(), top.ids_of(q))) << "query " << q;
    }
  }
}

// Rows that differ by far less than bfloat16 can resolve: the approximate scores all
// tie, and only the exact rescoring orders them.
TEST_P(ExactSearch, DifferencesBelowBfloat16ResolutionAreRankedExactly) {
  const std::int64_t n = 3000, d = 64;
  auto direction = test::random_normal(1, d, 11);
  auto noise = test::random_normal(n, d, 12);
  io::FloatMatrix base(n, d);
  for (std::int64_t j = 0; j < n; ++j)
    for (std::int64_t c = 0; c < d; ++c) base.row(j)[c] = direction.values[c] + 1e-4f * noise.row(j)[c];
  test::normalize_rows(base);
  auto queries = test::random_normal(5, d, 13);
  for (std::int64_t c = 0; c < d; ++c) queries.row(0)[c] = direction.values[c];  // query 0 sits on the cluster
  test::normalize_rows(queries);
  auto top = retrieval::exact_top_k(queries.data(), 5, base.data(), n, d, 20, options(512, 1024));
  for (std::int64_t q = 0; q < 5; ++q) {
    auto expected = brute_force(queries, q, base, 20);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), top.ids_of(q))) << "query " << q;
  }
}

TEST_P(ExactSearch, KEqualToBaseSizeSortsEverything) {
  auto base = ternary(40, 4, 5);
  auto queries = ternary(3, 4, 6);
  auto top = retrieval::exact_top_k(queries.data(), 3, base.data(), 40, 4, 40, options(512, 16384));
  for (std::int64_t q = 0; q < 3; ++q) {
    auto expected = brute_force(queries, q, base, 40);
    EXPECT_TRUE(std::equal(expected.begin(), expected.end(), top.ids_of(q)));
  }
  EXPECT_THROW(retrieval::exact_top_k(queries.data(), 3, base.data(), 40, 4, 41), std::invalid_argument);
  EXPECT_THROW(retrieval::exact_top_k(queries.data(), 3, base.data(), 40, 4, 0), std::invalid_argument);
}

TEST(Datastore, WritesNormalisedEmbeddingsAndSearches) {
  test::TempDir dir;
  auto text = test::random_normal(100, 8, 7);
  io::write_npy(dir / "text.npy", text);
  std::vector<nlohmann::json> records;
  for (int i = 0; i < 100; ++i) records.push_back({{"caption", "caption " + std::to_string(i)}, {"image_id", i}});
  io::NpyMatrixReader reader(dir / "text.npy");
  retrieval::write_datastore(dir / "ds", records, reader);
  auto store = retrieval::Datastore::open(dir / "ds");
  ASSERT_EQ(store.size(), 100);
  EXPECT_EQ(store.caption(42), "caption 42");
  EXPECT_EQ(store.record(42)["image_id"], 42);  // extra fields survive
  double norm = 0;
  for (int c = 0; c < 8; ++c) norm += double(store.embeddings()[5 * 8 + c]) * store.embeddings()[5 * 8 + c];
  EXPECT_NEAR(norm, 1.0, 1e-6);
  // Querying with a caption's own normalised embedding retrieves that caption first.
  auto top = store.search(store.embeddings() + 17 * 8, 1, 3);
  EXPECT_EQ(top.ids_of(0)[0], 17);
  EXPECT_NEAR(top.scores_of(0)[0], 1.0, 1e-5);
  EXPECT_THROW(store.search(store.embeddings(), 1, 101), UsageError);
}

// Records are parsed when asked for: blank lines do not count as rows, a bad line is an
// error naming the file and its line when it is read, and the other rows still work.
TEST(Datastore, ReadsRecordsWhenAskedAndNamesABadLine) {
  test::TempDir dir;
  std::filesystem::create_directories(dir / "ds");
  io::write_npy(dir / "ds" / "embeddings.npy", test::random_normal(4, 3, 5));
  test::write_bytes(dir / "ds" / "captions.jsonl",
                    "{\"caption\": \"a dog\", \"image_id\": 7}\n\n  \r\n\"ün café ☕\"\r\n{\"caption\": \"  \"}\n"
                    "{\"caption\": \"a cat\", \"image_id\": 7}");
  const auto store = retrieval::Datastore::open(dir / "ds");
  ASSERT_EQ(store.size(), 4);
  EXPECT_EQ(store.caption(0), "a dog");
  EXPECT_EQ(store.caption(1), "ün café ☕");
  EXPECT_EQ(store.caption(3), "a cat");
  try {
    store.caption(2);
    FAIL() << "empty caption accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("captions.jsonl:5: empty caption"), std::string::npos) << e.what();
  }
  // Rows by image read every record, so the bad one is reported there too.
  EXPECT_THROW(store.rows_of_image(7), InputError);

  test::write_bytes(dir / "ds" / "captions.jsonl", "{\"caption\": \"a\", \"image_id\": 7}\n\"b\"\n{\"caption\": \"c\", \"image_id\": 7}\n{\"caption\": \"d\", \"image_id\": \"7\"}\n");
  const auto good = retrieval::Datastore::open(dir / "ds");
  EXPECT_EQ(good.rows_of_image(7), (std::vector<std::int64_t>{0, 2}));
  EXPECT_EQ(good.rows_of_image("7"), (std::vector<std::int64_t>{3}));
  EXPECT_TRUE(good.rows_of_image(8).empty());
  // A line count that disagrees with the embeddings is refused when the datastore opens.
  test::write_bytes(dir / "ds" / "captions.jsonl", "\"a\"\n\"b\"\n");
  EXPECT_THROW(retrieval::Datastore::open(dir / "ds"), InputError);
}

TEST(Datastore, CaptionFileFormats) {
  test::TempDir dir;
  test::write_bytes(dir / "a.txt", "a dog\r\nün café ☕\n");
  test::write_bytes(dir / "b.json", R"({"annotations": [{"image_id": 1, "caption": "x"}, {"image_id": 2, "caption": "y"}]})");
  test::write_bytes(dir / "c.jsonl", "{\"caption\": \"p\", \"source\": \"dal\"}\n\"q\"\n");
  auto a = retrieval::read_caption_records(dir / "a.txt");
  ASSERT_EQ(a.size(), 2u);
  EXPECT_EQ(a[1]["caption"], "ün café ☕");
  auto b = retrieval::read_caption_records(dir / "b.json");
  EXPECT_EQ(b[1]["image_id"], 2);
  auto c = retrieval::read_caption_records(dir / "c.jsonl");
  EXPECT_EQ(c[0]["source"], "dal");
  EXPECT_EQ(c[1]["caption"], "q");
  test::write_bytes(dir / "empty.txt", "fine\n   \n");
  try {
    retrieval::read_caption_records(dir / "empty.txt");
    FAIL() << "empty caption accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("empty.txt:2"), std::string::npos) << e.what();
  }
  test::write_bytes(dir / "d.csv", "x");
  EXPECT_THROW(retrieval::read_caption_records(dir / "d.csv"), InputError);
}
