#include "shop/config.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <stdexcept>

#include "platform/duration.hpp"
#include "platform/http/client.hpp"
#include "platform/input_file.hpp"
#include "platform/json_body.hpp"
#include "platform/json_text.hpp"
#include "platform/suggest.hpp"
#include "platform/yaml_document.hpp"
#include "platform/yaml_json.hpp"
#include "services/auth/auth_model.hpp"

namespace shopctl::shop {

using platform::resilience::CircuitBreakerConfig;
using platform::resilience::RetryPolicy;

ShopConfig::ShopConfig() {
  // The shop's breaker defaults: Resilience4j's semantics, sized for a shop that sees tens of
  // calls rather than thousands (Resilience4j's 100-call window would never open in a demo).
  CircuitBreakerConfig b;
  b.sliding_window_size = 10;
  b.minimum_number_of_calls = 5;
  b.failure_rate_threshold = 50;
  b.wait_duration_in_open_state = std::chrono::seconds(30);
  b.permitted_number_of_calls_in_half_open_state = 2;
  for (const auto& edge : breaker_edges()) breakers[edge] = b;
  order_catalog_client.retry.max_attempts = 3;
  order_payment_client.retry.max_attempts = 2;  // creation carries an idempotency key
  payment_order_client.retry.max_attempts = 1;  // the outbox retries
  payment_provider_client.retry.max_attempts = 2;
}

namespace {

struct Walker {
  std::vector<ConfigIssue> issues;

  void issue(const YAML::Node& node, std::string message) {
    auto m = node.Mark();
    issues.push_back({m.line + 1, m.column + 1, std::move(message)});
  }

  // Checks that `node` is a map whose keys are in `allowed`; reports each unknown key.
  bool check_map(const YAML::Node& node, const std::string& where,
                 const std::set<std::string>& allowed) {
    if (!node.IsMap()) {
      issue(node, where + " must be a map");
      return false;
    }
    const auto expected = [&allowed] {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return " (expected one of: " + list + ")";
    };
    for (const auto& kv : node) {
      if (!kv.first.IsScalar()) {  // `~:`, `? [a, b]`: say what it is, not "unknown key ''"
        issue(kv.first, std::string(kv.first.IsNull()       ? "an empty key (~)"
                                    : kv.first.IsSequence() ? "a list as a key"
                                                            : "a map as a key") +
                            " in " + where + expected());
        continue;
      }
      auto key = kv.first.Scalar();
      if (!allowed.count(key)) {
        // A typo is named, as in a scenario ("ordr": did you mean 'order'?); else the keys.
        if (auto suggestion = platform::did_you_mean(
                key, std::vector<std::string>(allowed.begin(), allowed.end()))) {
          issue(kv.first,
                "unknown key '" + key + "' in " + where + "; did you mean '" + *suggestion + "'?");
          continue;
        }
        issue(kv.first, "unknown key '" + key + "' in " + where + expected());
      }
    }
    return true;
  }

