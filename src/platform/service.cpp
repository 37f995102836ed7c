#include "platform/service.hpp"

#include "platform/background_loop.hpp"

namespace shopctl::platform {

Service::Service(ServiceContext& ctx, std::string name, std::uint16_t port)
    : ctx_(ctx), host_(ctx, std::move(name), port) {}

Service::~Service() = default;

void Service::start() {
  if (host_.running()) return;
  start_serving();
  start_background_work();
}

void Service::start_serving() {
  if (host_.running()) return;
  open_storage();
  host_.start();
}

void Service::start_background_work() {
  if (host_.running()) start_background();
}

void Service::stop() {
  if (!host_.running()) return;
  host_.stop();
  stop_background();
  close_storage();
}

void Service::crash() {
  if (!host_.running()) return;
  host_.crash();
  {
    BackgroundLoop::AbandonScope abandon;
    stop_background();
  }
  close_storage();
}

void Service::shutdown(std::chrono::milliseconds grace) {
  if (!host_.running()) return;
  host_.shutdown(grace);
  stop_background();
  close_storage();
}

}  // namespace shopctl::platform
