#include "platform/peer_directory.hpp"

#include <mutex>

namespace shopctl::platform {

void PeerDirectory::set(const std::string& service, http::Endpoint endpoint) {
  std::unique_lock lock(mu_);
  peers_[service] = std::move(endpoint);
}

http::Endpoint PeerDirectory::get(const std::string& service) const {
  std::shared_lock lock(mu_);
  auto it = peers_.find(service);
  return it == peers_.end() ? http::Endpoint{"127.0.0.1", 0} : it->second;
}

std::map<std::string, http::Endpoint> PeerDirectory::all() const {
  std::shared_lock lock(mu_);
  return peers_;
}

}  // namespace shopctl::platform
