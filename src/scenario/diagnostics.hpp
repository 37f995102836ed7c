#pragma once
// Positions in scenario files and the errors reported against them, rendered like a
// compiler's: `file:line:col: error: message`, the offending line, and a caret.
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace shopctl::scenario {

// A place in a scenario file. `line` and `column` are 1-based; `column` counts bytes (as
// yaml-cpp's Mark does, plus one). 0 means unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;

  // Returns "file:line:col", "file:line" or "file", depending on what is known.
  std::string to_string() const;
  friend bool operator==(const SourceLocation&, const SourceLocation&) = default;
};

// One problem found in a scenario file. Same position conventions as SourceLocation.
struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  SourceLocation location() const { return {file, line, column}; }
  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

// Returns "file:line:col: error: message\n", followed, when the line exists in
// `source_text`, by that line and a caret under the column (tabs kept so the caret lines up,
// UTF-8 sequences counted as one column of display).
std::string format_diagnostic(const Diagnostic& diagnostic, std::string_view source_text);

// Returns line `number` (1-based) of `text` without its line break, or nullopt.
std::optional<std::string_view> nth_line(std::string_view text, int number);

// Orders diagnostics by file, line and column, keeping the order of equal positions.
void sort_diagnostics(std::vector<Diagnostic>& diagnostics);

// Thrown where a caller wants an exception rather than a diagnostics list (for example
// Matcher::from_yaml). what() is the first diagnostic as "file:line:col: message".
class ValidationError : public std::runtime_error {
 public:
  explicit ValidationError(std::vector<Diagnostic> diagnostics);
  const std::vector<Diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace shopctl::scenario
