// A call that an open circuit breaker refuses is an event: logged, counted and recorded
// (resilience.md). It was counted and recorded, never logged, and the transition's line named
// no service (an outside probe).
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include "platform/clock.hpp"
#include "platform/http/message.hpp"
#include "platform/resilient_caller.hpp"
#include "platform/service_context.hpp"

namespace {

namespace asio = boost::asio;
namespace platform = shopctl::platform;
namespace http = shopctl::http;

}  // namespace

TEST_CASE("a call an open breaker refuses is logged, naming the service and the callee") {
  char* text = nullptr;
  std::size_t size = 0;
  std::FILE* out = ::open_memstream(&text, &size);
  REQUIRE(out != nullptr);
  {
    asio::io_context io;
    platform::SimulatedClock clock;
    platform::FaultTable faults;
    platform::CallLog calls;
    platform::security::ServiceCredentials credentials(std::string(64, 'k'), clock);
    platform::PeerDirectory peers;
    platform::Logger log(platform::LogLevel::info, platform::LogFormat::text, out);
    platform::ServiceContext ctx{io,    clock,         faults,
                                 calls, credentials,   peers,
                                 log,   "admin-token", std::filesystem::temp_directory_path()};
    platform::ResilientCaller edge(ctx, "order", "catalog", platform::EdgeSettings{}, nullptr);
    edge.breaker().transition_to_forced_open();
    http::Request request;
    request.method = "GET";
    request.target = "/products/p-001";
    // Named: call() keeps a reference to the trace id until it ends, after this statement.
    const std::string trace = "trace-1";
    auto refused = asio::co_spawn(io, edge.call(request, true, trace), asio::use_future);
    io.run();
    CHECK_THROWS_AS(refused.get(), http::TransportError);
  }
  std::fflush(out);
  const std::string logged(text, size);
  std::fclose(out);
  std::free(text);
  CHECK(logged.find("circuit breaker transition") != std::string::npos);
  CHECK(logged.find("service=order") != std::string::npos);
  const auto line = logged.find("call refused by circuit breaker");
  REQUIRE(line != std::string::npos);
  const std::string refused_line = logged.substr(line, logged.find('\n', line) - line);
  CHECK(refused_line.find("callee=catalog") != std::string::npos);
  CHECK(refused_line.find("service=order") != std::string::npos);
  CHECK(refused_line.find("trace_id=trace-1") != std::string::npos);
}
