#pragma once
// The settings of one shop: ports, secrets, client timeouts and retries, circuit breakers,
// auth rules. Read from `shopctl serve --config FILE` and from a scenario's `config:`
// section; both go through apply_config(), which is strict about keys and values.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "platform/resilience/circuit_breaker.hpp"
#include "platform/resilience/retry.hpp"
#include "platform/security/password.hpp"
#include "platform/store/database.hpp"

namespace shopctl::shop {

inline const std::vector<std::string>& service_names() {
  static const std::vector<std::string> names = {"gateway", "auth",    "catalog",
                                                 "order",   "payment", "provider"};
  return names;
}
// The edges that have a circuit breaker.
inline const std::vector<std::string>& breaker_edges() {
  static const std::vector<std::string> edges = {"order->catalog", "order->payment",
                                                 "payment->order", "payment->provider"};
  return edges;
}

struct ClientSettings {
  std::chrono::milliseconds timeout{2000};  // one attempt's deadline: the only timeout
  platform::resilience::RetryPolicy retry;
};

// Where a service that runs in another process listens (config `peers:`), and the admin
// plane of that process (docs/deploy.md).
struct PeerAddress {
  std::string url;    // http://HOST:PORT of the service
  std::string admin;  // http://HOST:PORT of its process's admin plane; empty: unknown
};

struct ShopConfig {
  std::string host = "127.0.0.1";              // the address the services bind to
  std::map<std::string, std::uint16_t> ports;  // by service; missing or 0: ephemeral
  // A shop split over processes (docs/deploy.md): the services this process runs (empty:
  // all), where the others listen, and the port of this process's own admin plane (absent:
  // none of its own; the gateway's serves it when the gateway runs here).
  std::vector<std::string> only;
  std::map<std::string, PeerAddress> peers;
  std::optional<std::uint16_t> admin_port;
  // Where shoppers' browsers reach the payment provider (its pay links): config
  // `provider.public_url`; empty: its `peers:` URL, else where it listens.
  std::string provider_public_url;
  std::filesystem::path data_dir;  // empty: a temporary folder
  // A config file wrote `data_dir:` (serve takes an empty one for --ephemeral, as
  // --print-config prints an --ephemeral shop's; without it, serve's default folder).
  bool data_dir_written = false;
  std::uint64_t seed = 0;  // faults and retry jitter

  // Secrets. Empty ones are taken from <data_dir>/identity.json, else generated at start-up
  // (and then stored there, unless the data folder is temporary): see shop/identity.hpp.
  std::string jwt_secret;
  std::string service_key;
  std::string webhook_secret;
  std::string admin_token;
  std::string provider_api_key;  // the shop's key at the provider (generated: sk_test_ + 48 hex)

  // storage: what a commit's acknowledgement promises, by database. Money (order, payment,
  // provider) and the accounts that own it (auth) survive a power loss; the catalog a crash of
  // the process (docs/money.md, "Identity and durability").
  std::map<std::string, platform::Synchronous> synchronous = {
      {"auth", platform::Synchronous::full},
      {"catalog", platform::Synchronous::normal},
      {"order", platform::Synchronous::full},
      {"payment", platform::Synchronous::full},
      {"provider", platform::Synchronous::full}};

