#pragma once
// The outcome a call record gives a call that got an HTTP answer. One rule for every record:
// the service pipeline's outbound calls, the gateway's inbound records and the provider's
// webhooks.
#include <string>

namespace shopctl::platform {

// "server_error" (5xx), "client_error" (4xx) or "ok". A call without an answer has its
// transport error's kind instead ("timeout", "connection_refused", ...).
inline std::string call_outcome(int status) {
  return status >= 500 ? "server_error" : status >= 400 ? "client_error" : "ok";
}

}  // namespace shopctl::platform
