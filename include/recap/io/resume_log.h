#pragma once
// The partial results of an interrupted run: one JSON line of settings, then one line per
// finished item, flushed to disk after every batch. A later run with the same settings
// skips those items; once the final outputs are written from it, the log is removed.
// recap-caption keeps one beside its --out; recap-dal one per iteration.
#include <cstdio>
#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace recap::io {

class ResumeLog {
 public:
  // Opens or creates `path`. UsageError when it holds the results of a run with other
  // settings (naming the settings that differ); `force` discards it instead. A log created
  // here that is destroyed with no record added (the run failed first) is removed.
  ResumeLog(std::filesystem::path path, const nlohmann::json& settings, bool force);
  ~ResumeLog();
  ResumeLog(const ResumeLog&) = delete;
  ResumeLog& operator=(const ResumeLog&) = delete;

  std::size_t resumed() const { return done_.size(); }
  // The record of item `key` (records are keyed by their "image_id"), or nullptr.
  const nlohmann::json* find(const nlohmann::json& key) const;
  // Appends a record with an "image_id"; sync() makes the appended records durable.
  void add(const nlohmann::json& record);
  void sync();
  // Closes and removes the log: its records are in the final outputs now.
  void finish();

 private:
  void append(const nlohmann::json& record);
  void start_on_new_line();

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  bool created_ = false;  // this run wrote the settings line
  std::map<std::string, nlohmann::json> done_;
};

// The keys (dotted, e.g. "content.mapping") whose values differ between two settings,
// as a phrase for an error message: "k, content.mapping differ".
std::string describe_differences(const nlohmann::json& before, const nlohmann::json& now);

}  // namespace recap::io
