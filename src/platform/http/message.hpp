#pragma once
// Plain HTTP messages. Beast stays inside the HTTP layer's .cpp files; everything above it
// speaks these types.
#include <chrono>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shopctl::http {

// Header fields in arrival order; lookups ignore case.
class Headers {
 public:
  // Returns the first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  // Replaces every field called `name` with one field.
  void set(std::string name, std::string value);
  void add(std::string name, std::string value);
  void erase(std::string_view name);
  bool contains(std::string_view name) const { return get(name).has_value(); }
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

bool iequals(std::string_view a, std::string_view b);

// What the server does with the connection instead of (or while) answering: how an injected
// fault acts on the real connection.
enum class ConnectionAction {
  respond,    // write the response normally
  hang,       // never answer; keep the connection open until the peer gives up
  reset,      // TCP RST without an answer
  close,      // clean close without an answer
  garbage,    // bytes that are not HTTP, then close
  slow_body,  // the response, trickling at `bytes_per_second`
};

struct Request {
  std::string method;  // upper case: GET, POST, ...
  std::string target;  // path plus query, as sent: /api/catalog/products?page=2
  Headers headers;
  std::string body;

  // Filled in by the server and the router.
  std::map<std::string, std::string, std::less<>> path_params;
  std::string route;     // the matched route pattern, for example /api/orders/{id}
  std::string caller;    // who is calling, from the service credential: "order", "client", ...
  std::string trace_id;  // 32 hex digits
  std::string user_id;   // the end user, when the gateway vouches for one

  std::string_view path() const;   // target without the query
  std::string_view query() const;  // after '?', or empty
  // Returns the decoded value of query parameter `name`, or nullopt.
  std::optional<std::string> query_param(std::string_view name) const;
  const std::string& param(std::string_view name) const;  // a path parameter; throws if absent
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  ConnectionAction action = ConnectionAction::respond;
  double bytes_per_second = 0;  // for slow_body

  // A JSON response with the contract's content type.
  static Response json(int status, const nlohmann::json& body);
};

// How a client call failed before any HTTP answer came back.
enum class TransportErrorKind { timeout, refused, reset, closed, protocol, not_permitted };

class TransportError : public std::runtime_error {
 public:
  TransportError(TransportErrorKind kind, std::string what)
      : std::runtime_error(std::move(what)), kind_(kind) {}
  TransportErrorKind kind() const { return kind_; }

 private:
  TransportErrorKind kind_;
};

std::string_view to_string(TransportErrorKind kind);
std::string_view reason_phrase(int status);

}  // namespace shopctl::http
