#pragma once
// How a scenario step's URL is sent: the bytes that may not appear in a URL as written are
// percent-encoded. The runner sends a step's path that way, and the recorder leaves out a
// request whose target the runner could not send as the session sent it.
#include <string>
#include <string_view>

namespace shopctl::scenario {

// A byte that may not appear in a URL as written: space, < > " { } | \ ^ `, controls,
// non-ASCII; in the target (after the host) also [ ] (which only an IPv6 host may hold) and #.
inline bool url_byte_needs_encoding(char c, bool in_target) {
  const auto byte = static_cast<unsigned char>(c);
  return byte <= 0x20 || byte >= 0x7f || c == '<' || c == '>' || c == '"' || c == '{' || c == '}' ||
         c == '|' || c == '\\' || c == '^' || c == '`' ||
         (in_target && (c == '[' || c == ']' || c == '#'));
}

// Percent-encodes the bytes that may not appear in a URL as written (space, < > " { } | \ ^ `,
// controls, non-ASCII), as curl does, so that a path such as
// `/_admin/circuit-breakers/order->catalog` is sent as written instead of being refused as a
// malformed URL. Existing %XX escapes and every reserved character are left alone. After the
// host, `[` and `]` (which only an IPv6 host may hold) and `#` are encoded too: a step's path
// is what it sends, so `?q=[1]` asks for "[1]" (it failed as "expected an http:// URL") and
// `?q=a#b` for "a#b" (a fragment, which no request carries, would have cut it to "a").
inline std::string encode_unsafe_url_chars(std::string_view url) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(url.size());
  const auto scheme_end = url.find("://");
  const auto after_host =
      scheme_end == std::string_view::npos ? 0 : url.find_first_of("/?#", scheme_end + 3);
  for (std::size_t i = 0; i < url.size(); ++i) {
    const char c = url[i];
    const auto byte = static_cast<unsigned char>(c);
    const bool in_target = after_host != std::string_view::npos && i >= after_host;
    if (!url_byte_needs_encoding(c, in_target)) {
      out.push_back(c);
      continue;
    }
    out.push_back('%');
    out.push_back(kHex[byte >> 4]);
    out.push_back(kHex[byte & 0x0f]);
  }
  return out;
}

}  // namespace shopctl::scenario
