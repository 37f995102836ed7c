#include "shop/identity.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "platform/clock.hpp"
#include "platform/json_text.hpp"
#include "platform/security/random.hpp"

namespace shopctl::shop {

namespace {
// The field of the secret `name` in a config, const or not.
template <class Config>
auto& field_of(Config& c, const std::string& name) {
  if (name == "jwt_secret") return c.jwt_secret;
  if (name == "service_key") return c.service_key;
  if (name == "webhook_secret") return c.webhook_secret;
  if (name == "admin_token") return c.admin_token;
  return c.provider_api_key;
}
}  // namespace

std::string& secret_field(ShopConfig& config, const std::string& name) {
  return field_of(config, name);
}

const std::string& secret_field(const ShopConfig& config, const std::string& name) {
  return field_of(config, name);
}

namespace {

std::string generate_secret(const std::string& name) {
  namespace security = platform::security;
  if (name == "jwt_secret" || name == "service_key") return security::random_hex(32);
  if (name == "webhook_secret") return "whsec_" + security::random_hex(24);
  if (name == "admin_token") return "adm_" + security::random_hex(16);
  return "sk_test_" + security::random_hex(24);
}

// The same rules as the config keys (config.cpp), so a file edited by hand cannot weaken what
// config would refuse: every secret at least 32 characters (a 5-character admin token in the
// file was accepted and granted the admin plane), and the provider key, which travels in an
// Authorization header, at most 200 visible ASCII characters. Empty when `value` passes.
std::string secret_problem(const std::string& name, const std::string& value) {
  if (name == "provider_api_key") {
    // The character first: "sk_test_ aaaa" was told only that it was short.
    const bool visible = std::all_of(value.begin(), value.end(),
                                     [](unsigned char c) { return c > 0x20 && c < 0x7f; });
    if (value.size() < 32 || value.size() > 200 || !visible)
      return std::string("must be 32 to 200 visible ASCII characters") +
             (visible ? "" : " (no spaces or control characters)");
    return {};
  }
  if (value.size() < 32) return "must be a string of at least 32 characters";
  return {};
}

[[noreturn]] void fail(const std::filesystem::path& file, const std::string& what) {
  // What removing the file costs is the file's own: identity.json's secrets, or clock.json's
  // offset (it told an operator with a bad clock.json that tokens would stop working).
  if (file.filename() == "clock.json")
    throw IdentityError(file.string() + ": " + what +
                        " (fix it, or remove the file to start the clock at real time again: "
                        "what was scheduled on the later clock then waits for real time to catch "
                        "up)");
  throw IdentityError(file.string() + ": " + what +
                      " (fix it, or remove the file to start with new ports and secrets: tokens, "
                      "pay links and signed events handed out before would then stop working)");
}

[[noreturn]] void fail_io(const std::filesystem::path& file, const std::string& what) {
  throw IdentityError(file.string() + ": cannot " + what + ": " + std::strerror(errno));
}

// A regular file of a few KB: nullopt when it does not exist. A folder, a device or a link to
// /dev/zero is refused by name instead of read as JSON (or for ever).
std::optional<std::string> read_small_file(const std::filesystem::path& file, const char* what) {
  constexpr std::uintmax_t kMaxBytes = 64 * 1024;
  std::error_code ec;
  const auto status = std::filesystem::status(file, ec);
  if (ec || !std::filesystem::exists(status)) {
    if (!ec || ec == std::errc::no_such_file_or_directory) return std::nullopt;
    errno = ec.value();
    fail_io(file, "read it");
  }
  if (!std::filesystem::is_regular_file(status)) fail(file, "not a regular file");
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::nullopt;
    fail_io(file, "read it");
  }
  std::string text(kMaxBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > kMaxBytes) fail(file, std::string("larger than 64 KiB: not ") + what);
  return text;
}

// Replaces `file` atomically: a temporary file in the same folder created with mode 0600,
// written and fsynced, renamed over `file`, then the folder fsynced.
void write_durably(const std::filesystem::path& file, const std::string& text) {
  auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  auto temp = file;
  temp += ".tmp-" + std::to_string(::getpid());
  // Created 0600 (the umask can only remove bits), so the secrets are never readable by others,
  // not even for the moment before a chmod.
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) fail_io(temp, "create it");
  auto cleanup = [&] {
    ::close(fd);
    ::unlink(temp.c_str());
  };
  if (::fchmod(fd, 0600) != 0) {
    cleanup();
    fail_io(temp, "set its mode to 0600");
  }
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      cleanup();
      fail_io(temp, "write it");
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    cleanup();
    fail_io(temp, "sync it");
  }
  ::close(fd);
  if (::rename(temp.c_str(), file.c_str()) != 0) {
    ::unlink(temp.c_str());
    fail_io(file, "replace it");
  }
  // The rename itself is durable only once the folder is synced.
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace

const std::vector<std::string>& identity_secret_names() {
  static const std::vector<std::string> names = {"jwt_secret", "service_key", "webhook_secret",
                                                 "admin_token", "provider_api_key"};
  return names;
}

std::filesystem::path identity_file(const std::filesystem::path& data_dir) {
  return data_dir / "identity.json";
}

