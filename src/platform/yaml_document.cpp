#include "platform/yaml_document.hpp"

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>

#include "platform/text_rules.hpp"

namespace shopctl::platform {
namespace {

// Records where documents start; builds no nodes, so counting costs no memory.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override {
    ++count_;
    last_ = mark;
    if (count_ == 2) second_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                const std::string& value) override {
    node(mark);
    last_scalar_ = mark;
    if (first_invalid_utf8(value)) not_utf8_.push_back(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    node(mark);
  }
  void OnMapEnd() override {}

  [[nodiscard]] std::size_t count() const { return count_; }
  // Every node of every document, against kMaxYamlNodes.
  void node(const YAML::Mark& mark) {
    if (++nodes_ > kMaxYamlNodes) {
      throw YAML::ParserException(mark, "more than " + std::to_string(kMaxYamlNodes) +
                                            " YAML nodes (keys, values, lists and maps); a "
                                            "file holds at most that many");
    }
  }
  [[nodiscard]] const YAML::Mark& last() const { return last_; }
  [[nodiscard]] const YAML::Mark& second() const { return second_; }
  // The last scalar of the whole text: a quoted one that is never closed runs to the end of
  // the text, so it can only be this one.
  [[nodiscard]] const YAML::Mark& last_scalar() const { return last_scalar_; }
  // The scalars whose value yaml-cpp made something other than UTF-8 (latin1_escapes below).
  [[nodiscard]] const std::vector<YAML::Mark>& not_utf8() const { return not_utf8_; }

 private:
  std::size_t count_ = 0;
  std::size_t nodes_ = 0;
  YAML::Mark last_ = YAML::Mark::null_mark();
  YAML::Mark second_ = YAML::Mark::null_mark();
  YAML::Mark last_scalar_ = YAML::Mark::null_mark();
  std::vector<YAML::Mark> not_utf8_;
};

// yaml-cpp 0.7 takes a quoted scalar with no closing quote as one that runs to the end of the
// text: `name: "oops` followed by `tags: [smoke]` loaded as the name "oops tags: [smoke] ", and
// the keys it swallowed were silently gone (or reported missing, far from the cause). Such a
// scalar is the last one the parser reports, so only that one is looked at: from where it
// starts (past a tag or an anchor, which the node's mark includes) to its closing quote, with
// the escapes of its style (\" in double quotes, '' in single quotes).
constexpr std::string_view kUnclosedQuote = "a quoted value that is never closed";

bool wide_text(std::string_view text) {
  return text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF") ||
         text.starts_with(std::string_view("\0\0\xFE\xFF", 4));
}

// yaml-cpp's positions do not count a UTF-8 byte order mark.
std::size_t bom_size(std::string_view text) {
  return text.starts_with("\xEF\xBB\xBF") ? 3 : 0;
}

// Where the value a scalar's mark names starts in `text`: past a tag (`!!str`) or an anchor
// (`&name`), each up to a space or a line end, which the mark includes. Not for UTF-16 or
// UTF-32 text, whose positions count the UTF-8 yaml-cpp decoded, not its bytes.
std::size_t value_start(std::string_view text, const YAML::Mark& mark) {
  std::size_t i = bom_size(text) + static_cast<std::size_t>(mark.pos);
  while (i < text.size() && (text[i] == '!' || text[i] == '&')) {
    while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
           text[i] != '\r')
      ++i;
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
      ++i;
  }
  return i;
}

void refuse_unclosed_quote(std::string_view text, const YAML::Mark& mark) {
  if (mark.pos < 0 || wide_text(text)) return;
  const std::size_t bom = bom_size(text);
  const std::size_t i = value_start(text, mark);
  if (i >= text.size() || (text[i] != '"' && text[i] != '\'')) return;
  const char quote = text[i];
  for (std::size_t j = i + 1; j < text.size(); ++j) {
    if (quote == '"' && text[j] == '\\') {
      ++j;
    } else if (text[j] == quote) {
      if (quote == '\'' && j + 1 < text.size() && text[j + 1] == '\'') {
        ++j;
        continue;
      }
      return;
    }
  }
  YAML::Mark at;
  at.pos = static_cast<int>(i - bom);
  const auto before = text.substr(bom, i - bom);
  at.line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  const auto line_start = before.rfind('\n');
  at.column = static_cast<int>(
      line_start == std::string_view::npos ? before.size() : before.size() - line_start - 1);
  throw YAML::ParserException(
      at, std::string(kUnclosedQuote) + " (no closing " + quote + " before the end of the file)");
}

