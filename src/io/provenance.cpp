#include "recap/io/provenance.h"

#include <sys/stat.h>

#include <ctime>

namespace recap::io {
namespace {

std::string format_utc(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[32];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buffer;
}

}  // namespace

nlohmann::json describe_file(const std::filesystem::path& path) {
  nlohmann::json out = {{"path", std::filesystem::absolute(path).lexically_normal().string()}};
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    out["bytes"] = static_cast<std::int64_t>(st.st_size);
    out["modified"] = format_utc(st.st_mtime);
  }
  return out;
}

std::string utc_timestamp() { return format_utc(std::time(nullptr)); }

}  // namespace recap::io
