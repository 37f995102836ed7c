#include "shop/shop.hpp"

#include <cstdlib>
#ifdef __GLIBC__
#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>
#include <unistd.h>
#endif
#include <atomic>
#include <cerrno>
#include <cstring>
#include <functional>
#include <future>
#include <mutex>
#include <new>
#include <optional>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>

#include "platform/admin_client.hpp"
#include "platform/admin_fanout.hpp"
#include "platform/error.hpp"
#include "platform/error_mapping.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/http/port_reservation.hpp"
#include "platform/json_body.hpp"
#include "platform/json_text.hpp"
#include "platform/last_words.hpp"
#include "platform/resilient_caller.hpp"
#include "platform/security/random.hpp"
#include "platform/security/service_credential.hpp"
#include "platform/service.hpp"
#include "platform/temp_folder.hpp"
#include "platform/thread_name.hpp"
#include "services/auth/auth_service.hpp"
#include "services/catalog/catalog_service.hpp"
#include "shop/registry.hpp"

namespace shopctl::shop {

namespace asio = boost::asio;

namespace {

// The descriptor SHOPCTL_FOLDER_LOCK_FD names when it is an open descriptor of `dir` itself
// (chaos --crash's lock on its shop's folder), made close-on-exec; else -1. Read once: the
// variable is removed, so nothing this process starts takes it for its own.
int inherited_folder_lock(const std::filesystem::path& dir) {
  const char* text = std::getenv("SHOPCTL_FOLDER_LOCK_FD");
  if (!text) return -1;
  const std::string value(text);
  ::unsetenv("SHOPCTL_FOLDER_LOCK_FD");
  int fd = -1;
  try {
    fd = std::stoi(value);
  } catch (const std::exception&) {
    return -1;
  }
  struct stat held {
  }, folder{};
  if (fd < 0 || ::fstat(fd, &held) != 0 || ::stat(dir.c_str(), &folder) != 0 ||
      held.st_dev != folder.st_dev || held.st_ino != folder.st_ino)
    return -1;
  ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

// Request handling allocates and frees a few KiB per request on each io thread; glibc's
// defaults then keep shrinking and regrowing the thread arenas' heaps (an mprotect every few
// requests, plus sysmalloc work). Keep freed memory for reuse instead.
void tune_allocator_once() {
#ifdef __GLIBC__
  static const bool done = [] {
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    mallopt(M_TOP_PAD, 4 << 20);
    return true;
  }();
  (void)done;
#endif
}

// The names a request from outside may carry in Host (docs/security.md, "Host names"): the
// config's http.allowed_hosts, every name the config reaches this shop's parts by (peers,
// the provider's public URL), and this machine's name. Addresses and localhost need no entry.
std::shared_ptr<const http::HostAllowlist> allowed_hosts(const ShopConfig& c) {
  auto hosts = std::make_shared<http::HostAllowlist>();
  auto allow_url = [&](std::string_view url) {
    if (auto scheme = url.find("://"); scheme != std::string_view::npos)
      url.remove_prefix(scheme + 3);
    url = url.substr(0, url.find_first_of("/?#"));
    if (auto at = url.rfind('@'); at != std::string_view::npos) url.remove_prefix(at + 1);
    hosts->allow(url);
  };
  for (const auto& name : c.http_allowed_hosts) hosts->allow(name);
  for (const auto& [service, peer] : c.peers) {
    allow_url(peer.url);
    allow_url(peer.admin);
  }
  if (!c.provider_public_url.empty()) allow_url(c.provider_public_url);
  hosts->allow(c.host);
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) == 0) {
    std::string_view machine(name);
    hosts->allow(machine);
    hosts->allow(machine.substr(0, machine.find('.')));
  }
  return hosts;
}

// Runs `work` on a thread of its own and waits for it without holding the io thread: starting
// a service waits for its database to open. Rethrows what `work` threw.
asio::awaitable<void> off_io_thread(std::function<void()> work) {
  auto done = std::make_shared<std::promise<void>>();
  auto future = done->get_future();
  std::thread([work = std::move(work), done] {
    try {
      work();
      done->set_value();
    } catch (...) {
      done->set_exception(std::current_exception());
    }
  }).detach();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    timer.expires_after(std::chrono::milliseconds(2));
    co_await timer.async_wait(asio::use_awaitable);
  }
  future.get();
}

}  // namespace

struct Shop::Impl {
  // One io_context per thread (concurrency hint 1: its scheduler runs handlers on that thread
  // only). The first one also runs background work (pollers, admin waits); servers spread
  // their connections over all of them.
  Impl(Shop& shop, unsigned threads_wanted)
      : io(1),
        work(asio::make_work_guard(io)),
        // Real time, not the shop's clock: advancing it must not expire the credentials of
        // calls in flight (which left payment-result callbacks refused as `expired`).
        // A process that holds no service key (the provider's, in a split shop) signs with a
        // key of its own that nobody shares: what it signs is refused everywhere.
        credentials(shop.config_.service_key.empty() ? platform::security::random_hex(32)
                                                     : shop.config_.service_key,
                    platform::real_clock()),
        context{io,
                shop.clock_,
                shop.faults_,
                shop.calls_,
                credentials,
                peers,
                shop.log_,
                shop.config_.admin_token,
                shop.config_.data_dir} {
    context.synchronous = shop.config_.synchronous;
    context.connection_ios.push_back(&io);
    for (unsigned i = 1; i < threads_wanted; ++i) {
      auto& more = *extra_ios.emplace_back(std::make_unique<asio::io_context>(1));
      extra_work.push_back(asio::make_work_guard(more));
      context.connection_ios.push_back(&more);
    }
    // Each io_context's reactor (an epoll and an eventfd) is made here, where a refusal (no
    // file descriptor left: EMFILE) fails the start, not later in a handler on an io thread
    // (the first socket a listener accepted for that io_context made it there, and the throw
    // ended the process: `run -j 64` under a 1,024 file limit).
    for (auto* each : context.connection_ios) asio::ip::tcp::socket reactor_now(*each);
    try {
      for (std::size_t i = 0; i < context.connection_ios.size(); ++i) {
        threads.emplace_back([each = context.connection_ios[i], i, log = &shop.log_] {
          platform::name_this_thread("io-" + std::to_string(i));
          // A handler that throws is logged and the loop goes on (Asio's run() may be called
          // again after one): one bad handler must not end the shop.
          for (;;) {
            try {
              each->run();
              return;
            } catch (const std::bad_alloc&) {
              // Out of memory (ulimit -v): a handler that failed half way may hold a lock it
              // never releases, and going on hung the run for good; the log line's own fields
              // threw std::bad_alloc out of this thread, which ended the process with SIGABRT
              // (exit 134; an outside probe). Said without allocating, and ended as a machine
              // that ran short: exit 3.
              platform::end_out_of_memory("on a shop's io thread", 3);
            } catch (...) {
              // Said without letting the saying throw.
              try {
                log->error("a handler failed on an io thread; it goes on",
                           {{"thread", "io-" + std::to_string(i)},
                            {"error", platform::current_exception_what()}});
              } catch (...) {
              }
            }
          }
        });
      }
    } catch (...) {
      // The system refused a thread: stop those started, or their joinable std::threads,
      // destroyed with this half-built Impl, would call std::terminate.
      for (auto* each : context.connection_ios) each->stop();
      for (auto& thread : threads) thread.join();
      throw;
    }
  }
  ~Impl() {
    admin_host.reset();
    services.clear();  // each stops itself
    // What the stopped services left queued (a closed listener's accept completion, sessions
    // unwinding, their co_spawn epilogues) runs now, while every io_context still exists. A
    // queued accept completion holds a socket of another io_context; destroyed with its queue
    // after that io_context was gone, it called into a freed service (UBSan "invalid vptr" in
    // io_object_impl, tests under ASan+UBSan). A few rounds of a marker posted behind them,
    // each bounded, so that a stuck handler cannot hold the shop's end.
    for (int round = 0; round < 3; ++round) drain_queues(std::chrono::milliseconds(500));
    work.reset();
    extra_work.clear();
    for (auto* each : context.connection_ios) each->stop();
    for (auto& t : threads) t.join();
    // Handlers still queued are destroyed with their io_context: the connection ios first
    // (their sessions refer to listeners that live on `io`), `io` last.
    while (!extra_ios.empty()) extra_ios.pop_back();
  }