std::optional<Identity> read_identity(const std::filesystem::path& file) {
  auto text = read_small_file(file, "an identity file");
  if (!text) return std::nullopt;
  auto j = platform::parse_json_or_discarded(*text);
  if (j.is_discarded()) fail(file, "not valid JSON");
  if (!j.is_object()) fail(file, "must be a JSON object");
  for (const auto& [key, _] : j.items()) {
    if (key != "version" && key != "ports" && key != "secrets")
      fail(file, "unknown key '" + key + "' (expected version, ports, secrets)");
  }
  if (!j.contains("version") || j["version"] != 1) fail(file, "\"version\" must be 1");

  Identity id;
  if (j.contains("ports")) {
    const auto& ports = j["ports"];
    if (!ports.is_object()) fail(file, "\"ports\" must be an object of service -> port");
    for (const auto& [name, port] : ports.items()) {
      bool known = false;
      for (const auto& s : service_names()) known = known || s == name;
      if (!known) fail(file, "ports: unknown service '" + name + "'");
      if (!port.is_number_integer() || port.get<std::int64_t>() < 1 ||
          port.get<std::int64_t>() > 65535)
        fail(file, "ports." + name + " must be an integer from 1 to 65535");
      const auto number = static_cast<std::uint16_t>(port.get<std::int64_t>());
      // Two services on one port cannot both start, and the second was said to be stopped by
      // "another process" that does not exist (an outside probe).
      for (const auto& [other, taken] : id.ports) {
        if (taken == number) {
          fail(file, "ports: " + other + " and " + name + " both have port " +
                         std::to_string(number) + "; each service needs a port of its own");
        }
      }
      id.ports[name] = number;
    }
  }
  if (j.contains("secrets")) {
    const auto& secrets = j["secrets"];
    if (!secrets.is_object()) fail(file, "\"secrets\" must be an object of name -> string");
    for (const auto& [name, value] : secrets.items()) {
      bool known = false;
      for (const auto& s : identity_secret_names()) known = known || s == name;
      if (!known) fail(file, "secrets: unknown secret '" + name + "'");
      if (!value.is_string()) fail(file, "secrets." + name + " must be a string");
      if (auto problem = secret_problem(name, value.get<std::string>()); !problem.empty())
        fail(file, "secrets." + name + " " + problem);
      id.secrets[name] = value.get<std::string>();
    }
  }
  return id;
}

void write_identity(const std::filesystem::path& file, const Identity& identity) {
  nlohmann::json j = {
      {"version", 1}, {"ports", nlohmann::json::object()}, {"secrets", nlohmann::json::object()}};
  for (const auto& [name, port] : identity.ports) j["ports"][name] = port;
  for (const auto& [name, value] : identity.secrets) j["secrets"][name] = value;
  auto text = j.dump(2) + "\n";

  write_durably(file, text);
}

std::set<std::string> secrets_used_by(const std::vector<std::string>& services) {
  if (services.empty()) {
    const auto& all = identity_secret_names();
    return {all.begin(), all.end()};
  }
  std::set<std::string> used = {"admin_token"};
  for (const auto& service : services) {
    if (service == "gateway" || service == "auth") used.insert("jwt_secret");
    if (service != "provider") used.insert("service_key");
    if (service == "payment" || service == "provider") {
      used.insert("webhook_secret");
      used.insert("provider_api_key");
    }
  }
  return used;
}

AppliedIdentity apply_identity(ShopConfig& config, const Identity& stored,
                               const std::set<std::string>* used) {
  AppliedIdentity out;
  out.to_store = stored;
  for (const auto& name : identity_secret_names()) {
    if (used && !used->count(name)) continue;  // not this process's: not generated, not read
    auto& value = secret_field(config, name);
    if (!value.empty()) continue;  // config wins; the stored one (if any) stays in the file
    auto it = stored.secrets.find(name);
    if (it != stored.secrets.end()) {
      value = it->second;
    } else {
      value = generate_secret(name);
      out.to_store.secrets[name] = value;
    }
  }
  for (const auto& name : service_names()) {
    auto configured = config.ports.find(name);
    if (configured != config.ports.end() && configured->second != 0) continue;  // config wins
    out.shop_ports.insert(name);
    auto it = stored.ports.find(name);
    if (it != stored.ports.end()) {
      config.ports[name] = it->second;
      out.stored_ports.insert(name);
    }
  }
  return out;
}

void record_bound_ports(AppliedIdentity& applied,
                        const std::map<std::string, std::uint16_t>& bound) {
  for (const auto& name : applied.shop_ports) {
    auto it = bound.find(name);
    if (it != bound.end() && it->second != 0) applied.to_store.ports[name] = it->second;
  }
}

std::filesystem::path clock_file(const std::filesystem::path& data_dir) {
  return data_dir / "clock.json";
}

std::chrono::nanoseconds read_clock_offset(const std::filesystem::path& file) {
  auto text = read_small_file(file, "a clock file");
  if (!text) return std::chrono::nanoseconds(0);
  auto j = platform::parse_json_or_discarded(*text);
  if (j.is_discarded()) fail(file, "not valid JSON");
  if (!j.is_object() || j.size() != 1 || !j.contains("offset_ns") ||
      !j["offset_ns"].is_number_integer())
    fail(file, "must be {\"offset_ns\": N}, how far the shop's clock is ahead of real time");
  const auto offset = j["offset_ns"].get<std::int64_t>();
  if (offset < 0 || offset > platform::SimulatedClock::kMaxOffset.count())
    fail(file, "offset_ns must be from 0 to " +
                   std::to_string(platform::SimulatedClock::kMaxOffset.count()));
  return std::chrono::nanoseconds(offset);
}

void write_clock_offset(const std::filesystem::path& file, std::chrono::nanoseconds offset) {
  write_durably(file, nlohmann::json{{"offset_ns", offset.count()}}.dump() + "\n");
}

}  // namespace shopctl::shop
