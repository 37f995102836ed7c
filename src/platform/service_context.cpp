#include "platform/service_context.hpp"

#include <boost/asio/io_context.hpp>

namespace shopctl::platform {

bool ServiceContext::running_in_io_thread() const {
  if (io.get_executor().running_in_this_thread()) return true;
  for (auto* other : connection_ios) {
    if (other->get_executor().running_in_this_thread()) return true;
  }
  return false;
}

}  // namespace shopctl::platform
