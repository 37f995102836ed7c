#include "scenario/diagnostics.hpp"

#include "platform/text_rules.hpp"

#include <algorithm>
#include <optional>
#include <tuple>

namespace shopctl::scenario {
namespace {

std::string position_prefix(const std::string& file, int line, int column) {
  std::string out = file;
  if (line > 0) {
    out += ':' + std::to_string(line);
    if (column > 0) out += ':' + std::to_string(column);
  }
  return out;
}

bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

std::optional<std::string_view> nth_line(std::string_view text, int number) {
  std::size_t start = 0;
  for (int line = 1; line < number; ++line) {
    const auto newline = text.find('\n', start);
    if (newline == std::string_view::npos) return std::nullopt;
    start = newline + 1;
  }
  if (number <= 0 || start > text.size()) return std::nullopt;
  auto end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  std::string_view line = text.substr(start, end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

std::string SourceLocation::to_string() const {
  return position_prefix(file, line, column);
}

std::string format_diagnostic(const Diagnostic& diagnostic, std::string_view source_text) {
  std::string out = position_prefix(diagnostic.file, diagnostic.line, diagnostic.column);
  out += ": error: ";
  // Printed on a terminal: a control character quoted from the file is shown as an escape,
  // never sent (platform::terminal_text), and the caret counts the escape's width. A line feed
  // too: a diagnostic is one line, and a key "bogus\nFORGED LINE" started a line of its own.
  out += platform::terminal_text(diagnostic.message, true);
  out += '\n';
  if (diagnostic.line <= 0) return out;
  const auto raw_line = nth_line(source_text, diagnostic.line);
  if (!raw_line) return out;
  std::string_view shown = *raw_line;
  // A UTF-8 byte order mark opens the file: not part of the line's text, whose columns count
  // after it (the caret stood three places short of the column said; an outside probe).
  if (diagnostic.line == 1 && shown.starts_with("\xEF\xBB\xBF")) shown.remove_prefix(3);
  std::size_t raw_caret =
      std::min<std::size_t>(diagnostic.column > 0 ? diagnostic.column - 1 : 0, shown.size());
  // A long line is shown as a window of about 160 bytes around the column, cut at character
  // boundaries, with "..." where it was cut: a 2 MB line was echoed whole, with 2 MB of spaces
  // before the caret.
  constexpr std::size_t kHalfWindow = 80;
  std::string_view cut_before, cut_after;
  if (shown.size() > 2 * kHalfWindow) {
    // 160 bytes also near either end of the line: the window slides inward there.
    std::size_t from = raw_caret > kHalfWindow ? raw_caret - kHalfWindow : 0;
    from = std::min(from, shown.size() - 2 * kHalfWindow);
    std::size_t to = from + 2 * kHalfWindow;
    while (from > 0 && is_utf8_continuation(shown[from])) --from;
    while (to < shown.size() && is_utf8_continuation(shown[to])) ++to;
    if (from > 0) cut_before = "...";
    if (to < shown.size()) cut_after = "...";
    raw_caret -= from;
    shown = shown.substr(from, to - from);
  }
  out += cut_before;
  out += platform::terminal_text(shown, true);
  out += cut_after;
  out += '\n';
  const std::string before_caret =
      std::string(cut_before) + platform::terminal_text(shown.substr(0, raw_caret), true);
  for (const char c : before_caret) {
    if (c == '\t') {
      out += '\t';
    } else if (!is_utf8_continuation(c)) {
      out += ' ';
    }
  }
  out += "^\n";
  return out;
}

void sort_diagnostics(std::vector<Diagnostic>& diagnostics) {
  std::stable_sort(diagnostics.begin(), diagnostics.end(),
                   [](const Diagnostic& a, const Diagnostic& b) {
                     return std::tie(a.file, a.line, a.column) < std::tie(b.file, b.line, b.column);
                   });
}

ValidationError::ValidationError(std::vector<Diagnostic> diagnostics)
    : std::runtime_error(diagnostics.empty()
                             ? std::string("invalid scenario")
                             : position_prefix(diagnostics.front().file, diagnostics.front().line,
                                               diagnostics.front().column) +
                                   ": " + diagnostics.front().message),
      diagnostics_(std::move(diagnostics)) {}

}  // namespace shopctl::scenario
