#pragma once
// A shop's identity across restarts: the service ports it first picked at random and the
// secrets it first generated, kept in <data_dir>/identity.json. A shop started again on the
// same folder (after a stop or a SIGKILL) answers on the same URLs and still honours what it
// handed out before: pay links, shoppers' tokens, signed provider events, service tokens.
// A temporary data folder keeps nothing. The rules (docs/configuration.md, "Identity"):
// - a secret or a non-zero port given by config (or a flag) wins for that start and is never
//   written to the file; a value the file holds stays there for the starts without it;
// - otherwise the stored value is used; otherwise one is generated (a port: picked by the
//   system at bind time) and stored.
// The logic (apply_identity, record_bound_ports) is pure; read/write are the only file I/O.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "shop/config.hpp"

namespace shopctl::shop {

// identity.json cannot be read, or holds something other than a valid identity.
class IdentityError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Identity {
  std::map<std::string, std::uint16_t> ports;  // by service name
  std::map<std::string, std::string> secrets;  // by identity_secret_names()
  bool operator==(const Identity&) const = default;
};

// The secrets an identity keeps: jwt_secret, service_key, webhook_secret, admin_token,
// provider_api_key (the names of the `secrets:` config keys).
const std::vector<std::string>& identity_secret_names();

// The secrets a process that runs `services` uses: admin_token always (every process has an
// admin plane), then gateway and auth jwt_secret, every service but the provider service_key,
// payment and provider webhook_secret and provider_api_key. Empty `services`: the whole shop,
// every secret. A process of a split shop holds only these (docs/deploy.md, "Secrets").
std::set<std::string> secrets_used_by(const std::vector<std::string>& services);
// The field of the secret `name` (one of identity_secret_names()) in `config`.
std::string& secret_field(ShopConfig& config, const std::string& name);
const std::string& secret_field(const ShopConfig& config, const std::string& name);

// <data_dir>/identity.json
std::filesystem::path identity_file(const std::filesystem::path& data_dir);

// Reads `file`; nullopt when it does not exist. Throws IdentityError, naming the file and what
// is wrong, when it cannot be read or is not an identity (bad JSON, an unknown key, a secret
// that is not a non-empty string or is too short, a port outside 1..65535).
std::optional<Identity> read_identity(const std::filesystem::path& file);

// Replaces `file` atomically: a temporary file in the same folder created with mode 0600,
// written and fsynced, renamed over `file`, then the folder fsynced. Throws IdentityError.
void write_identity(const std::filesystem::path& file, const Identity& identity);

// <data_dir>/clock.json: how far the shop's clock is ahead of real time ({"offset_ns": N}),
// written by every advance through the admin plane, so that a shop started again on its folder
// goes on at the time it had reached (its due retries and expiries were scheduled by it; a
// restart that went back to real time left a captured payment's order PAYMENT_PENDING for
// as long as the advance). A shop's clock never goes back.
std::filesystem::path clock_file(const std::filesystem::path& data_dir);
// 0 when the file does not exist; throws IdentityError when it cannot be read or holds
// anything but an offset from 0 to SimulatedClock::kMaxOffset.
std::chrono::nanoseconds read_clock_offset(const std::filesystem::path& file);
// As write_identity does. Throws IdentityError.
void write_clock_offset(const std::filesystem::path& file, std::chrono::nanoseconds offset);

struct AppliedIdentity {
  Identity to_store;                   // what the file should hold now
  std::set<std::string> shop_ports;    // services whose port is the shop's own (not configured)
  std::set<std::string> stored_ports;  // ... of which the file gave the port
};

// Fills `config`'s empty secrets (stored, else generated) and its missing or zero ports of
// stored services, following the rules above. `stored` is the file's content (empty: none).
// With `used`, only those secrets are filled; the others stay as the config has them (empty:
// this process does not hold them).
AppliedIdentity apply_identity(ShopConfig& config, const Identity& stored,
                               const std::set<std::string>* used = nullptr);

// After the services have bound: records the port of each of `applied.shop_ports` from
// `bound` (service -> port) into `applied.to_store`.
void record_bound_ports(AppliedIdentity& applied,
                        const std::map<std::string, std::uint16_t>& bound);

}  // namespace shopctl::shop
