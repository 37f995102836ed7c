// A shop's identity (shop/identity.hpp): secrets generated once and then reused, ports of the
// shop's own choosing remembered, config winning without overwriting the file, the file written
// 0600, and a corrupt file refused with a message that names it. No sockets.
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <stdlib.h>

#include "../support/temp_dir.hpp"
#include "platform/store/database.hpp"
#include "shop/config.hpp"
#include "shop/identity.hpp"

namespace fs = std::filesystem;
using namespace shopctl::shop;

namespace {

using shopctl::test_support::make_temp_dir;
struct TempDir {
  fs::path path = make_temp_dir("shopctl-idtest");
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};
void write_text(const fs::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary) << text;
}
bool is_hex(const std::string& s) {
  return s.find_first_not_of("0123456789abcdef") == std::string::npos;
}
std::string load_error_of(const fs::path& file) {
  try {
    read_identity(file);
  } catch (const IdentityError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST_CASE("a shop without a stored identity generates every secret and stores each one") {
  ShopConfig config;
  auto applied = apply_identity(config, Identity{});
  CHECK(config.jwt_secret.size() == 64);
  CHECK(config.service_key.size() == 64);
  CHECK(config.webhook_secret.rfind("whsec_", 0) == 0);
  CHECK(config.admin_token.rfind("adm_", 0) == 0);
  REQUIRE(config.provider_api_key.size() == 8 + 48);
  CHECK(config.provider_api_key.rfind("sk_test_", 0) == 0);
  CHECK(is_hex(config.provider_api_key.substr(8)));
  CHECK(applied.to_store.secrets.size() == identity_secret_names().size());
  CHECK(applied.to_store.secrets.at("jwt_secret") == config.jwt_secret);
  CHECK(applied.to_store.secrets.at("provider_api_key") == config.provider_api_key);
  // No port is stored before it is bound; every unconfigured service's port is the shop's.
  CHECK(applied.to_store.ports.empty());
  CHECK(applied.shop_ports.count("provider") == 1);
  CHECK(applied.stored_ports.empty());
}

// Each process of a split shop held every secret: the catalog's host could sign users' tokens
// and mark payments paid. A process holds the secrets its services use, and no other is made.
TEST_CASE("a process holds only the secrets its services use, and generates no other") {
  using Set = std::set<std::string>;
  CHECK(secrets_used_by({"catalog"}) == Set{"admin_token", "service_key"});
  CHECK(secrets_used_by({"order"}) == Set{"admin_token", "service_key"});
  CHECK(secrets_used_by({"gateway"}) == Set{"admin_token", "jwt_secret", "service_key"});
  CHECK(secrets_used_by({"auth"}) == Set{"admin_token", "jwt_secret", "service_key"});
  CHECK(secrets_used_by({"payment"}) ==
        Set{"admin_token", "provider_api_key", "service_key", "webhook_secret"});
  CHECK(secrets_used_by({"provider"}) == Set{"admin_token", "provider_api_key", "webhook_secret"});
  CHECK(secrets_used_by({"catalog", "auth"}) == Set{"admin_token", "jwt_secret", "service_key"});
  CHECK(secrets_used_by({}).size() == identity_secret_names().size());

  ShopConfig config;
  const auto used = secrets_used_by({"catalog"});
  auto applied = apply_identity(config, Identity{}, &used);
  CHECK(config.service_key.size() == 64);
  CHECK(config.admin_token.rfind("adm_", 0) == 0);
  CHECK(config.jwt_secret.empty());
  CHECK(config.webhook_secret.empty());
  CHECK(config.provider_api_key.empty());
  CHECK(applied.to_store.secrets.size() == 2);
  // A stored secret it does not use is not taken either.
  Identity stored;
  stored.secrets["jwt_secret"] = std::string(64, 'a');
  ShopConfig again;
  apply_identity(again, stored, &used);
  CHECK(again.jwt_secret.empty());
}

TEST_CASE(
    "a stored identity is reused as it is: the same secrets and ports, nothing new to store") {
  ShopConfig first;
  first.ports["gateway"] = 8080;
  auto applied = apply_identity(first, Identity{});
  record_bound_ports(applied, {{"gateway", 8080},
                               {"auth", 40001},
                               {"catalog", 40002},
                               {"order", 40003},
                               {"payment", 40004},
                               {"provider", 40005}});
  // The configured gateway port is not the shop's own: it is not stored.
  CHECK(applied.to_store.ports.count("gateway") == 0);
  CHECK(applied.to_store.ports.at("provider") == 40005);

  ShopConfig second;
  second.ports["gateway"] = 8080;
  auto again = apply_identity(second, applied.to_store);
  CHECK(again.to_store == applied.to_store);
  CHECK(second.jwt_secret == first.jwt_secret);
  CHECK(second.service_key == first.service_key);
  CHECK(second.webhook_secret == first.webhook_secret);
  CHECK(second.admin_token == first.admin_token);
  CHECK(second.provider_api_key == first.provider_api_key);
  CHECK(second.ports.at("provider") == 40005);
  CHECK(second.ports.at("auth") == 40001);
  CHECK(second.ports.at("gateway") == 8080);
  CHECK(again.stored_ports.count("provider") == 1);
}

TEST_CASE(
    "a secret or a port given by config wins for that start and is not written over the stored "
    "one") {
  Identity stored;
  stored.secrets["jwt_secret"] = std::string(64, 'a');
  stored.ports["gateway"] = 41000;
  stored.ports["payment"] = 41001;

  ShopConfig config;
  config.jwt_secret = std::string(40, 'z');
  config.ports["payment"] = 9999;
  config.ports["gateway"] = 0;  // `--gateway-port 0`: any port, so the stored one
  auto applied = apply_identity(config, stored);
  CHECK(config.jwt_secret == std::string(40, 'z'));
  CHECK(applied.to_store.secrets.at("jwt_secret") == std::string(64, 'a'));
  CHECK(config.ports.at("payment") == 9999);
  CHECK(applied.shop_ports.count("payment") == 0);
  CHECK(config.ports.at("gateway") == 41000);

  record_bound_ports(applied, {{"payment", 9999}, {"gateway", 41000}, {"order", 41002}});
  CHECK(applied.to_store.ports.at("payment") == 41001);  // the configured port is not stored
  CHECK(applied.to_store.ports.at("order") == 41002);

  // The next start without the config's secret gets the stored one back.
  ShopConfig later;
  apply_identity(later, applied.to_store);
  CHECK(later.jwt_secret == std::string(64, 'a'));
}

TEST_CASE("the identity file is written with mode 0600, read back equal, and replaced atomically") {
  TempDir dir;
  auto file = identity_file(dir.path);
  CHECK(file == dir.path / "identity.json");
  CHECK_FALSE(read_identity(file).has_value());

  ShopConfig config;
  auto applied = apply_identity(config, Identity{});
  record_bound_ports(applied, {{"auth", 40101}, {"provider", 40102}});
  write_identity(file, applied.to_store);

  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto back = read_identity(file);
  REQUIRE(back.has_value());
  CHECK(*back == applied.to_store);

  // Replaced over a wider file: still 0600, and no temporary file is left behind.
  ::chmod(file.c_str(), 0644);
  back->ports["order"] = 40103;
  write_identity(file, *back);
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read_identity(file)->ports.at("order") == 40103);
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path)) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("a corrupt identity file is refused with a message that names the file and the fault") {
  TempDir dir;
  auto file = identity_file(dir.path);

  write_text(file, "{\"version\": 1, \"secrets\": {\"jwt_secret\": ");
  auto message = load_error_of(file);
  CHECK(message.find(file.string()) != std::string::npos);
  CHECK(message.find("not valid JSON") != std::string::npos);
  CHECK(message.find("remove the file") != std::string::npos);

  write_text(file, "[1, 2]");
  CHECK(load_error_of(file).find("must be a JSON object") != std::string::npos);

  write_text(file, R"({"version": 1, "ports": {"auth": 70000}})");
  CHECK(load_error_of(file).find("ports.auth must be an integer from 1 to 65535") !=
        std::string::npos);

  write_text(file, R"({"version": 1, "ports": {"billing": 4000}})");
  CHECK(load_error_of(file).find("unknown service 'billing'") != std::string::npos);

  // Two services on one port: the second was said to be stopped by "another process" that did
  // not exist (an outside probe).
  write_text(file, R"({"version": 1, "ports": {"order": 41000, "payment": 41000}})");
  CHECK(load_error_of(file).find("ports: order and payment both have port 41000") !=
        std::string::npos);

  write_text(file, R"({"version": 1, "secrets": {"jwt_secret": "short"}})");
  CHECK(load_error_of(file).find("secrets.jwt_secret must be a string of at least 32") !=
        std::string::npos);

  // Every secret as config would have it: a 5-character admin token was accepted and granted
  // the admin plane; the provider key is 32 to 200 visible ASCII characters.
  for (const std::string name : {"admin_token", "webhook_secret"}) {
    write_text(file, R"({"version": 1, "secrets": {")" + name + R"(": "adm_x"}})");
    CHECK(load_error_of(file).find("secrets." + name + " must be a string of at least 32") !=
          std::string::npos);
  }
  write_text(file, R"({"version": 1, "secrets": {"provider_api_key": "sk_x"}})");
  CHECK(load_error_of(file).find("secrets.provider_api_key must be 32 to 200 visible ASCII") !=
        std::string::npos);
  // A short key with a space is told of the space too (it was told only that it was short).
  write_text(file, R"({"version": 1, "secrets": {"provider_api_key": "sk_test_ aaaa"}})");
  CHECK(load_error_of(file).find("(no spaces or control characters)") != std::string::npos);
  write_text(
      file,
      R"({"version": 1, "secrets": {"provider_api_key": "sk_test_ has spaces in it, 32+ chars"}})");
  CHECK(load_error_of(file).find("secrets.provider_api_key must be 32 to 200 visible ASCII") !=
        std::string::npos);

  write_text(file, R"({"version": 1, "secrets": {"admin_token": 42}})");
  CHECK(load_error_of(file).find("secrets.admin_token") != std::string::npos);

  write_text(file, R"({"version": 2})");
  CHECK(load_error_of(file).find("\"version\" must be 1") != std::string::npos);

  write_text(file, R"({"version": 1, "port": {}})");
  CHECK(load_error_of(file).find("unknown key 'port'") != std::string::npos);

  write_text(file, "");
  CHECK(load_error_of(file).find("not valid JSON") != std::string::npos);

  // Not a small regular file: refused by name (a folder read as "not valid JSON"; a link to
  // /dev/zero was read for ever).
  write_text(file, std::string(70 * 1024, ' ') + "{}");
  CHECK(load_error_of(file).find("larger than 64 KiB") != std::string::npos);
  std::filesystem::remove(file);
  std::filesystem::create_directory(file);
  CHECK(load_error_of(file).find("not a regular file") != std::string::npos);
  std::filesystem::remove(file);
  std::filesystem::create_symlink("/dev/zero", file);
  CHECK(load_error_of(file).find("not a regular file") != std::string::npos);
  std::filesystem::remove(file);
}