  // Posts a marker to every io_context and waits (up to `limit`) until each has run it, so
  // that whatever was queued before has run.
  void drain_queues(std::chrono::milliseconds limit) {
    auto left = std::make_shared<std::atomic<std::size_t>>(context.connection_ios.size());
    for (auto* each : context.connection_ios) asio::post(*each, [left] { left->fetch_sub(1); });
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (left->load() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::vector<std::unique_ptr<asio::io_context>> extra_ios;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> extra_work;
  platform::security::ServiceCredentials credentials;
  platform::PeerDirectory peers;
  platform::ServiceContext context;
  // The gateway's fan-out of a split shop (Shop::fan_out): one for the shop's life, since the
  // merged call cursors it hands out are its own. A new one per request numbered every
  // record 0 and answered next_seq 1 whatever `since` said, so the console, polling with it,
  // never saw a new call.
  platform::AdminFanOut fanout;
  std::vector<std::thread> threads;
  // In start order; stopped in reverse.
  std::vector<std::pair<std::string, std::unique_ptr<platform::Service>>> services;
  // The catalog, whose offers the baseline admin routes record and restore (owned by
  // `services`); null when the catalog runs in another process.
  catalog::CatalogService* catalog_service = nullptr;
  // The process's own admin plane (config `admin_port`), when it has one.
  std::unique_ptr<platform::ServiceHost> admin_host;
  // The catalog a reset restores: recorded at start and by POST /_admin/baseline.
  std::mutex baseline_mu;
  std::optional<catalog::CatalogService::Offers> catalog_baseline;
  // A run recorded catalog_baseline and has not ended (its last reset says `end_of_run`): a
  // run killed with SIGKILL never does, and the next run's POST /_admin/baseline then puts its
  // baseline back before recording its own, instead of keeping the killed run's prices.
  bool baseline_in_use = false;  // guarded by baseline_mu
  // The run lease (POST /_admin/lease): which `shopctl run --target` uses the shop now, so that
  // a second run does not reset the shop under the first. Real time, not the shop clock, which
  // scenarios move.
  // This start of this process's shop, in /_admin/services ("instance"): random, 16 hex digits.
  const std::string instance = platform::security::random_hex(8);
  struct Lease {
    std::string holder, about;
    std::chrono::steady_clock::time_point since, until;
  };
  std::mutex lease_mu;
  std::optional<Lease> lease;
  // The settings POST /_admin/config left the shop running with (its own, config_, when
  // empty): the next POST applies over them; POST /_admin/reset empties it.
  std::mutex runtime_mu;
  std::optional<ShopConfig> runtime;
};

Shop::Shop(ShopConfig config, ShopOptions options)
    : config_(std::move(config)),
      options_(options),
      faults_(config_.seed),
      log_(options.log_level, options.log_format) {
  // A constructor that throws runs no destructor: the temporary folder made here stayed
  // behind (`serve --ephemeral --only catalog` without the shop's secrets left an empty
  // /tmp/shopctl-XXXXXX on every call).
  struct RemoveOnThrow {
    std::filesystem::path folder;
    ~RemoveOnThrow() {
      if (!folder.empty()) platform::remove_temp_folder(folder);
    }
  } remove_on_throw;
  if (config_.data_dir.empty()) {
    config_.data_dir = platform::make_temp_folder("shopctl");
    temporary_data_ = true;
    remove_on_throw.folder = config_.data_dir;
  }
  {
    std::error_code ec;
    platform::make_folders(config_.data_dir, ec);
    if (ec || !std::filesystem::is_directory(config_.data_dir)) {
      throw std::runtime_error("the data folder " + config_.data_dir.string() +
                               (std::filesystem::exists(config_.data_dir) &&
                                        !std::filesystem::is_directory(config_.data_dir)
                                    ? " is a file, not a folder"
                                    : " cannot be created: " + ec.message()));
    }
  }
  if (!temporary_data_) {
    // One layout per data folder: `serve --processes` keeps D/order/order.db, a shop in one
    // process D/order.db. Started on the other layout's folder, a shop opened new, empty
    // databases under the old identity (old tokens worked, every order was gone). The CLI says
    // so first; this holds for every embedder of the library.
    for (const auto& spec : service_registry()) {
      const auto split = config_.data_dir / spec.name / (spec.name + ".db");
      std::error_code ec;
      if (std::filesystem::exists(split, ec) ||
          std::filesystem::exists(std::filesystem::path(split.string() + ".used"), ec)) {
        throw IdentityError(config_.data_dir.string() + " holds a shop run with --processes (" +
                            split.string() +
                            "): start it with --processes, or give this shop another data "
                            "folder");
      }
    }
    // The folder is this shop's while it lives: an exclusive flock on the folder itself, taken
    // before identity.json is read (as serve --processes takes it). Two shops started at once
    // on a new folder each wrote their own identity before either met the other's database
    // locks, and the refused one's secrets could stay in the file: at the running shop's next
    // start every token it had issued was bad_signature (an outside probe, 2 of 26 tries).
    // A parent that holds the folder for this shop (`chaos --crash`, which keeps it across the
    // SIGKILLs of its shops) hands its locked descriptor down: the same lock, taken again here
    // (flock belongs to the open file description), and not a second one.
    int lock_fd = inherited_folder_lock(config_.data_dir);
    if (lock_fd < 0) lock_fd = ::open(config_.data_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock_fd < 0) {
      throw std::runtime_error("the data folder " + config_.data_dir.string() +
                               " cannot be opened: " + std::strerror(errno));
    }
    folder_lock_ = std::shared_ptr<void>(nullptr, [lock_fd](void*) { ::close(lock_fd); });
    if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
      throw std::runtime_error("the data folder " + config_.data_dir.string() +
                               " is in use by another shop (the folder is locked): stop that "
                               "one first, or give another data folder");
    }
    identity_file_ = shop::identity_file(config_.data_dir);
    const auto stored = read_identity(identity_file_);
    stored_identity_ = stored.value_or(Identity{});
    if (!stored) warn_identity_missing_beside_used_databases();
    // The clock goes on from where an advance left it (clock.json), never back to real time:
    // retries, reconciliations and expiries were scheduled by it.
    if (!clock_.advance(read_clock_offset(clock_file(config_.data_dir))))
      throw IdentityError("the clock's offset is out of range");
  }
  // A process of a split shop holds only the secrets its services use (docs/deploy.md): one
  // host taken was every secret of the shop (the catalog's host could sign users' tokens and
  // mark payments paid).
  const std::set<std::string> used = secrets_used_by(config_.only);
  if (!config_.only.empty()) {
    // The processes of a split shop sign for each other: they must share the secrets they
    // use, so none may be generated here.
    std::vector<std::string> missing, unused;
    for (const auto& name : identity_secret_names()) {
      const bool configured = !secret_field(config_, name).empty();
      if (used.count(name) && !configured && !stored_identity_.secrets.count(name))
        missing.push_back(name);
      if (!used.count(name) && configured) unused.push_back(name);
    }
    auto listed = [](const std::vector<std::string>& names) {
      std::string out;
      for (const auto& m : names) out += (out.empty() ? "" : ", ") + m;
      return out;
    };
    if (!missing.empty()) {
      throw std::invalid_argument(
          "a process that runs only part of the shop needs the secrets its services use in its "
          "config (secrets: " +
          listed(missing) + "), the same as the other processes that use them");
    }
    if (!unused.empty()) {
      // Started all the same (one file for every host keeps working), said, and dropped: this
      // process neither uses nor serves them (the catalog given all five answered
      // /_admin/provider-api-key with the key; an outside probe).
      log_.warn("this process was given secrets its services do not use: " + listed(unused) +
                    "; it drops them. Give each host only its own (docs/deploy.md, \"Secrets\")",
                {{"secrets", unused}});
      for (const auto& name : unused) secret_field(config_, name).clear();
    }
    // An identity.json from a shop that held every secret keeps them on this host's disk.
    std::vector<std::string> stored_unused;
    for (const auto& [name, value] : stored_identity_.secrets) {
      if (!used.count(name)) stored_unused.push_back(name);
    }
    if (!stored_unused.empty()) {
      log_.warn(identity_file_.string() +
                    " holds secrets this process's services do not use: " + listed(stored_unused) +
                    "; it does not read them. Remove them from the file (docs/deploy.md, "
                    "\"Secrets\")",
                {{"secrets", stored_unused}});
    }
  }
  identity_ = apply_identity(config_, stored_identity_, config_.only.empty() ? nullptr : &used);
  // Secrets are stored before anything is signed with them; ports once they are bound (start).
  if (!temporary_data_ && identity_.to_store != stored_identity_) {
    write_identity(identity_file_, identity_.to_store);
    stored_identity_ = identity_.to_store;
  }

  tune_allocator_once();
  // Every listener may hold http.max_connections sockets: the default soft limit (1024) would
  // be the first wall, and EMFILE the first symptom.
  http::raise_open_file_limit();
  unsigned threads = options_.threads;
  if (threads == 0) threads = std::clamp(std::thread::hardware_concurrency(), 1u, 4u);
  impl_ = std::make_unique<Impl>(*this, threads);
  auto& ctx = impl_->context;
  const auto& c = config_;
  ctx.http_limits = {c.http_max_connections, c.http_header_timeout, c.http_body_timeout,
                     c.http_idle_timeout, c.http_stalled_body};
  ctx.bind_host = c.host;
  ctx.public_traffic = options_.public_traffic;
  ctx.allowed_hosts = allowed_hosts(c);
  if (!temporary_data_) {
    ctx.save_clock_offset = [file = clock_file(c.data_dir)](std::chrono::nanoseconds offset) {
      write_clock_offset(file, offset);
    };
  }

  // The run lease fences the admin plane: a run whose lease ran out and that another run took
  // changes nothing more here (platform::kLeaseHolderHeader).
  ctx.lease_fence = [impl = impl_.get()](std::string_view holder) -> std::optional<std::string> {
    std::lock_guard lock(impl->lease_mu);
    const auto& lease = impl->lease;
    if (!lease || lease->until <= std::chrono::steady_clock::now() || lease->holder == holder)
      return std::nullopt;
    return "this run's lease on the shop ran out and another run holds it now" +
           (lease->about.empty() ? std::string() : " (" + lease->about + ")") +
           ": this run changes and reads nothing more here (was it paused for over 30 s?)";
  };

  // The services of this process, from the registry; where the others listen, from `peers:`.
  for (const auto& spec : service_registry()) {
    if (runs(spec.name)) impl_->services.emplace_back(spec.name, spec.make(ctx, c));
  }
  for (const auto& [name, peer] : c.peers) {
    if (!runs(name)) impl_->peers.set(name, http::parse_base_url(peer.url));
  }
  if (runs("catalog")) {
    impl_->catalog_service = &dynamic_cast<catalog::CatalogService&>(service("catalog"));
  }
  if (c.admin_port)
    impl_->admin_host = std::make_unique<platform::ServiceHost>(ctx, "admin", *c.admin_port);
  // The gateway's process speaks for a split shop (the console and curl talk to the gateway);
  // every other process's admin plane answers for that process alone.
  if (!c.only.empty() && runs("gateway"))
    ctx.admin_fanout = [this](http::Request& req) { return fan_out(req); };
  add_shop_admin_routes();
  add_baseline_admin_routes();
  remove_on_throw.folder.clear();
}

// An admin request about the whole shop, on one process of a split shop (ServiceContext::
// admin_fanout): sent to every process as the admin clients send it (AdminFanOut, each
// request for that process alone), on a thread of its own (the requests include one to this
// process, served by its io threads meanwhile).
asio::awaitable<http::Response> Shop::fan_out(http::Request& req) {
  std::optional<nlohmann::json> body;
  if (!req.body.empty()) {
    body = platform::parse_json_or_discarded(req.body);
    if (body->is_discarded())
      co_return platform::error_response(400, "invalid_json", "the request body is not valid JSON",
                                         nlohmann::json::object(), req.trace_id);
  }
  platform::AdminAnswer answer;
  std::string failure;
  co_await off_io_thread([&] {
    const platform::AdminSender sender = [this](const std::string& base, const std::string& method,
                                                const std::string& path,
                                                const std::optional<nlohmann::json>& b) {
      http::BlockingClient client;
      return platform::send_admin_request(client, base + path, config_.admin_token, method, b,
                                          platform::kProcessAnswerWait);
    };
    const std::string self = admin_url();
    try {
      auto services = sender(self, "GET", "/_admin/services", std::nullopt);
      auto deployment = platform::Deployment::from_services(services.body, self);
      answer = deployment.split()
                   ? impl_->fanout.send(deployment, sender, req.method, req.target, body)
                   : sender(self, req.method, req.target, body);
    } catch (const std::exception& e) {
      failure = e.what();
    }
    // A merged answer of 20,000 call records is some 40 MB of JSON values while it is built:
    // given back to the system once only its text is needed (the process kept 340 MB after
    // a few reads of the calls; an outside probe).
    if (answer.raw.size() > (std::size_t{1} << 20)) {
      answer.body = nullptr;
#ifdef __GLIBC__
      ::malloc_trim(0);
#endif
    }
  });
  if (!failure.empty()) {
    co_return platform::error_response(503, "process_unreachable",
                                       "a process of this shop did not answer: " + failure,
                                       nlohmann::json::object(), req.trace_id);
  }
  http::Response res;
  res.status = answer.status;
  res.headers.set("Content-Type", "application/json");
  res.body = std::move(answer.raw);
  co_return res;
}

void Shop::advance_clock(std::chrono::nanoseconds by) {
  platform::advance_clock(impl_->context, by);
}

Shop::~Shop() {
  impl_.reset();
  if (temporary_data_) platform::remove_temp_folder(config_.data_dir);
}

// A peer that answers as another service: `--peer auth=URL` given the catalog's URL, and every
// login was a 404 "no route for POST /login" to the shopper, with nothing in any log (an
// outside probe of a split shop). Each peer's /health/live names its service; one that
// answers, and names another, is refused at the start. A peer that does not answer (not up
// yet, a host away) is not checked: the services start in any order. At once for all peers,
// 1 s at the most.
namespace {
void refuse_crossed_peers(const ShopConfig& c,
                          const std::function<bool(const std::string&)>& runs) {
  std::vector<std::pair<std::string, std::future<std::string>>> asked;
  for (const auto& [name, peer] : c.peers) {
    if (runs(name)) continue;
    asked.emplace_back(
        name, std::async(std::launch::async, [url = peer.url] {
          try {
            http::BlockingClient client;
            http::Request request;
            request.method = "GET";
            request.headers.set("Accept", "application/json");
            auto answer =
                client.send_url(url + "/health/live", std::move(request), std::chrono::seconds(1));
            if (answer.status != 200) return std::string();
            auto body = platform::parse_json_or_discarded(answer.body);
            if (!body.is_object() || !body.contains("service") || !body["service"].is_string())
              return std::string();
            return body["service"].get<std::string>();
          } catch (const std::exception&) {
            return std::string();
          }
        }));
  }
  for (auto& [name, answer] : asked) {
    const std::string is = answer.get();
    if (is.empty() || is == name) continue;
    throw std::runtime_error("the peer " + name + " at " + c.peers.at(name).url + " is " +
                             (is == "admin" ? std::string("a process's admin plane")
                                            : "the " + is + " service (its /health/live says so)") +
                             ", not " + name + ": fix its --peer or `peers:` entry (" + name +
                             "'s requests would go to a service without its routes)");
  }
}
}  // namespace

void Shop::start() {
  if (!config_.only.empty() && !config_.peers.empty())
    refuse_crossed_peers(config_, [this](const std::string& name) { return runs(name); });
  for (auto& [name, svc] : impl_->services) {
    auto port = configured_port(config_, name);
    // A port kept or given that only connections in TIME-WAIT hold: free within the kernel's
    // 60 s, so waited for rather than refused (http::wait_out_time_wait).
    const bool waited = http::wait_out_time_wait(
        config_.host, port, std::chrono::seconds(61),
        [this, port, &n = name] {
          log_.warn("port " + std::to_string(port) + " of " + n +
                        " is held by a closed connection in TIME-WAIT (the system frees it "
                        "within 60 s): waiting for it",
                    {{"command", "shopctl serve"}});
        },
        options_.start_interrupted);
    if (!waited) {
      throw StartInterrupted("stopped while waiting for port " + std::to_string(port) + " of " +
                             name + " (held by a closed connection in TIME-WAIT)");
    }
    try {
      svc->start_serving();
    } catch (const boost::system::system_error& e) {
      if (e.code() == boost::system::errc::address_not_available) {
        throw std::runtime_error("cannot start " + name + ": " + config_.host +
                                 " is not an address of this machine (host, or serve --bind)");
      }
      if (e.code() != boost::asio::error::address_in_use || port == 0) {
        // The system's message, without Boost's source location.
        throw std::runtime_error("cannot start " + name + " on " + config_.host + ":" +
                                 std::to_string(port) + ": " + e.code().message());
      }
      auto where = "cannot start " + name + ": port " + std::to_string(port);
      if (identity_.stored_ports.count(name)) {
        throw std::runtime_error(where + " (kept in " + identity_file_.string() +
                                 " since its first start) is taken by another process; stop "
                                 "that process, or remove \"" +
                                 name +
                                 "\" from the file's ports "
                                 "to pick a new port (links to the old one then stop working)");
      }
      throw std::runtime_error(where + " (configured) is taken by another process");
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot start " + name + ": " + e.what());
    }
  }
  // This process's own entry in `peers:` is what the others are told (url()): one naming
  // another port of the very address it listens on sent every caller to a port nothing
  // listened on, while the banner and /_admin/services showed that URL as running (an outside
  // probe restarted payment on 7014 with `peers:` saying 7004). Said at start. A name (a
  // Kubernetes Service) may map one port to another, so only this process's own address is
  // compared.
  for (auto& [name, svc] : impl_->services) {
    const auto peer = config_.peers.find(name);
    if (peer == config_.peers.end()) continue;
    try {
      const auto [where, path] = http::split_url(peer->second.url + "/");
      if (where.host == config_.host && where.port != svc->host().port())
        log_.warn("peers: " + name + " is " + peer->second.url + ", but " + name +
                  " listens on port " + std::to_string(svc->host().port()) +
                  " here: the other processes call the peers: URL, where nothing of this "
                  "process listens; fix peers: " +
                  name + " or ports: " + name);
    } catch (const std::exception&) {
      // Not a URL this process can read: the config's check said so.
    }
  }
  // Every service listens before any background loop calls a sibling (Service::start_serving).
  for (auto& [name, svc] : impl_->services) svc->start_background_work();
  if (impl_->admin_host) {
    try {
      impl_->admin_host->start();
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot start the admin plane on port " +
                               std::to_string(*config_.admin_port) + ": " + e.what());
    }
  }
  if (impl_->catalog_service) {
    // A run against this shop that had not ended when the shop stopped: its baseline, kept in
    // catalog.db, is the one its resets restore (the restarted shop took the run's prices
    // for its own, and the run's last reset kept them: an outside probe).
    auto kept = impl_->catalog_service->kept_run_baseline();
    std::lock_guard lock(impl_->baseline_mu);
    if (kept) {
      impl_->catalog_baseline = std::move(kept);
      impl_->baseline_in_use = true;
    } else if (!impl_->catalog_baseline) {
      impl_->catalog_baseline = impl_->catalog_service->offers();
    }
  }
  if (temporary_data_) return;
  std::map<std::string, std::uint16_t> bound;
  for (auto& [name, svc] : impl_->services) bound[name] = svc->host().port();
  record_bound_ports(identity_, bound);
  if (identity_.to_store != stored_identity_) {
    write_identity(identity_file_, identity_.to_store);
    stored_identity_ = identity_.to_store;
  }
}

