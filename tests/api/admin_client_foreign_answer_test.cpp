// shopctl::AdminClient against a port where something else answers 200 with JSON that is not
// the admin plane's (another program, a proxy, a shop of another version): every call throws
// the documented shopctl::AdminError. nlohmann::json's type_error escaped (not even a
// std::runtime_error), or a call returned nothing at all: no services, a fault id "" (an
// outside probe of the public API). Public headers only.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <shopctl/admin_client.hpp>
#include <shopctl/scenario_runner.hpp>
#include <shopctl/version.hpp>

namespace {

using namespace std::chrono_literals;

// Answers every connection's request with 200, Content-Type application/json and `body`, then
// closes it, until destroyed.
class ForeignJsonServer {
 public:
  explicit ForeignJsonServer(std::string body) : body_(std::move(body)) {
    // A listening socket on an ephemeral loopback port (public headers only here: no test
    // support header, tests/architecture/include_rules_test.cpp).
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener_ >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
    REQUIRE(::listen(listener_, 16) == 0);
    socklen_t length = sizeof address;
    REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ForeignJsonServer() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  ForeignJsonServer(const ForeignJsonServer&) = delete;
  ForeignJsonServer& operator=(const ForeignJsonServer&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  void serve() {
    while (!stop_) {
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) return;
      timeval wait{2, 0};
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
      char request[8192];
      (void)::recv(fd, request, sizeof request, 0);
      const std::string answer =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
          "Content-Length: " +
          std::to_string(body_.size()) + "\r\n\r\n" + body_;
      (void)::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL);
      ::close(fd);
    }
  }

  std::string body_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace

TEST_CASE("AdminClient throws AdminError for a 200 that is not the admin plane's answer") {
  const std::vector<std::string> bodies = {
      "not json", "[1,2]", R"({"items":5})",
      R"({"items":[{"name":5,"url":"http://127.0.0.1:9"}],"offset_ms":"abc","id":7})",
      R"({"items":[{"name":"catalog","url":"http://127.0.0.1:1","running":"yes"}]})"};
  for (const auto& body : bodies) {
    CAPTURE(body);
    ForeignJsonServer server(body);
    shopctl::AdminClient client(server.url(), "adm_x", 2s);
    const std::vector<std::pair<const char*, std::function<void()>>> calls = {
        {"services", [&] { (void)client.services(); }},
        {"breakers", [&] { (void)client.breakers(); }},
        {"clock_offset", [&] { (void)client.clock_offset(); }},
        {"advance_clock", [&] { (void)client.advance_clock(1s); }},
        {"add_fault_json",
         [&] { (void)client.add_fault_json(R"({"target":"catalog","type":"hang"})"); }},
    };
    for (const auto& entry : calls) {
      CAPTURE(entry.first);
      bool admin_error = false;
      try {
        entry.second();
      } catch (const shopctl::AdminError& e) {
        admin_error = true;
        CHECK(std::string(e.what()).find("is " + server.url() + " a shopctl shop?") !=
              std::string::npos);
      } catch (const std::exception& e) {
        FAIL_CHECK("another exception: " << std::string(e.what()));
      } catch (...) {
        FAIL_CHECK("an exception that is no std::exception");
      }
      CHECK(admin_error);
    }
  }
}

TEST_CASE("AdminClient reads an empty fault id as no answer of the admin plane") {
  ForeignJsonServer server(R"({"id":5,"offset_ms":1.5})");
  shopctl::AdminClient client(server.url(), "adm_x", 2s);
  CHECK_THROWS_AS((void)client.add_fault_json(R"({"target":"catalog","type":"hang"})"),
                  shopctl::AdminError);
  CHECK_THROWS_AS((void)client.clock_offset(), shopctl::AdminError);
}

TEST_CASE(
    "a ScenarioRunner whose target answers 200 with other JSON says so, not in nlohmann's words") {
  // It said "[json.exception.out_of_range.403] key 'url' not found".
  ForeignJsonServer server(R"({"items":[{"name":"gateway"}]})");
  shopctl::RunnerOptions options;
  options.target = server.url();
  options.admin_token = "adm_x";
  shopctl::ScenarioRunner runner(options);
  REQUIRE(runner
              .add_text("version: 1\nname: one read\nsteps:\n  - request: {GET: /health/ready}\n",
                        "one.yaml")
              .empty());
  const auto report = runner.run();
  CHECK(report.exit_code() == shopctl::kExitShop);
  const auto said = report.console_summary();
  CAPTURE(said);
  CHECK(said.find("json.exception") == std::string::npos);
  CHECK(said.find("is " + server.url() + " a shopctl gateway?") != std::string::npos);
}
