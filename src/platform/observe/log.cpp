#include "platform/observe/log.hpp"
#include "platform/json_text.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>

namespace shopctl::platform {

namespace {

// The message on one line: control characters become escapes.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20)
      out += ' ';
    else
      out.push_back(c);
  }
  return out;
}

// A field value in logfmt style: bare when it is one plain word, else quoted and escaped, so
// that every event stays one line that splits back into its fields.
std::string text_value(const nlohmann::json& v) {
  if (!v.is_string()) return json_text(v);
  const auto& s = v.get_ref<const std::string&>();
  // Plain: printable ASCII only. Anything else is quoted as JSON, where bytes that are not
  // UTF-8 become U+FFFD (a request's path went into the line as sent, bytes and all).
  bool plain = !s.empty();
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (b <= 0x20 || b >= 0x7f || c == '"' || c == '=' || c == '\\') plain = false;
  }
  return plain ? s : json_text(nlohmann::json(s));
}

// DEL and the C1 control characters (U+0080-U+009F, which a terminal reads as the start of a
// control sequence: U+009B is CSI), left as they are in JSON text, written as \u escapes: the
// line stays valid JSON, and neither format carries them to the terminal or a log viewer.
void escape_c1_and_del(std::string& line) {
  std::string out;
  out.reserve(line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    const auto b = static_cast<unsigned char>(line[i]);
    if (b == 0x7f) {
      out += "\\u007f";
    } else if (b == 0xC2 && i + 1 < line.size() &&
               static_cast<unsigned char>(line[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(line[i + 1]) <= 0x9F) {
      char escape[8];
      std::snprintf(escape, sizeof escape, "\\u%04x", static_cast<unsigned char>(line[i + 1]));
      out += escape;
      ++i;
    } else {
      out.push_back(line[i]);
    }
  }
  line = std::move(out);
}

}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view name) {
  if (name == "debug") return LogLevel::debug;
  if (name == "info") return LogLevel::info;
  if (name == "warn" || name == "warning") return LogLevel::warn;
  if (name == "error") return LogLevel::error;
  if (name == "off" || name == "none") return LogLevel::off;
  return std::nullopt;
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return "debug";
    case LogLevel::info:
      return "info";
    case LogLevel::warn:
      return "warn";
    case LogLevel::error:
      return "error";
    case LogLevel::off:
      return "off";
  }
  return "?";
}

void Logger::log(LogLevel level, std::string_view message, const nlohmann::json& fields) {
  if (!enabled(level)) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char ts[40];
  std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  std::string line;
  if (format_.load() == LogFormat::json) {
    // Written by hand, so that `ts`, `level` and `msg` come first and the fields after them
    // (a JSON object of nlohmann::json keeps its keys in alphabetical order: `level` came
    // first, `ts` among the fields). A field of one of those names is written `field_<name>`.
    line = "{\"ts\":" + json_text(std::string(ts)) +
           ",\"level\":" + json_text(std::string(to_string(level))) +
           ",\"msg\":" + json_text(std::string(message));
    if (fields.is_object()) {
      for (const auto& [k, v] : fields.items()) {
        const bool taken = k == "ts" || k == "level" || k == "msg";
        line += "," + json_text(taken ? "field_" + k : k) + ":" + json_text(v);
      }
    }
    line += "}";
  } else {
    line = std::string(ts) + " " + std::string(to_string(level)) + " " + one_line(message);
    if (fields.is_object()) {
      for (const auto& [k, v] : fields.items()) {
        line += " " + k + "=" + text_value(v);
      }
    }
  }
  escape_c1_and_del(line);
  line.push_back('\n');
  std::lock_guard lock(mu_);
  std::fwrite(line.data(), 1, line.size(), out_);
  std::fflush(out_);
}

LineBudget::Taken LineBudget::take() {
  return take(std::chrono::duration_cast<std::chrono::seconds>(
                  std::chrono::steady_clock::now().time_since_epoch())
                  .count());
}

LineBudget::Taken LineBudget::take(std::int64_t second) {
  std::lock_guard lock(mu_);
  Taken taken;
  if (second != second_) {
    second_ = second;
    lines_ = 0;
    taken.unlogged = std::exchange(unlogged_, 0);
  }
  taken.log = lines_ < per_second_;
  if (taken.log) {
    ++lines_;
  } else {
    ++unlogged_;
  }
  return taken;
}

}  // namespace shopctl::platform
