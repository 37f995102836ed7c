#include "scenario/report.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/text_rules.hpp"

namespace shopctl::scenario {

namespace {

const char* paint(const ConsoleStyle& s, const char* code) {
  return s.color ? code : "";
}
constexpr const char* kRed = "\x1b[31m";
constexpr const char* kGreen = "\x1b[32m";
constexpr const char* kYellow = "\x1b[33m";
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kBold = "\x1b[1m";
constexpr const char* kReset = "\x1b[0m";

std::string fmt_ms(double ms) {
  char buf[32];
  if (ms >= 1000)
    std::snprintf(buf, sizeof buf, "%.2f s", ms / 1000);
  else
    std::snprintf(buf, sizeof buf, "%.0f ms", ms);
  return buf;
}

std::string xml_escape(const std::string& text) {
  // The file says UTF-8 and is XML 1.0: bytes that are not UTF-8 (from a scenario, an answer)
  // become U+FFFD, control characters escapes, and U+FFFE/U+FFFF (no XML character) U+FFFD.
  const std::string s = platform::markup_text(text);
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// For an attribute's value: also the whitespace an XML parser would turn into spaces there (a
// scenario file whose name holds a newline had it read back as a space).
std::string xml_attribute(const std::string& text) {
  std::string out;
  for (char c : xml_escape(text)) {
    if (c == '\n')
      out += "&#10;";
    else if (c == '\r')
      out += "&#13;";
    else if (c == '\t')
      out += "&#9;";
    else
      out += c;
  }
  return out;
}

// A secret an answer or a request carried, cut to its first characters: a failed `login`
// step printed the whole access token (a live JWT against a deployed shop) on the console and
// in the JUnit and HTML reports, which CI keeps as artifacts. Redacted: the value of an
// "access_token" or "refresh_token" field, what follows "Bearer ", any JWT ("eyJ...", whole or
// cut short by a message's 200-character limit) and the shop's API key at the provider
// ("sk_test_...", "sk_live_...").
std::string redact_secrets(const std::string& text) {
  constexpr std::size_t kShown = 8;
  const auto token_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
           c == '~' || c == '+' || c == '/' || c == '=';
  };
  // [begin, end) of every secret, in order, then cut.
  std::vector<std::pair<std::size_t, std::size_t>> secrets;
  for (const std::string_view field : {"access_token\"", "refresh_token\""}) {
    for (auto at = text.find(field); at != std::string::npos; at = text.find(field, at + 1)) {
      std::size_t i = at + field.size();
      while (i < text.size() && (text[i] == ' ' || text[i] == ':')) ++i;
      if (i >= text.size() || text[i] != '"') continue;
      const std::size_t begin = ++i;
      while (i < text.size() && text[i] != '"' && text[i] != '\\') ++i;
      secrets.emplace_back(begin, i);
    }
  }
  for (auto at = text.find("Bearer "); at != std::string::npos; at = text.find("Bearer ", at + 1)) {
    std::size_t end = at + 7;
    while (end < text.size() && token_char(text[end])) ++end;
    secrets.emplace_back(at + 7, end);
  }
  for (auto at = text.find("eyJ"); at != std::string::npos; at = text.find("eyJ", at + 1)) {
    // Inside a longer word it is not a token's start; after '=' or '/' (a query's value, a
    // path's segment) it may be, as the two dots below decide.
    if (at > 0 && text[at - 1] != '=' && text[at - 1] != '/' && token_char(text[at - 1])) continue;
    std::size_t end = at;
    while (end < text.size() && token_char(text[end])) ++end;
    const auto token = std::string_view(text).substr(at, end - at);
    // A JWT has two dots; one cut short ("eyJhbGci...") by a matcher's message still has the
    // dot after its header (20 characters or more), and printed 200 characters of the token.
    const auto dots = std::count(token.begin(), token.end(), '.');
    if (dots == 2 || (dots >= 1 && token.size() >= 20)) secrets.emplace_back(at, end);
  }
  for (const std::string_view prefix : {"sk_test_", "sk_live_"}) {
    for (auto at = text.find(prefix); at != std::string::npos; at = text.find(prefix, at + 1)) {
      if (at > 0 && token_char(text[at - 1])) continue;
      std::size_t end = at;
      while (end < text.size() && token_char(text[end])) ++end;
      secrets.emplace_back(at, end);
    }
  }
  std::sort(secrets.begin(), secrets.end());
  std::string out;
  std::size_t copied = 0;
  for (const auto& [begin, end] : secrets) {
    if (begin < copied || end - begin <= kShown) continue;  // inside one cut already, or short
    out.append(text, copied, begin + kShown - copied);
    out += "\u2026(redacted)";
    // A quoted token a message cut short ("eyJ...<200 characters>...", the closing quote cut
    // with the rest) is closed again: the message read `got "eyJhbGci…(redacted) (a string)`
    // (an outside probe).
    if (begin > 0 && text[begin - 1] == '"' && (end >= text.size() || text[end] != '"')) out += '"';
    copied = end;
  }
  out.append(text, copied);
  return out;
}

// `value` with redact_secrets applied to every string in it (the JSON report's call records:
// a route carries the request's path, where a scenario may have put its token).
nlohmann::json redact_secrets(const nlohmann::json& value) {
  if (value.is_string()) return redact_secrets(value.get<std::string>());
  if (!value.is_structured()) return value;
  nlohmann::json out = value;
  for (auto& item : out) item = redact_secrets(item);
  return out;
}

// A scenario file as a JUnit classname, which Jenkins splits at each '.' into packages and a
// class: the folders become the packages and the file's stem the class ("scenarios/flow/
// cart.yaml" is "scenarios.flow.cart"; it showed as class "yaml" in "scenarios/flow/cart").
// A dot of a name is '_'. The path itself is the testcase's `file`.
std::string junit_classname(const std::string& file) {
  std::string path = file;
  for (const std::string_view extension : {".yaml", ".yml"}) {
    // In any case, as a folder's files are found (`Cart.YAML` is the class "Cart").
    if (path.size() > extension.size() &&
        std::equal(
            extension.begin(), extension.end(), path.end() - extension.size(),
            [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
      path.resize(path.size() - extension.size());
      break;
    }
  }
  // The segments `.` and `..` name no folder of their own: "../suite/pass.yaml" was the class
  // "__.suite.pass", a package named "__" in the report. They are left out.
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find_first_of("/\\", start);
    if (end == std::string::npos) end = path.size();
    const std::string_view segment = std::string_view(path).substr(start, end - start);
    if (!segment.empty() && segment != "." && segment != "..") {
      if (!out.empty()) out += '.';
      for (char c : segment) out += c == '.' ? '_' : c;
    }
    start = end + 1;
  }
  return out.empty() ? file : out;
}

// A failure's message as the console and JUnit show it: its own continuation lines (a list of
// calls, each on an indented line) stay lines; any other line feed, which came from a file or
// an answer, is an escape, as every control character is.
std::string message_text(const std::string& message) {
  std::string out;
  std::size_t start = 0;
  for (;;) {
    const auto end = message.find('\n', start);
    out += platform::terminal_text(message.substr(start, end - start), true);
    if (end == std::string::npos) return out;
    out += end + 1 < message.size() && message[end + 1] == ' ' ? "\n" : "\\x0a";
    start = end + 1;
  }
}

// What the console and JUnit say of a failure, a line each: the step and where, the message,
// the answer and its trace id. A step's name, a file's name, an answer's body and the trace id
// are quoted on their line with every control character, line feeds too, as an escape: a body
// "x\n[1/1] PASS forged" started a line of its own. Secrets in it are cut (redact_secrets).
std::string failure_text(const Failure& f) {
  const auto one_line = [](const std::string& text) {
    return platform::terminal_text(redact_secrets(text), true);
  };
  SourceLocation where = f.where;
  where.file = platform::terminal_text(where.file, true);
  std::string s;
  if (!f.step.empty())
    s += f.phase + " step \"" + one_line(f.step) + "\" at " + where.to_string() + "\n";
  else
    s += where.to_string() + "\n";
  s += "  " + message_text(redact_secrets(f.message)) + "\n";
  if (f.status) s += "  response: " + std::to_string(f.status) + " " + one_line(f.body) + "\n";
  if (!f.trace_id.empty()) s += "  trace id: " + one_line(f.trace_id) + "\n";
  return s;
}

}  // namespace

std::string progress_line(const ScenarioResult& r, int done, int total, const ConsoleStyle& st) {
  const char* color = kGreen;
  const char* word = "PASS";
  switch (r.status) {
    case ScenarioStatus::passed:
      break;
    case ScenarioStatus::failed:
      color = kRed;
      word = "FAIL";
      break;
    case ScenarioStatus::setup_failed:
      color = kRed;
      word = "SETUP FAIL";
      break;
    case ScenarioStatus::timed_out:
      color = kYellow;
      word = "TIMEOUT";
      break;
    case ScenarioStatus::shop_error:
      color = kYellow;
      word = "ERROR";
      break;
    case ScenarioStatus::skipped:
      color = kDim;
      word = "SKIP";
      break;
  }
  char count[32];
  std::snprintf(count, sizeof count, "[%*d/%d]", static_cast<int>(std::to_string(total).size()),
                done, total);
  // A name or path from the file is shown, never obeyed: its control characters are escapes.
  return std::string(count) + " " + paint(st, color) + word + paint(st, kReset) + " " +
         platform::terminal_text(r.name, true) + " " + paint(st, kDim) + "(" +
         fmt_ms(r.duration_ms) + ", " + std::to_string(r.steps.size()) +
         (r.steps.size() == 1 ? " step, " : " steps, ") + platform::terminal_text(r.file, true) +
         ")" + paint(st, kReset) + "\n";
}

std::string console_summary(const RunSummary& summary, const ConsoleStyle& st) {
  std::string out;
  for (const auto& r : summary.results) {
    if (r.status == ScenarioStatus::passed || r.status == ScenarioStatus::skipped) continue;
    out += "\n" + std::string(paint(st, kBold)) + paint(st, kRed) +
           std::string(to_string(r.status)) + ": " + platform::terminal_text(r.name, true) +
           paint(st, kReset) + " (" + platform::terminal_text(r.file, true) + ")\n";
    for (const auto& f : r.failures) {
      // What a failure quotes (a step's name, an answer's body) may hold anything a server or
      // a file sent: shown as escapes, not sent to the terminal.
      std::string text = platform::terminal_text(failure_text(f), false);
      std::string indented;
      std::size_t start = 0;
      while (start < text.size()) {
        auto end = text.find('\n', start);
        indented += "  " + text.substr(start, end - start) + "\n";
        start = end + 1;
      }
      out += indented;
    }
  }
  if (!summary.target_restore_error.empty()) {
    out += "\n" + std::string(paint(st, kBold)) + paint(st, kRed) +
           "the target was not put back as the run found it" + paint(st, kReset) + ": " +
           platform::terminal_text(summary.target_restore_error, true) + "\n";
  }
  char line[200];
  // "54 scenarios" where the tags ran 15 read as if all had run (a newcomer): the skipped are
  // named beside the count.
  const std::string skipped =
      summary.skipped() ? " (" + std::to_string(summary.skipped()) + " skipped)" : std::string();
  std::snprintf(
      line, sizeof line, "\n%d %s%s, %d %s in %s\n", static_cast<int>(summary.results.size()),
      summary.results.size() == 1 ? "scenario" : "scenarios", skipped.c_str(), summary.steps(),
      summary.steps() == 1 ? "step" : "steps", fmt_ms(summary.duration_ms).c_str());
  out += line;
  // The closing line CI tools read: "scenarios: N passed, N failed".
  std::snprintf(line, sizeof line, "scenarios: %d passed, %d failed", summary.passed(),
                summary.failed() + summary.errors());
  out += std::string(line);
  if (summary.skipped()) out += ", " + std::to_string(summary.skipped()) + " skipped";
  out += "\n";
  return out;
}

std::string junit_xml(const RunSummary& s) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  char head[300];
  std::snprintf(head, sizeof head,
                "<testsuites name=\"shopctl\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" "
                "skipped=\"%d\" time=\"%.3f\">\n"
                "  <testsuite name=\"scenarios\" tests=\"%zu\" failures=\"%d\" errors=\"%d\" "
                "skipped=\"%d\" time=\"%.3f\"",
                s.results.size(), s.failed(), s.errors(), s.skipped(), s.duration_ms / 1000,
                s.results.size(), s.failed(), s.errors(), s.skipped(), s.duration_ms / 1000);
  out += head;
  // The Ant/Jenkins JUnit schema's testsuite has both: when the run began (ISO 8601 without a
  // zone, which the schema's pattern refuses; UTC here) and where it ran.
  if (s.started_unix_ms > 0) {
    const std::time_t seconds = static_cast<std::time_t>(s.started_unix_ms / 1000);
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
    out += std::string(" timestamp=\"") + stamp + "\"";
  }
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "localhost");
  out += " hostname=\"" + xml_attribute(host) + "\">\n";
  for (const auto& r : s.results) {
    char t[32];
    std::snprintf(t, sizeof t, "%.3f", r.duration_ms / 1000);
    out += "    <testcase classname=\"" + xml_attribute(junit_classname(r.file)) + "\" name=\"" +
           xml_attribute(r.name) + "\" file=\"" + xml_attribute(r.file) + "\" time=\"" + t + "\"";
    if (r.status == ScenarioStatus::passed) {
      out += "/>\n";
      continue;
    }
    out += ">\n";
    std::string details;
    for (const auto& f : r.failures) details += failure_text(f);
    std::string first = r.failures.empty() ? std::string(to_string(r.status))
                                           : redact_secrets(r.failures.front().message);
    if (first.size() > 300) first = first.substr(0, 300) + "...";
    switch (r.status) {
      case ScenarioStatus::skipped:
        // Its reason, so that a tag filter's skip differs from --fail-fast's.
        out += "      <skipped message=\"" +
               xml_attribute(r.skip_reason.empty() ? "skipped" : r.skip_reason) + "\"/>\n";
        break;
      case ScenarioStatus::timed_out:
      case ScenarioStatus::shop_error:
        out += "      <error type=\"" + std::string(to_string(r.status)) + "\" message=\"" +
               xml_attribute(first) + "\">" + xml_escape(details) + "</error>\n";
        break;
      default:
        out += "      <failure type=\"" + std::string(to_string(r.status)) + "\" message=\"" +
               xml_attribute(first) + "\">" + xml_escape(details) + "</failure>\n";
    }
    out += "    </testcase>\n";
  }
  out += "  </testsuite>\n</testsuites>\n";
  return out;
}

