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
  if (options.seed) config.seed = *options.seed;
  return config;
}

}  // namespace

struct Shop::Impl {
  std::unique_ptr<shop::Shop> shop;
  bool stopped = false;
};

Shop::Shop(const ShopOptions& options) : impl_(std::make_unique<Impl>()) {
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
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->shop->shutdown(grace);
}

std::string Shop::gateway_url() const {
  return impl_->shop->url("gateway");
}
std::string Shop::url(const std::string& service) const {
  return impl_->shop->url(service);
}

std::vector<ServiceInfo> Shop::services() const {
  std::vector<ServiceInfo> out;
  for (const auto& s : impl_->shop->services())
    out.push_back({s.name, s.url, s.database.string(), s.running});
  return out;
}

std::string Shop::admin_token() const {
  return impl_->shop->admin_token();
}
std::string Shop::data_dir() const {
  return impl_->shop->data_dir().string();
}

std::string Shop::demo_email() const {
  const auto& c = impl_->shop->config();
  return c.seed_demo_user ? c.demo_email : std::string();
}

std::string Shop::demo_password() const {
  const auto& c = impl_->shop->config();
  return c.seed_demo_user ? c.demo_password : std::string();
}

void Shop::stop_service(const std::string& name) {
  impl_->shop->stop_service(name);
}
void Shop::start_service(const std::string& name) {
  impl_->shop->start_service(name);
}
void Shop::restart_service(const std::string& name) {
  impl_->shop->restart_service(name);
}
void Shop::crash_service(const std::string& name) {
  impl_->shop->crash_service(name);
}

std::chrono::milliseconds Shop::advance_clock(std::chrono::milliseconds by) {
  impl_->shop->clock().advance(by);
  return clock_offset();
}

std::chrono::milliseconds Shop::clock_offset() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(impl_->shop->clock().offset());
}

std::string Shop::add_fault(const FaultSpec& spec) {
  auto fault = observe_tools::fault_json_from_flags(api::to_flags(spec));
  return impl_->shop->faults().add(platform::Fault::from_json(fault));
}

std::string Shop::add_fault_json(const std::string& fault_json) {
  auto fault = observe_tools::fault_json_from_text(fault_json);
  return impl_->shop->faults().add(platform::Fault::from_json(fault));
}

bool Shop::remove_fault(const std::string& id) {
  return impl_->shop->faults().remove(id);
}
void Shop::clear_faults() {
  impl_->shop->faults().clear();
}

std::string Shop::faults_json() const {
  return nlohmann::json{{"items", impl_->shop->faults().list()}}.dump();
}

AdminClient Shop::admin_client() const {
  return AdminClient(gateway_url(), admin_token());
}

}  // namespace shopctl
