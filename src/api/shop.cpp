// shopctl::Shop (include/shopctl/shop.hpp): the public face of shop::Shop.
#include "shopctl/shop.hpp"

#include <nlohmann/json.hpp>

#include "api/convert.hpp"
#include "observe_tools/fault_spec.hpp"
#include "platform/fault/fault_table.hpp"
#include "shop/shop.hpp"

namespace shopctl {

namespace {

platform::LogLevel to_internal(LogLevel level) {
  switch (level) {
    case LogLevel::debug:
      return platform::LogLevel::debug;
    case LogLevel::info:
      return platform::LogLevel::info;
    case LogLevel::warn:
      return platform::LogLevel::warn;
    case LogLevel::error:
      return platform::LogLevel::error;
    case LogLevel::off:
      return platform::LogLevel::off;
  }
  return platform::LogLevel::off;
}

// The settings `options` stand for: the config file, then the YAML text, then the fields.
// Throws std::invalid_argument with every problem.
shop::ShopConfig config_of(const ShopOptions& options) {
  shop::ShopConfig config;
  try {
    if (!options.config_file.empty()) config = shop::load_config_file(options.config_file, config);
    if (!options.config_yaml.empty())
      config = shop::load_config_text(options.config_yaml, "config_yaml", config);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
  if (!options.data_dir.empty()) config.data_dir = options.data_dir;
  for (const auto& [name, port] : options.ports) {
    bool known = false;
    for (const auto& n : shop::service_names()) known = known || n == name;
    if (!known) throw std::invalid_argument("ports: there is no service '" + name + "'");
    config.ports[name] = port;
  }
  if (auto clash = shop::port_clash(config.ports)) throw std::invalid_argument("ports: " + *clash);
  if (options.seed) config.seed = *options.seed;
  return config;
}

}  // namespace

struct Shop::Impl {
  std::unique_ptr<shop::Shop> shop;
  bool stopped = false;
  // What the reads answer after shutdown(), which lets the shop's threads and sockets go (they
  // stayed until the object went: about 10 threads and 13 descriptors a shop; an outside
  // probe).
  std::vector<ServiceInfo> services_after;
};

namespace {

// The shop behind a call that changes it: after shutdown() such a call restarted a service
// on a closed shop (restart_service brought the catalog back, its database reopened) or
// changed nothing while returning as if it had (an outside probe).
template <typename Pointer>
auto& running(const Pointer& impl) {
  auto& self = api::live(impl, "Shop");
  if (self.stopped)
    throw std::logic_error(
        "this shopctl::Shop was shut down: start another Shop (on the same data_dir to go on "
        "with its data)");
  return self;
}

}  // namespace

Shop::Shop(const ShopOptions& options) : impl_(std::make_unique<Impl>()) {
  // As `shopctl serve --threads`: 100000 failed as "the shop could not start".
  if (options.threads > shop::kMaxThreads)
    throw std::invalid_argument("threads: at most " + std::to_string(shop::kMaxThreads) + ", got " +
                                std::to_string(options.threads));
  shop::ShopOptions internal;
  internal.threads = options.threads;
  internal.log_level = to_internal(options.log_level);
  internal.log_format = options.log_json ? platform::LogFormat::json : platform::LogFormat::text;
  auto config = config_of(options);
  try {
    impl_->shop = std::make_unique<shop::Shop>(std::move(config), internal);
    impl_->shop->start();
  } catch (const std::invalid_argument&) {
    throw;
  } catch (const std::exception& e) {
    impl_->shop.reset();
    throw std::runtime_error(std::string("the shop could not start: ") + e.what());
  }
}

Shop::~Shop() {
  if (impl_) shutdown();
}

Shop::Shop(Shop&&) noexcept = default;
Shop& Shop::operator=(Shop&& other) noexcept {
  if (this != &other) {
    if (impl_) shutdown();
    impl_ = std::move(other.impl_);
  }
  return *this;
}

void Shop::shutdown(std::chrono::milliseconds grace) {
  if (!impl_) return;  // moved from: nothing to stop
  auto& self = *impl_;
  if (self.stopped) return;
  self.stopped = true;
  self.shop->shutdown(grace);
  for (const auto& s : self.shop->services())
    self.services_after.push_back({s.name, s.url, s.database.string(), s.running});
  self.shop->release_runtime();
}

std::string Shop::gateway_url() const {
  return url("gateway");
}
std::string Shop::url(const std::string& service) const {
  auto& self = api::live(impl_, "Shop");
  if (!self.stopped) return self.shop->url(service);
  for (const auto& s : self.services_after) {
    if (s.name == service) return s.url;
  }
  throw std::invalid_argument("unknown service '" + service + "'");
}

std::vector<ServiceInfo> Shop::services() const {
  auto& self = api::live(impl_, "Shop");
  if (self.stopped) return self.services_after;
  std::vector<ServiceInfo> out;
  for (const auto& s : self.shop->services())
    out.push_back({s.name, s.url, s.database.string(), s.running});
  return out;
}

std::string Shop::admin_token() const {
  auto& self = api::live(impl_, "Shop");
  return self.shop->admin_token();
}
std::string Shop::data_dir() const {
  auto& self = api::live(impl_, "Shop");
  return self.shop->data_dir().string();
}

std::string Shop::demo_email() const {
  auto& self = api::live(impl_, "Shop");
  const auto& c = self.shop->config();
  return c.seed_demo_user ? c.demo_email : std::string();
}

std::string Shop::demo_password() const {
  auto& self = api::live(impl_, "Shop");
  const auto& c = self.shop->config();
  return c.seed_demo_user ? c.demo_password : std::string();
}

void Shop::stop_service(const std::string& name) {
  auto& self = running(impl_);
  self.shop->stop_service(name);
}
void Shop::start_service(const std::string& name) {
  auto& self = running(impl_);
  self.shop->start_service(name);
}
void Shop::restart_service(const std::string& name) {
  auto& self = running(impl_);
  self.shop->restart_service(name);
}
void Shop::crash_service(const std::string& name) {
  auto& self = running(impl_);
  self.shop->crash_service(name);
}

std::chrono::milliseconds Shop::advance_clock(std::chrono::milliseconds by) {
  auto& self = running(impl_);
  // Checked in milliseconds: converting ms::max() to the clock's nanoseconds overflowed.
  const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(
      platform::SimulatedClock::kMaxOffset - self.shop->clock().offset());
  if (by > room)
    throw std::invalid_argument(
        "advance_clock: the clock can be at most 100 years ahead in all; "
        "it is " +
        std::to_string(clock_offset().count()) + " ms ahead now");
  // As the admin route: kept in the data folder first (a restart goes on from it), one advance
  // at a time with the admin plane's.
  try {
    self.shop->advance_clock(by);
  } catch (const std::out_of_range& e) {
    throw std::invalid_argument(std::string("advance_clock: ") + e.what());
  }
  return clock_offset();
}

std::chrono::milliseconds Shop::clock_offset() const {
  auto& self = api::live(impl_, "Shop");
  return std::chrono::duration_cast<std::chrono::milliseconds>(self.shop->clock().offset());
}

std::string Shop::add_fault(const FaultSpec& spec) {
  auto& self = running(impl_);
  auto fault = observe_tools::fault_json_from_flags(api::to_flags(spec));
  return self.shop->faults().add(platform::Fault::from_json(fault));
}

std::string Shop::add_fault_json(const std::string& fault_json) {
  auto& self = running(impl_);
  auto fault = observe_tools::fault_json_from_text(fault_json);
  return self.shop->faults().add(platform::Fault::from_json(fault));
}

bool Shop::remove_fault(const std::string& id) {
  auto& self = running(impl_);
  return self.shop->faults().remove(id);
}
void Shop::clear_faults() {
  auto& self = running(impl_);
  self.shop->faults().clear();
}

std::string Shop::faults_json() const {
  auto& self = api::live(impl_, "Shop");
  return nlohmann::json{{"items", self.shop->faults().list()}}.dump();
}

AdminClient Shop::admin_client() const {
  return AdminClient(gateway_url(), admin_token());
}

}  // namespace shopctl
