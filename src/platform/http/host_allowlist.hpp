#pragma once
// Which names a request's Host field may carry (docs/security.md, "Host names"). A page that
// rebinds its own DNS name to 127.0.0.1 (DNS rebinding) becomes same-origin with a shop on
// this machine, and its requests arrive with that name in Host: refusing names the shop was
// not told about keeps such a page from reading any answer.
//
// Always allowed: an IP address (v4, or v6 in brackets), `localhost` and any name under
// `.localhost` (RFC 6761), and an empty or missing Host (HTTP/1.0). Besides: the names given to
// allow() (the shop's own peers, this machine's name, config `http.allowed_hosts`), compared
// without letter case and without one trailing dot; "*" allows every name.
#include <string>
#include <string_view>
#include <vector>

namespace shopctl::http {

class HostAllowlist {
 public:
  // A name as a Host field or a URL would give it: a port, letter case and one trailing dot
  // are dropped. "*" allows every name. An IP address needs no entry.
  void allow(std::string_view name);
  bool allows_any() const { return any_; }
  // `host` is a Host field's value: a name or an address, with or without a port.
  bool allows(std::string_view host) const;
  // Whether `name` (no port) is a name of this shop: localhost, a name under .localhost, or a
  // name given to allow() (with one trailing dot or not, any letter case). Not an address and
  // not what "*" lets in: a URL the shop sends a browser back to must name it, and allows()
  // takes any address and, with "*", any name.
  bool names_this_shop(std::string_view name) const;
  const std::vector<std::string>& names() const { return names_; }

 private:
  bool any_ = false;
  std::vector<std::string> names_;  // lower case, no port, no trailing dot
};

// The name or address part of a Host field value or a URL authority: without the port, IPv6
// brackets kept ("[::1]:80" -> "[::1]", "Example.org:8080" -> "Example.org").
std::string_view host_name_part(std::string_view host);

}  // namespace shopctl::http
