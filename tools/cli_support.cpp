#include "cli_support.h"

#include "recap/common/messages.h"

#include <cctype>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <new>

#include "recap/common/compute.h"
#include "json_config.h"
#include "recap/common/error.h"

namespace recap::cli {
namespace {

CommonOptions* g_common = nullptr;
std::vector<std::string> g_command_line;

// Keeps an error to a single line whatever the exception text held.
std::string one_line(std::string text) {
  for (char& c : text)
    if (c == '\n' || c == '\r') c = ' ';
  return text;
}

// The --config argument, for messages about the file (CLI11 does not name it).
std::string config_file(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--config" && i + 1 < argc) return argv[i + 1];
    if (arg.rfind("--config=", 0) == 0) return arg.substr(9);
  }
  return "--config";
}

// LibTorch's errors carry a C++ backtrace after their message ("Exception raised from
// ... frame #0 ..."): a user needs the message.
std::string without_backtrace(std::string text) {
  const auto at = text.find("Exception raised from");
  if (at != std::string::npos) text.erase(at);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

int report(ExitCode code, const std::string& message) {
  std::fprintf(stderr, "%s: error: %s\n", program_name().c_str(), one_line(message).c_str());
  return static_cast<int>(code);
}

}  // namespace

namespace {

CLI::Validator number_check(const char* description, bool (*accept)(double), const char* requirement) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        double value = 0;
        std::size_t used = 0;
        try {
          value = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used != text.size() || used == 0) return "'" + text + "' is not a number";
        return accept(value) ? std::string() : "must be " + std::string(requirement) + ", got " + text;
      },
      description);
}

}  // namespace

const CLI::Validator kPositive = number_check("POSITIVE", [](double v) { return v > 0; }, "positive");
const CLI::Validator kNonNegative = number_check("NONNEGATIVE", [](double v) { return v >= 0; }, "0 or more");

const std::vector<std::string>& command_line() { return g_command_line; }


void add_common_options(CLI::App& app, CommonOptions& options) {
  app.add_option("--threads", options.threads, "Worker threads for BLAS and parallel loops (default: all cores)")
      ->check(kNonNegative);
  app.add_flag("-v,--verbose", options.verbose, "Print the compute back end and per-phase timings");
  const std::string tool = std::filesystem::path(app.get_name()).filename().string();
  app.config_formatter(std::make_shared<JsonConfig>(tool.rfind("recap-", 0) == 0 ? tool.substr(6) : tool, &app));
  app.set_config("--config", "", "JSON file of option defaults; flags given on the command line override it");
  app.allow_config_extras(CLI::config_extras_mode::error);  // an unknown key is a typo, not a default
  g_common = &options;
}

int run(CLI::App& app, int argc, char** argv, const std::function<void()>& body) {
  set_program_name(std::filesystem::path(argv[0]).filename().string());
  g_command_line.assign(argv, argv + argc);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::FileError& e) {
    return report(ExitCode::usage, std::string(e.what()));
  } catch (const CLI::ConfigError& e) {
    // CLI11 words an unknown key as "INI was not able to parse KEY".
    std::string message = e.what();
    const std::string unknown = "INI was not able to parse ";
    if (message.rfind(unknown, 0) == 0)
      message = "'" + message.substr(unknown.size()) + "' is not an option of " + program_name() + " (see --help)";
    return report(ExitCode::usage, config_file(argc, argv) + ": " + message);
  } catch (const CLI::ParseError& e) {
    const std::string message = e.what();
    if (message.find("config file") != std::string::npos)  // raised while JsonConfig read the file
      return report(ExitCode::usage, config_file(argc, argv) + ": " + message);
    return report(ExitCode::usage, message + " (see --help)");
  }
  try {
    init_compute(argv, g_common != nullptr ? g_common->threads : 0);
    if (g_common != nullptr && g_common->verbose) note(describe_compute());
    body();
    return 0;
  } catch (const Error& e) {
    return report(e.code(), e.what());
  } catch (const std::bad_alloc&) {
    return report(ExitCode::internal, "out of memory");
  } catch (const std::filesystem::filesystem_error& e) {
    return report(ExitCode::bad_input, e.what());
  } catch (const std::exception& e) {
    return report(ExitCode::internal, "internal error: " + without_backtrace(e.what()));
  }
}

void add_max_image_pixels_option(CLI::App& app, std::int64_t& limit) {
  app.add_option("--max-image-pixels", limit,
                 "Refuse images whose header declares more pixels than this (decompression bombs; default: PIL's "
                 "limit, 178956970)")
      ->check(kPositive);
}

}  // namespace recap::cli
