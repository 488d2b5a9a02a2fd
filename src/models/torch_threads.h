#pragma once
// LibTorch's intra-op thread count for one scope, restored however the scope ends.
#include <ATen/Parallel.h>

namespace recap::models::detail {

class ScopedTorchThreads {
 public:
  explicit ScopedTorchThreads(int threads) : previous_(at::get_num_threads()) { at::set_num_threads(threads); }
  ~ScopedTorchThreads() { at::set_num_threads(previous_); }
  ScopedTorchThreads(const ScopedTorchThreads&) = delete;
  ScopedTorchThreads& operator=(const ScopedTorchThreads&) = delete;

 private:
  int previous_;
};

}  // namespace recap::models::detail
