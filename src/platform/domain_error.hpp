#pragma once
// The one error type of the shop's domain code. Stores and models throw a DomainError: what
// kind of failure it is (the request is invalid, the thing is not found, it conflicts with
// the current state, ...), a snake_case code for programs and a message for people. They know
// nothing of HTTP; platform/error_mapping maps each kind to an HTTP status in one place and
// renders the contract's error shape.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace shopctl::platform {

enum class ErrorKind {
  invalid,                 // the request is malformed or breaks a rule (400)
  unauthorized,            // who is asking is not known, or proved wrong (401)
  forbidden,               // known, but not allowed (403)
  not_found,               // the thing asked about does not exist (404)
  method_not_allowed,      // the thing exists, the verb does not apply to it (405)
  conflict,                // the current state refuses the change (409)
  gone,                    // existed, and no longer does (410)
  too_large,               // more than may be sent (413)
  unsupported_media_type,  // a body in a form not understood (415)
  unprocessable,           // understood, but not something that can be done (422)
  failed_dependency,       // a party behind us refused this one request; we work (424)
  too_many,                // too many attempts; try again later (429)
  internal,                // a failure of our own (500)
  bad_gateway,             // a party behind us answered nonsense (502)
  unavailable,             // a party we need cannot answer now; try again (503)
  timeout,                 // a party we need did not answer in time (504)
};

// The kind's name as it reads in logs: "not_found".
std::string_view to_string(ErrorKind kind);

class DomainError : public std::runtime_error {
 public:
  DomainError(ErrorKind kind, std::string code, std::string message,
              nlohmann::json details = nlohmann::json::object())
      : std::runtime_error(message),
        kind_(kind),
        code_(std::move(code)),
        message_(std::move(message)),
        details_(std::move(details)) {}

  ErrorKind kind() const { return kind_; }
  const std::string& code() const { return code_; }
  // The whole message; what() is a C string and ends at the first NUL a message may quote
  // from the request ("no product with id 'a\0b'").
  const std::string& message() const { return message_; }
  const nlohmann::json& details() const { return details_; }
  // When the same request may be worth trying again, in seconds (rendered as Retry-After).
  // 64 bits: a login throttle's window may be years, and its wait wrapped at 2^31 s (a
  // Retry-After of 633434608 beside a body that said 9223369200; an outside probe).
  DomainError& with_retry_after(std::int64_t seconds) {
    retry_after_ = seconds;
    return *this;
  }
  std::int64_t retry_after() const { return retry_after_; }  // -1: not said

 private:
  ErrorKind kind_;
  std::string code_;
  std::string message_;
  nlohmann::json details_;
  std::int64_t retry_after_ = -1;
};

}  // namespace shopctl::platform