nlohmann::json json_report(const RunSummary& s) {
  using nlohmann::json;
  auto failure_json = [](const Failure& f) {
    json j = {{"phase", f.phase},         {"step", redact_secrets(f.step)},
              {"file", f.where.file},     {"line", f.where.line},
              {"column", f.where.column}, {"message", redact_secrets(f.message)}};
    if (f.status) j["status"] = f.status;
    if (!f.body.empty()) j["body"] = redact_secrets(f.body);
    if (!f.trace_id.empty()) j["trace_id"] = f.trace_id;
    return j;
  };
  json scenarios = json::array();
  for (const auto& r : s.results) {
    json steps = json::array();
    for (const auto& st : r.steps) {
      json requests = json::array();
      for (const auto& q : st.requests) {
        json rq = {{"method", q.method},
                   {"url", redact_secrets(q.url)},
                   {"status", q.status},
                   {"duration_ms", q.duration_ms}};
        if (!q.error.empty()) rq["error"] = redact_secrets(q.error);
        if (!q.trace_id.empty()) rq["trace_id"] = q.trace_id;
        requests.push_back(rq);
      }
      json failures = json::array();
      for (const auto& f : st.failures) failures.push_back(failure_json(f));
      json step_json = {{"phase", st.phase},
                        {"name", redact_secrets(st.label)},
                        {"action", st.action},
                        {"file", st.loc.file},
                        {"line", st.loc.line},
                        {"passed", st.passed},
                        {"duration_ms", st.duration_ms},
                        {"attempts", st.attempts},
                        {"requests", requests},
                        {"failures", failures},
                        {"calls", redact_secrets(st.calls)},
                        {"circuit_transitions", st.transitions}};
      if (st.requests_dropped) step_json["requests_dropped"] = st.requests_dropped;
      steps.push_back(std::move(step_json));
    }
    json failures = json::array();
    for (const auto& f : r.failures) failures.push_back(failure_json(f));
    scenarios.push_back({{"name", r.name},
                         {"file", r.file},
                         {"tags", r.tags},
                         {"status", to_string(r.status)},
                         {"duration_ms", r.duration_ms},
                         {"steps", steps},
                         {"failures", failures},
                         {"calls", redact_secrets(r.calls)},
                         {"circuit_transitions", r.transitions}});
    if (r.exclusive) {
      scenarios.back()["target"] = {
          {"exclusive", *r.exclusive},
          {"reason", r.exclusive_reason},
          {"clock_offset_ms", r.clock_offset_ms ? json(*r.clock_offset_ms) : json()}};
    }
  }
  json out = {{"tool", "shopctl"},
              {"version", SHOPCTL_VERSION},
              {"summary",
               {{"scenarios", s.results.size()},
                {"passed", s.passed()},
                {"failed", s.failed()},
                {"errors", s.errors()},
                {"skipped", s.skipped()},
                {"steps", s.steps()},
                {"duration_ms", s.duration_ms}}},
              {"scenarios", scenarios}};
  if (!s.target_restore_error.empty()) out["target_restore_error"] = s.target_restore_error;
  return out;
}

}  // namespace shopctl::scenario
