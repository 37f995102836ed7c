#include "platform/http/chunk_framing.hpp"

#include <cstddef>

namespace shopctl::http {

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// tchar (RFC 9110 5.6.2), as Beast's is_token_char.
bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

bool is_bws(char c) {
  return c == ' ' || c == '\t';
}

constexpr const char* kBadExtension =
    "a chunk extension must be ;name or ;name=value (a token or a quoted string ended on its "
    "line)";

// Checks `ext`, what follows a chunk's size on its line (the line's CR LF left out), against
// chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ) as Beast reads it.
// `complete`: the line's CR LF has arrived, so `ext` must be whole; otherwise a prefix will do.
std::string extension_problem(std::string_view ext, bool complete) {
  enum class At {
    next,         // before an extension (or the line's end)
    bws,          // BWS before ';'
    name_start,   // after ';' (and BWS)
    name,         // in a name
    name_bws,     // BWS after a name: ';' or '=' must come
    value_start,  // after '=' (and BWS)
    token,        // in a token value
    quoted,       // in a quoted string
    escaped,      // after a backslash in a quoted string
  };
  At at = At::next;
  for (const char c : ext) {
    switch (at) {
      case At::next:
        if (c == ';')
          at = At::name_start;
        else if (is_bws(c))
          at = At::bws;
        else
          return "a chunk size must be followed by ';', a space or the line's end";
        break;
      case At::bws:
        if (c == ';')
          at = At::name_start;
        else if (!is_bws(c))
          return kBadExtension;
        break;
      case At::name_start:
        if (is_tchar(c))
          at = At::name;
        else if (!is_bws(c))
          return kBadExtension;
        break;
      case At::name:
        if (c == ';')
          at = At::name_start;
        else if (c == '=')
          at = At::value_start;
        else if (is_bws(c))
          at = At::name_bws;
        else if (!is_tchar(c))
          return kBadExtension;
        break;
      case At::name_bws:
        if (c == ';')
          at = At::name_start;
        else if (c == '=')
          at = At::value_start;
        else if (!is_bws(c))
          return kBadExtension;
        break;
      case At::value_start:
        if (c == '"')
          at = At::quoted;
        else if (is_tchar(c))
          at = At::token;
        else if (!is_bws(c))
          return kBadExtension;
        break;
      case At::token:
        if (c == ';')
          at = At::name_start;
        else if (is_bws(c))
          at = At::bws;
        else if (!is_tchar(c))
          return kBadExtension;
        break;
      case At::quoted:
        if (c == '"')
          at = At::next;
        else if (c == '\\')
          at = At::escaped;
        break;
      case At::escaped:
        at = At::quoted;
        break;
    }
  }
  if (!complete) return "";
  switch (at) {
    case At::next:
    case At::name:
    case At::token:
      return "";
    case At::quoted:
    case At::escaped:
      return "a chunk extension's quoted string must end on its line";
    default:
      return kBadExtension;
  }
}

// The line of `text` up to its CR LF, and whether that CR LF is there. A CR alone at the end
// of an unended line is the start of the CR LF still to come.
std::string_view line_of(std::string_view text, bool& complete) {
  const auto eol = text.find("\r\n");
  complete = eol != std::string_view::npos;
  std::string_view line = complete ? text.substr(0, eol) : text;
  if (!complete && !line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::string chunked_leftover_problem(std::string_view left, bool after_chunk) {
  std::string_view rest = left;
  if (after_chunk) {
    if ((!rest.empty() && rest[0] != '\r') || (rest.size() >= 2 && rest[1] != '\n'))
      return "a chunk's data must be followed by CR LF (more data than its size says?)";
    rest.remove_prefix(rest.size() < 2 ? rest.size() : 2);
  }
  bool complete = false;
  const std::string_view line = line_of(rest, complete);
  std::size_t digits = 0;
  while (digits < line.size() && is_hex(line[digits])) ++digits;
  if (digits == 0) {
    if (line.empty() && !complete) return "";
    return "a chunk line must start with the chunk's size in hexadecimal digits";
  }
  if (auto problem = extension_problem(line.substr(digits), complete); !problem.empty())
    return problem;
  if (!complete || line.substr(0, digits).find_first_not_of('0') != std::string_view::npos)
    return "";
  // The last chunk: its trailer section, field lines up to an empty line.
  rest.remove_prefix(line.size() + 2);
  while (true) {
    bool ended = false;
    const std::string_view field = line_of(rest, ended);
    if (field.empty()) return "";  // the section's end (the parser decides), or nothing yet
    std::size_t name = 0;
    while (name < field.size() && is_tchar(field[name])) ++name;
    if ((name < field.size() && field[name] != ':') || (name == field.size() && ended) ||
        (name == 0 && field[0] == ':'))
      return "a trailer field line must be a name, a colon and a value";
    if (!ended) return "";
    rest.remove_prefix(field.size() + 2);
  }
}

}  // namespace shopctl::http
