#pragma once
// Reading one request from bytes already in memory, with the server's parser and limits: the
// step between the socket and the service pipeline, without the socket. The HTTP fuzz target
// (tests/fuzz/http_request.cpp) drives the request path through it; the server reads from its
// socket with the same parser (detail::RequestParser) and settings
// (detail::limit_request_parser).
#include <cstddef>
#include <string>
#include <string_view>

#include "platform/http/message.hpp"

namespace shopctl::http {

struct ParsedRequest {
  enum class Outcome {
    complete,           // `request` holds the first request of the bytes
    incomplete,         // the bytes end before the request does (the server would wait)
    body_too_large,     // the server answers 413
    headers_too_large,  // the server answers 431
    malformed,          // the server answers 400 (also: a target that is not an absolute path)
  };
  Outcome outcome = Outcome::incomplete;
  Request request;
  std::size_t consumed = 0;  // bytes of the input the parser used
  std::string error;         // the parser's message when malformed
};

// Parses the first HTTP/1.x request in `bytes`. Never throws for any input.
ParsedRequest parse_request(std::string_view bytes, std::size_t body_limit,
                            std::size_t header_limit) noexcept;

}  // namespace shopctl::http
