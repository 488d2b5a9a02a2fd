#include "recap/embed/embed_subprocess.h"

#include <cstdio>

#include "recap/common/child_process.h"
#include "recap/common/error.h"
#include "recap/io/atomic_file.h"
#include "recap/io/json_file.h"

namespace fs = std::filesystem;

namespace recap::embed {
namespace {

bool contains(const std::string& text, const char* part) { return text.find(part) != std::string::npos; }

// Which of recap-embed's stderr lines the user of the calling tool should see. Its error
// line becomes the caller's one-line error instead, and "wrote" names a scratch file.
// Without --verbose only what a user acts on: progress (rate, ETA), skipped files,
// truncated captions; the model and compute notes come with --verbose.
bool worth_relaying(const std::string& line, bool verbose) {
  if (contains(line, ": error: ") || contains(line, ": wrote ")) return false;
  return verbose || contains(line, "ETA ") || contains(line, "warning") || contains(line, "skipped") ||
         contains(line, "truncated");
}

// recap-embed --verbose notes "model <layout>: <architecture>, <precision>, fingerprint <hex>, loaded in <s> s".
std::string fingerprint_in(const std::string& notes) {
  const std::string marker = ", fingerprint ";
  const auto at = notes.find(marker);
  if (at == std::string::npos) return "";
  const auto start = at + marker.size();
  return notes.substr(start, notes.find_first_of(" ,\n", start) - start);
}

// A line of a recap-embed input file: the format has no escape for a line break.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';  // CLIP's tokenizer collapses whitespace anyway
  return text;
}

}  // namespace

EmbedSubprocess::EmbedSubprocess(EmbedSettings settings) : settings_(std::move(settings)) {
  tool_ = fs::read_symlink("/proc/self/exe").parent_path() / "recap-embed";
  if (!fs::exists(tool_)) throw UsageError(tool_.string() + ": recap-embed is needed for --clip (build it beside this tool)");
}

void EmbedSubprocess::run(std::vector<std::string> args) {
  std::vector<std::string> argv = {tool_.string(), "--clip", settings_.clip, "--verbose"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto pass = [&](const char* flag, const std::string& value) { argv.insert(argv.end(), {flag, value}); };
  if (settings_.threads > 0) {
    pass("--threads", std::to_string(settings_.threads));
    pass("--workers", std::to_string(settings_.threads));
  }
  if (settings_.batch_size > 0) pass("--batch-size", std::to_string(settings_.batch_size));
  if (!settings_.cache.empty()) pass("--cache", settings_.cache);
  if (settings_.no_cache) argv.push_back("--no-cache");
  if (!settings_.device.empty()) pass("--device", settings_.device);
  if (!settings_.dtype.empty()) pass("--dtype", settings_.dtype);
  if (settings_.max_image_pixels > 0) pass("--max-image-pixels", std::to_string(settings_.max_image_pixels));
  pass("--video-frames", std::to_string(settings_.video_frames));

  ChildProcess child(argv);
  std::size_t relayed = 0;  // bytes of its stderr already looked at
  auto relay = [&] {
    const std::string text = child.stderr_text();
    for (auto end = text.find('\n', relayed); end != std::string::npos; end = text.find('\n', relayed)) {
      const std::string line = text.substr(relayed, end - relayed);
      if (worth_relaying(line, settings_.verbose)) std::fprintf(stderr, "%s\n", line.c_str());
      relayed = end + 1;
    }
  };
  while (true) {  // recap-embed prints nothing on stdout: wait for it to close, relaying progress
    try {
      child.read_line(1.0);
    } catch (const ChildTimeout&) {
      relay();
    } catch (const std::runtime_error&) {
      break;
    }
  }
  const int status = child.finish(60);
  relay();
  const std::string notes = child.stderr_text();
  if (status != 0) {
    std::string message = child.stderr_tail();
    const auto at = message.find(": error: ");
    if (at != std::string::npos) message = message.substr(at + 9);
    message = "recap-embed failed: " + message;
    if (status == static_cast<int>(ExitCode::usage)) throw UsageError(message);
    if (status == static_cast<int>(ExitCode::bad_input)) throw InputError(message);
    throw Error(ExitCode::internal, message + " (exit status " + std::to_string(status) + ")");
  }
  if (fingerprint_.empty()) fingerprint_ = fingerprint_in(notes);
}

EmbedSubprocess::Images EmbedSubprocess::embed_images(const std::vector<fs::path>& files, const fs::path& scratch,
                                                      bool normalize) {
  std::string list;
  std::vector<std::string> names;
  for (const auto& f : files) {
    names.push_back(fs::absolute(f).lexically_normal().string());
    if (one_line(names.back()) != names.back()) throw InputError(f.string() + ": a file name with a line break");
    list += names.back() + "\n";
  }
  io::write_text_file(scratch / "images.txt", list);
  Images images{scratch / "images.npy", {}};
  std::vector<std::string> args = {"--images", (scratch / "images.txt").string(), "--out", images.embeddings.string(),
                                   "--files-out", (scratch / "image_files.json").string()};
  if (normalize) args.push_back("--normalize");
  if (settings_.strict) args.push_back("--strict");
  run(args);
  // --files-out lists the kept files in input order: walk both lists together (a file
  // listed twice keeps both of its rows apart).
  const auto kept = io::read_json(scratch / "image_files.json");
  std::size_t next = 0;
  for (const auto& id : kept) {
    while (next < names.size() && names[next] != id.get<std::string>()) ++next;
    if (next == names.size()) throw Error(ExitCode::internal, "recap-embed listed a file it was not given: " + id.dump());
    images.kept.push_back(next++);
  }
  return images;
}

fs::path EmbedSubprocess::embed_texts(const std::vector<std::string>& texts, const std::string& prefix,
                                      const fs::path& scratch, bool normalize) {
  std::string lines;
  for (const auto& t : texts) lines += one_line(prefix + t) + "\n";
  io::write_text_file(scratch / "texts.txt", lines);
  const fs::path out = scratch / "texts.npy";
  std::vector<std::string> args = {"--texts", (scratch / "texts.txt").string(), "--out", out.string()};
  if (normalize) args.push_back("--normalize");
  run(args);
  return out;
}

}  // namespace recap::embed
