#pragma once
// The shop's services as data: for each, its name, how it is built from the shop-wide context
// and the config, how a running one takes the run-time settings, who may call it and what it
// calls. The shop (shop.cpp) is composed from this list and the config; nothing else names
// the six services' classes. Who may call whom comes from the one architecture table
// (platform/observe/architecture.hpp), not from here.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "platform/resilient_caller.hpp"
#include "platform/service.hpp"
#include "shop/config.hpp"

namespace shopctl::shop {

struct ServiceSpec {
  std::string name;
  // Builds the service (routes registered, nothing bound or opened) from the shop-wide
  // context and the shop's config: its port, secrets, edge settings.
  std::function<std::unique_ptr<platform::Service>(platform::ServiceContext&, const ShopConfig&)>
      make;
  // Applies the run-time part of a config (shop/config.hpp: runtime_config_refusals) to a
  // service `make` built. Its protected edges are reconfigured by the shop (edge_settings).
  std::function<void(platform::Service&, const ShopConfig&)> reconfigure;
  // From the architecture table: the components that may call this service, and the ones it
  // calls, in the table's order.
  std::vector<std::string> callers;
  std::vector<std::string> outbound;
};

// Every service, in start order: a service starts after those it calls, the door last.
const std::vector<ServiceSpec>& service_registry();
// The spec of `name`, or nullptr.
const ServiceSpec* find_service(std::string_view name);

// The settings of one protected edge ("order->catalog", ...) from the config: its client's
// timeout and retries, its breaker, and the credential it carries (the shop's API key on the
// edge to the outside provider).
platform::EdgeSettings edge_settings(const ShopConfig& config, const std::string& edge);
// The port the config gives `service` (ShopConfig::ports), or 0: the system picks one.
std::uint16_t configured_port(const ShopConfig& config, const std::string& service);

}  // namespace shopctl::shop