// yaml-cpp 0.7 writes the YAML escapes \N (U+0085) and \_ (U+00A0) of a double-quoted scalar
// as the single bytes 0x85 and 0xA0, not as UTF-8: a catalog name "a\_b" was refused as "not
// valid UTF-8 ... save the file as UTF-8", and a scenario's name was reported as "a\uFFFDb"
// (an outside probe). In a UTF-8 text no other cause makes such a scalar, so each double-quoted
// scalar the parser read so is written again with \u0085 and \u00A0 in their place, the last
// first so that the marks before stay where they are, and the text is read again. A column
// reported later on the same line is 4 further right per escape.
std::string latin1_escapes(std::string text, const std::vector<YAML::Mark>& scalars) {
  for (auto m = scalars.rbegin(); m != scalars.rend(); ++m) {
    const std::size_t i = value_start(text, *m);
    if (i >= text.size() || text[i] != '"') continue;
    for (std::size_t j = i + 1; j < text.size() && text[j] != '"'; ++j) {
      if (text[j] != '\\' || j + 1 >= text.size()) continue;
      if (text[j + 1] == 'N') {
        text.replace(j, 2, "\\u0085");
      } else if (text[j + 1] == '_') {
        text.replace(j, 2, "\\u00A0");
      }
      ++j;  // past the escape's letter (or the character a backslash escapes)
    }
  }
  return text;
}

std::string describe_character(std::string_view text, int pos) {
  if (pos < 0 || static_cast<std::size_t>(pos) >= text.size()) return "the end of the text";
  const char c = text[static_cast<std::size_t>(pos)];
  if (c >= 0x20 && c < 0x7f) return std::string("'") + c + "'";
  return "this character";
}

YamlDocuments load_documents(std::string_view text) {
  const std::string copy(text);
  std::optional<std::string> rewritten;  // latin1_escapes' text, when it wrote one
  YamlDocuments documents;
  {
    YAML::Parser parser;
    std::istringstream stream(copy);
    parser.Load(stream);
    DocumentCounter counter;
    int previous_start = -1;
    while (parser.HandleNextDocument(counter)) {
      // A document that starts where the previous one did consumed nothing: the parser is
      // stuck on a token it cannot place (yaml-cpp 0.7 would loop here for ever).
      if (counter.count() > 1 && counter.last().pos == previous_start) {
        throw YAML::ParserException(counter.last(),
                                    "unexpected " + describe_character(copy, counter.last().pos) +
                                        " where a value or key should start");
      }
      previous_start = counter.last().pos;
    }
    documents.count = counter.count();
    documents.second_mark = counter.second();
    refuse_unclosed_quote(copy, counter.last_scalar());
    if (!counter.not_utf8().empty() && !wide_text(copy) && !first_invalid_utf8(copy))
      rewritten = latin1_escapes(copy, counter.not_utf8());
  }
  if (documents.count > 0) documents.first = YAML::Load(rewritten ? *rewritten : copy);
  return documents;
}

}  // namespace

YamlDocuments load_yaml_documents(std::string_view text) {
  // YAML text holds no NUL (yaml-cpp reads one as the end of an escape and says "unknown escape
  // character"): a binary file, or a UTF-16 one without its byte order mark.
  const bool wide = text.starts_with("\xFF\xFE") || text.starts_with("\xFE\xFF") ||
                    text.starts_with(std::string_view("\0\0\xFE\xFF", 4));
  if (auto at = text.find('\0'); !wide && at != std::string_view::npos) {
    YAML::Mark mark;
    mark.pos = static_cast<int>(at);
    const auto before = text.substr(0, at);
    mark.line = static_cast<int>(std::count(before.begin(), before.end(), '\n'));
    const auto line_start = before.rfind('\n');
    mark.column = static_cast<int>(line_start == std::string_view::npos ? at : at - line_start - 1);
    throw YAML::ParserException(mark, "a NUL byte: not YAML text (a binary or UTF-16 file?)");
  }
  try {
    return load_documents(text);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own text for this is "bad file".
    throw YAML::ParserException(
        e.mark, "nested too deeply (yaml-cpp stops at " + std::to_string(e.depth()) + " levels)");
  } catch (const YAML::ParserException& e) {
    // A quote never closed in a file with no line break at its end: yaml-cpp says "illegal EOF
    // in scalar" at the end of the file, not where the value starts. With a line break added
    // it takes the value to the end, and the check above finds where it starts.
    if (e.msg != YAML::ErrorMsg::EOF_IN_SCALAR || text.ends_with('\n')) throw;
    std::optional<YAML::ParserException> unclosed;
    try {
      (void)load_documents(std::string(text) + "\n");
    } catch (const YAML::ParserException& again) {
      if (again.msg.starts_with(kUnclosedQuote)) unclosed = again;
    }
    if (unclosed) throw *unclosed;
    throw;
  }
}

YAML::Node load_yaml_document(std::string_view text) {
  YamlDocuments documents = load_yaml_documents(text);
  if (documents.count > 1) {
    throw YAML::ParserException(documents.second_mark,
                                "holds " + std::to_string(documents.count) +
                                    " YAML documents (separated by ---); one is expected");
  }
  return std::move(documents.first);
}

}  // namespace shopctl::platform
