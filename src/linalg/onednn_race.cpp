#include "recap/linalg/onednn_race.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>

#include "recap/common/compute.h"
#include "recap/common/error.h"
#include "recap/io/measurement_cache.h"

namespace recap::linalg {
namespace {

std::string race_key(int threads, int version) {
  const auto* v = dnnl::version();
  return cpu_model_name() + " | OpenBLAS " + compute_info().blas_core + " | oneDNN " + std::to_string(v->major) + "." +
         std::to_string(v->minor) + "." + std::to_string(v->patch) + " | threads=" + std::to_string(threads) + " | v" +
         std::to_string(version);
}

std::string rates(const char* blas_label, double blas, double onednn) {
  char text[128];
  std::snprintf(text, sizeof text, "%s %.0f GFLOP/s, oneDNN %.0f GFLOP/s", blas_label, blas, onednn);
  return text;
}

}  // namespace

bool onednn_is_ours() {
  static const bool ours = [] {
    const auto* v = dnnl::version();
    return v->major == DNNL_VERSION_MAJOR && v->minor == DNNL_VERSION_MINOR;
  }();
  return ours;
}

std::string onednn_mismatch() {
  const auto* v = dnnl::version();
  return "oneDNN at run time is " + std::to_string(v->major) + "." + std::to_string(v->minor) + ", not the " +
         std::to_string(DNNL_VERSION_MAJOR) + "." + std::to_string(DNNL_VERSION_MINOR) +
         " recap was built with (another copy in this LibTorch?)";
}

OnednnRaceResult race_onednn(const OnednnRace& race) {
  OnednnRaceResult result;
  if (!onednn_is_ours()) {
    result.reason = onednn_mismatch();
    return result;
  }
  constexpr const char* kFailedCheck = "oneDNN failed its check against a float64 product";
  if (const char* forced = std::getenv(race.variable); forced != nullptr && *forced != '\0') {
    const bool onednn = std::strcmp(forced, "onednn") == 0;
    if (!onednn && std::strcmp(forced, "openblas") != 0)
      throw UsageError(std::string(race.variable) + " must be openblas or onednn, got \"" + forced + "\"");
    result.onednn = onednn && race.onednn_verified;
    result.reason = std::string("set by ") + race.variable + "=" + forced +
                    (onednn && !race.onednn_verified ? std::string(" (but ") + kFailedCheck + ")" : "");
    return result;
  }
  if (!race.onednn_verified) {
    result.reason = kFailedCheck;
    return result;
  }
  // The process's thread setting, not the calling thread's: the first product may run on
  // a worker of a one-thread team (CLIP's sharded encoding), and a choice keyed by that
  // would differ between runs of one command whose first product runs elsewhere.
  const int threads = std::max(1, compute_info().threads);
  const std::string blas_field = std::string(race.blas_engine) + "_gflops";
  bool measured_now = false;
  const auto entry = io::measure_once(
      race.cache_file, race_key(threads, race.version),
      [&](const nlohmann::json& e) {
        const auto engine = e.value("engine", "");
        return (engine == "onednn" || engine == race.blas_engine) && e.value(blas_field, 0.0) > 0 &&
               e.value("onednn_gflops", 0.0) > 0;
      },
      [&] {
        measured_now = true;
        const double onednn = race.onednn_gflops(threads);
        const double blas = race.blas_gflops(threads);
        return nlohmann::json{{"engine", onednn > 1.1 * blas ? "onednn" : race.blas_engine},
                              {blas_field, blas},
                              {"onednn_gflops", onednn}};
      });
  result.onednn = entry["engine"] == "onednn";
  result.blas_gflops = entry[blas_field].get<double>();
  result.onednn_gflops = entry["onednn_gflops"].get<double>();
  result.reason = (measured_now ? "measured now: " : "cached measurement: ") +
                  rates(race.blas_label, result.blas_gflops, result.onednn_gflops);
  return result;
}

}  // namespace recap::linalg