void Shop::apply_runtime_config(const ShopConfig& c) {
  for (auto& [name, svc] : impl_->services) {
    find_service(name)->reconfigure(*svc, c);
    for (auto* e : svc->edges()) e->reconfigure(edge_settings(c, e->edge()), c.seed);
  }
  faults_.reseed(c.seed);
}

void Shop::shutdown(std::chrono::milliseconds grace) {
  // One deadline for the whole stop: each service gets what its predecessors left of it (with
  // a client holding a request open on each port, the stop took six graces).
  // A grace past any deadline (milliseconds::max()) overflowed it into the past, and the
  // requests in flight were cut at once (an outside probe): ten years is for ever here.
  grace = std::clamp(grace, std::chrono::milliseconds(0),
                     std::chrono::milliseconds(std::chrono::hours(24 * 365 * 10)));
  const auto deadline = std::chrono::steady_clock::now() + grace;
  const auto left = [deadline] {
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  if (impl_->admin_host) impl_->admin_host->shutdown(left());
  // The door closes first, then the services behind it.
  for (auto it = impl_->services.rbegin(); it != impl_->services.rend(); ++it) {
    it->second->shutdown(left());
  }
  // Every database is closed: the folder is free for the next shop, though this object lives
  // on (it stayed locked until the object went, and the next Shop on it was refused; an
  // outside probe). A service is not started again after this (start_service refuses).
  shut_down_ = true;
  folder_lock_.reset();
}

void Shop::release_runtime() {
  if (!shut_down_) shutdown(std::chrono::milliseconds(0));
  impl_.reset();
}

platform::Service& Shop::service(const std::string& name) const {
  for (auto& [n, svc] : impl_->services) {
    if (n == name) return *svc;
  }
  throw std::invalid_argument("unknown service '" + name + "'");
}

http::Response Shop::handle_in_process(const std::string& name, http::Request request) {
  auto& host = service(name).host();
  auto answer = asio::co_spawn(
      impl_->io,
      [&host, req = std::move(request)]() mutable -> asio::awaitable<http::Response> {
        co_return co_await host.serve(req);
      },
      asio::use_future);
  return answer.get();
}

void Shop::stop_service(const std::string& name) {
  service(name).stop();
}
void Shop::start_service(const std::string& name) {
  if (shut_down_) throw std::logic_error("the shop was shut down: start another one");
  service(name).start();
}
void Shop::crash_service(const std::string& name) {
  service(name).crash();
}
void Shop::restart_service(const std::string& name) {
  if (shut_down_) throw std::logic_error("the shop was shut down: start another one");
  auto& svc = service(name);
  svc.stop();
  svc.start();
}

bool Shop::runs(const std::string& name) const {
  return config_.only.empty() ||
         std::find(config_.only.begin(), config_.only.end(), name) != config_.only.end();
}

std::string Shop::url(const std::string& name) const {
  // What others are told: the address in `peers:` when this process has one for itself (a
  // name that resolves elsewhere, a Kubernetes Service), else where it listens.
  if (auto it = config_.peers.find(name); it != config_.peers.end()) return it->second.url;
  auto& svc = service(name);
  return impl_->context.local_url(svc.host().port());
}

// A lease that runs out without being released or renewed: its run was killed (SIGKILL, a CI
// job's timeout) and never reset the shop. Its faults, stopped services, breakers and settings
// stayed until someone reset the shop by hand: real checkouts got 503 for good (an outside
// probe). When it runs out, the shop resets itself as the run's last reset would have (POST
// /_admin/reset {"end_of_run": true} at its gateway, which fans out in a split shop), and says
// so. Not at the process's own admin plane (--admin-port): that one resets its own services
// only, and a killed run's faults and stopped services in the other processes stayed (an
// outside probe). One watch per take or renewal; the last one's wait decides.
void Shop::warn_identity_missing_beside_used_databases() {
  // A process of a split shop has its secrets from its config (a `serve --processes` child has
  // no identity.json of its own): only a whole shop in one process keeps one for certain.
  if (!config_.only.empty()) return;
  std::vector<std::string> used;
  std::error_code ec;
  for (const auto& name : service_names()) {
    if (name == "gateway") continue;  // no database
    if (std::filesystem::exists(config_.data_dir / (name + ".db.used"), ec))
      used.push_back(name + ".db");
  }
  if (used.empty()) return;
  std::string listed;
  for (const auto& each : used) listed += (listed.empty() ? "" : ", ") + each;
  log_.warn(identity_file_.string() + " is missing beside databases a shop has used (" + listed +
                "): this start makes new secrets and ports for what the config does not set (a "
                "new admin token; tokens, pay links and signed events handed out before stop "
                "working). If it was removed by mistake, stop the shop and restore it from a "
                "backup",
            {{"databases", used}});
}

void Shop::watch_lease(const std::string& holder, std::chrono::steady_clock::time_point until) {
  asio::co_spawn(
      impl_->io,
      [this, holder, until]() -> asio::awaitable<void> {
        asio::steady_timer timer(co_await asio::this_coro::executor);
        timer.expires_at(until + std::chrono::milliseconds(100));
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (ec) co_return;  // the shop is stopping
        std::string about;
        // The shop holds its own lease while it resets: a run that took the lease meanwhile
        // would have had its first faults cleared under it. Such a run waits (409 shop_in_use,
        // its --wait-for-target), for the few milliseconds a reset takes.
        const std::string resetter = "shopctl: the reset after a run lease ran out";
        {
          std::lock_guard lock(impl_->lease_mu);
          auto& lease = impl_->lease;
          const auto now = std::chrono::steady_clock::now();
          if (!lease || lease->holder != holder || lease->until > now)
            co_return;  // released, renewed, or taken by another run
          about = lease->about;
          lease = Impl::Lease{
              resetter,
              "the shop resets itself: the run lease of " + holder + " ran out unreleased", now,
              now + std::chrono::seconds(60)};
        }
        log_.warn(
            "a run's lease on the shop ran out: the run was stopped without ending (killed, "
            "or paused for longer than its lease); the shop resets itself as its end "
            "would have (faults cleared, services started, breakers and settings the "
            "shop's own, the catalog as the run found it)",
            {{"holder", holder}, {"about", about}});
        std::string failure;
        co_await off_io_thread([this, &failure] {
          try {
            http::BlockingClient client;
            const bool at_gateway = runs("gateway");
            auto answer = platform::send_admin_request(
                client, (at_gateway ? url("gateway") : admin_url()) + "/_admin/reset",
                config_.admin_token, "POST", nlohmann::json{{"end_of_run", true}},
                std::chrono::seconds(30), /*process_scope=*/!at_gateway);
            if (!answer.ok()) failure = "answered " + std::to_string(answer.status);
          } catch (const std::exception& e) {
            failure = e.what();
          }
        });
        {
          std::lock_guard lock(impl_->lease_mu);
          if (impl_->lease && impl_->lease->holder == resetter) impl_->lease.reset();
        }
        if (!failure.empty())
          log_.error("the reset after a run's lease ran out failed; POST /_admin/reset by hand",
                     {{"error", failure}});
      },
      asio::detached);
}

std::string Shop::admin_url() const {
  if (impl_->admin_host) {
    return impl_->context.local_url(impl_->admin_host->port());
  }
  if (runs("gateway")) return url("gateway");
  return {};
}

std::vector<platform::ServiceHost*> Shop::admin_hosts() const {
  std::vector<platform::ServiceHost*> hosts;
  if (runs("gateway")) hosts.push_back(&service("gateway").host());
  if (impl_->admin_host) hosts.push_back(impl_->admin_host.get());
  return hosts;
}

std::vector<ServiceInfo> Shop::services() const {
  std::vector<ServiceInfo> out;
  const std::string admin = admin_url();
  for (const auto& spec : service_registry()) {
    if (runs(spec.name)) {
      auto& svc = service(spec.name);
      // Absolute: a tool that reads it from another folder (`chaos --target`) took a relative
      // --data-dir's "data/order/order.db" for a file "not on this machine", and checked no
      // money (an outside probe).
      auto database = svc.database_file();
      std::error_code absolute_error;
      if (!database.empty() && database.is_relative()) {
        auto absolute = std::filesystem::absolute(database, absolute_error);
        if (!absolute_error) database = absolute.lexically_normal();
      }
      out.push_back({spec.name, url(spec.name), database, svc.running(), false, admin});
    } else if (auto it = config_.peers.find(spec.name); it != config_.peers.end()) {
      out.push_back({spec.name, it->second.url, {}, false, true, it->second.admin});
    }
  }
  return out;
}

void Shop::add_shop_admin_routes() {
  for (auto* host : admin_hosts()) {
    auto& admin = host->admin_routes();
    auto any = http::Access::anyone();
    admin.add("GET", "/_admin/services", any,
              [this](http::Request&) -> asio::awaitable<http::Response> {
                nlohmann::json items = nlohmann::json::array();
                for (const auto& s : services()) {
                  nlohmann::json item = {{"name", s.name},
                                         {"url", s.url},
                                         {"database", s.database.string()},
                                         {"admin", s.admin}};
                  // Another process's services: where, not how they are. This process's, with
                  // the id of this start of it: a run against the shop tells a process that
                  // was started again (serve --processes restarts a child that died) from one
                  // that went on.
                  if (s.remote) {
                    item["remote"] = true;
                  } else {
                    item["running"] = s.running;
                    item["instance"] = impl_->instance;
                  }
                  items.push_back(std::move(item));
                }
                co_return http::Response::json(200, {{"items", items}});
              });
    // Mints a service credential, so that a scenario can sign a call `as: svc:NAME` (to prove
    // the allowed-caller table) against an in-process or a remote shop alike.
    admin.add("POST", "/_admin/credentials", any,
              [this](http::Request& req) -> asio::awaitable<http::Response> {
                auto body = platform::json_object_body(req);
                auto name = platform::required_string(body, "service", 64);
                bool known = false;
                for (const auto& n : service_names()) known = known || n == name;
                if (!known)
                  throw platform::ApiError(404, "service_not_found", "no service " + name);
                if (config_.service_key.empty()) {
                  throw platform::ApiError(
                      404, "secret_not_held",
                      "this process holds no service key (a split shop's provider); ask another "
                      "process",
                      {{"secret", "service_key"}});
                }
                co_return http::Response::json(
                    200, {{"service", name}, {"token", impl_->credentials.token_for(name)}});
              });
    // The shop's API key at the payment provider, so that a scenario can call the provider's
    // /v1/* routes as the shop does (`auth: "${provider_api_key}"`), in-process or remote.
    admin.add(
        "GET", "/_admin/provider-api-key", any,
        [this](http::Request&) -> asio::awaitable<http::Response> {
          if (config_.provider_api_key.empty()) {
            // A split shop's processes hold only their services' secrets: payment's and the
            // provider's hold this one.
            throw platform::ApiError(
                404, "secret_not_held",
                "this process holds no provider API key; ask the payment or provider process",
                {{"secret", "provider_api_key"}});
          }
          co_return http::Response::json(200, {{"provider_api_key", config_.provider_api_key}});
        });
    // stop/start/restart/crash run on a thread of their own: they wait for databases to close and
    // must not hold one of the threads that serve requests.
    admin.add(
        "POST", "/_admin/services/{name}/{action}", any,
        [this](http::Request& req) -> asio::awaitable<http::Response> {
          auto name = req.param("name");
          auto action = req.param("action");
          // The action first: `gateway/bogus` was 409 cannot_stop_gateway (an outside probe).
          if (action != "stop" && action != "start" && action != "restart" && action != "crash") {
            throw platform::ApiError(404, "route_not_found",
                                     "action must be stop, start, restart or crash");
          }
          if (name == "gateway" && !impl_->admin_host) {
            throw platform::ApiError(409, "cannot_stop_gateway",
                                     "the gateway serves this admin plane: it cannot " +
                                         std::string(action) +
                                         " itself through it; stop or restart the shop instead");
          }
          bool known = false;
          for (const auto& n : service_names()) known = known || n == name;
          if (!known) throw platform::ApiError(404, "service_not_found", "no service " + name);
          if (!runs(name)) {
            auto peer = config_.peers.find(name);
            std::string where = peer == config_.peers.end() || peer->second.admin.empty()
                                    ? "its own process's admin plane"
                                    : peer->second.admin;
            throw platform::ApiError(
                409, "service_not_here", name + " runs in another process: ask " + where,
                {{"service", name},
                 {"admin", peer == config_.peers.end() ? "" : peer->second.admin}});
          }
          // Said at warn level with the service and the request's trace: a payment stopped by
          // the admin plane was one info line naming only the route (an outside probe: on-call
          // could not tell who took payment down, or when).
          log_.warn("service " +
                        std::string(action == "stop"    ? "stopped"
                                    : action == "start" ? "started"
                                    : action == "crash" ? "crashed"
                                                        : "restarted") +
                        " by the admin plane",
                    {{"service", std::string(name)},
                     {"action", std::string(action)},
                     {"trace_id", req.trace_id}});
          co_await off_io_thread([this, name, action] {
            if (action == "stop")
              stop_service(name);
            else if (action == "start")
              start_service(name);
            else if (action == "crash")
              crash_service(name);
            else
              restart_service(name);
          });
          co_return http::Response::json(
              200, {{"service", name}, {"action", action}, {"running", service(name).running()}});
        });
  }
}

// The baseline of `shopctl run --target` (docs/scenarios.md, "Against a running shop"): one
// call on the gateway's admin plane restores the shared state a scenario may have changed, so
// that the next scenario starts from a known state. What shoppers stored (users, carts,
// orders, payments) is left alone; the clock only moves forward, so its offset is reported.
void Shop::add_baseline_admin_routes() {
  for (auto* host : admin_hosts()) {
    auto& admin = host->admin_routes();
    auto any = http::Access::anyone();
    // Records the catalog's prices and availability now as the ones a reset restores. When the
    // baseline recorded before is still in use (the run that recorded it never ended: killed
    // with SIGKILL), that baseline is restored first: what the killed run changed is undone,
    // not kept as this run's baseline.
    admin.add(
        "POST", "/_admin/baseline", any, [this](http::Request&) -> asio::awaitable<http::Response> {
          std::size_t products = 0;
          std::vector<std::string> restored;
          if (impl_->catalog_service) {  // in another process: that process records its own
            std::optional<catalog::CatalogService::Offers> unfinished;
            {
              std::lock_guard lock(impl_->baseline_mu);
              if (impl_->baseline_in_use) unfinished = impl_->catalog_baseline;
            }
            if (unfinished) {
              restored = co_await impl_->catalog_service->restore_offers(std::move(*unfinished));
            }
            auto offers = impl_->catalog_service->offers();  // 503 while the catalog is stopped
            products = offers.size();
            co_await impl_->catalog_service->keep_run_baseline(offers);
            std::lock_guard lock(impl_->baseline_mu);
            impl_->catalog_baseline = std::move(offers);
            impl_->baseline_in_use = true;
          }
          co_return http::Response::json(200,
                                         {{"catalog_products", products},
                                          {"unfinished_run_restored", restored},
                                          {"clock",
                                           {{"now_ms", clock_.unix_millis()},
                                            {"offset_ms", clock_.offset().count() / 1'000'000}}}});
        });
    // Faults cleared (and the fault seed restored), every service started, the runtime settings
    // back to the shop's own (config_), every breaker reset (CLOSED, empty window, no counts),
    // the catalog back to the baseline.
    // `{"end_of_run": true}` (the last reset of a run): the baseline is no longer in use.
    admin.add("POST", "/_admin/reset", any,
              [this](http::Request& req) -> asio::awaitable<http::Response> {
                const auto request = platform::json_object_body(req);
                platform::refuse_unknown_keys(request, {"end_of_run"},
                                              "empty, or {\"end_of_run\": true|false}");
                const auto end = request.find("end_of_run");
                if (end != request.end() && !end->is_boolean())
                  throw platform::ApiError(400, "invalid_reset", "end_of_run must be a boolean");
                const bool end_of_run = end != request.end() && end->get<bool>();
                auto faults = faults_.list().size();
                faults_.clear();
                nlohmann::json started = nlohmann::json::array();
                for (const auto& s : services()) {
                  if (s.running || s.remote) continue;
                  co_await off_io_thread([this, name = s.name] { start_service(name); });
                  started.push_back(s.name);
                }
                apply_runtime_config(config_);
                {
                  std::lock_guard lock(impl_->runtime_mu);
                  impl_->runtime.reset();
                }
                // Failed logins are shared state too: a scenario's wrong passwords for an email
                // would throttle that email in the scenarios after it.
                std::size_t logins_forgotten = 0;
                if (runs("auth")) {
                  logins_forgotten =
                      dynamic_cast<auth::AuthService&>(service("auth")).forget_failed_logins();
                }
                nlohmann::json breakers = nlohmann::json::array();
                std::vector<platform::ResilientCaller*> edges;
                for (auto& [name, svc] : impl_->services) {
                  for (auto* e : svc->edges()) edges.push_back(e);
                }
                for (auto* e : edges) {
                  auto was = e->breaker().state();
                  e->breaker().reset();
                  if (was != platform::resilience::CircuitState::CLOSED)
                    breakers.push_back(e->edge());
                }
                std::optional<catalog::CatalogService::Offers> baseline;
                {
                  std::lock_guard lock(impl_->baseline_mu);
                  baseline = impl_->catalog_baseline;
                }
                std::vector<std::string> restored;
                if (baseline && impl_->catalog_service) {
                  restored = co_await impl_->catalog_service->restore_offers(std::move(*baseline));
                }
                if (end_of_run) {
                  if (impl_->catalog_service) co_await impl_->catalog_service->drop_run_baseline();
                  std::lock_guard lock(impl_->baseline_mu);
                  impl_->baseline_in_use = false;
                }
                co_return http::Response::json(
                    200, {{"faults_cleared", faults},
                          {"services_started", started},
                          {"breakers_reset", breakers},
                          {"catalog_restored", restored},
                          {"failed_logins_forgotten", logins_forgotten},
                          {"clock",
                           {{"now_ms", clock_.unix_millis()},
                            {"offset_ms", clock_.offset().count() / 1'000'000}}}});
              });
    // The run lease (docs/scenarios.md, "Two runs on one shop"): taken or renewed by its
    // holder, refused (409 shop_in_use) while another holder's has not run out; released by
    // POST /_admin/lease/release. Advisory: the other admin routes do not ask for it.
    admin.add("POST", "/_admin/lease", any,
              [this](http::Request& req) -> asio::awaitable<http::Response> {
                auto body = platform::json_object_body(req);
                const auto holder = body.find("holder");
                if (holder == body.end() || !holder->is_string() ||
                    holder->get_ref<const std::string&>().empty() ||
                    holder->get_ref<const std::string&>().size() > 200) {
                  throw platform::ApiError(400, "invalid_lease",
                                           "holder must be a string of 1 to 200 characters");
                }
                std::int64_t ttl_ms = 30'000;
                if (auto t = body.find("ttl_ms"); t != body.end()) {
                  if (!t->is_number_integer() || t->get<std::int64_t>() < 1'000 ||
                      t->get<std::int64_t>() > 600'000) {
                    throw platform::ApiError(400, "invalid_lease",
                                             "ttl_ms must be an integer from 1000 to 600000");
                  }
                  ttl_ms = t->get<std::int64_t>();
                }
                std::string about;
                if (auto a = body.find("about"); a != body.end()) {
                  if (!a->is_string())
                    throw platform::ApiError(400, "invalid_lease", "about must be a string");
                  // Printed by the runs it keeps waiting: one line, no control characters.
                  for (unsigned char c : a->get<std::string>().substr(0, 200))
                    about += (c < 0x20 || c == 0x7f) ? ' ' : static_cast<char>(c);
                }
                const auto now = std::chrono::steady_clock::now();
                const auto ms = [](auto d) {
                  return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
                };
                std::lock_guard lock(impl_->lease_mu);
                auto& lease = impl_->lease;
                if (lease && lease->until > now && lease->holder != *holder) {
                  throw platform::ApiError(
                      409, "shop_in_use",
                      "another run uses this shop" +
                          (lease->about.empty() ? std::string() : " (" + lease->about + ")"),
                      {{"about", lease->about},
                       {"held_for_ms", ms(now - lease->since)},
                       {"expires_in_ms", ms(lease->until - now)}});
                }
                // Renewed: the holder's own lease, not run out. Otherwise taken afresh (a
                // renewal that takes it afresh tells its run that the lease was lost meanwhile:
                // it ran out, or the gateway's process restarted and forgot it).
                const bool renewed = lease && lease->holder == *holder && lease->until > now;
                if (!renewed) lease = Impl::Lease{*holder, about, now, now};
                lease->until = now + std::chrono::milliseconds(ttl_ms);
                watch_lease(lease->holder, lease->until);
                co_return http::Response::json(
                    200,
                    {{"holder", lease->holder}, {"expires_in_ms", ttl_ms}, {"renewed", renewed}});
              });
    admin.add("POST", "/_admin/lease/release", any,
              [this](http::Request& req) -> asio::awaitable<http::Response> {
                auto body = platform::json_object_body(req);
                const auto holder = body.find("holder");
                bool released = false;
                std::lock_guard lock(impl_->lease_mu);
                if (holder != body.end() && holder->is_string() && impl_->lease &&
                    impl_->lease->holder == holder->get_ref<const std::string&>()) {
                  impl_->lease.reset();
                  released = true;
                }
                co_return http::Response::json(200, {{"released", released}});
              });
    // A scenario's `config:` on a running shop: the run-time part applies over the shop's own
    // settings until the next reset; anything else is refused (422) naming the key.
    admin.add("POST", "/_admin/config", any,
              [this](http::Request& req) -> asio::awaitable<http::Response> {
                auto body = platform::json_object_body(req);
                YAML::Node root = YAML::Load(body.dump());  // JSON is YAML: same keys, same typing
                // A key that is no setting at all first (400, with "did you mean"): a typo,
                // `ordr`, was answered "cannot change on a running shop" (an outside probe).
                // Then a setting that cannot change while the shop runs (422), whatever its
                // value, then a bad value of one that can (400).
                // Over the settings the shop runs with now, not its own: each POST undid every
                // change an earlier one made (a breaker's wait set, then a token_ttl, and the
                // wait was back; an outside probe). POST /_admin/reset puts the shop's own back.
                ShopConfig next;
                {
                  std::lock_guard lock(impl_->runtime_mu);
                  next = impl_->runtime ? *impl_->runtime : config_;
                }
                auto issues = apply_config(root, next);
                auto refuse = [](const std::vector<ConfigIssue>& found) {
                  nlohmann::json all = nlohmann::json::array();
                  for (const auto& i : found) all.push_back(i.message);
                  return platform::ApiError(400, "invalid_config", found.front().message,
                                            {{"issues", all}});
                };
                std::vector<ConfigIssue> unknown;
                for (const auto& i : issues)
                  if (i.message.starts_with("unknown key ")) unknown.push_back(i);
                if (!unknown.empty()) throw refuse(unknown);
                auto refusals = runtime_config_refusals(root);
                if (!refusals.empty()) {
                  nlohmann::json keys = nlohmann::json::array();
                  for (const auto& r : refusals) keys.push_back(r.message);
                  throw platform::ApiError(422, "config_not_runtime", refusals.front().message,
                                           {{"refused", keys}});
                }
                if (!issues.empty()) throw refuse(issues);
                apply_runtime_config(next);
                {
                  std::lock_guard lock(impl_->runtime_mu);
                  impl_->runtime = std::move(next);
                }
                co_return http::Response::json(200, {{"applied", body}});
              });
  }
}

}  // namespace shopctl::shop
