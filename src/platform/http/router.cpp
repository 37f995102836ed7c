#include "platform/http/router.hpp"

#include <algorithm>

#include "platform/text_rules.hpp"

namespace shopctl::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

bool is_param(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}
bool is_rest(const std::string& seg) {
  return is_param(seg) && seg[1] == '*';
}

// `parts` decoded, `raw` as sent: a fixed segment matches its raw spelling only, a parameter
// takes the decoded value.
bool match_segments(const Route& route, const std::vector<std::string>& parts,
                    const std::vector<std::string_view>& raw,
                    std::map<std::string, std::string, std::less<>>& params) {
  const auto& segs = route.segments;
  std::size_t i = 0;
  for (; i < segs.size(); ++i) {
    if (is_rest(segs[i])) {
      std::string rest;
      std::size_t bytes = 0;
      for (std::size_t j = i; j < parts.size(); ++j) bytes += 1 + parts[j].size();
      rest.reserve(bytes);
      for (std::size_t j = i; j < parts.size(); ++j) {
        rest.push_back('/');
        rest.append(parts[j]);
      }
      params[segs[i].substr(2, segs[i].size() - 3)] = std::move(rest);
      return true;
    }
    if (i >= parts.size()) return false;
    if (is_param(segs[i])) {
      // "." and ".." (also spelled %2e) are no id: they name a path's own or parent folder,
      // which a path-normalising hop between client and service would resolve (the gateway
      // forwarded /api/orders/.. as /orders/.., an outside probe).
      if (parts[i].empty() || parts[i] == "." || parts[i] == "..") return false;
      params[segs[i].substr(1, segs[i].size() - 2)] = parts[i];
    } else if (segs[i] != raw[i]) {
      return false;
    }
  }
  return i == parts.size();
}

}  // namespace

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> parts;
  split_path(path, parts);
  return parts;
}

namespace {
void split_path(std::string_view path, std::vector<std::string>& parts,
                std::vector<std::string_view>* raw) {
  parts.clear();
  const auto most = static_cast<std::size_t>(std::count(path.begin(), path.end(), '/')) + 1;
  parts.reserve(most);
  if (raw) {
    raw->clear();
    raw->reserve(most);
  }
  std::size_t start = 0;
  while (start < path.size()) {
    if (path[start] == '/') {
      ++start;
      continue;
    }
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(percent_decode(path.substr(start, end - start)));
    if (raw) raw->push_back(path.substr(start, end - start));
    start = end;
  }
}
}  // namespace

bool valid_percent_encoding(std::string_view text) noexcept {
  for (auto at = text.find('%'); at != std::string_view::npos; at = text.find('%', at + 1)) {
    if (at + 2 >= text.size() || hex_value(text[at + 1]) < 0 || hex_value(text[at + 2]) < 0)
      return false;
  }
  return true;
}

void split_path(std::string_view path, std::vector<std::string>& parts) {
  split_path(path, parts, nullptr);
}

void Router::add(std::string method, std::string pattern, Access access, Handler handler) {
  Route r{std::move(method), pattern, std::move(access), std::move(handler), {}};
  // Patterns are split without decoding so that `{id}` stays a parameter.
  std::size_t start = 0;
  while (start < pattern.size()) {
    if (pattern[start] == '/') {
      ++start;
      continue;
    }
    auto end = pattern.find('/', start);
    if (end == std::string::npos) end = pattern.size();
    r.segments.push_back(pattern.substr(start, end - start));
    start = end;
  }
  routes_.push_back(std::move(r));
}

Router::Match Router::match(std::string_view method, std::string_view path,
                            std::map<std::string, std::string, std::less<>>& params) const {
  Match m;
  // A path is matched as it was sent: an empty segment ("/api//cart") matches no route, and a
  // route's fixed segments match their plain spelling only ("/api/%63art" is not "/api/cart"),
  // so that every service and the gateway's prefix check read a path alike; percent-encoding
  // is decoded in parameters only (docs/security.md). A trailing "/" is allowed.
  if (path.find("//") != std::string_view::npos) return m;
  // A '%' must start an escape ("%zz", "%2" name nothing): 400 rather than read literally,
  // as a query with one is (docs/api.md).
  if (!valid_percent_encoding(path)) {
    m.malformed = true;
    return m;
  }
  // Per-thread buffers: their storage is reused by the next request (match() does not
  // suspend); `raw` points into `path`, used before it returns.
  thread_local std::vector<std::string> parts;
  thread_local std::vector<std::string_view> raw;
  split_path(path, parts, &raw);
  // At the gateway (refuse_text_that_is_not_utf8), a segment that is no UTF-8 text once
  // decoded ("%E9%FF", an overlong or a surrogate, or such bytes sent raw) names nothing: 400,
  // as the same bytes in a JSON body are. Such an id was looked up as it was (404), and DELETE
  // of a cart line so named answered 200.
  for (const auto& part : parts) {
    if (refuse_not_utf8_ && platform::first_invalid_utf8(part)) {
      m.malformed = m.not_utf8 = true;
      return m;
    }
  }
  const Route* get_route = nullptr;  // for HEAD, when no HEAD route matches
  std::map<std::string, std::string, std::less<>> get_params;
  for (const auto& route : routes_) {
    std::map<std::string, std::string, std::less<>> found;
    if (!match_segments(route, parts, raw, found)) continue;
    if (route.method == method) {
      m.route = &route;
      params = std::move(found);
      return m;
    }
    m.path_known = true;
    if (m.path_route == nullptr) m.path_route = &route;
    m.allowed_methods.push_back(route.method);
    if (route.method == "GET" && method == "HEAD" && !get_route) {
      get_route = &route;
      get_params = std::move(found);
    }
  }
  if (get_route) {
    m.route = get_route;
    m.path_known = false;
    m.allowed_methods.clear();
    params = std::move(get_params);
    return m;
  }
  // A path that answers GET answers HEAD too: Allow says so.
  auto& allowed = m.allowed_methods;
  if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end() &&
      std::find(allowed.begin(), allowed.end(), "HEAD") == allowed.end()) {
    allowed.push_back("HEAD");
  }
  return m;
}

}  // namespace shopctl::http
