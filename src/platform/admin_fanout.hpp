#pragma once
// The admin plane of a shop split over processes (docs/deploy.md). Each process keeps its own
// fault table, clock and call records; a tool that drives the shop sees one shop: the
// shop-wide admin requests (faults, clock, call records, edges, services, reset, baseline,
// config) fan out to every process's admin plane and their answers are merged; stopping or
// starting a service goes to the process that runs it. A shop in one process has one
// process: nothing fans out and every request goes where it went before.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/admin_client.hpp"

namespace shopctl::platform {

// How long a split shop's fan-out waits for one process's admin plane (Shop::fan_out). A tool
// that asks the gateway to fan out waits longer (`shopctl fault`: twice this and 2 s), so that
// the gateway's 503 naming a process that did not answer arrives.
inline constexpr std::chrono::seconds kProcessAnswerWait{10};

struct AdminProcess {
  std::string admin_url;              // its admin plane
  std::vector<std::string> services;  // the services it runs
};

// The processes of a shop and where its services listen, from the answer of
// GET /_admin/services (each item: name, url, admin).
struct Deployment {
  std::map<std::string, std::string> service_urls;
  std::vector<AdminProcess> processes;  // the one that answered first

  bool split() const { return processes.size() > 1; }
  // The admin plane of the process that runs `service`; empty when unknown.
  std::string admin_of(const std::string& service) const;
  // `asked_url` is the admin plane that answered; items without an admin plane of their own
  // are reached at their own URL.
  static Deployment from_services(const nlohmann::json& answer, const std::string& asked_url);
};

// A deployment file (docs/deploy.md): the shop's admin token and, for each service, its URL and
// the admin plane of the process that runs it; what `--target FILE` reads instead of asking
// the gateway.
//   admin_token: adm_...
//   services:
//     gateway: {url: http://10.0.0.7:8080, admin: http://10.0.0.7:9000}
//     catalog: {url: http://10.0.0.2:7002, admin: http://10.0.0.2:9000}
struct DeploymentFile {
  std::string gateway_url;
  std::string admin_token;
  Deployment deployment;
};
// Throws std::invalid_argument naming the file and what is wrong.
DeploymentFile load_deployment_file(const std::string& path);

// The deployment of the shop at `gateway_url`, when one was read from a file (the CLI
// remembers it for the process): the admin clients and the runner use it instead of asking.
void remember_deployment(const std::string& gateway_url, const Deployment& deployment);
std::optional<Deployment> remembered_deployment(const std::string& gateway_url);

// Sends one admin request to base_url + path (throws http::TransportError when no answer).
using AdminSender =
    std::function<AdminAnswer(const std::string& base_url, const std::string& method,
                              const std::string& path, const std::optional<nlohmann::json>& body)>;

class AdminFanOut {
 public:
  // Whether (method, path) is a request this class answers for a split shop.
  static bool handles(const std::string& method, std::string_view path);
  // Sends it to the processes it concerns and merges their answers (a failed answer from any
  // of them is the answer). Thread-safe.
  AdminAnswer send(const Deployment& deployment, const AdminSender& sender,
                   const std::string& method, const std::string& path,
                   const std::optional<nlohmann::json>& body);

 private:
  AdminAnswer calls_since(const Deployment& deployment, const AdminSender& sender,
                          std::string_view path);
  // GET /_admin/calls: each merged `next_seq` names one position in every process's records
  // (`per_process`, each process's own next_seq). Its `value` is their sum, the number of
  // records all processes had numbered by then, as one process's next_seq is its count: so a
  // record between two cursors gets a number of its own in [earlier value, later value), and
  // a read with nothing new hands out the same cursor again. At most kMaxCursors are kept (a
  // console polls once a second for as long as the shop runs); the older half goes, and a
  // cursor from it reads from each process's first record again.
  struct CallsCursor {
    std::uint64_t value = 0;
    std::vector<std::uint64_t> per_process;
  };
  static constexpr std::size_t kMaxCursors = 1 << 16;
  std::mutex mu_;
  std::vector<CallsCursor> cursors_;  // by value, ascending
  // Held by a fan-out that changes the shop (any method but GET and HEAD), for the whole of it:
  // two at once reached the processes in different orders, and eight `fault add --id same`
  // at once left the processes holding different faults under that id (an outside probe).
  // The processes' own admin planes answer each request for themselves (X-Admin-Scope:
  // process), never back through this: no fan-out waits for another.
  std::mutex changes_mu_;
};

}  // namespace shopctl::platform
