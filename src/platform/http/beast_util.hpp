#pragma once
// Private to the HTTP layer's .cpp files: conversions between Beast and our messages.
#include <cstdint>
#include <string>

#include <boost/beast/http.hpp>

#include "platform/http/message.hpp"

namespace shopctl::http::detail {

namespace bhttp = boost::beast::http;

// True when writing `fields` (and then the framing fields the caller adds itself) by hand gives
// the bytes Beast would: Beast trims values, keeps fields of the same name together and edits
// the framing fields (Connection, Content-Length, Transfer-Encoding) in place. Anything like
// that goes through Beast instead.
inline bool plain_fields(const Headers& headers) {
  const auto& f = headers.fields();
  for (std::size_t i = 0; i < f.size(); ++i) {
    const auto& [k, v] = f[i];
    if (k.empty() || k.size() > 4096 || v.size() > 60000) return false;
    if (!v.empty() &&
        (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t')) {
      return false;
    }
    if (iequals(k, "Connection") || iequals(k, "Content-Length") ||
        iequals(k, "Transfer-Encoding")) {
      return false;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (iequals(f[j].first, k)) return false;
    }
  }
  return true;
}

// Whether a field name or value can be written as it is: CR and LF would end the field (and
// let a value smuggle in fields or a whole response), NUL is refused by every parser. Heads are
// written by hand for speed, and Beast's own writer does not check either, so both paths drop
// such a field (defence in depth: nothing the shop writes should ever hold one).
inline bool writable_field_text(std::string_view s) noexcept {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}
inline bool writable_field(std::string_view name, std::string_view value) noexcept {
  return writable_field_text(name) && writable_field_text(value);
}

// Appends "name: value\r\n" for each field, leaving out fields that are not writable_field().
inline void append_fields(const Headers& headers, std::string& out) {
  for (const auto& [k, v] : headers.fields()) {
    if (!writable_field(k, v)) continue;
    out.append(k);
    out.append(": ", 2);
    out.append(v);
    out.append("\r\n", 2);
  }
}

inline void append_number(std::uint64_t n, std::string& out) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(end - p));
}

template <class Fields>
void copy_headers(const Fields& from, Headers& to) {
  for (const auto& f : from) to.add(std::string(f.name_string()), std::string(f.value()));
}

// The server's parser settings: the contract's body and header limits.
template <class Parser>
void limit_request_parser(Parser& parser, std::size_t body_limit, std::size_t header_limit) {
  parser.body_limit(body_limit);
  parser.header_limit(static_cast<std::uint32_t>(header_limit));
}

// Whether a request target is in origin form (RFC 9112 section 3.2.1: an absolute path, then
// an optional query), the only form the services serve. Anything else ("api/auth", "*",
// "http://host/x") is a malformed request line: 400, before any routing.
inline bool origin_form(std::string_view target) {
  return !target.empty() && target.front() == '/';
}

// Our Request from Beast's (the body is moved out).
inline Request to_request(bhttp::request<bhttp::string_body>& message) {
  Request req;
  req.method = std::string(message.method_string());
  req.target = std::string(message.target());
  copy_headers(message.base(), req.headers);
  req.body = std::move(message.body());
  return req;
}

// Copies the writable_field() fields.
inline void copy_headers_to(const Headers& from, bhttp::fields& to) {
  for (const auto& [k, v] : from.fields()) {
    if (writable_field(k, v)) to.insert(k, v);
  }
}

}  // namespace shopctl::http::detail