  // A duration in whole `unit`s (every setting here is kept in milliseconds, or seconds):
  // `timeout: 0.5ms` was kept as 0 ms and every call timed out at once, `1.9999999s` became
  // 1999ms and `token_ttl: 1500ms` 1s, each taken without a word (an outside probe).
  std::optional<std::chrono::nanoseconds> duration(
      const YAML::Node& node, const std::string& what,
      std::chrono::nanoseconds unit = std::chrono::milliseconds(1)) {
    if (!node.IsScalar()) {
      issue(node, what + " must be a duration like 250ms, 2s or 1m");
      return std::nullopt;
    }
    auto d = platform::parse_duration(node.Scalar());
    if (!d && platform::duration_overflows(node.Scalar())) {
      // Written right but past what a duration holds: "too long", not "not a duration" (an
      // outside probe read the latter as a syntax error), as scenarios and the CLI say.
      issue(node, what + ": '" + node.Scalar() +
                      "' is too long (a duration holds about 292 years, 2562047h, at most)");
    } else if (!d) {
      issue(node, what + ": '" + node.Scalar() + "' is not a duration (250ms, 2s, 1m, 2h)");
    } else if (*d % unit != std::chrono::nanoseconds(0)) {
      const bool seconds = unit == std::chrono::seconds(1);
      issue(node, what + ": '" + node.Scalar() + "' is not a whole number of " +
                      (seconds ? "seconds (1s, 90s, 2m)" : "milliseconds (1ms, 250ms, 2s)"));
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::int64_t> integer(const YAML::Node& node, const std::string& what,
                                      std::int64_t lo, std::int64_t hi) {
    auto j = node.IsScalar() ? platform::yaml_to_json(node) : nlohmann::json();
    if (!j.is_number_integer() || j.get<std::int64_t>() < lo || j.get<std::int64_t>() > hi) {
      issue(node,
            what + " must be an integer from " + std::to_string(lo) + " to " + std::to_string(hi));
      return std::nullopt;
    }
    return j.get<std::int64_t>();
  }

  std::optional<std::string> string(const YAML::Node& node, const std::string& what) {
    if (!node.IsScalar()) {
      issue(node, what + " must be a string");
      return std::nullopt;
    }
    return node.Scalar();
  }

  // A duration of at least 1 ms, stored in `out` when valid.
  void positive_millis(const YAML::Node& node, const std::string& what,
                       std::chrono::milliseconds& out) {
    if (auto d = duration(node, what)) {
      const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
      if (millis.count() < 1)
        issue(node, what + " must be at least 1ms");
      else
        out = millis;
    }
  }

  void client(const YAML::Node& node, const std::string& where, ClientSettings& out) {
    if (!check_map(node, where, {"timeout", "retry"})) return;
    if (node["timeout"]) {
      if (auto d = duration(node["timeout"], where + ".timeout")) {
        if (d->count() <= 0)
          issue(node["timeout"], where + ".timeout must be above zero");
        else
          out.timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
      }
    }
    if (auto r = node["retry"]) {
      const std::set<std::string> settings = {"max_attempts", "initial_backoff", "multiplier",
                                              "max_backoff", "jitter"};
      if (!check_map(r, where + ".retry", settings)) return;
      // Setting by setting, each problem at its own key (the first one stopped the reading, so
      // `max_attempts: 0` beside `jitter: 2` went unreported), then the rule between settings.
      RetryPolicy retry = out.retry;
      std::set<std::string> refused;
      YAML::Mark at = r.Mark();  // where the rule between the backoffs is reported
      for (const auto& setting : r) {
        const auto key = setting.first.Scalar();
        if (!settings.count(key)) continue;  // check_map reported it
        if (key == "max_backoff") at = setting.first.Mark();
        try {
          retry.set(key, platform::yaml_to_json(setting.second));
        } catch (const std::exception& e) {
          issue(setting.first, where + ".retry: " + e.what());
          refused.insert(key);
        }
      }
      // The backoffs against each other, when both were read (a refused one would be judged by
      // a value nobody wrote).
      if (refused.count("initial_backoff") || refused.count("max_backoff")) return;
      try {
        retry.validate();
        if (refused.empty()) out.retry = retry;
      } catch (const std::exception& e) {
        issues.push_back({at.line + 1, at.column + 1, where + ".retry: " + e.what()});
      }
    }
  }

  void breakers(const YAML::Node& node, const std::string& where, ShopConfig& config) {
    if (!node.IsMap()) {
      issue(node, where + " must be a map of edge -> settings");
      return;
    }
    for (const auto& kv : node) {
      auto edge = kv.first.Scalar();
      auto it = config.breakers.find(edge);
      if (it == config.breakers.end()) {
        std::string list;
        for (const auto& e : breaker_edges()) list += (list.empty() ? "" : ", ") + e;
        issue(kv.first, "unknown circuit breaker '" + edge + "' (known: " + list + ")");
        continue;
      }
      // A breaker belongs to its caller's section (order->catalog under order): one under
      // another section was taken and applied to the caller (an outside probe), so a config
      // could set one edge in two places and the last one read won.
      const std::string caller = edge.substr(0, edge.find("->"));
      const std::string section = where.substr(0, where.find('.'));
      if (caller != section) {
        issue(kv.first, "circuit breaker " + edge + " belongs under " + caller +
                            ".circuit_breakers, not " + where);
        continue;
      }
      if (!kv.second.IsMap()) {
        issue(kv.second, "circuit breaker " + edge + " settings must be a map");
        continue;
      }
      // Setting by setting, each problem at its own key: the first one stopped the breaker's
      // reading, and the next run found the next one.
      for (const auto& setting : kv.second) {
        try {
          nlohmann::json one = nlohmann::json::object();
          one[setting.first.Scalar()] = platform::yaml_to_json(setting.second);
          it->second = CircuitBreakerConfig::from_json(one, it->second);
        } catch (const std::exception& e) {
          // "circuit breaker order->catalog: setting ...", not "...: circuit breaker setting".
          std::string what = e.what();
          constexpr std::string_view kRepeated = "circuit breaker setting";
          if (const auto at = what.find(kRepeated); at != std::string::npos)
            what.replace(at, kRepeated.size(), "setting");
          issue(setting.first, "circuit breaker " + edge + ": " + what);
        }
      }
    }
  }
};

}  // namespace

std::optional<std::string> port_clash(const std::map<std::string, std::uint16_t>& ports) {
  std::map<std::uint16_t, std::string> owner;
  for (const auto& [service, port] : ports) {
    if (port == 0) continue;
    auto [at, fresh] = owner.emplace(port, service);
    if (!fresh)
      return at->second + " and " + service + " both ask for port " + std::to_string(port);
  }
  return std::nullopt;
}

namespace {

std::vector<ConfigIssue> collect_config_issues(const YAML::Node& root, ShopConfig& config,
                                               const std::filesystem::path& relative_to) {
  Walker w;
  if (!root || root.IsNull()) return {};
  // Keys given twice and alias bombs, anywhere in the file, before anything reads it. A key
  // given twice stops nothing: the rest of the file is checked too, so that one run says every
  // problem (a duplicate hid five others, docs/configuration.md promises them all).
  if (auto problems = platform::yaml_tree_problems(root); !problems.empty()) {
    bool stop = false;
    for (auto& p : problems) {
      stop = stop || p.stops_reading;
      w.issues.push_back({p.mark.line + 1, p.mark.column + 1, std::move(p.message)});
    }
    if (stop) return w.issues;
  }
  if (!w.check_map(
          root, "config",
          {"host", "ports", "data_dir", "seed", "secrets", "http", "auth", "catalog", "order",
           "payment", "provider", "storage", "only", "peers", "admin_port", "gateway"}))
    return w.issues;

  if (auto n = root["host"]) {
    if (auto s = w.string(n, "host")) {
      // The services bind to it, so it is an address, not a name (as serve --bind).
      if (auto problem = host_address_problem(*s, "host"))
        w.issue(n, *problem);
      else
        config.host = *s;
    }
  }
  if (auto n = root["ports"]) {
    std::set<std::string> names(service_names().begin(), service_names().end());
    if (w.check_map(n, "ports", names)) {
      for (const auto& kv : n) {
        if (!names.count(kv.first.Scalar())) continue;
        if (auto p = w.integer(kv.second, "ports." + kv.first.Scalar(), 0, 65535))
          config.ports[kv.first.Scalar()] = static_cast<std::uint16_t>(*p);
      }
      if (auto clash = port_clash(config.ports)) w.issue(n, "ports: " + *clash);
    }
  }
  if (auto n = root["data_dir"]) {
    if (auto s = w.string(n, "data_dir")) {
      config.data_dir = *s;
      config.data_dir_written = true;
    }
  }
  std::set<std::string> service_set(service_names().begin(), service_names().end());
  if (auto n = root["only"]) {
    if (!n.IsSequence() || n.size() == 0) {
      w.issue(n, "only must be a list of services, like [catalog, order]");
    } else {
      std::vector<std::string> only;
      const auto issues_before = w.issues.size();
      for (const auto& item : n) {
        auto s = w.string(item, "only");
        if (!s) continue;
        if (!service_set.count(*s))
          w.issue(item, "only: no service '" + *s +
                            "' (gateway, auth, catalog, order, payment, provider)");
        else if (std::find(only.begin(), only.end(), *s) == only.end())
          only.push_back(*s);
      }
      if (w.issues.size() == issues_before) config.only = std::move(only);
    }
  }
  if (auto n = root["peers"]) {
    if (w.check_map(n, "peers", service_set)) {
      for (const auto& kv : n) {
        const auto name = kv.first.Scalar();
        if (!service_set.count(name)) continue;
        PeerAddress peer;
        std::optional<std::string> url, admin;
        if (kv.second.IsMap()) {
          const auto issues_before = w.issues.size();
          if (!w.check_map(kv.second, "peers." + name, {"url", "admin"}) ||
              w.issues.size() != issues_before)
            continue;
          if (auto u = kv.second["url"])
            url = w.string(u, "peers." + name + ".url");
          else
            w.issue(kv.second, "peers." + name + " needs url");
          if (auto a = kv.second["admin"]) admin = w.string(a, "peers." + name + ".admin");
        } else {
          url = w.string(kv.second, "peers." + name);
        }
        auto valid = [&](const std::optional<std::string>& text, const std::string& key) {
          if (!text) return false;
          if (auto why = http::base_url_problem(*text)) {
            w.issue(kv.second,
                    key + " must be a URL like http://10.0.0.2:7002, got '" + *text + "': " + *why);
            return false;
          }
          return true;
        };
        if (!valid(url, "peers." + name)) continue;
        if (admin && !valid(admin, "peers." + name + ".admin")) continue;
        peer.url = *url;
        if (admin) peer.admin = *admin;
        config.peers[name] = std::move(peer);
      }
    }
  }
  if (auto n = root["admin_port"]) {
    if (auto p = w.integer(n, "admin_port", 0, 65535)) {
      config.admin_port = static_cast<std::uint16_t>(*p);
      for (const auto& [service, port] : config.ports) {
        if (*p != 0 && port == *p)
          w.issue(n, "admin_port " + std::to_string(*p) + " is also ports." + service +
                         ": the admin plane needs a port of its own");
      }
    }
  }
  if (auto n = root["seed"]) {
    if (auto s = w.integer(n, "seed", 0, INT64_MAX)) config.seed = static_cast<std::uint64_t>(*s);
  }
  if (auto n = root["secrets"]) {
    if (w.check_map(
            n, "secrets",
            {"jwt_secret", "service_key", "webhook_secret", "admin_token", "provider_api_key"})) {
      // `in_header`: the value travels in a header (X-Admin-Token, Authorization), so it is
      // visible ASCII without spaces; a CR or LF in an admin token made a shop whose admin
      // plane nobody could use. Every secret has at least 32 characters.
      auto secret = [&](const char* name, std::string& out, bool in_header) {
        const auto s = n[name];
        if (!s) return;
        const std::string what = std::string("secrets.") + name;
        const auto v = w.string(s, what);
        if (!v) return;
        const bool visible =
            std::all_of(v->begin(), v->end(), [](char c) { return c > 0x20 && c < 0x7f; });
        if (in_header && (v->size() < 32 || v->size() > 200 || !visible))
          w.issue(s, what + " must be 32 to 200 visible ASCII characters without spaces");
        else if (v->size() < 32)
          w.issue(s, what + " must have at least 32 characters");
        else
          out = *v;
      };
      secret("jwt_secret", config.jwt_secret, false);
      secret("service_key", config.service_key, false);
      secret("webhook_secret", config.webhook_secret, false);
      secret("admin_token", config.admin_token, true);
      secret("provider_api_key", config.provider_api_key, true);
    }
  }
  if (auto n = root["http"]) {
    if (w.check_map(n, "http",
                    {"max_connections", "header_timeout", "body_timeout", "idle_timeout",
                     "stalled_body", "allowed_hosts"})) {
      if (auto a = n["allowed_hosts"]) {
        if (!a.IsSequence()) {
          w.issue(a, "http.allowed_hosts must be a list of host names, like [shop.example]");
        } else {
          // A later --config file's list replaces an earlier one's, as every other setting
          // does: it was added to it, so an override file could not take a name out (nor
          // `[]` clear the list; an outside probe).
          config.http_allowed_hosts.clear();
          for (const auto& item : a) {
            auto v = w.string(item, "http.allowed_hosts");
            if (!v) continue;
            const bool plain =
                !v->empty() && v->size() <= 253 && std::all_of(v->begin(), v->end(), [](char c) {
                  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                         c == '_' || c == '*';
                });
            if (!plain || (v->find('*') != std::string::npos && *v != "*")) {
              w.issue(
                  item,
                  "http.allowed_hosts: '" + v->substr(0, 100) +
                      "' is not a host name (letters, digits, '.', '-', '_'; or \"*\" for any)");
            } else {
              config.http_allowed_hosts.push_back(*v);
            }
          }
        }
      }
      if (auto m = n["max_connections"]) {
        if (auto v = w.integer(m, "http.max_connections", 1, 1'000'000))
          config.http_max_connections = static_cast<std::size_t>(*v);
      }
      auto timeout = [&](const char* key, std::chrono::milliseconds& into) {
        auto t = n[key];
        if (!t) return;
        auto d = w.duration(t, std::string("http.") + key);
        if (!d) return;
        if (*d < std::chrono::milliseconds(1)) {
          w.issue(t, std::string("http.") + key + " must be at least 1ms");
        } else {
          into = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
        }
      };
      timeout("header_timeout", config.http_header_timeout);
      timeout("body_timeout", config.http_body_timeout);
      timeout("idle_timeout", config.http_idle_timeout);
      timeout("stalled_body", config.http_stalled_body);
    }
  }
  if (auto n = root["auth"]) {
    if (w.check_map(n, "auth",
                    {"token_ttl", "password_hashing", "password_workers", "password_queue",
                     "login_throttle", "demo_user"})) {
      if (auto p = n["password_workers"]) {
        if (auto v = w.integer(p, "auth.password_workers", 1, 64))
          config.password_workers = static_cast<unsigned>(*v);
      }
      if (auto p = n["password_queue"]) {
        if (auto v = w.integer(p, "auth.password_queue", 0, 100'000))
          config.password_queue = static_cast<std::size_t>(*v);
      }
      if (auto t = n["token_ttl"]) {
        if (auto d = w.duration(t, "auth.token_ttl", std::chrono::seconds(1))) {
          if (*d < std::chrono::seconds(1))
            w.issue(t, "auth.token_ttl must be at least 1s");
          else
            config.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(*d);
        }
      }
      if (auto p = n["password_hashing"]) {
        auto v = w.string(p, "auth.password_hashing");
        if (v == "owasp")
          config.password_hashing = platform::security::PasswordHashing::owasp();
        else if (v == "fast")
          config.password_hashing = platform::security::PasswordHashing::fast_for_tests();
        else if (v)
          w.issue(p, "auth.password_hashing must be owasp or fast");
      }
      if (auto t = n["login_throttle"]) {
        if (w.check_map(t, "auth.login_throttle", {"max_failures", "window"})) {
          if (auto m = t["max_failures"]) {
            if (auto v = w.integer(m, "auth.login_throttle.max_failures", 1, 1000))
              config.login_max_failures = static_cast<int>(*v);
          }
          if (auto m = t["window"]) {
            // A window under a second kept no failure at all: 0s, 1ms or 999ms turned the
            // throttle off without a word (an outside probe).
            if (auto d = w.duration(m, "auth.login_throttle.window", std::chrono::seconds(1))) {
              if (*d < std::chrono::seconds(1))
                w.issue(m, "auth.login_throttle.window must be at least 1s");
              else
                config.login_window = std::chrono::duration_cast<std::chrono::seconds>(*d);
            }
          }
        }
      }
      if (auto d = n["demo_user"]) {
        if (w.check_map(d, "auth.demo_user", {"enabled", "email", "password"})) {
          if (auto e = d["enabled"]) {
            auto j = platform::yaml_to_json(e);
            if (!j.is_boolean())
              w.issue(e, "auth.demo_user.enabled must be true or false");
            else
              config.seed_demo_user = j.get<bool>();
          }
          // The demo user must be one a visitor could register: the API's own rules, else
          // the shop started with a user nobody can log in as (an email "bad" is refused by
          // the login's checks; a one-letter password by nothing but this).
          if (auto e = d["email"]) {
            if (auto v = w.string(e, "auth.demo_user.email")) {
              if (!auth::normalize_email(*v) || v->size() > auth::kMaxEmailFieldLength)
                w.issue(e, "auth.demo_user.email is not a valid email address (local@domain.tld)");
              else
                config.demo_email = *v;
            }
          }
          if (auto e = d["password"]) {
            if (auto v = w.string(e, "auth.demo_user.password")) {
              const auto length = platform::utf8_length(*v);
              // Characters at both ends, as the API counts a password (it said "1024 bytes").
              if (length < auth::kMinPasswordLength || length > auth::kMaxPasswordLength)
                w.issue(e, "auth.demo_user.password must have from " +
                               std::to_string(auth::kMinPasswordLength) + " to " +
                               std::to_string(auth::kMaxPasswordLength) + " characters");
              else
                config.demo_password = *v;
            }
          }
        }
      }
    }
  }
  if (auto n = root["gateway"]) {
    if (w.check_map(n, "gateway", {"upstream_timeout", "trusted_proxies"})) {
      if (auto a = n["trusted_proxies"]) {
        if (!a.IsSequence()) {
          w.issue(a, "gateway.trusted_proxies must be a list of IP addresses, like [10.0.0.5]");
        } else {
          // Replaced by a later file's list, not added to: a retired proxy stayed trusted for
          // X-Forwarded-For whatever an override file said (an outside probe).
          config.gateway_trusted_proxies.clear();
          for (const auto& item : a) {
            auto v = w.string(item, "gateway.trusted_proxies");
            if (!v) continue;
            // As the OS writes a peer's address, which is what it is compared with.
            if (auto address = http::canonical_ip_address(*v); address && *address == *v) {
              config.gateway_trusted_proxies.push_back(*address);
            } else if (address && v->find_first_of("[]") == std::string::npos &&
                       std::count(v->begin(), v->end(), ':') > 1) {
              // IPv6 in another spelling, or IPv4-mapped (::ffff:a.b.c.d, kept as a.b.c.d);
              // one colon is an IPv4 address with a port.
              config.gateway_trusted_proxies.push_back(*address);
            } else {
              w.issue(item, "gateway.trusted_proxies: '" + v->substr(0, 100) +
                                "' is not an IP address (a proxy is trusted by its address, "
                                "with no port)");
            }
          }
        }
      }
      if (auto t = n["upstream_timeout"]) {
        if (auto d = w.duration(t, "gateway.upstream_timeout")) {
          if (*d < std::chrono::milliseconds(1) || *d > std::chrono::hours(1)) {
            w.issue(t, "gateway.upstream_timeout must be from 1ms to 1h");
          } else {
            config.gateway_upstream_timeout =
                std::chrono::duration_cast<std::chrono::milliseconds>(*d);
          }
        }
      }
    }
  }
  if (auto n = root["catalog"]) {
    if (w.check_map(n, "catalog", {"file"})) {
      if (auto f = n["file"]) {
        if (auto v = w.string(f, "catalog.file")) {
          if (v->empty()) {
            w.issue(f, "catalog.file must name a file");
          } else {
            std::filesystem::path file(*v);
            if (file.is_relative() && !relative_to.empty()) file = relative_to / file;
            config.catalog_file = file.lexically_normal();
          }
        }
      }
    }
  }
  if (auto n = root["order"]) {
    if (w.check_map(n, "order",
                    {"catalog_client", "payment_client", "circuit_breakers", "payment_timeout",
                     "max_unpaid_orders"})) {
      if (auto c = n["catalog_client"])
        w.client(c, "order.catalog_client", config.order_catalog_client);
      if (auto c = n["payment_client"])
        w.client(c, "order.payment_client", config.order_payment_client);
      if (auto c = n["circuit_breakers"]) w.breakers(c, "order.circuit_breakers", config);
      if (auto t = n["payment_timeout"]) {
        if (auto d = w.duration(t, "order.payment_timeout")) {
          if (*d < std::chrono::seconds(1))
            w.issue(t, "order.payment_timeout must be at least 1s");
          else
            config.order_payment_timeout =
                std::chrono::duration_cast<std::chrono::milliseconds>(*d);
        }
      }
      if (auto m = n["max_unpaid_orders"]) {
        if (auto v = w.integer(m, "order.max_unpaid_orders", 0, 1'000'000))
          config.order_max_unpaid_orders = *v;
      }
    }
  }
  if (auto n = root["payment"]) {
    if (w.check_map(n, "payment",
                    {"order_client", "provider_client", "circuit_breakers", "outbox",
                     "webhook_tolerance", "reconcile"})) {
      if (auto c = n["order_client"]) {
        w.client(c, "payment.order_client", config.payment_order_client);
        // A callback is one attempt: payment's outbox retries it, on its own schedule
        // (payment.outbox). More attempts were taken, printed as in force and never made (an
        // outside probe).
        const YAML::Node attempts = c.IsMap() && c["retry"] && c["retry"].IsMap()
                                        ? c["retry"]["max_attempts"]
                                        : YAML::Node();
        if (attempts && !attempts.IsNull() && config.payment_order_client.retry.max_attempts != 1) {
          w.issue(attempts,
                  "payment.order_client.retry.max_attempts must be 1: a callback to order is one "
                  "attempt, and payment's outbox retries it on its own schedule "
                  "(payment.outbox.initial_backoff, max_backoff)");
          config.payment_order_client.retry.max_attempts = 1;
        }
      }
      if (auto c = n["provider_client"])
        w.client(c, "payment.provider_client", config.payment_provider_client);
      if (auto c = n["circuit_breakers"]) w.breakers(c, "payment.circuit_breakers", config);
      if (auto o = n["outbox"]) {
        if (w.check_map(o, "payment.outbox", {"initial_backoff", "max_backoff"})) {
          // As provider.webhook_retry: at least 1ms each, and the ceiling not below the start
          // (an inverted pair was accepted).
          if (auto b = o["initial_backoff"])
            w.positive_millis(b, "payment.outbox.initial_backoff", config.outbox_initial_backoff);
          if (auto b = o["max_backoff"])
            w.positive_millis(b, "payment.outbox.max_backoff", config.outbox_max_backoff);
          if (config.outbox_max_backoff < config.outbox_initial_backoff)
            w.issue(o, "payment.outbox.max_backoff must not be below initial_backoff");
        }
      }
      if (auto t = n["webhook_tolerance"]) {
        if (auto d = w.duration(t, "payment.webhook_tolerance")) {
          // The signature's timestamp is in whole seconds (Stripe's `t=`), so the tolerance is
          // too: 500ms, 1ms and 0s were taken as 0 s, and a webhook signed a second ago was
          // stale; 1500ms became 1 s (an outside probe).
          if (*d < std::chrono::seconds(1) ||
              *d % std::chrono::seconds(1) != std::chrono::nanoseconds(0)) {
            w.issue(t,
                    "payment.webhook_tolerance must be whole seconds, at least 1s (the "
                    "signature's timestamp counts seconds), not '" +
                        t.Scalar() + "'");
          } else {
            config.webhook_tolerance = std::chrono::duration_cast<std::chrono::seconds>(*d);
          }
        }
      }
      if (auto r = n["reconcile"]) {
        if (w.check_map(r, "payment.reconcile", {"after"})) {
          if (auto a = r["after"])
            w.positive_millis(a, "payment.reconcile.after", config.reconcile_after);
        }
      }
    }
  }
  if (auto n = root["provider"]) {
    if (w.check_map(n, "provider", {"webhook_retry", "public_url"})) {
      if (auto u = n["public_url"]) {
        if (auto text = w.string(u, "provider.public_url")) {
          auto url = *text;
          while (!url.empty() && url.back() == '/') url.pop_back();
          bool ok = (url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0) &&
                    url.find_first_of(" \t\r\n\"<>") == std::string::npos;
          if (!ok)
            w.issue(u,
                    "provider.public_url must be an http:// or https:// URL, got '" + *text + "'");
          else
            config.provider_public_url = url;
        }
      }
      if (auto r = n["webhook_retry"]) {
        if (w.check_map(r, "provider.webhook_retry",
                        {"initial_backoff", "max_backoff", "give_up_after"})) {
          if (auto b = r["initial_backoff"]) {
            w.positive_millis(b, "provider.webhook_retry.initial_backoff",
                              config.webhook_retry_initial_backoff);
          }
          if (auto b = r["max_backoff"]) {
            w.positive_millis(b, "provider.webhook_retry.max_backoff",
                              config.webhook_retry_max_backoff);
          }
          if (auto b = r["give_up_after"]) {
            w.positive_millis(b, "provider.webhook_retry.give_up_after",
                              config.webhook_retry_give_up_after);
          }
          if (config.webhook_retry_max_backoff < config.webhook_retry_initial_backoff) {
            w.issue(r, "provider.webhook_retry.max_backoff must not be below initial_backoff");
          }
        }
      }
    }
  }
  if (auto n = root["storage"]) {
    // storage.synchronous: one level for every database, or a map by database.
    if (w.check_map(n, "storage", {"synchronous"})) {
      auto level = [&](const YAML::Node& v,
                       const std::string& what) -> std::optional<platform::Synchronous> {
        auto s = v.IsScalar() ? std::optional<std::string>(v.Scalar()) : std::nullopt;
        if (s == "full") return platform::Synchronous::full;
        if (s == "normal") return platform::Synchronous::normal;
        w.issue(v, what + " must be full or normal");
        return std::nullopt;
      };
      if (auto v = n["synchronous"]) {
        if (v.IsMap()) {
          std::set<std::string> databases;
          for (const auto& [db, _] : config.synchronous) databases.insert(db);
          if (w.check_map(v, "storage.synchronous", databases)) {
            for (const auto& kv : v) {
              auto db = kv.first.Scalar();
              if (!databases.count(db)) continue;
              if (auto l = level(kv.second, "storage.synchronous." + db))
                config.synchronous[db] = *l;
            }
          }
        } else if (auto l = level(v, "storage.synchronous")) {
          for (auto& [db, each] : config.synchronous) each = *l;
        }
      }
    }
  }
  // One attempt of a service's client must end before the gateway's upstream deadline: a
  // client still waiting when the gateway answered 504 went on to finish the work (an item
  // added to the cart after the shopper was told it failed). Judged on the settings as they
  // end up, whichever side this config moved, at the key it set.
  auto node_at = [](const YAML::Node& top, const char* section, const char* key) {
    if (!top.IsMap() || !top[section] || !top[section].IsMap()) return YAML::Node();
    const YAML::Node n = top[section][key];
    return n ? n : YAML::Node();
  };
  const YAML::Node gateway_limit = node_at(root, "gateway", "upstream_timeout");
  const struct {
    const char* section;
    const char* client;
    const ClientSettings& settings;
  } clients[] = {{"order", "catalog_client", config.order_catalog_client},
                 {"order", "payment_client", config.order_payment_client},
                 {"payment", "order_client", config.payment_order_client},
                 {"payment", "provider_client", config.payment_provider_client}};
  for (const auto& c : clients) {
    if (c.settings.timeout < config.gateway_upstream_timeout) continue;
    // A default-constructed YAML::Node is a defined null, with no position: "absent" is
    // told by IsNull too (the error was placed at 0:0).
    auto set = [](const YAML::Node& n) { return n && !n.IsNull(); };
    const YAML::Node client = node_at(root, c.section, c.client);
    const YAML::Node timeout = set(client) && client.IsMap() ? client["timeout"] : YAML::Node();
    const YAML::Node at = set(timeout) ? timeout : gateway_limit;
    if (!set(at)) continue;  // neither set here: the settings it applies over were judged already
    w.issue(at, std::string(c.section) + "." + c.client + ".timeout (" +
                    platform::format_duration(c.settings.timeout) +
                    ", one attempt) must be shorter than the gateway's upstream deadline "
                    "gateway.upstream_timeout (" +
                    platform::format_duration(config.gateway_upstream_timeout) +
                    "): a call still running when the gateway answers 504 finishes work the "
                    "client was told failed");
  }
  return w.issues;
}

}  // namespace

std::optional<std::string> host_address_problem(const std::string& host, const std::string& what) {
  unsigned char address[sizeof(in6_addr)];
  const bool v4 = ::inet_pton(AF_INET, host.c_str(), address) == 1;
  if (!v4 && ::inet_pton(AF_INET6, host.c_str(), address) != 1)
    return what + " takes an IP address of this machine (like 127.0.0.1, 0.0.0.0 or ::1), not '" +
           host + "'";
  // A broadcast or multicast address binds, but no connection reaches it.
  const bool broadcast =
      v4 && ((address[0] == 127 && address[1] == 255 && address[2] == 255 && address[3] == 255) ||
             address[0] >= 224);
  if (broadcast || (!v4 && address[0] == 0xff))
    return what + " '" + host +
           "' is a broadcast or multicast address, which no connection reaches: give an address "
           "of this machine (like 127.0.0.1, 0.0.0.0 or ::1)";
  return std::nullopt;
}

std::vector<ConfigIssue> apply_config(const YAML::Node& root, ShopConfig& config,
                                      const std::filesystem::path& relative_to) {
  auto issues = collect_config_issues(root, config, relative_to);
  // In the order of the file, as `shopctl validate` reports (a key's problem came before the
  // problem of a value on an earlier line: 3:3 before 2:29).
  std::stable_sort(issues.begin(), issues.end(), [](const ConfigIssue& a, const ConfigIssue& b) {
    return std::pair(a.line, a.column) < std::pair(b.line, b.column);
  });
  return issues;
}

std::vector<ConfigIssue> runtime_config_refusals(const YAML::Node& root) {
  std::vector<ConfigIssue> out;
  if (!root || !root.IsMap()) return out;
  auto refuse = [&](const YAML::Node& key, const std::string& name, const std::string& why) {
    auto m = key.Mark();
    out.push_back({m.line + 1, m.column + 1,
                   "config key '" + name + "' cannot change on a running shop (--target): " + why});
  };
  // What a running shop takes: an allow-list, so that a key added later is refused until it
  // is made to apply at run time (Shop::apply_runtime_config). An empty set: the whole key.
  static const std::map<std::string, std::set<std::string>> runtime = {
      {"seed", {}},
      {"auth", {"token_ttl", "login_throttle"}},
      {"order",
       {"catalog_client", "payment_client", "circuit_breakers", "payment_timeout",
        "max_unpaid_orders"}},
      {"payment",
       {"order_client", "provider_client", "circuit_breakers", "outbox", "webhook_tolerance",
        "reconcile"}},
      {"provider", {"webhook_retry"}},
  };
  // Why the others are fixed: said once, in the message. By key, or by key.subkey.
  static const std::map<std::string, std::string> why = {
      {"host", "the services are bound to their address when the shop starts"},
      {"only", "which services a process runs is fixed when it starts"},
      {"peers", "the other processes' addresses are fixed when the shop starts"},
      {"admin_port", "the admin plane is bound to its port when the shop starts"},
      {"ports", "the services are bound to their ports when the shop starts"},
      {"data_dir", "the databases are opened when the shop starts"},
      {"storage", "the databases are opened with it when the shop starts"},
      {"secrets",
       "the shop's secrets are fixed when it starts (tokens and signatures already issued depend "
       "on them)"},
      {"catalog", "the catalog file only seeds the catalog database on the shop's first start"},
      {"gateway", "the gateway reads its upstream time limit when the shop starts"},
      {"gateway.trusted_proxies",
       "the gateway reads the proxies it trusts for X-Forwarded-For when the shop starts"},
      {"auth.password_hashing",
       "hashes made while it applied would keep their cost after the reset (a cheaper one stays "
       "weak), and unknown emails are checked against one hash made at the shop's own cost, so "
       "login times would tell those accounts from unknown emails"},
      {"auth.password_workers", "the password-hashing threads are started when the shop starts"},
      {"auth.password_queue", "the password-hashing queue is sized when the shop starts"},
      {"auth.demo_user", "the demo user is created when the shop starts"},
      {"provider.public_url", "the provider's pay links are built with it from the shop's start"},
  };
  const std::string default_why = "the service reads it when the shop starts";
  auto reason_for = [&](const std::string& key, const std::string& sub) -> const std::string& {
    auto it = why.find(key + "." + sub);
    if (it == why.end()) it = why.find(key);
    return it == why.end() ? default_why : it->second;
  };
  for (const auto& kv : root) {
    const auto key = kv.first.Scalar();
    auto allowed = runtime.find(key);
    if (allowed != runtime.end()) {
      if (allowed->second.empty() || !kv.second.IsMap()) continue;
      for (const auto& sub : kv.second) {
        const auto name = sub.first.Scalar();
        if (!allowed->second.count(name))
          refuse(sub.first, key + "." + name, reason_for(key, name));
      }
      continue;
    }
    if (kv.second.IsMap() && kv.second.size() > 0) {
      for (const auto& sub : kv.second) {
        const auto name = sub.first.Scalar();
        refuse(sub.first, key + "." + name, reason_for(key, name));
      }
    } else {
      auto it = why.find(key);
      refuse(kv.first, key, it == why.end() ? default_why : it->second);
    }
  }
  return out;
}

namespace {

// Applies `root` over `base`; throws std::runtime_error with one "name:line:col: message" line
// per issue.
std::string issues_text(const std::string& name, const std::vector<ConfigIssue>& issues) {
  std::string all;
  for (const auto& i : issues) {
    all += name + ":" + std::to_string(i.line) + ":" + std::to_string(i.column) + ": " + i.message +
           "\n";
  }
  if (!all.empty()) all.pop_back();
  return all;
}

// `text` read as YAML and applied over `base`; every problem thrown as one ConfigFileError.
ShopConfig apply_text(const std::string& text, const std::string& name, ShopConfig base,
                      const std::filesystem::path& relative_to = {}) {
  YAML::Node root;
  try {
    root = platform::load_yaml_document(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigFileError(name, {{e.mark.line + 1, e.mark.column + 1, e.msg}}, text);
  }
  auto issues = apply_config(root, base, relative_to);
  if (!issues.empty()) throw ConfigFileError(name, std::move(issues), text);
  return base;
}

}  // namespace

ConfigFileError::ConfigFileError(std::string file, std::vector<ConfigIssue> issues,
                                 std::string text)
    : std::runtime_error(issues_text(file, issues)),
      file_(std::move(file)),
      issues_(std::move(issues)),
      text_(std::move(text)) {}

ShopConfig load_config_file(const std::filesystem::path& file, ShopConfig base) {
  std::string text;
  try {
    text = platform::read_input_file(file);
  } catch (const platform::InputFileError& e) {
    throw std::runtime_error(file.string() + ": cannot read the config file: " + e.what());
  }
  std::error_code ec;
  const auto folder = std::filesystem::absolute(file, ec).parent_path();
  return apply_text(text, file.string(), std::move(base), ec ? file.parent_path() : folder);
}

ShopConfig load_config_text(const std::string& text, const std::string& name, ShopConfig base) {
  return apply_text(text, name, std::move(base));
}

std::string describe_config(const ShopConfig& c) {
  nlohmann::json j;
  j["host"] = c.host;
  for (const auto& [s, p] : c.ports) j["ports"][s] = p;
  if (!c.only.empty()) j["only"] = c.only;
  for (const auto& [s, p] : c.peers) j["peers"][s] = {{"url", p.url}, {"admin", p.admin}};
  if (c.admin_port) j["admin_port"] = *c.admin_port;
  j["data_dir"] = c.data_dir.string();
  j["seed"] = c.seed;
  j["http"] = {{"max_connections", c.http_max_connections},
               {"header_timeout", platform::format_duration(c.http_header_timeout)},
               {"body_timeout", platform::format_duration(c.http_body_timeout)},
               {"idle_timeout", platform::format_duration(c.http_idle_timeout)},
               {"stalled_body", platform::format_duration(c.http_stalled_body)},
               {"allowed_hosts", c.http_allowed_hosts}};
  j["gateway"] = {{"upstream_timeout", platform::format_duration(c.gateway_upstream_timeout)},
                  {"trusted_proxies", c.gateway_trusted_proxies}};
  j["auth"] = {
      {"token_ttl", platform::format_duration(c.token_ttl)},
      {"password_workers", c.password_workers},
      {"password_queue", c.password_queue},
      {"login_throttle",
       {{"max_failures", c.login_max_failures},
        {"window", platform::format_duration(c.login_window)}}},
      {"demo_user",
       {{"enabled", c.seed_demo_user}, {"email", c.demo_email}, {"password", c.demo_password}}}};
  // The two costs a config file can name; another (a program's own) is not printed.
  const auto owasp = platform::security::PasswordHashing::owasp();
  const auto fast = platform::security::PasswordHashing::fast_for_tests();
  auto same = [](const platform::security::PasswordHashing& a,
                 const platform::security::PasswordHashing& b) {
    return a.ops_limit == b.ops_limit && a.mem_limit_bytes == b.mem_limit_bytes;
  };
  if (same(c.password_hashing, owasp))
    j["auth"]["password_hashing"] = "owasp";
  else if (same(c.password_hashing, fast))
    j["auth"]["password_hashing"] = "fast";
  if (c.catalog_file) j["catalog"]["file"] = c.catalog_file->string();
  auto client = [](const ClientSettings& s) {
    return nlohmann::json{{"timeout", platform::format_duration(s.timeout)},
                          {"retry", s.retry.to_json()}};
  };
  j["order"]["catalog_client"] = client(c.order_catalog_client);
  j["order"]["payment_client"] = client(c.order_payment_client);
  j["order"]["payment_timeout"] = platform::format_duration(c.order_payment_timeout);
  j["order"]["max_unpaid_orders"] = c.order_max_unpaid_orders;
  j["payment"]["order_client"] = client(c.payment_order_client);
  j["payment"]["provider_client"] = client(c.payment_provider_client);
  j["payment"]["reconcile"] = {{"after", platform::format_duration(c.reconcile_after)}};
  j["payment"]["outbox"] = {
      {"initial_backoff", platform::format_duration(c.outbox_initial_backoff)},
      {"max_backoff", platform::format_duration(c.outbox_max_backoff)}};
  j["payment"]["webhook_tolerance"] = platform::format_duration(c.webhook_tolerance);
  if (!c.provider_public_url.empty()) j["provider"]["public_url"] = c.provider_public_url;
  j["provider"]["webhook_retry"] = {
      {"initial_backoff", platform::format_duration(c.webhook_retry_initial_backoff)},
      {"max_backoff", platform::format_duration(c.webhook_retry_max_backoff)},
      {"give_up_after", platform::format_duration(c.webhook_retry_give_up_after)}};
  // Where a config file takes them, under the caller's section ("order->catalog" under
  // order): printed at the top level, the output could not be given back to --config.
  for (const auto& [edge, b] : c.breakers)
    j[edge.substr(0, edge.find("->"))]["circuit_breakers"][edge] = b.to_json();
  for (const auto& [db, level] : c.synchronous)
    j["storage"]["synchronous"][db] = platform::to_string(level);
  return platform::json_text(j, 2);  // config text may hold any bytes
}

}  // namespace shopctl::shop
