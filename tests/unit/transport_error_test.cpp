#include <doctest/doctest.h>

#include <string>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

#include "platform/http/beast_util.hpp"

using shopctl::http::TransportErrorKind;
using shopctl::http::detail::transport_error;
namespace aerr = boost::asio::error;
namespace bhttp = boost::beast::http;

// Both outbound clients (the coroutine one and the blocking one) name a failure with this one
// function, so the resilient caller's retry rules and the logs see one kind for one failure.
TEST_CASE("a socket or parser error has one transport kind, whichever client met it") {
  const auto kind = [](boost::beast::error_code ec) { return transport_error(ec, "read").kind(); };
  CHECK(kind(boost::beast::error::timeout) == TransportErrorKind::timeout);
  CHECK(kind(aerr::timed_out) == TransportErrorKind::timeout);
  CHECK(kind(aerr::connection_refused) == TransportErrorKind::refused);
  CHECK(kind(aerr::host_unreachable) == TransportErrorKind::unreachable);
  CHECK(kind(aerr::network_unreachable) == TransportErrorKind::unreachable);
  CHECK(kind(aerr::connection_reset) == TransportErrorKind::reset);
  CHECK(kind(aerr::broken_pipe) == TransportErrorKind::reset);
  CHECK(kind(aerr::eof) == TransportErrorKind::closed);
  CHECK(kind(bhttp::error::end_of_stream) == TransportErrorKind::closed);
  CHECK(kind(bhttp::error::partial_message) == TransportErrorKind::closed);
  CHECK(kind(bhttp::error::buffer_overflow) == TransportErrorKind::protocol);
  CHECK(kind(bhttp::error::bad_version) == TransportErrorKind::protocol);
  CHECK(kind(aerr::operation_aborted) == TransportErrorKind::reset);
}

TEST_CASE("a transport error's message names the stage and the cause") {
  const auto e = transport_error(aerr::connection_refused, "connect");
  CHECK(std::string(e.what()).starts_with("connect: "));
  CHECK(std::string(transport_error(bhttp::error::buffer_overflow, "read").what()).find("64 KiB") !=
        std::string::npos);
}
