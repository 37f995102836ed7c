#pragma once
// Where each service of the shop listens: filled in as servers bind, read by the callers.
#include <map>
#include <shared_mutex>
#include <string>

#include "platform/http/client.hpp"

namespace shopctl::platform {

// Where each service of the shop listens; filled in as servers bind.
class PeerDirectory {
 public:
  void set(const std::string& service, http::Endpoint endpoint);
  // Returns the endpoint of `service`, or port 0 when it is unknown.
  http::Endpoint get(const std::string& service) const;
  std::map<std::string, http::Endpoint> all() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, http::Endpoint> peers_;
};

}  // namespace shopctl::platform
