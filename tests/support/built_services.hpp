#pragma once
// The services of a shop, constructed from the registry (`shop::service_registry()`) as the
// shop builds them, with their routes registered, but never started: no port, no database
// file. What the architecture and OpenAPI tests read the routers of. Header-only.
#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "platform/clock.hpp"
#include "platform/security/password.hpp"
#include "platform/service.hpp"
#include "shop/registry.hpp"

namespace shopctl::test_support {

namespace fs = std::filesystem;

struct BuiltServices {
  BuiltServices()
      : dir(fs::temp_directory_path() / ("shopctl-arch-" + std::to_string(::getpid()))),
        credentials(std::string(64, 'k'), clock),
        log(platform::LogLevel::off),
        ctx{io, clock, faults, calls, credentials, peers, log, "admin-token", dir} {
    // Built from the registry, as the shop builds them.
    shopctl::shop::ShopConfig config;
    config.password_hashing = platform::security::PasswordHashing::fast_for_tests();
    for (const auto& spec : shopctl::shop::service_registry())
      services.push_back(spec.make(ctx, config));
  }
  ~BuiltServices() {
    services.clear();
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }

  platform::Service& get(const std::string& name) {
    for (auto& s : services) {
      if (s->name() == name) return *s;
    }
    FAIL("no service " << name);
    throw std::logic_error("unreachable");
  }

  boost::asio::io_context io;
  fs::path dir;
  platform::SimulatedClock clock;
  platform::FaultTable faults;
  platform::CallLog calls;
  platform::security::ServiceCredentials credentials;
  platform::PeerDirectory peers;
  platform::Logger log;
  platform::ServiceContext ctx;
  std::vector<std::unique_ptr<platform::Service>> services;
};

}  // namespace shopctl::test_support
