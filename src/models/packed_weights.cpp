#include "packed_weights.h"

#include <sys/mman.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>
#include <unordered_map>

#include "recap/common/error.h"

namespace recap::models::detail {
namespace {

// A weight view: where its first value is, how it is laid out, and of which type. Two
// views of one storage (CLIP's in-projection split into query and key/value) differ here.
struct ViewKey {
  const void* data;
  std::int64_t rows, cols, row_stride, col_stride;
  int type;
  bool operator==(const ViewKey& o) const {
    return data == o.data && rows == o.rows && cols == o.cols && row_stride == o.row_stride &&
           col_stride == o.col_stride && type == o.type;
  }
};

struct ViewKeyHash {
  std::size_t operator()(const ViewKey& k) const {
    std::size_t h = std::hash<const void*>()(k.data);
    for (auto v : {k.rows, k.cols, k.row_stride, k.col_stride, std::int64_t(k.type)})
      h = h * 1000003u ^ std::hash<std::int64_t>()(v);
    return h;
  }
};

// Room for a packed copy. Large ones are aligned to 2 MiB and advised as huge pages: on a
// Zen 5 VM, packing a ViT-B/32 MLP weight (9 MB) into fresh 4 KiB pages took 26 ms, page
// faults almost all of it, and 1.6-18 ms into huge pages.
std::shared_ptr<void> allocate_packed(std::size_t bytes) {
  constexpr std::size_t kHuge = std::size_t(2) << 20;
  const bool huge = bytes >= kHuge;
  const std::size_t alignment = huge ? kHuge : 64;
  const std::size_t size = (bytes + alignment - 1) / alignment * alignment;
  void* p = std::aligned_alloc(alignment, size);
  if (p == nullptr) throw std::bad_alloc();
#ifdef MADV_HUGEPAGE
  if (huge) madvise(p, size, MADV_HUGEPAGE);  // advice only: where refused, 4 KiB pages serve
#endif
  return std::shared_ptr<void>(p, std::free);
}

// What is known of one weight view: how many few-row products it served, and its copy.
struct Entry {
  // Weak: the cache must not keep a model's weights alive. A freed storage whose address
  // is reused by a new one no longer matches (expired), so its copy is never served.
  c10::weak_intrusive_ptr<c10::StorageImpl> storage;
  std::int64_t version;  // in-place updates (a trainer's step) bump it
  int few_row_products = 0;
  bool plain_is_best = false;  // the product's best layout is the weight's own
  PackedWeight packed;
};

thread_local bool t_packing = false;

std::mutex g_mutex;
std::unordered_map<ViewKey, Entry, ViewKeyHash> g_entries;

ViewKey key_of(const torch::Tensor& w) {
  return {w.data_ptr(), w.size(0), w.size(1), w.stride(0), w.stride(1), static_cast<int>(w.scalar_type())};
}

bool same_weight(const Entry& e, const torch::Tensor& w) {
  return !e.storage.expired() && e.storage._unsafe_get_target() == w.storage().unsafeGetStorageImpl() &&
         e.version == w._version();
}

// Entries of weights that are gone: dropped whenever a copy is made, so a process that
// loads one model after another holds the copies of the live ones only (and of a freed
// one until the next weight is packed).
void drop_expired() {
  for (auto it = g_entries.begin(); it != g_entries.end();) {
    it = it->second.storage.expired() ? g_entries.erase(it) : std::next(it);
  }
}

bool packing_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("RECAP_PACK_WEIGHTS");
    if (v == nullptr || *v == '\0' || std::strcmp(v, "1") == 0) return true;
    if (std::strcmp(v, "0") == 0) return false;
    throw UsageError(std::string("RECAP_PACK_WEIGHTS must be 0 or 1, got \"") + v + "\"");
  }();
  return enabled;
}

}  // namespace

ScopedWeightPacking::ScopedWeightPacking() : previous_(t_packing) { t_packing = true; }
ScopedWeightPacking::~ScopedWeightPacking() { t_packing = previous_; }

PackedWeight packed_weight(const torch::Tensor& weight, const dnnl::memory::desc& plain, std::int64_t rows,
                           const std::function<dnnl::memory::desc()>& best_layout, const dnnl::engine& engine) {
  if (!t_packing || !packing_enabled() || weight.dim() != 2 || !weight.has_storage() || weight.is_inference()) return {};
  const auto key = key_of(weight);
  const std::lock_guard<std::mutex> lock(g_mutex);
  auto it = g_entries.find(key);
  if (it == g_entries.end() || !same_weight(it->second, weight)) {
    if (g_entries.size() >= 4096) drop_expired();  // one-off weights (measurements) come and go
    it = g_entries.insert_or_assign(key, Entry{weight.storage().getWeakStorageImpl(), weight._version(), 0, false, {}}).first;
  }
  Entry& entry = it->second;
  if (entry.packed.memory || entry.plain_is_best || rows >= kFewRows ||
      ++entry.few_row_products < kPackAfterProducts) {
    return entry.packed;
  }
  const auto layout = best_layout();
  if (layout == plain) {
    entry.plain_is_best = true;
    return {};
  }
  drop_expired();  // `entry` is live: its weight is in use
  PackedWeight packed;
  packed.values = allocate_packed(layout.get_size());
  packed.memory = dnnl::memory(layout, engine, packed.values.get());
  dnnl::memory source(plain, engine, weight.data_ptr());
  dnnl::stream stream(engine);
  dnnl::reorder(source, packed.memory).execute(stream, source, packed.memory);
  stream.wait();
  entry.packed = packed;
  return packed;
}

PackedWeightsStats packed_weights_stats() {
  const std::lock_guard<std::mutex> lock(g_mutex);
  PackedWeightsStats stats;
  for (const auto& [key, e] : g_entries) {
    if (e.storage.expired() || !e.packed.memory) continue;
    ++stats.copies;
    stats.bytes += e.packed.memory.get_desc().get_size();
  }
  return stats;
}

}  // namespace recap::models::detail
