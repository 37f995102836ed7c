#pragma once
// Characters a person cannot see or that reorder what they see, in text that is shown to
// other people or compared by eye (an email, a name): C0 and C1 controls, bidirectional
// overrides and marks (U+202E turns "evil\u202Emoc.x" into what reads as "evilx.com"),
// zero-width spaces, word joiners, the byte order mark, variation selectors, invisible Hangul
// fillers, tag characters. `allow_joiners` keeps U+200C and U+200D (ZWNJ, ZWJ), which some
// scripts and emoji sequences need in a name; an email never needs them.
//
// The list is written out (not read from ICU) because the shop needs only this question
// answered, and Debian's ICU is a 35 MB dependency for it. Invalid UTF-8 counts as hidden.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shopctl::platform {

// `text` without the spaces and horizontal tabs at either end: RFC 9110's optional
// whitespace (OWS) around a header's list elements and parameters, and around the items of
// a comma-separated option (`--mix`, `--threshold`). The one trim of the code base.
constexpr std::string_view trim_ows(std::string_view text) noexcept {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// Calls `visit` with each element of a `separator`-separated list (a header's comma list, a
// media type's ';' parameters), without OWS, until `visit` returns true; whether it did.
// Nothing after the last separator gives no element ("a," gives only "a").
template <class Visit>
bool any_list_element(std::string_view list, char separator, Visit&& visit) {
  while (!list.empty()) {
    const auto at = list.find(separator);
    const auto element = trim_ows(list.substr(0, at));
    list = at == std::string_view::npos ? std::string_view() : list.substr(at + 1);
    if (visit(element)) return true;
  }
  return false;
}

// The first code point of `text` for which `pred` is true, or nothing; U+FFFD at the first
// byte that starts no well-formed sequence (invalid UTF-8 counts as a match).
template <class Pred>
std::optional<std::uint32_t> find_code_point(std::string_view text, Pred&& pred) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::uint32_t cp = 0;
    std::size_t n = 0;
    if (b < 0x80) {
      cp = b;
      n = 1;
    } else if ((b & 0xE0) == 0xC0) {
      cp = b & 0x1F;
      n = 2;
    } else if ((b & 0xF0) == 0xE0) {
      cp = b & 0x0F;
      n = 3;
    } else if ((b & 0xF8) == 0xF0) {
      cp = b & 0x07;
      n = 4;
    } else {
      return 0xFFFD;
    }
    if (i + n > text.size()) return 0xFFFD;
    for (std::size_t k = 1; k < n; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0) != 0x80) return 0xFFFD;
      cp = (cp << 6) | (c & 0x3F);
    }
    i += n;
    if (pred(cp)) return cp;
  }
  return std::nullopt;
}

// Whether the code point `cp` is hidden (the list at the top of this file).
inline bool is_hidden(std::uint32_t cp, bool allow_joiners) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0xAD || cp == 0x34F || cp == 0x61C ||
         cp == 0x115F || cp == 0x1160 || cp == 0x17B4 || cp == 0x17B5 ||
         (cp >= 0x180B && cp <= 0x180F) || cp == 0x200B ||
         ((cp == 0x200C || cp == 0x200D) && !allow_joiners) || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) || cp == 0x3164 ||
         (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || cp == 0xFFA0 ||
         (cp >= 0xFFF0 && cp <= 0xFFFB) || (cp >= 0xE0000 && cp <= 0xE0FFF) ||
         (cp >= 0xD800 && cp <= 0xDFFF) ||
         // The other format characters (Unicode's Cf): shorthand format controls and musical
         // symbol format controls show as nothing ("demo@shop.test\U0001BCA0" read as the
         // demo user's); the prepended concatenation marks (Arabic, Syriac, Kaithi, Egyptian
         // hieroglyph format controls) belong in no email or name.
         (cp >= 0x600 && cp <= 0x605) || cp == 0x6DD || cp == 0x70F || cp == 0x890 || cp == 0x891 ||
         cp == 0x8E2 || cp == 0x110BD || cp == 0x110CD || (cp >= 0x13430 && cp <= 0x1343F) ||
         (cp >= 0x1BCA0 && cp <= 0x1BCA3) || (cp >= 0x1D173 && cp <= 0x1D17A);
}

// The first hidden code point of `text`, or nothing when there is none.
inline std::optional<std::uint32_t> first_hidden_character(std::string_view text,
                                                           bool allow_joiners) {
  return find_code_point(
      text, [allow_joiners](std::uint32_t cp) { return is_hidden(cp, allow_joiners); });
}

// A space that is not U+0020: the space separators of Unicode (no-break, ogham, en to hair,
// narrow no-break, medium mathematical, ideographic) and the blank braille pattern (U+2800),
// which shows as nothing. In an email each makes a second account that reads as another's
// ("demo@shop.test\u00a0"); a name of nothing else reads as no name.
inline bool is_other_space(std::uint32_t cp) {
  return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000 || cp == 0x2800;
}

