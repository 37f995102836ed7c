#include "platform/http/host_allowlist.hpp"

#include "platform/http/message.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace shopctl::http {

namespace {

bool is_address(std::string_view name) {
  char buffer[64];
  if (name.size() >= sizeof buffer) return false;
  unsigned char out[16];
  if (name.size() > 2 && name.front() == '[' && name.back() == ']') {
    name = name.substr(1, name.size() - 2);
    name.copy(buffer, name.size());
    buffer[name.size()] = '\0';
    return inet_pton(AF_INET6, buffer, out) == 1;
  }
  name.copy(buffer, name.size());
  buffer[name.size()] = '\0';
  return inet_pton(AF_INET, buffer, out) == 1;
}

std::string_view without_trailing_dot(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return name;
}

}  // namespace

std::string_view host_name_part(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

void HostAllowlist::allow(std::string_view name) {
  name = without_trailing_dot(host_name_part(name));
  if (name == "*") {
    any_ = true;
    return;
  }
  if (name.empty() || is_address(name)) return;
  std::string lower(name);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (std::find(names_.begin(), names_.end(), lower) == names_.end()) names_.push_back(lower);
}

bool HostAllowlist::names_this_shop(std::string_view name) const {
  name = without_trailing_dot(name);
  if (name.empty() || is_address(name)) return false;
  if (iequals(name, "localhost")) return true;
  constexpr std::string_view kLocal = ".localhost";
  if (name.size() > kLocal.size() && iequals(name.substr(name.size() - kLocal.size()), kLocal))
    return true;
  return std::any_of(names_.begin(), names_.end(),
                     [&](const std::string& n) { return iequals(name, n); });
}

bool HostAllowlist::allows(std::string_view host) const {
  auto name = host_name_part(host);
  // After the name comes nothing, or ":" and a port's digits (RFC 3986 allows none): a value
  // such as "127.0.0.1:1@evil.com" names no address of this shop, whatever its first part.
  if (const auto rest = host.substr(name.size()); !rest.empty()) {
    if (rest.front() != ':' || rest.size() > 6) return false;
    for (char c : rest.substr(1))
      if (c < '0' || c > '9') return false;
  }
  // An empty Host (or only ":port") names nothing, so not this shop: it passed as if it were
  // an address (an outside probe). RFC 9112 allows it only for a target with no authority,
  // which no http:// URL is.
  if (name.empty()) return false;
  if (any_) return true;
  if (is_address(name)) return true;
  return names_this_shop(name);
}

}  // namespace shopctl::http
