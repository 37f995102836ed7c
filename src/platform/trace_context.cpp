#include "platform/trace_context.hpp"

#include <sodium.h>

#include <cstdint>

#include "platform/security/password.hpp"

namespace shopctl::platform {

namespace {
// Trace and span ids only need to be unique, not unpredictable: a per-thread xoshiro256**
// seeded once from the OS (libsodium) instead of a getrandom syscall per id.
class TraceIdGenerator {
 public:
  TraceIdGenerator() {
    security::ensure_sodium();
    std::uint64_t seed[4];
    do {
      randombytes_buf(seed, sizeof seed);
    } while ((seed[0] | seed[1] | seed[2] | seed[3]) == 0);
    for (int i = 0; i < 4; ++i) s_[i] = seed[i];
  }
  std::uint64_t next() {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4];
};

}  // namespace

std::string trace_hex(std::size_t words) {
  std::string hex;
  trace_hex_into(hex, words);
  return hex;
}

void trace_hex_into(std::string& hex, std::size_t words) {
  thread_local TraceIdGenerator generator;
  constexpr char kDigits[] = "0123456789abcdef";
  hex.assign(words * 16, '0');
  bool zero = true;
  while (zero) {
    for (std::size_t w = 0; w < words; ++w) {
      std::uint64_t v = generator.next();
      zero = zero && v == 0;
      for (int i = 15; i >= 0; --i, v >>= 4)
        hex[w * 16 + static_cast<std::size_t>(i)] = kDigits[v & 0xF];
    }
  }
}

void child_traceparent(std::string_view trace_id, std::string& out) {
  out.clear();
  out.reserve(3 + trace_id.size() + 1 + 16 + 3);
  out.append("00-", 3);
  out.append(trace_id);
  out.push_back('-');
  thread_local std::string span;
  trace_hex_into(span, 1);
  out.append(span);
  out.append("-01", 3);
}

namespace {
bool is_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

std::string TraceContext::traceparent() const {
  std::string out;
  out.reserve(3 + trace_id.size() + 1 + span_id.size() + 3);
  out.append("00-", 3);
  out.append(trace_id);
  out.push_back('-');
  out.append(span_id);
  out.append("-01", 3);
  return out;
}

TraceContext TraceContext::child() const {
  return {trace_id, trace_hex(1)};
}

TraceContext TraceContext::fresh() {
  return {trace_hex(2), trace_hex(1)};
}

std::optional<TraceContext> TraceContext::parse(std::string_view h) {
  auto trace = traceparent_trace_id(h);
  if (!trace) return std::nullopt;
  return TraceContext{std::string(*trace), std::string(h.substr(36, 16))};
}

std::optional<std::string_view> traceparent_trace_id(std::string_view h) {
  // version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55
  if (h.size() < 55 || h[2] != '-' || h[35] != '-' || h[52] != '-') return std::nullopt;
  auto version = h.substr(0, 2), trace = h.substr(3, 32), span = h.substr(36, 16),
       flags = h.substr(53, 2);
  if (!is_hex(version) || version == "ff" || !is_hex(trace) || !is_hex(span) || !is_hex(flags))
    return std::nullopt;
  // Version 00 is exactly 55 characters; a later version may add fields after a "-" (W3C Trace
  // Context, 4.3). Flags "zz" and a 00 header with more fields were taken (an outside probe).
  if (h.size() > 55 && (version == "00" || h[55] != '-')) return std::nullopt;
  constexpr std::string_view kZeros = "00000000000000000000000000000000";
  if (trace == kZeros || span == kZeros.substr(0, 16)) return std::nullopt;
  return trace;
}

}  // namespace shopctl::platform
