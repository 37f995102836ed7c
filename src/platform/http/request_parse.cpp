#include "platform/http/request_parse.hpp"

#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include "platform/http/beast_util.hpp"

namespace shopctl::http {

namespace bhttp = boost::beast::http;

ParsedRequest parse_request(std::string_view bytes, std::size_t body_limit,
                            std::size_t header_limit) noexcept {
  ParsedRequest out;
  try {
    // The server's own parser (detail::RequestParser, as server.cpp reads a connection): its
    // Host, Transfer-Encoding and doubled-field checks, its whole-head limit and the trailer
    // fields it drops are what the fuzz target reaches.
    detail::RequestParser parser(out.request, header_limit, body_limit);
    detail::limit_request_parser(parser, body_limit, header_limit);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!ec && !parser.is_done() && out.consumed < bytes.size()) {
      std::size_t used = parser.put(
          boost::asio::buffer(bytes.data() + out.consumed, bytes.size() - out.consumed), ec);
      out.consumed += used;
      if (used == 0 && !ec) break;  // the parser wants more than there is
    }
    if (ec == bhttp::error::need_more) ec = {};
    if (!ec && !parser.is_done() && parser.is_header_done() && out.consumed == bytes.size()) {
      // A body with neither a length nor chunks runs to the end of the connection; here
      // the input ends, as the connection would.
      parser.put_eof(ec);
      if (ec == bhttp::error::partial_message) ec = {};
    }
    if (ec == bhttp::error::body_limit) {
      out.outcome = ParsedRequest::Outcome::body_too_large;
    } else if (ec == bhttp::error::header_limit) {
      out.outcome = ParsedRequest::Outcome::headers_too_large;
    } else if (ec) {
      out.outcome = ParsedRequest::Outcome::malformed;
      out.error = parser.problem().empty() ? ec.message() : std::string(parser.problem());
    } else if (parser.is_done() && !detail::origin_form(out.request.target)) {
      out.outcome = ParsedRequest::Outcome::malformed;
      out.error = "the request target is not an absolute path";
    } else if (parser.is_done()) {
      out.outcome = ParsedRequest::Outcome::complete;
    }
    if (out.outcome != ParsedRequest::Outcome::complete) out.request = Request();
  } catch (const std::exception& e) {  // allocation failure: treated as a request refused
    out.outcome = ParsedRequest::Outcome::malformed;
    out.error = e.what();
    out.request = Request();
  }
  return out;
}

}  // namespace shopctl::http
