#pragma once
// Structured logs: one line per event, as JSON or as readable text, to stderr by default.
#include <atomic>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shopctl::platform {

enum class LogLevel { debug = 0, info = 1, warn = 2, error = 3, off = 4 };
enum class LogFormat { text, json };

std::optional<LogLevel> parse_log_level(std::string_view name);
std::string_view to_string(LogLevel level);

class Logger {
 public:
  explicit Logger(LogLevel level = LogLevel::warn, LogFormat format = LogFormat::text,
                  std::FILE* out = stderr)
      : level_(level), format_(format), out_(out) {}

  bool enabled(LogLevel level) const { return level >= level_.load(std::memory_order_relaxed); }
  void set_level(LogLevel level) { level_ = level; }
  void set_format(LogFormat format) { format_ = format; }

  // Writes one line: `fields` are extra key/values (service, trace_id, route, status, ...). As
  // JSON: `ts`, `level`, `msg`, then the fields in alphabetical order (a field named `ts`,
  // `level` or `msg` as `field_ts`, ...); as text: `ts level msg key=value ...`.
  void log(LogLevel level, std::string_view message, const nlohmann::json& fields = {});
  void info(std::string_view m, const nlohmann::json& f = {}) { log(LogLevel::info, m, f); }
  void warn(std::string_view m, const nlohmann::json& f = {}) { log(LogLevel::warn, m, f); }
  void error(std::string_view m, const nlohmann::json& f = {}) { log(LogLevel::error, m, f); }
  void debug(std::string_view m, const nlohmann::json& f = {}) { log(LogLevel::debug, m, f); }

 private:
  std::atomic<LogLevel> level_;
  std::atomic<LogFormat> format_;
  std::FILE* out_;
  std::mutex mu_;
};

// A budget of log lines a second for what an outside client can cause at will (a refused call
// to an internal port, a forged webhook): a flood of them wrote megabytes of warn lines a
// second. take() says whether this line is within the budget, and how many lines the seconds
// before left unlogged (to be said once, in a line of their own). `second` is a steady
// clock's, in whole seconds (take() reads it; the other overload is for tests).
class LineBudget {
 public:
  explicit LineBudget(int lines_per_second) : per_second_(lines_per_second) {}
  struct Taken {
    bool log = false;
    std::uint64_t unlogged = 0;  // lines of earlier seconds not logged, said now
  };
  Taken take();
  Taken take(std::int64_t second);

 private:
  const int per_second_;
  std::mutex mu_;
  std::int64_t second_ = INT64_MIN;
  int lines_ = 0;
  std::uint64_t unlogged_ = 0;
};

}  // namespace shopctl::platform