// A character that reads as an ASCII one and is not: the fullwidth forms of ASCII (U+FF01 to
// U+FF5E), the mathematical alphanumerics (U+1D400 to U+1D7FF), and the ideographic and
// fullwidth full stops that IDNA (UTS #46) reads as a dot (U+3002, U+FF0E, U+FF61). IDNA maps
// "\uff53hop.test" to "shop.test", so such an email would be a second account of one address.
inline bool reads_as_ascii(std::uint32_t cp) {
  return (cp >= 0xFF01 && cp <= 0xFF5E) || (cp >= 0x1D400 && cp <= 0x1D7FF) || cp == 0x3002 ||
         cp == 0xFF61;
}

// The scripts whose letters read as Latin ones (UTS #39's classic confusables: Cyrillic "\u0435"
// and Latin "e", Greek "\u03bf" and "o"), by block; `none` for any other character (digits,
// signs, other scripts).
enum class LookalikeScript { none, latin, greek, cyrillic, armenian, cherokee };
inline LookalikeScript lookalike_script(std::uint32_t cp) {
  using S = LookalikeScript;
  if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
      (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x1E00 && cp <= 0x1EFF))
    return S::latin;
  if ((cp >= 0x370 && cp <= 0x3FF) || (cp >= 0x1F00 && cp <= 0x1FFF)) return S::greek;
  if ((cp >= 0x400 && cp <= 0x52F) || (cp >= 0x1C80 && cp <= 0x1C8F) ||
      (cp >= 0x2DE0 && cp <= 0x2DFF) || (cp >= 0xA640 && cp <= 0xA69F))
    return S::cyrillic;
  if (cp >= 0x530 && cp <= 0x58F) return S::armenian;
  if ((cp >= 0x13A0 && cp <= 0x13FF) || (cp >= 0xAB70 && cp <= 0xABBF)) return S::cherokee;
  return S::none;
}
inline const char* lookalike_script_name(LookalikeScript script) {
  switch (script) {
    case LookalikeScript::latin:
      return "Latin";
    case LookalikeScript::greek:
      return "Greek";
    case LookalikeScript::cyrillic:
      return "Cyrillic";
    case LookalikeScript::armenian:
      return "Armenian";
    case LookalikeScript::cherokee:
      return "Cherokee";
    case LookalikeScript::none:
      break;
  }
  return "";
}

// The first two of those scripts that `text` mixes ("d\u0435mo": Latin, then Cyrillic), or
// nothing when its letters of them are of one script at most.
inline std::optional<std::pair<LookalikeScript, LookalikeScript>> mixed_lookalike_scripts(
    std::string_view text) {
  auto first = LookalikeScript::none;
  auto second = LookalikeScript::none;
  find_code_point(text, [&](std::uint32_t cp) {
    const auto script = lookalike_script(cp);
    if (script == LookalikeScript::none || script == first) return false;
    if (first == LookalikeScript::none) {
      first = script;
      return false;
    }
    second = script;
    return true;
  });
  if (second == LookalikeScript::none) return std::nullopt;
  return std::pair{first, second};
}

// The first code point of `text` that does not show as itself: a hidden one (joiners too) or
// a space other than U+0020; nothing when there is none. For text that names one thing and
// is compared as written (a token's sub, a tag).
inline std::optional<std::uint32_t> first_unseen_character(std::string_view text) {
  return find_code_point(
      text, [](std::uint32_t cp) { return is_hidden(cp, false) || is_other_space(cp); });
}

// A combining mark of the blocks that hold only them (diacritical marks, their extended and
// supplement blocks, those for symbols, half marks): it marks the character before it, and
// with none it shows as nothing, or as a dotted circle.
inline bool is_combining_mark(std::uint32_t cp) {
  return (cp >= 0x300 && cp <= 0x36F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
         (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
         (cp >= 0xFE20 && cp <= 0xFE2F);
}

// True when `text` shows nothing: only spaces, tabs, other spaces (is_other_space), hidden
// characters (joiners included) and combining marks with nothing to mark ("\u0301" was a
// name), or nothing at all. Invalid UTF-8 is not blank.
inline bool looks_blank(std::string_view text) {
  return !find_code_point(text, [](std::uint32_t cp) {
    return !(cp == ' ' || cp == '\t' || is_other_space(cp) || is_hidden(cp, false) ||
             is_combining_mark(cp));
  });
}

// The offset of the first byte that does not belong to well-formed UTF-8 (RFC 3629: no
// overlong forms, no surrogates, nothing past U+10FFFF), or nothing when all of it is.
inline std::optional<std::size_t> first_invalid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = 0;
    unsigned char low = 0x80, high = 0xBF;  // the second byte's range
    if (b >= 0xC2 && b <= 0xDF) {
      n = 2;
    } else if (b >= 0xE0 && b <= 0xEF) {
      n = 3;
      if (b == 0xE0) low = 0xA0;   // overlong
      if (b == 0xED) high = 0x9F;  // surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      n = 4;
      if (b == 0xF0) low = 0x90;   // overlong
      if (b == 0xF4) high = 0x8F;  // past U+10FFFF
    } else {
      return i;
    }
    if (i + n > text.size()) return i;
    const auto second = static_cast<unsigned char>(text[i + 1]);
    if (second < low || second > high) return i;
    for (std::size_t k = 2; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return i;
    }
    i += n;
  }
  return std::nullopt;
}

