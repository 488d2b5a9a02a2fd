#include "recap/io/resume_log.h"

#include <unistd.h>

#include <fstream>
#include <vector>

#include "recap/common/error.h"

namespace fs = std::filesystem;

namespace recap::io {
namespace {

// The keys (dotted, e.g. "content.mapping") whose values differ between two settings.
void differences(const nlohmann::json& before, const nlohmann::json& now, const std::string& prefix,
                 std::vector<std::string>& out) {
  if (!before.is_object() || !now.is_object()) {
    out.push_back(prefix.empty() ? "everything" : prefix);
    return;
  }
  for (auto it = now.begin(); it != now.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : prefix + "." + it.key();
    if (!before.contains(it.key())) out.push_back(key);
    else if (before[it.key()] != it.value()) {
      if (it.value().is_object()) differences(before[it.key()], it.value(), key, out);
      else out.push_back(key);
    }
  }
}

}  // namespace

std::string describe_differences(const nlohmann::json& before, const nlohmann::json& now) {
  std::vector<std::string> keys;
  differences(before, now, "", keys);
  std::string text;
  for (const auto& k : keys) text += (text.empty() ? "" : ", ") + k;
  return text + (keys.size() == 1 ? " differs" : " differ");
}

ResumeLog::ResumeLog(fs::path path, const nlohmann::json& settings, bool force) : path_(std::move(path)) {
  if (force) fs::remove(path_);
  if (fs::exists(path_)) {
    std::ifstream in(path_);
    std::string line;
    bool first = true;
    while (std::getline(in, line)) {
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception&) {
        continue;  // a line cut by a crash
      }
      if (first) {
        if (!j.contains("settings") || j["settings"] != settings) {
          throw UsageError(path_.string() + ": partial results of a run with other settings (" +
                           describe_differences(j.contains("settings") ? j["settings"] : nlohmann::json(), settings) +
                           "); pass --force to start over or rerun with the same options and inputs");
        }
        first = false;
        continue;
      }
      if (j.is_object() && j.contains("image_id")) done_[j["image_id"].dump()] = j;
    }
    if (first) fs::remove(path_);  // not even the settings line survived
  }
  const bool fresh = !fs::exists(path_);
  file_ = std::fopen(path_.c_str(), "a");
  if (file_ == nullptr) throw UsageError(path_.string() + ": cannot write the resume log");
  if (fresh) append({{"settings", settings}});
  else start_on_new_line();
  created_ = fresh;
}

ResumeLog::~ResumeLog() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  // A log this run created and never added to holds nothing to resume (the run failed
  // before its first batch, say on a bad datastore line): it is not left behind.
  if (created_ && done_.empty()) {
    std::error_code ec;
    fs::remove(path_, ec);
  }
}

const nlohmann::json* ResumeLog::find(const nlohmann::json& key) const {
  auto it = done_.find(key.dump());
  return it == done_.end() ? nullptr : &it->second;
}

void ResumeLog::append(const nlohmann::json& record) {
  const std::string line = record.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size())
    throw Error(ExitCode::internal, path_.string() + ": write failed");
}

void ResumeLog::add(const nlohmann::json& record) {
  append(record);
  done_[record["image_id"].dump()] = record;
}

void ResumeLog::sync() {
  std::fflush(file_);
  ::fsync(fileno(file_));
}

void ResumeLog::finish() {
  std::fclose(file_);
  file_ = nullptr;
  fs::remove(path_);
}

// A crash can leave half a line at the end; the next record starts on a line of its own.
void ResumeLog::start_on_new_line() {
  std::ifstream in(path_, std::ios::binary | std::ios::ate);
  if (in.tellg() > 0) {
    in.seekg(-1, std::ios::end);
    if (in.get() != '\n') std::fputc('\n', file_);
  }
}

}  // namespace recap::io
