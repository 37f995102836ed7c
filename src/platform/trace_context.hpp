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
// trace_hex() into `out`, replacing what it held and keeping its storage.
void trace_hex_into(std::string& out, std::size_t words);
// The trace id of a `traceparent` header that TraceContext::parse() accepts; nullopt when it
// does not. The view points into `header`.
std::optional<std::string_view> traceparent_trace_id(std::string_view header);
// "00-<trace_id>-<a new span id>-01", the traceparent of a new span of `trace_id` (what
// TraceContext{trace_id, trace_hex(1)}.traceparent() gives), written into `out`.
void child_traceparent(std::string_view trace_id, std::string& out);

}  // namespace shopctl::platform