// `text` with each byte that starts no UTF-8 character replaced by U+FFFD: for reports that
// promise UTF-8 (JUnit XML, HTML) and may quote bytes from anywhere (a file, an answer).
inline std::string valid_utf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto bad = first_invalid_utf8(text);
    if (!bad) {
      out.append(text);
      break;
    }
    out.append(text.substr(0, *bad));
    out.append("\xEF\xBF\xBD");
    text.remove_prefix(*bad + 1);
  }
  return out;
}

namespace detail {

// valid_utf8(text) with every C0 and C1 control character and DEL written as an escape
// (`\x1b`, `\u009b`), but for tabs, newlines unless `one_line`, and carriage returns when
// `keep_cr`; and with U+FFFE and U+FFFF as U+FFFD when `no_nonchars`.
inline std::string escape_controls(std::string_view text, bool one_line, bool keep_cr,
                                   bool no_nonchars) {
  const std::string valid = valid_utf8(text);
  std::string out;
  out.reserve(valid.size());
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < valid.size(); ++i) {
    const auto b = static_cast<unsigned char>(valid[i]);
    const auto next = [&](std::size_t k) {
      return i + k < valid.size() ? static_cast<unsigned char>(valid[i + k]) : 0;
    };
    if (b == '\t' || (b == '\n' && !one_line) || (b == '\r' && keep_cr)) {
      out += static_cast<char>(b);
    } else if (b < 0x20 || b == 0x7F) {
      out += "\\x";
      out += hex[b >> 4];
      out += hex[b & 0xF];
    } else if (b == 0xC2 && next(1) >= 0x80 && next(1) <= 0x9F) {
      const auto c = next(1);  // U+0080..U+009F
      ++i;
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else if (no_nonchars && b == 0xEF && next(1) == 0xBF &&
               (next(2) == 0xBE || next(2) == 0xBF)) {
      out += "\xEF\xBF\xBD";  // U+FFFE, U+FFFF
      i += 2;
    } else {
      out += static_cast<char>(b);
    }
  }
  return out;
}

}  // namespace detail

// `text` made safe to print on a terminal: valid UTF-8 (as valid_utf8), and every C0 or C1
// control character, DEL included, written as an escape (`\x1b`, `\u009b`) instead of being
// sent, so that no name, file or answer quoted in a console report can move the cursor, clear
// the screen, set the window title or forge a line. Tabs stay; newlines stay unless
// `one_line`, for a field that must not start a line of its own (a scenario's name).
inline std::string terminal_text(std::string_view text, bool one_line) {
  return detail::escape_controls(text, one_line, false, false);
}

// `text` as terminal_text makes it, with the characters that show nothing written as escapes
// too (a backslash, `u` and 4 hex digits: U+FEFF as `ufeff`): a zero-width space, a joiner, a soft
// hyphen, a direction mark, a byte order mark. For a name quoted in an error: a BOM in the middle
// of a file (`cat a.yaml b.yaml`) gave "unknown key 'name'; did you mean 'name'?" (an outside
// probe).
inline std::string visible_text(std::string_view text, bool one_line = true) {
  const std::string plain = terminal_text(text, one_line);
  std::string out;
  out.reserve(plain.size());
  constexpr char hex[] = "0123456789abcdef";
  for (std::size_t i = 0; i < plain.size(); ++i) {
    const auto b = static_cast<unsigned char>(plain[i]);
    std::uint32_t cp = 0;
    std::size_t length = 0;
    if (b == 0xC2 && i + 1 < plain.size() && static_cast<unsigned char>(plain[i + 1]) == 0xAD) {
      cp = 0xAD, length = 2;  // soft hyphen
    } else if ((b == 0xE2 || b == 0xEF) && i + 2 < plain.size()) {
      cp = ((b & 0x0Fu) << 12) | ((static_cast<unsigned char>(plain[i + 1]) & 0x3Fu) << 6) |
           (static_cast<unsigned char>(plain[i + 2]) & 0x3Fu);
      const bool invisible = (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
                             (cp >= 0x2060 && cp <= 0x2064) || cp == 0xFEFF;
      length = invisible ? 3 : 0;
    }
    if (length == 0) {
      out += static_cast<char>(b);
      continue;
    }
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) out += hex[(cp >> shift) & 0xF];
    i += length - 1;
  }
  return out;
}

// `text` made a run of characters XML 1.0 and HTML allow, for the JUnit and HTML reports
// (markup is escaped by their own writers): valid UTF-8, control characters as in
// terminal_text but for tab, newline and carriage return, and U+FFFE and U+FFFF, which XML
// has no place for, as U+FFFD.
inline std::string markup_text(std::string_view text) {
  return detail::escape_controls(text, false, true, true);
}

}  // namespace shopctl::platform
