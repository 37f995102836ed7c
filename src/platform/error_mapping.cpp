#include "platform/error_mapping.hpp"

#include <algorithm>
#include <utility>

namespace shopctl::platform {

namespace {

struct KindStatus {
  ErrorKind kind;
  int status;
  std::string_view name;
};

constexpr KindStatus kKinds[] = {
    {ErrorKind::invalid, 400, "invalid"},
    {ErrorKind::unauthorized, 401, "unauthorized"},
    {ErrorKind::forbidden, 403, "forbidden"},
    {ErrorKind::not_found, 404, "not_found"},
    {ErrorKind::method_not_allowed, 405, "method_not_allowed"},
    {ErrorKind::conflict, 409, "conflict"},
    {ErrorKind::gone, 410, "gone"},
    {ErrorKind::too_large, 413, "too_large"},
    {ErrorKind::unsupported_media_type, 415, "unsupported_media_type"},
    {ErrorKind::unprocessable, 422, "unprocessable"},
    {ErrorKind::failed_dependency, 424, "failed_dependency"},
    {ErrorKind::too_many, 429, "too_many"},
    {ErrorKind::internal, 500, "internal"},
    {ErrorKind::bad_gateway, 502, "bad_gateway"},
    {ErrorKind::unavailable, 503, "unavailable"},
    {ErrorKind::timeout, 504, "timeout"},
};

const KindStatus& entry(ErrorKind kind) {
  for (const auto& e : kKinds) {
    if (e.kind == kind) return e;
  }
  for (const auto& e : kKinds) {
    if (e.kind == ErrorKind::internal) return e;
  }
  return kKinds[0];  // not reached: internal is in the table
}

}  // namespace

std::string_view to_string(ErrorKind kind) {
  return entry(kind).name;
}

int http_status(ErrorKind kind) {
  return entry(kind).status;
}

ErrorKind kind_for_status(int status) {
  for (const auto& e : kKinds) {
    if (e.status == status) return e.kind;
  }
  return ErrorKind::internal;
}

nlohmann::json error_body(const std::string& code, const std::string& message,
                          const nlohmann::json& details, const std::string& trace_id) {
  return {{"error", {{"code", code}, {"message", message}, {"details", details}}},
          {"trace_id", trace_id}};
}

http::Response error_response(int status, const std::string& code, const std::string& message,
                              const nlohmann::json& details, const std::string& trace_id) {
  return http::Response::json(status, error_body(code, message, details, trace_id));
}

http::Response error_response(const DomainError& error, const std::string& trace_id) {
  auto res =
      error_response(http_status(error), error.code(), error.message(), error.details(), trace_id);
  if (error.retry_after() >= 0) res.headers.set("Retry-After", std::to_string(error.retry_after()));
  return res;
}

int retry_after_seconds(std::int64_t millis_left) {
  const std::int64_t seconds = millis_left <= 0 ? 0 : (millis_left + 999) / 1000;
  return static_cast<int>(std::clamp<std::int64_t>(seconds, 1, 1 << 30));
}

}  // namespace shopctl::platform
