#pragma once
// The numeric back end a process runs on: which OpenBLAS kernel, how many threads.
//
// Debian's OpenBLAS 0.3.21 does not recognise recent Xeons and falls back to its generic
// "Prescott" kernel, 5-8x slower than the AVX-512 one the CPU supports (docs/architecture.md, "The BLAS kernel is part of the product").
// OpenBLAS reads OPENBLAS_CORETYPE only when it loads, so init_compute() re-executes the
// process once with the variable set when the CPU supports a faster kernel than the one
// detected, then checks the chosen kernel against a reference product. A user's own
// OPENBLAS_CORETYPE is always respected; RECAP_BLAS_AUTO=0 turns the choice off.
#include <string>

namespace recap {

struct ComputeInfo {
  std::string blas_core;       // OpenBLAS's name for the kernel in use, e.g. "Cooperlake"
  std::string blas_choice;     // "auto-detected", "chosen by recap (CPU has ...)", "set by user", ...
  bool verified = false;       // the kernel's SGEMM matched a float64 reference product
  int threads = 1;
};

// It also keeps freed memory in the heap for reuse (tensors of a few MB come and go).
//
// Call first in main(). May replace the process image (execv) once; returns otherwise.
// `threads` <= 0 means all cores.
void init_compute(char** argv, int threads);
void set_threads(int threads);

// Backs the main heap with transparent huge pages (RECAP_HUGE_PAGES=0 turns it off). For
// programs that build many small objects and few large ones: recap-score spends a third
// less time (page faults), but recap-embed ran 5% slower and held 130 MB more. Call first in
// main(), before any thread allocates.
void back_heap_with_huge_pages();
const ComputeInfo& compute_info();
std::string describe_compute();  // one line for logs and provenance files
// /proc/cpuinfo's "model name", the key under which per-CPU measurements are cached.
std::string cpu_model_name();

// While it lives, BLAS calls run on `threads` threads (ScopedSingleThreadedBlas: on the
// calling thread only, for callers that run several BLAS calls side by side on their own
// threads). The previous thread count comes back after.
class ScopedBlasThreads {
 public:
  explicit ScopedBlasThreads(int threads);
  ~ScopedBlasThreads();
  ScopedBlasThreads(const ScopedBlasThreads&) = delete;
  ScopedBlasThreads& operator=(const ScopedBlasThreads&) = delete;

 private:
  int previous_;
};

class ScopedSingleThreadedBlas : public ScopedBlasThreads {
 public:
  ScopedSingleThreadedBlas() : ScopedBlasThreads(1) {}
};

}  // namespace recap
