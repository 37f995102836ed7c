#include "platform/service_context.hpp"

#include <boost/asio/io_context.hpp>

namespace shopctl::platform {

std::string ServiceContext::local_host() const {
  if (bind_host.empty() || bind_host == "0.0.0.0") return "127.0.0.1";
  if (bind_host == "::") return "::1";
  return bind_host;
}

std::string ServiceContext::local_url(unsigned short port) const {
  const auto host = local_host();
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

bool ServiceContext::running_in_io_thread() const {
  if (io.get_executor().running_in_this_thread()) return true;
  for (auto* other : connection_ios) {
    if (other->get_executor().running_in_this_thread()) return true;
  }
  return false;
}

}  // namespace shopctl::platform
