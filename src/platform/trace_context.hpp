#pragma once
// W3C trace context: the trace id a request carries from the outside edge through every hop,
// and a new span id per hop. Ids are unique, not unpredictable (see trace_context.cpp).
#include <optional>
#include <string>
#include <string_view>

namespace shopctl::platform {

// The W3C trace context of one request.
struct TraceContext {
  std::string trace_id;  // 32 hex digits
  std::string span_id;   // 16 hex digits, this hop
  std::string traceparent() const;
  // A new span of the same trace, for an outbound call.
  TraceContext child() const;
  static TraceContext fresh();
  // Parses a `traceparent` header; nullopt when malformed.
  static std::optional<TraceContext> parse(std::string_view header);
};

// `words` * 16 lowercase hex digits, never all zero: a span id (1) or a trace id (2).
std::string trace_hex(std::size_t words);

}  // namespace shopctl::platform
