#pragma once
// Plain HTTP messages. Beast stays inside the HTTP layer's .cpp files; everything above it
// speaks these types.
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shopctl::http {

// Header fields in arrival order; lookups ignore case. The text of every field lives in one
// buffer and clear() keeps it, so a message that is reused (the server's per-connection
// Request) or filled once costs at most two allocations for all its fields, not two per field.
class Headers {
 public:
  Headers() = default;
  Headers(const Headers&) = default;
  Headers(Headers&&) noexcept = default;
  Headers& operator=(const Headers&) = default;
  Headers& operator=(Headers&& other) noexcept;
  // The storage goes back to a small per-thread recycler, where the next message's fields
  // find it: in a steady state a message's fields allocate nothing.
  ~Headers();

  struct Field {
    std::string_view name;
    std::string_view value;
  };

  // Returns the first value of `name`, or nullopt. The view is valid until the next change.
  std::optional<std::string_view> get(std::string_view name) const;
  // Replaces every field called `name` with one field.
  void set(std::string_view name, std::string_view value);
  void add(std::string_view name, std::string_view value);
  void erase(std::string_view name);
  bool contains(std::string_view name) const { return get(name).has_value(); }
  std::size_t size() const { return spans_.size(); }
  bool empty() const { return spans_.empty(); }
  Field operator[](std::size_t i) const {
    const Span& s = spans_[i];
    return {std::string_view(text_.data() + s.name_at, s.name_size),
            std::string_view(text_.data() + s.value_at, s.value_size)};
  }
  // Removes every field, keeping the storage.
  void clear() noexcept {
    spans_.clear();
    text_.clear();
  }

  class const_iterator {
   public:
    const_iterator(const Headers* h, std::size_t i) : h_(h), i_(i) {}
    Field operator*() const { return (*h_)[i_]; }
    const_iterator& operator++() {
      ++i_;
      return *this;
    }
    bool operator==(const const_iterator& o) const { return i_ == o.i_; }
    bool operator!=(const const_iterator& o) const { return i_ != o.i_; }

   private:
    const Headers* h_;
    std::size_t i_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, spans_.size()}; }

 private:
  struct Span {
    std::uint32_t name_at;
    std::uint32_t name_size;
    std::uint32_t value_at;
    std::uint32_t value_size;
  };
  struct Recycler;
  void recycle() noexcept;

  std::string text_;
  std::vector<Span> spans_;
};

bool iequals(std::string_view a, std::string_view b);

// Whether the list field value `list` has `item` among its elements: comma-separated, spaces
// and tabs around each ignored, empty elements skipped, letter case ignored (RFC 9110 5.6.1).
bool list_names(std::string_view list, std::string_view item);
// Whether any Connection field of `headers` names `option` ("close", "keep-alive", or a field
// that is for this hop only). Every Connection field counts: they make one list (RFC 9110 5.3,
// 7.6.1); reading only the first kept `Connection: keep-alive, ...` then `Connection: close`
// open, and let a field named in a second one through a proxy.
bool connection_names(const Headers& headers, std::string_view option);

// The quality, 0 to 1000 (thousandths), that the Accept fields of `headers` give `media_type`
// ("text/html"; lower case): that of the most specific range that matches it (text/html over
// text/* over */*), with letter case ignored (RFC 9110 12.5.1). 0 when no range matches or a
// matching range says q=0 ("not acceptable"); an element whose q is not a qvalue is skipped.
// Every Accept field counts, as one list. nullopt when the request has no Accept field.
std::optional<int> accept_quality(const Headers& headers, std::string_view media_type);

// An IP address as the OS writes a peer's (10.0.0.5, 2001:db8::1), from the forms a proxy or a
// person writes one: a port after it (1.2.3.4:80, [2001:db8::1]:443), brackets, upper-case
// hex, zeros, an IPv4-mapped IPv6 (::ffff:1.2.3.4 is 1.2.3.4). nullopt for anything else.
std::optional<std::string> canonical_ip_address(std::string_view text);

// `text` with every byte but RFC 3986's unreserved characters (letters, digits, - . _ ~)
// written as %XX: safe in a path segment and in a query value.
std::string percent_encode(std::string_view text);

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
  // The address (no port) of the client connected to this port, from the server; the
  // connection's, so clear() keeps it.
  std::string peer_address;

  std::string_view path() const;   // target without the query
  std::string_view query() const;  // after '?', or empty
  // Returns the decoded value of query parameter `name`, or nullopt.
  std::optional<std::string> query_param(std::string_view name) const;
  const std::string& param(std::string_view name) const;  // a path parameter; throws if absent

  // Empties every part but peer_address, keeping the storage (a connection's next request
  // reuses it).
  void clear() noexcept;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;

  ConnectionAction action = ConnectionAction::respond;
  double bytes_per_second = 0;  // for slow_body

  // A JSON response with the contract's content type.
  static Response json(int status, const nlohmann::json& body);

  Response() = default;
  Response(const Response&) = default;
  Response(Response&&) noexcept = default;
  Response& operator=(const Response&) = default;
  Response& operator=(Response&& other) noexcept;
  // The body's storage goes back to this thread's recycler (see body_buffer()).
  ~Response();
};

// An empty string with room for `size` bytes, for a message body: storage a destroyed Response
// left to this thread when one is large enough, else new. Bounded: a few bodies of up to
// 64 KiB per thread are kept.
std::string body_buffer(std::size_t size);

// How a client call failed before any HTTP answer came back.
// `unreachable`: no route to the host (EHOSTUNREACH, ENETUNREACH): as `refused`, nothing was
// sent; said as such, where a host no one answers read "connection_reset" after 3 s.
enum class TransportErrorKind {
  timeout,
  refused,
  reset,
  closed,
  protocol,
  not_permitted,
  unreachable
};

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