  // http: every listener (see docs/security.md)
  std::size_t http_max_connections = 10'000;
  std::chrono::milliseconds http_header_timeout{10'000};
  std::chrono::milliseconds http_body_timeout{30'000};
  std::chrono::milliseconds http_idle_timeout{60'000};
  std::chrono::milliseconds http_stalled_body{1'000};
  // Names a request from outside may carry in Host besides addresses, localhost, this
  // machine's name and the peers' names; "*" allows any (docs/security.md, "Host names").
  std::vector<std::string> http_allowed_hosts;

  // auth
  std::string jwt_issuer = "shopctl-auth";
  std::string jwt_audience = "shopctl";
  std::chrono::seconds token_ttl{900};
  platform::security::PasswordHashing password_hashing =
      platform::security::PasswordHashing::owasp();
  // Argon2id runs on this many threads; at most password_queue more wait, then 503.
  unsigned password_workers = 2;
  std::size_t password_queue = 64;
  int login_max_failures = 5;
  std::chrono::seconds login_window{60};
  bool seed_demo_user = true;
  std::string demo_email = "demo@shop.test";
  std::string demo_password = "demo-password-1";

  // catalog
  std::optional<std::filesystem::path> catalog_file;  // default: the embedded demo catalog
  // How long the gateway waits for a service's answer before it answers 504 upstream_timeout.
  std::chrono::milliseconds gateway_upstream_timeout{10'000};
  // Proxies in front of the gateway whose X-Forwarded-For names the client (addresses, in
  // the form the OS writes them: 10.0.0.5, ::1); empty: the TCP peer is the client.
  std::vector<std::string> gateway_trusted_proxies;

  // order
  ClientSettings order_catalog_client{std::chrono::milliseconds(1000), {}};
  ClientSettings order_payment_client{std::chrono::milliseconds(2000), {}};
  // How long an order may stay PAYMENT_PENDING (shop clock) before it expires.
  std::chrono::milliseconds order_payment_timeout{std::chrono::minutes(30)};
  // How many orders one user may have PAYMENT_PENDING when a checkout begins (409
  // too_many_unpaid_orders past it); 0: no limit.
  std::int64_t order_max_unpaid_orders = 100;
  // payment
  ClientSettings payment_order_client{std::chrono::milliseconds(2000), {}};
  ClientSettings payment_provider_client{std::chrono::milliseconds(2000), {}};
  std::chrono::milliseconds outbox_initial_backoff{200};
  std::chrono::milliseconds outbox_max_backoff{30'000};
  std::chrono::seconds webhook_tolerance{300};
  // How long a PENDING payment with an intent waits before payment asks the provider about
  // it (reconciliation); later looks double the wait, up to an hour.
  std::chrono::milliseconds reconcile_after{60'000};

  // provider: its webhook retry schedule (shop clock)
  std::chrono::milliseconds webhook_retry_initial_backoff{1000};
  std::chrono::milliseconds webhook_retry_max_backoff{3'600'000};
  std::chrono::milliseconds webhook_retry_give_up_after{72LL * 3'600'000};

  std::map<std::string, platform::resilience::CircuitBreakerConfig> breakers;

  ShopConfig();
};

struct ConfigIssue {
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  std::string message;
};

// "auth and catalog both ask for port 47211" when two services are given one port (0, any
// free port, may repeat); nothing otherwise. The second bind failed as "taken by another
// process".
std::optional<std::string> port_clash(const std::map<std::string, std::uint16_t>& ports);

// Why `host` (config `host`, `serve --bind`) is no address the services can listen on and be
// reached at: not an IP address, or a broadcast or multicast one (127.255.255.255 passed
// `validate`, and the scenario's shop then failed; an outside probe). Nothing when it is fine.
// `what` names it in the message ("host", "--bind").
std::optional<std::string> host_address_problem(const std::string& host, const std::string& what);

// Applies the YAML settings in `root` over `config`. Every problem is collected with its
// position, in the order of the file; `config` is only partly updated when issues are
// returned. A relative
// `catalog.file` is taken from `relative_to`, the folder of the file that names it (a config
// file, a scenario), when one is given: it was taken from the current folder, so a scenario
// passed or failed with the folder it was run from.
std::vector<ConfigIssue> apply_config(const YAML::Node& root, ShopConfig& config,
                                      const std::filesystem::path& relative_to = {});

// The settings a running shop takes through its admin plane (POST /_admin/config, used by
// `shopctl run --target`): `seed`, the order and payment clients' timeouts and retries, the
// circuit breakers, the payment outbox's backoff, payment.webhook_tolerance,
// payment.reconcile, order.payment_timeout, auth.token_ttl, auth.login_throttle and
// provider.webhook_retry. Returns one issue per key of `root`
// that a running shop cannot take (ports, secrets, ...), naming the key and why; empty when
// all of it applies at run time. Checks keys only; apply_config() checks the values.
std::vector<ConfigIssue> runtime_config_refusals(const YAML::Node& root);

// A config file or text that is not YAML or holds settings that cannot be used: every problem
// with its position, in the order of the file, and the text they point into (so that the
// command line shows each with its line and a caret, as `shopctl validate` does). what() is
// "file:line:col: message" lines.
class ConfigFileError : public std::runtime_error {
 public:
  ConfigFileError(std::string file, std::vector<ConfigIssue> issues, std::string text);
  const std::string& file() const { return file_; }
  const std::vector<ConfigIssue>& issues() const { return issues_; }
  const std::string& text() const { return text_; }

 private:
  std::string file_;
  std::vector<ConfigIssue> issues_;
  std::string text_;
};

// Reads a config file. Throws ConfigFileError for its problems, std::runtime_error when it
// cannot be read.
ShopConfig load_config_file(const std::filesystem::path& file, ShopConfig base = {});
// The same from YAML text; `name` stands for the file in the messages.
ShopConfig load_config_text(const std::string& text, const std::string& name, ShopConfig base = {});

// The effective settings, for `shopctl serve --print-config` and reports (secrets masked).
std::string describe_config(const ShopConfig& config);

}  // namespace shopctl::shop
