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

// How long a stop lets the requests in flight finish, with storage still open, before it
// abandons them.
constexpr std::chrono::milliseconds kStopGrace{1000};

void Service::stop() {
  if (!host_.running()) return;
  host_.stop();
  // No request of the service takes another step after this. One that outlived its service's
  // stop ran on into freed memory when the shop was then destroyed: a scenario that timed out
  // during a hung request made `shopctl run` segfault (an outside probe).
  host_.finish_sessions(kStopGrace);
  stop_background();
  close_storage();
}

void Service::crash() {
  if (!host_.running()) return;
  host_.crash();
  host_.finish_sessions(std::chrono::milliseconds(0));
  {
    BackgroundLoop::AbandonScope abandon;
    stop_background();
  }
  close_storage();
}

void Service::shutdown(std::chrono::milliseconds grace) {
  if (!host_.running()) return;
  host_.shutdown(grace);
  host_.finish_sessions(std::chrono::milliseconds(0));
  stop_background();
  close_storage();
}

}  // namespace shopctl::platform
