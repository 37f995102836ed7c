#pragma once
// Routes by method and path pattern. Patterns are literal segments, `{name}` parameters and
// an optional final `{*name}` that takes the rest of the path. Each route names who may call
// it (service names from the service credential), or is public.
#include <set>
#include <string>
#include <vector>

#include "platform/http/server.hpp"

namespace shopctl::http {

struct Access {
  bool is_public = false;         // anyone, with or without a credential
  std::set<std::string> callers;  // service names allowed to call
  static Access anyone() { return Access{true, {}}; }
  static Access only(std::initializer_list<std::string> names) { return Access{false, names}; }
};

struct Route {
  std::string method;
  std::string pattern;
  Access access;
  Handler handler;
  std::vector<std::string> segments;  // split pattern
};

class Router {
 public:
  void add(std::string method, std::string pattern, Access access, Handler handler);

  struct Match {
    const Route* route = nullptr;
    bool path_known = false;  // the path matched some route, but not with this method
    // The first route whose path matched when none matched the method too (a 405): its
    // pattern labels the request in /metrics, which called a 405 of a known path "unmatched".
    const Route* path_route = nullptr;
    bool malformed = false;  // a '%' not followed by two hex digits: matches nothing
    bool not_utf8 = false;   // a segment that decodes to no UTF-8 text: matches nothing
    std::vector<std::string> allowed_methods;
  };
  // Finds the route for `method` and `path`, filling `params` with path parameters. HEAD
  // takes the GET route of a path without a HEAD route of its own (RFC 9110, 9.3.2: the
  // server sends the GET answer's head); `allowed_methods` then names HEAD beside GET.
  Match match(std::string_view method, std::string_view path,
              std::map<std::string, std::string, std::less<>>& params) const;
  const std::vector<Route>& routes() const { return routes_; }
  // Makes a segment that decodes to no UTF-8 text match nothing (Match::not_utf8). The
  // gateway's router does: an id so spelled was looked up as sent. The provider's pay page
  // does not, so that a browser following a mangled pay link gets the page that says so.
  void refuse_text_that_is_not_utf8() { refuse_not_utf8_ = true; }

 private:
  std::vector<Route> routes_;
  bool refuse_not_utf8_ = false;
};

// False when a '%' in `text` starts no escape (is not followed by two hexadecimal digits).
bool valid_percent_encoding(std::string_view text) noexcept;

// Splits a path into segments ("/a/b/" -> {"a", "b"}), percent-decoding each.
std::vector<std::string> split_path(std::string_view path);
// The same into `parts` (replacing what it held, keeping its storage).
void split_path(std::string_view path, std::vector<std::string>& parts);

}  // namespace shopctl::http
