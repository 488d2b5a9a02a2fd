#include "recap/common/compute.h"

#include <cblas.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <thread>
#include <vector>

namespace recap {
namespace {

ComputeInfo g_info;

constexpr const char* kReexecMarker = "RECAP_BLAS_REEXEC";

// The fastest Debian-0.3.21 OpenBLAS kernel this CPU can run, or "" when the library's
// own detection is as good as we can do.
std::string best_kernel_for_cpu() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vl")) return "Cooperlake";
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  return "";
}

bool is_generic_kernel(const std::string& core) {
  return core == "Prescott" || core == "Core2" || core == "Penryn" || core == "Dunnington" ||
         core == "Nehalem" || core == "Sandybridge" || core == "Katmai" || core == "Atom" || core == "Unknown";
}

// A 67x93x129 SGEMM against a float64 triple loop: catches a kernel that computes wrong
// results on this CPU (the reason some machines pin OPENBLAS_CORETYPE).
bool sgemm_matches_reference() {
  const int m = 67, k = 93, n = 129;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> a(m * k), b(k * n), c(m * n);
  for (auto& v : a) v = uniform(rng);
  for (auto& v : b) v = uniform(rng);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, a.data(), k, b.data(), n, 0.0f, c.data(), n);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      double ref = 0;
      for (int p = 0; p < k; ++p) ref += static_cast<double>(a[i * k + p]) * b[p * n + j];
      if (std::fabs(ref - c[i * n + j]) > 1e-4 * (1.0 + std::fabs(ref))) return false;
    }
  return true;
}

[[noreturn]] void reexec_with_core(char** argv, const std::string& core, const std::string& reason) {
  ::setenv("OPENBLAS_CORETYPE", core.c_str(), 1);
  ::setenv(kReexecMarker, reason.c_str(), 1);
  ::execv("/proc/self/exe", argv);
  // execv only returns on failure; carry on with the slow kernel rather than die.
  std::fprintf(stderr, "recap: warning: could not re-execute to select the %s BLAS kernel: %s\n", core.c_str(),
               std::strerror(errno));
  std::exit(1);
}

}  // namespace

void set_threads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  openblas_set_num_threads(threads);
  g_info.threads = threads;
}

// Tensors of a few MB are allocated and freed thousands of times per second during
// inference. glibc serves them with mmap and returns them to the kernel on free, so every
// batch paid for fresh, zeroed pages again (a quarter of recap-embed's CPU time went to
// page faults). Keeping freed memory in the heap makes the next batch reuse it.
static void keep_freed_memory() {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);   // the largest threshold glibc accepts
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
}

// Every 4 KiB page a process touches first costs a page fault, and on virtual machines a
// fault is dear: a third of recap-score's time on 5,000 images went to them. Transparent
// huge pages (2 MiB) cut their number ~100x, but the usual kernel setting ("madvise") gives
// them only to memory that asks. glibc asks only when started with
// GLIBC_TUNABLES=glibc.malloc.hugetlb=1, too late to set from inside, so the main heap is
// grown once, by `reserve` (address space: no memory is used until touched), and that
// range is marked for huge pages. Memory freed inside it stays (keep_freed_memory's trim
// threshold is above `reserve`), so the mark holds for the life of the process; what
// outgrows the range gets ordinary pages.
void back_heap_with_huge_pages() {
  keep_freed_memory();  // the thresholds this relies on
  const char* setting = std::getenv("RECAP_HUGE_PAGES");
  if (setting != nullptr && std::strcmp(setting, "0") == 0) return;
  constexpr std::size_t reserve = std::size_t{448} << 20, huge_page = std::size_t{2} << 20;
  const auto start = reinterpret_cast<std::uintptr_t>(sbrk(0));
  mallopt(M_TOP_PAD, static_cast<int>(reserve));
  void* volatile grow = std::malloc(std::size_t{16} << 20);  // volatile: the compiler may not drop the pair
  const auto end = reinterpret_cast<std::uintptr_t>(sbrk(0));
  const std::uintptr_t first = (start + huge_page - 1) & ~(huge_page - 1), last = end & ~(huge_page - 1);
  if (last > first) madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);
  std::free(grow);
  mallopt(M_TOP_PAD, 128 << 10);  // glibc's default
}

void init_compute(char** argv, int threads) {
  keep_freed_memory();
  const char* user_core = std::getenv("OPENBLAS_CORETYPE");
  const char* marker = std::getenv(kReexecMarker);
  const char* automatic = std::getenv("RECAP_BLAS_AUTO");
  g_info.blas_core = openblas_get_corename();

  if (marker != nullptr) {
    g_info.blas_choice = marker;
    ::unsetenv(kReexecMarker);
    if (std::strcmp(marker, "fallback") != 0) {
      g_info.verified = sgemm_matches_reference();
      if (!g_info.verified) reexec_with_core(argv, "Prescott", "fallback");
    } else {
      g_info.blas_choice = "generic (the faster kernel failed its check)";
      g_info.verified = sgemm_matches_reference();
    }
  } else if (user_core != nullptr) {
    g_info.blas_choice = std::string("set by OPENBLAS_CORETYPE=") + user_core;
    g_info.verified = sgemm_matches_reference();
  } else {
    const std::string best = best_kernel_for_cpu();
    const bool allowed = automatic == nullptr || std::strcmp(automatic, "0") != 0;
    if (allowed && argv != nullptr && !best.empty() && is_generic_kernel(g_info.blas_core))
      reexec_with_core(argv, best, "chosen by recap for this CPU (OpenBLAS detected " + g_info.blas_core + ")");
    g_info.blas_choice = "OpenBLAS auto-detection";
    g_info.verified = sgemm_matches_reference();
  }
  set_threads(threads);
}

const ComputeInfo& compute_info() {
  // Programs that never call init_compute (tests, benchmarks) still name the kernel.
  static const bool named = [] {
    if (g_info.blas_core.empty()) g_info.blas_core = openblas_get_corename();
    return true;
  }();
  (void)named;
  return g_info;
}

ScopedBlasThreads::ScopedBlasThreads(int threads) : previous_(openblas_get_num_threads()) {
  openblas_set_num_threads(threads);
}

ScopedBlasThreads::~ScopedBlasThreads() { openblas_set_num_threads(previous_); }

std::string describe_compute() {
  return "OpenBLAS kernel " + g_info.blas_core + " (" + g_info.blas_choice + ", " +
         (g_info.verified ? "verified" : "NOT verified") + " against a reference product), " +
         std::to_string(g_info.threads) + " thread(s)";
}

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  return "unknown CPU";
}

}  // namespace recap
