// Microbenchmarks of the gateway's hot path: verifying a user's HS256 JWT per request.
#include <benchmark/benchmark.h>

#include <string>

#include "platform/security/jwt.hpp"
#include "platform/security/service_credential.hpp"

namespace {

using namespace shopctl::platform::security;

constexpr std::string_view kSecret = "bench-secret-0123456789abcdef0123456789abcdef";
constexpr std::int64_t kNow = 1'700'000'000;

// A token as auth issues it at login.
std::string typical_user_token() {
  JwtClaims claims;
  claims.subject = "usr_3f9a1c0d2b7e4a5f6c8d9e0f";
  claims.issuer = "shopctl-auth";
  claims.audience = "shopctl";
  claims.issued_at = kNow;
  claims.expires_at = kNow + 900;
  claims.extra = {{"email", "ada.lovelace@example.com"}, {"name", "Ada Lovelace"}};
  return sign_hs256(claims, kSecret);
}

void BM_VerifyHs256(benchmark::State& state) {
  const std::string token = typical_user_token();
  const JwtVerifyOptions options{
      .secret = kSecret, .issuer = "shopctl-auth", .audience = "shopctl", .now_unix = kNow + 60};
  for (auto _ : state) {
    JwtVerifyResult result = verify_hs256(token, options);
    benchmark::DoNotOptimize(result);
  }
  state.SetLabel(std::to_string(token.size()) + " byte token");
}
BENCHMARK(BM_VerifyHs256);

void BM_VerifyHs256BadSignature(benchmark::State& state) {
  std::string token = typical_user_token();
  token[token.rfind('.') + 1] ^= 1;
  const JwtVerifyOptions options{
      .secret = kSecret, .issuer = "shopctl-auth", .audience = "shopctl", .now_unix = kNow + 60};
  for (auto _ : state) {
    JwtVerifyResult result = verify_hs256(token, options);
    benchmark::DoNotOptimize(result);
  }
}
BENCHMARK(BM_VerifyHs256BadSignature);

void BM_SignHs256(benchmark::State& state) {
  JwtClaims claims;
  claims.subject = "usr_3f9a1c0d2b7e4a5f6c8d9e0f";
  claims.issuer = "shopctl-auth";
  claims.audience = "shopctl";
  claims.issued_at = kNow;
  claims.expires_at = kNow + 900;
  for (auto _ : state) benchmark::DoNotOptimize(sign_hs256(claims, kSecret));
}
BENCHMARK(BM_SignHs256);

}  // namespace
