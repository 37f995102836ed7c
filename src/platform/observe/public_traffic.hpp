#pragma once
// The public traffic of a shop, exchange by exchange, for whoever records it (`shopctl serve
// --record`). The gateway reports what went through its public door and nothing else; with
// no observer set it copies nothing.
#include <functional>
#include <string>

namespace shopctl::platform {

// One request through the gateway's public API and the answer it got.
struct PublicExchange {
  std::string method;            // "POST"
  std::string target;            // the path and query as sent: "/api/orders/ord_1?x=1"
  std::string content_type;      // of the request; empty when none was sent
  std::string content_encoding;  // of the request; empty when none was sent
  std::string request_body;      // as sent (it may hold a password: the observer decides)
  bool authorized = false;       // an Authorization header was sent
  std::string authorization;     // its value as sent ("Bearer <token>"): the observer tells users
                                 // apart by it, and writes it nowhere
  std::string idempotency_key;
  int status = 0;
  std::string response_body;
};

// Called on the gateway's threads, once per answered public request, in the order the
// answers were sent on each connection (not across connections): it must be thread-safe.
using PublicTrafficObserver = std::function<void(const PublicExchange&)>;

}  // namespace shopctl::platform