TEST_CASE("storage.synchronous sets one level for every database or one per database") {
  using shopctl::platform::Synchronous;
  ShopConfig defaults;
  CHECK(defaults.synchronous.at("order") == Synchronous::full);
  CHECK(defaults.synchronous.at("payment") == Synchronous::full);
  CHECK(defaults.synchronous.at("provider") == Synchronous::full);
  CHECK(defaults.synchronous.at("auth") == Synchronous::full);
  CHECK(defaults.synchronous.at("catalog") == Synchronous::normal);

  ShopConfig all;
  CHECK(apply_config(YAML::Load("storage: {synchronous: normal}"), all).empty());
  for (const auto& each : all.synchronous)
    CHECK_MESSAGE(each.second == Synchronous::normal, each.first);

  ShopConfig one;
  CHECK(apply_config(YAML::Load("storage: {synchronous: {catalog: full, order: normal}}"), one)
            .empty());
  CHECK(one.synchronous.at("catalog") == Synchronous::full);
  CHECK(one.synchronous.at("order") == Synchronous::normal);
  CHECK(one.synchronous.at("payment") == Synchronous::full);

  ShopConfig bad;
  auto issues = apply_config(YAML::Load("storage: {synchronous: {ledger: full, order: off}}"), bad);
  REQUIRE(issues.size() == 2);
  CHECK(issues[0].message.find("unknown key 'ledger'") != std::string::npos);
  CHECK(issues[1].message == "storage.synchronous.order must be full or normal");

  ShopConfig key;
  CHECK(apply_config(YAML::Load("secrets: {provider_api_key: sk_test_given_0123456789abcdefghij}"),
                     key)
            .empty());
  CHECK(key.provider_api_key == "sk_test_given_0123456789abcdefghij");
}

TEST_CASE("a database opened with synchronous full or normal runs with that SQLite setting") {
  using shopctl::platform::Database;
  using shopctl::platform::Synchronous;
  TempDir dir;
  auto level = [](Database& db) {
    auto st = db.prepare("PRAGMA synchronous");
    REQUIRE(st.step());
    return st.column_int(0);
  };
  Database full(dir.path / "full.db", Synchronous::full);
  Database normal(dir.path / "normal.db", Synchronous::normal);
  CHECK(level(full) == 2);    // FULL
  CHECK(level(normal) == 1);  // NORMAL
}
