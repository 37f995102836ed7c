// Fuzz target: the HTTP request path. Bytes -> the server's parser and limits
// (http::parse_request) -> one service's pipeline (credential, routing, the handler with its
// body validation, error rendering) in a real shop, without a socket on the way in
// (Shop::handle_in_process). Whatever the bytes, the answer is never a 500 and every error is
// in the contract's shape; a crash, a sanitizer report or a broken answer aborts.
//
// Input: the first byte picks the service and the caller whose service credential goes with
// the request (so that the fuzzer gets past the caller checks to the body validation); the
// rest is the request as it would arrive on the socket. Every "@TOKEN@" in it becomes a valid
// access token of the demo user, so that the gateway's authenticated routes are reachable.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "platform/http/chunk_framing.hpp"
#include "platform/http/request_parse.hpp"
#include "platform/security/password.hpp"
#include "platform/security/service_credential.hpp"
#include "shop/shop.hpp"

namespace {

using namespace shopctl;

struct Target {
  const char* service;
  const char* callers[3];  // "" = no credential
};
// Each service with its real callers and one that is not allowed (or none).
constexpr Target kTargets[] = {
    {"gateway", {"", "", "catalog"}},      {"auth", {"gateway", "", "order"}},
    {"catalog", {"gateway", "order", ""}}, {"order", {"gateway", "payment", "catalog"}},
    {"payment", {"order", "gateway", ""}}, {"provider", {"payment", "", "order"}},
};

struct Fixture {
  std::unique_ptr<shop::Shop> shop;
  std::unique_ptr<platform::security::ServiceCredentials> credentials;
  std::string token;
  std::chrono::steady_clock::time_point token_at;
};

Fixture* fixture = nullptr;

http::Response send(const std::string& service, http::Request req) {
  return fixture->shop->handle_in_process(service, std::move(req));
}

void refresh_token() {
  http::Request login;
  login.method = "POST";
  login.target = "/api/auth/login";
  login.headers.set("Content-Type", "application/json");
  login.body = nlohmann::json{{"email", fixture->shop->config().demo_email},
                              {"password", fixture->shop->config().demo_password}}
                   .dump();
  auto res = send("gateway", std::move(login));
  auto body = nlohmann::json::parse(res.body, nullptr, false);
  if (res.status != 200 || !body.contains("access_token")) {
    std::fprintf(stderr, "fuzz_http_request: demo login failed: %d %s\n", res.status,
                 res.body.c_str());
    std::abort();
  }
  fixture->token = body["access_token"].get<std::string>();
  fixture->token_at = std::chrono::steady_clock::now();
}

void replace_all(std::string& s, std::string_view what, const std::string& with) {
  for (auto at = s.find(what); at != std::string::npos; at = s.find(what, at + with.size())) {
    s.replace(at, what.size(), with);
  }
}

[[noreturn]] void broken(const char* why, const std::string& service, const http::Request& req,
                         const http::Response& res) {
  std::fprintf(stderr, "fuzz_http_request: %s\n  %s %s to %s (caller %s)\n  answer %d: %s\n", why,
               req.method.c_str(), req.target.c_str(), service.c_str(),
               req.headers.get("X-Fuzz-Caller").value_or("none").data(), res.status,
               res.body.substr(0, 2000).c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  shop::ShopConfig config;
  config.password_hashing = platform::security::PasswordHashing::fast_for_tests();
  shop::ShopOptions options;
  options.threads = 2;
  options.log_level = platform::LogLevel::off;
  fixture = new Fixture;
  fixture->shop = std::make_unique<shop::Shop>(std::move(config), options);
  fixture->shop->start();
  fixture->credentials = std::make_unique<platform::security::ServiceCredentials>(
      fixture->shop->config().service_key, fixture->shop->clock());
  refresh_token();
  // libFuzzer ends with exit(): stop the shop's threads (and remove its temporary folder)
  // before the statics they use are destroyed.
  std::atexit([] { fixture->shop.reset(); });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const Target& target = kTargets[data[0] % 6];
  const std::string caller = target.callers[(data[0] / 6) % 3];
  std::string bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  if (std::chrono::steady_clock::now() - fixture->token_at > std::chrono::minutes(5)) {
    refresh_token();
  }
  replace_all(bytes, "@TOKEN@", fixture->token);

  auto parsed = http::parse_request(bytes, 1 << 20, 16 * 1024);
  // What the server checks of a chunked body the parser waits on (chunk_framing.hpp): any
  // bytes, with and without a chunk before them.
  if (parsed.outcome == http::ParsedRequest::Outcome::incomplete) {
    const std::string_view rest = std::string_view(bytes).substr(parsed.consumed);
    (void)http::chunked_leftover_problem(rest, false);
    (void)http::chunked_leftover_problem(rest, true);
  }
  if (parsed.outcome != http::ParsedRequest::Outcome::complete) return 0;  // 400/413/431
  http::Request req = std::move(parsed.request);
  if (!caller.empty()) {
    req.headers.set("X-Service-Token", fixture->credentials->token_for(caller));
  }
  const std::string service = target.service;
  http::Request copy = req;
  copy.headers.set("X-Fuzz-Caller", caller.empty() ? "none" : caller);
  http::Response res = send(service, std::move(req));

  if (res.status < 100 || res.status > 599) broken("status out of range", service, copy, res);
  if (res.status == 500) broken("500 for a request", service, copy, res);
  if (res.status >= 400) {
    auto body = nlohmann::json::parse(res.body, nullptr, false);
    if (!body.is_object() || !body.contains("error") || !body["error"].is_object() ||
        !body["error"].contains("code") || !body.contains("trace_id")) {
      broken("an error answer not in the error shape", service, copy, res);
    }
  }
  return 0;
}
