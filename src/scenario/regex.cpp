// The only place that includes RE2.
#include "scenario/regex.hpp"

#include <re2/re2.h>

namespace shopctl::scenario {

namespace {

// Appended to every refusal: a pattern written for std::regex or JavaScript may use what RE2
// leaves out on purpose.
constexpr const char* kSyntaxNote =
    " (the syntax is RE2's, without lookaround or backreferences: "
    "https://github.com/google/re2/wiki/Syntax)";

}  // namespace

std::shared_ptr<const re2::RE2> compile_regex(const std::string& pattern) {
  if (pattern.size() > kMaxRegexLength) {
    throw RegexTooComplex("the pattern has " + std::to_string(pattern.size()) +
                          " characters; at most " + std::to_string(kMaxRegexLength) +
                          " are allowed");
  }
  re2::RE2::Options options;
  options.set_encoding(re2::RE2::Options::EncodingUTF8);
  options.set_case_sensitive(true);
  options.set_log_errors(false);  // the error is ours to report, not RE2's to print on stderr
  options.set_max_mem(kRegexMaxMemory);
  auto re = std::make_shared<const re2::RE2>(pattern, options);
  if (!re->ok()) {
    if (re->error_code() == re2::RE2::ErrorPatternTooLarge) {
      throw RegexTooComplex(re->error() + ": RE2 compiles a pattern into at most " +
                            std::to_string(kRegexMaxMemory >> 20) +
                            " MiB, and counted repetitions such as {100} multiply its size");
    }
    throw RegexError(re->error() + kSyntaxNote);
  }
  return re;
}

bool regex_search(std::string_view subject, const re2::RE2& re) {
  return re2::RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), re);
}

}  // namespace shopctl::scenario
