#include "platform/http/message.hpp"
#include "platform/json_text.hpp"

#include <algorithm>
#include <functional>

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <nlohmann/json.hpp>

namespace shopctl::http {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Span& s : spans_) {
    if (iequals(std::string_view(text_.data() + s.name_at, s.name_size), name))
      return std::string_view(text_.data() + s.value_at, s.value_size);
  }
  return std::nullopt;
}

void Headers::set(std::string_view name, std::string_view value) {
  erase(name);
  add(name, value);
}

void Headers::add(std::string_view name, std::string_view value) {
  // `name` or `value` may point into text_ (a field copied within this message): the buffer
  // may move as it grows, so those are copied out first (rare).
  std::less<const char*> before;
  auto inside = [&](std::string_view s) {
    return !s.empty() && !before(s.data(), text_.data()) &&
           before(s.data(), text_.data() + text_.size());
  };
  if (inside(name) || inside(value)) {
    const std::string n(name), v(value);
    add(n, v);
    return;
  }
  // Room for a typical message's fields at once instead of growing field by field.
  if (spans_.capacity() == 0) spans_.reserve(8);
  // 512: an outbound call's fields (traceparent, the service credential, the user) fit.
  if (text_.capacity() < 512) text_.reserve(512);
  Span span{};
  span.name_at = static_cast<std::uint32_t>(text_.size());
  span.name_size = static_cast<std::uint32_t>(name.size());
  text_.append(name);
  span.value_at = static_cast<std::uint32_t>(text_.size());
  span.value_size = static_cast<std::uint32_t>(value.size());
  text_.append(value);
  spans_.push_back(span);
}

void Headers::erase(std::string_view name) {
  // The text of erased fields stays in the buffer until clear().
  const auto erased = std::erase_if(spans_, [&](const Span& s) {
    return iequals(std::string_view(text_.data() + s.name_at, s.name_size), name);
  });
  if (erased == 0) return;
  std::size_t live = 0;
  for (const Span& s : spans_) live += s.name_size + s.value_size;
  if (text_.size() <= 2 * live + 1024) return;
  // Mostly dead text (a message whose fields were set over and over): compact it.
  Headers compact;
  for (auto f : *this) compact.add(f.name, f.value);
  *this = std::move(compact);
}

std::string_view Request::path() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view Request::query() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  for (auto param : parsed->params()) {
    if (param.key == name) return std::string(param.has_value ? param.value : "");
  }
  return std::nullopt;
}

const std::string& Request::param(std::string_view name) const {
  auto it = path_params.find(name);
  if (it == path_params.end()) throw std::out_of_range("no path parameter " + std::string(name));
  return it->second;
}

void Request::clear() noexcept {
  method.clear();
  target.clear();
  headers.clear();
  body.clear();
  path_params.clear();
  route.clear();
  caller.clear();
  trace_id.clear();
  user_id.clear();
}

Response Response::json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.body = platform::json_text(body);
  return r;
}

std::string_view to_string(TransportErrorKind kind) {
  switch (kind) {
    case TransportErrorKind::timeout:
      return "timeout";
    case TransportErrorKind::refused:
      return "connection_refused";
    case TransportErrorKind::reset:
      return "connection_reset";
    case TransportErrorKind::closed:
      return "connection_closed";
    case TransportErrorKind::protocol:
      return "protocol_error";
    case TransportErrorKind::not_permitted:
      return "not_permitted";
  }
  return "unknown";
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "Unknown";
  }
}

}  // namespace shopctl::http
