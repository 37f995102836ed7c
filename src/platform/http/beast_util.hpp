#pragma once
// Private to the HTTP layer's .cpp files: conversions between Beast and our messages.
#include <sys/socket.h>
#include <sys/uio.h>
#include <array>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "platform/http/message.hpp"

namespace shopctl::http::detail {

namespace bhttp = boost::beast::http;

// What one connection buffers of the peer's bytes at once: a head, a chunk-size line or a
// trailer section must fit whole, and Beast bounds none of them itself, so without a cap one
// that never ends grows the buffer without bound. Past it a read fails with buffer_overflow.
// The server (at least this, more when its header_limit needs it), the outbound client and the
// blocking client all use it.
inline constexpr std::size_t kMaxBufferedBytes = 64 * 1024;

// One text for a peer that passed it, whichever client reads the answer.
inline std::string buffer_overflow_message(std::string_view stage) {
  return std::string(stage) + ": the answer's head, a chunk line or its trailer exceeds " +
         std::to_string(kMaxBufferedBytes / 1024) + " KiB";
}

// What an outbound request's socket or parser error `ec` at `stage` ("connect", "write",
// "read") means to the caller; both clients use it, so a failure has one kind whichever client
// met it. What is not named below is taken as a reset.
inline TransportError transport_error(const boost::beast::error_code& ec, std::string_view stage) {
  namespace aerr = boost::asio::error;
  std::string msg = std::string(stage) + ": " + ec.message();
  if (ec == boost::beast::error::timeout || ec == aerr::timed_out)
    return {TransportErrorKind::timeout, msg};
  if (ec == aerr::connection_refused) return {TransportErrorKind::refused, msg};
  if (ec == aerr::host_unreachable || ec == aerr::network_unreachable)
    return {TransportErrorKind::unreachable, msg};
  if (ec == aerr::eof || ec == bhttp::error::end_of_stream || ec == bhttp::error::partial_message)
    return {TransportErrorKind::closed, msg};
  if (ec == bhttp::error::buffer_overflow)
    return {TransportErrorKind::protocol, buffer_overflow_message(stage)};
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category())
    return {TransportErrorKind::protocol, msg};
  return {TransportErrorKind::reset, msg};
}

// True when writing `fields` (and then the framing fields the caller adds itself) by hand gives
// the bytes Beast would: Beast trims values, keeps fields of the same name together and edits
// the framing fields (Connection, Content-Length, Transfer-Encoding) in place. Anything like
// that goes through Beast instead.
inline bool plain_fields(const Headers& f) {
  for (std::size_t i = 0; i < f.size(); ++i) {
    const auto [k, v] = f[i];
    if (k.empty() || k.size() > 4096 || v.size() > 60000) return false;
    if (!v.empty() &&
        (v.front() == ' ' || v.front() == '\t' || v.back() == ' ' || v.back() == '\t')) {
      return false;
    }
    if (iequals(k, "Connection") || iequals(k, "Content-Length") ||
        iequals(k, "Transfer-Encoding")) {
      return false;
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (iequals(f[j].name, k)) return false;
    }
  }
  return true;
}

// Whether a field name or value can be written as it is: CR and LF would end the field (and
// let a value smuggle in fields or a whole response), NUL is refused by every parser. Heads are
// written by hand for speed, and Beast's own writer does not check either, so both paths drop
// such a field (defence in depth: nothing the shop writes should ever hold one).
inline bool writable_field_text(std::string_view s) noexcept {
  for (char c : s) {
    if (c == '\r' || c == '\n' || c == '\0') return false;
  }
  return true;
}
inline bool writable_field(std::string_view name, std::string_view value) noexcept {
  return writable_field_text(name) && writable_field_text(value);
}

// Appends "name: value\r\n" for each field, leaving out fields that are not writable_field().
inline void append_fields(const Headers& headers, std::string& out) {
  for (const auto [k, v] : headers) {
    if (!writable_field(k, v)) continue;
    out.append(k);
    out.append(": ", 2);
    out.append(v);
    out.append("\r\n", 2);
  }
}

inline void append_number(std::uint64_t n, std::string& out) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
  } while (n != 0);
  out.append(p, static_cast<std::size_t>(end - p));
}

template <class Fields>
void copy_headers(const Fields& from, Headers& to) {
  for (const auto& f : from) to.add(f.name_string(), f.value());
}

// The server's parser settings: the contract's body and header limits.
template <class Parser>
void limit_request_parser(Parser& parser, std::size_t body_limit, std::size_t header_limit) {
  parser.body_limit(body_limit);
  parser.header_limit(static_cast<std::uint32_t>(header_limit));
}

// Whether a request target is in origin form (RFC 9112 section 3.2.1: an absolute path, then
// an optional query), the only form the services serve. Anything else ("api/auth", "*",
// "http://host/x") is a malformed request line: 400, before any routing.
inline bool origin_form(std::string_view target) {
  return !target.empty() && target.front() == '/';
}

// Whether `head` (the unparsed start of a request Beast refused with bad_version) begins with
// a request line that is well formed but names an HTTP version other than 1.0 and 1.1
// ("GET / HTTP/2.0", "PRI * HTTP/2.0"): method, one space, target, one space, "HTTP/" digit
// "." digit, CRLF. Anything else stays a malformed request (400).
inline bool names_other_http_version(std::string_view head) {
  const auto end = head.find("\r\n");
  if (end == std::string_view::npos) return false;
  const auto line = head.substr(0, end);
  const auto first = line.find(' ');
  const auto last = line.rfind(' ');
  if (first == std::string_view::npos || first == 0 || last == first || last == first + 1)
    return false;
  const auto version = line.substr(last + 1);
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  return version.size() == 8 && version.starts_with("HTTP/") && digit(version[5]) &&
         version[6] == '.' && digit(version[7]) && version != "HTTP/1.0" && version != "HTTP/1.1";
}

// The offset of the minor version digit of a request line that names HTTP/1.2 to HTTP/1.9 (a
// well-formed line, as names_other_http_version reads it), or npos. RFC 9112 2.3: a recipient
// SHOULD process a message of a higher minor version as the highest one it implements, 1.1;
// such a request was answered 505.
inline std::size_t higher_minor_version_at(std::string_view head) {
  if (!names_other_http_version(head)) return std::string_view::npos;
  const auto end = head.find("\r\n");
  return head.substr(end - 8, 7) == "HTTP/1." && head[end - 1] >= '2' ? end - 1
                                                                      : std::string_view::npos;
}

// A parser that fills our Request directly: the method, target and fields go from the bytes
// into the Request's own (reused) storage, without Beast's field list in between. It accepts
// exactly what request_parser<string_body> accepts (the same basic_parser does the parsing).
//
// Two things it does that Beast does not:
// - The whole head counts against `head_limit`: Beast's header_limit bounds only the bytes not
//   yet parsed in one put() (the fields it parsed are consumed), so a head arriving in two
//   reads passed at twice the limit, and one sent a line at a time had none. The trailer
//   section of a chunked body counts too. Past it: error::header_limit (431).
// - A trailer section's fields are dropped. Beast hands them to on_field_impl like the
//   header's, after the checks on the header had run: an Authorization in the trailer alone
//   authenticated the request, and one in each was not "more than one" (RFC 9110 6.5.1: such
//   fields must not be merged into the header).
class RequestParser final : public bhttp::basic_parser<true> {
 public:
  // `body_limit` also bounds a chunked body's chunk extensions with its data (Beast counts
  // only the data: 41 KB of data carried 2.5 GB of extensions, never a 413).
  explicit RequestParser(Request& request,
                         std::size_t head_limit = std::numeric_limits<std::size_t>::max(),
                         std::size_t body_limit = std::numeric_limits<std::size_t>::max())
      : request_(request), head_limit_(head_limit), body_limit_(body_limit) {}
  unsigned version() const { return version_; }
  bhttp::verb method() const { return verb_; }
  // Why the head was refused, when the parser's error code alone does not say it; else empty.
  std::string_view problem() const { return problem_; }

 private:
  void on_request_impl(bhttp::verb method, boost::beast::string_view method_str,
                       boost::beast::string_view target, int version,
                       boost::beast::error_code& ec) override {
    verb_ = method;
    request_.method.assign(method_str.data(), method_str.size());
    request_.target.assign(target.data(), target.size());
    version_ = static_cast<unsigned>(version);
    ec = {};
    count_head(method_str.size() + target.size() + 12, ec);  // " HTTP/1.1\r\n" and a space
  }
  // Adds `bytes` to the head's size; past the limit, error::header_limit.
  void count_head(std::size_t bytes, boost::beast::error_code& ec) {
    head_bytes_ += bytes;
    if (head_bytes_ > head_limit_) ec = bhttp::error::header_limit;
  }
  void on_response_impl(int, boost::beast::string_view, int,
                        boost::beast::error_code& ec) override {
    ec = {};
  }
  void on_field_impl(bhttp::field field, boost::beast::string_view name,
                     boost::beast::string_view value, boost::beast::error_code& ec) override {
    ec = {};
    // ":" and CRLF: the fewest bytes a field takes (Beast trims the optional space). With ": "
    // counted, 2,721 fields "a:b" (13,670 bytes) were over 16 KiB. Beast's own header_limit
    // bounds the head's raw bytes; this count bounds the head and a trailer section together.
    count_head(name.size() + value.size() + 3, ec);
    if (ec) return;
    if (folded(name)) {
      folded_ = true;
      // A trailer's fields are dropped, but its framing is read as the head's: a fold there is
      // refused as well (it was taken; an outside probe).
      if (in_trailer_) {
        ec = bhttp::error::bad_field;
        problem_ = "a field value folded onto a second line (obs-fold, RFC 9112 5.2)";
        return;
      }
    }
    if (in_trailer_) return;
    if (field == bhttp::field::transfer_encoding) {
      transfer_encoding_ = true;
      note_transfer_codings({value.data(), value.size()});
    }
    if (field == bhttp::field::host) ++hosts_;
    if (const int which = credential_field(field, {name.data(), name.size()}); which >= 0) {
      if (seen_ & (1u << which)) doubled_ = which;
      seen_ |= 1u << which;
    }
    // A second traceparent is combined with the first, as RFC 9110 5.3 lets a recipient do:
    // "a, b" is no valid traceparent, so a new trace starts (W3C Trace Context 4.3). The first
    // was kept, joining the request to a trace a proxy in front may not have chosen.
    if (field == bhttp::field::unknown && name.size() == 11 &&
        boost::beast::iequals(name, "traceparent")) {
      if (const auto first = request_.headers.get("traceparent")) {
        std::string combined(*first);
        combined.append(", ").append(value.data(), value.size());
        request_.headers.set("traceparent", combined);
        return;
      }
    }
    request_.headers.add(std::string_view(name.data(), name.size()),
                         std::string_view(value.data(), value.size()));
  }
  // A request with a Transfer-Encoding whose last coding is not chunked has no length a
  // server can know (RFC 9112 6.3: answer 400 and close). Beast would read it with an empty
  // body, and its body bytes would then be read as the next request: request smuggling
  // behind any proxy that framed it differently.
  // Likewise (RFC 9112 3.2) an HTTP/1.1 request without a Host field, and any request with more
  // than one, is a 400 (Beast's bad_field; problem() says which).
  void on_header_impl(boost::beast::error_code& ec) override {
    ec = {};
    in_trailer_ = true;  // any field after this one belongs to a trailer section
    if (folded_) {
      // RFC 9112 5.2: a server that receives obs-fold in a request rejects it with 400 or
      // replaces each fold with spaces. Beast joins the lines; a proxy in front that does not
      // reads "Transfer-Encoding:\r\n chunked" as no framing at all and the chunked body as the
      // next request (an outside probe smuggled a GET /metrics so). So: 400.
      ec = bhttp::error::bad_field;
      problem_ = "a field value folded onto a second line (obs-fold, RFC 9112 5.2)";
    } else if (transfer_encoding_ && (!chunked() || codings_ != 1 || !only_chunked_)) {
      ec = bhttp::error::bad_transfer_encoding;
      problem_ =
          "a Transfer-Encoding other than chunked alone (no other transfer coding is "
          "accepted)";
    } else if (transfer_encoding_ && version_ < 11) {
      // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing (HTTP/1.0
      // has no chunked coding; a proxy of 1.0 would frame it otherwise).
      ec = bhttp::error::bad_transfer_encoding;
      problem_ = "Transfer-Encoding in an HTTP/1.0 request (HTTP/1.0 has no chunked coding)";
    } else if (hosts_ > 1 || (hosts_ == 0 && version_ >= 11)) {
      ec = bhttp::error::bad_field;
      problem_ = hosts_ ? "more than one Host field" : "an HTTP/1.1 request needs a Host field";
    } else if (doubled_ >= 0) {
      ec = bhttp::error::bad_field;
      problem_ = kDoubled[doubled_];
    }
  }
  // Whether the field whose name Beast just parsed went on, folded, on the next line (its first
  // line's CRLF then a space or tab). Beast hands the value joined (or, when the first line was
  // empty, the second line's alone), so the raw line is read: `name` lies in the buffer being
  // parsed, followed by ':' and the rest of the line, and Beast has seen the byte after the
  // line's CRLF (to look for a fold) before it calls on_field_impl, in the same put().
  static bool folded(boost::beast::string_view name) {
    const char* p = name.data() + name.size();
    while (*p != '\n') ++p;
    return p[1] == ' ' || p[1] == '\t';
  }
  // The transfer codings of every Transfer-Encoding field, counted: the server decodes chunked
  // and nothing else, so "gzip, chunked" (whose body would be read still compressed) and
  // "chunked, chunked" (chunked twice) are refused like a coding that does not end in chunked.
  // RFC 9112 6.1 suggests 501 for an unknown coding; the shop answers 400, as it does for every
  // request it cannot read (no input gets a 5xx).
  void note_transfer_codings(std::string_view value) {
    while (!value.empty()) {
      auto comma = value.find(',');
      auto item = value.substr(0, comma);
      value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
      while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
      while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
      if (item.empty()) continue;  // an empty list element (RFC 9110 5.6.1) names nothing
      ++codings_;
      if (!boost::beast::iequals(item, "chunked")) only_chunked_ = false;
    }
  }
  // A field that says who is calling, what the body is, or which request this is: given twice,
  // a proxy in front that took the last one and this server, which takes the first, would read
  // two different requests (one user authenticated, another served). So twice is a 400.
  static constexpr const char* kDoubled[] = {
      "more than one Authorization field",   "more than one Content-Type field",
      "more than one Idempotency-Key field", "more than one Payment-Signature field",
      "more than one X-Service-Token field", "more than one X-Admin-Token field",
      "more than one X-User-Id field",       "more than one Content-Encoding field"};
  static int credential_field(bhttp::field field, std::string_view name) {
    if (field == bhttp::field::authorization) return 0;
    if (field == bhttp::field::content_type) return 1;
    // A body's coding (json_body.cpp refuses any but identity): "identity" then "gzip" in two
    // fields was read as identity, while a proxy reads the list the two make.
    if (field == bhttp::field::content_encoding) return 7;
    if (field != bhttp::field::unknown) return -1;
    switch (name.size()) {
      case 15:
        return boost::beast::iequals(name, "Idempotency-Key")   ? 2
               : boost::beast::iequals(name, "X-Service-Token") ? 4
                                                                : -1;
      case 17:
        return boost::beast::iequals(name, "Payment-Signature") ? 3 : -1;
      case 13:
        return boost::beast::iequals(name, "X-Admin-Token") ? 5 : -1;
      case 9:
        return boost::beast::iequals(name, "X-User-Id") ? 6 : -1;
      default:
        return -1;
    }
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         boost::beast::error_code& ec) override {
    init_body(request_.body, length, ec);
  }
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override {
    request_.body.append(body.data(), body.size());
    ec = {};
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view extensions,
                            boost::beast::error_code& ec) override {
    ec = {};
    // Each chunk line's extensions count with the data against the body limit: past it, 413
    // as for data. (The server also bounds the body's bytes on the wire, chunk sizes with
    // leading zeros included: server.cpp.)
    framing_bytes_ += extensions.size();
    if (request_.body.size() + framing_bytes_ > body_limit_) ec = bhttp::error::body_limit;
  }
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(boost::beast::error_code& ec) override { ec = {}; }

  static void init_body(std::string& body, const boost::optional<std::uint64_t>& length,
                        boost::beast::error_code& ec) {
    if (length) {
      if (*length > body.max_size()) {
        ec = bhttp::error::buffer_overflow;
        return;
      }
      body.reserve(static_cast<std::size_t>(*length));
    }
    ec = {};
  }

  Request& request_;
  std::size_t head_limit_;
  std::size_t body_limit_;
  std::size_t framing_bytes_ = 0;  // a chunked body's chunk lines
  std::size_t head_bytes_ = 0;     // the request line and every field, trailer fields too
  bool in_trailer_ = false;
  bool transfer_encoding_ = false;
  int codings_ = 0;           // transfer codings named by the Transfer-Encoding fields
  bool only_chunked_ = true;  // and whether every one of them is chunked
  int hosts_ = 0;
  unsigned seen_ = 0;  // the credential fields met so far, one bit each (credential_field)
  int doubled_ = -1;   // one met twice, or -1
  std::string_view problem_;
  bool folded_ = false;  // a header field folded onto a second line (obs-fold)
  unsigned version_ = 11;
  bhttp::verb verb_ = bhttp::verb::unknown;
};

// The same for a response: status, fields and body into our Response.
class ResponseParser final : public bhttp::basic_parser<false> {
 public:
  explicit ResponseParser(Response& response) : response_(response) {}
  unsigned version() const { return version_; }

 private:
  void on_request_impl(bhttp::verb, boost::beast::string_view, boost::beast::string_view, int,
                       boost::beast::error_code& ec) override {
    ec = {};
  }
  void on_response_impl(int code, boost::beast::string_view, int version,
                        boost::beast::error_code& ec) override {
    response_.status = code;
    version_ = static_cast<unsigned>(version);
    ec = {};
  }
  // As RequestParser: the whole head and trailer section count (against kMaxBufferedBytes,
  // then buffer_overflow), and trailer fields are dropped.
  void on_field_impl(bhttp::field, boost::beast::string_view name, boost::beast::string_view value,
                     boost::beast::error_code& ec) override {
    ec = {};
    head_bytes_ += name.size() + value.size() + 4;
    if (head_bytes_ > kMaxBufferedBytes) {
      ec = bhttp::error::buffer_overflow;
      return;
    }
    if (in_trailer_) return;
    response_.headers.add(std::string_view(name.data(), name.size()),
                          std::string_view(value.data(), value.size()));
  }
  void on_header_impl(boost::beast::error_code& ec) override {
    in_trailer_ = true;
    ec = {};
  }
  void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                         boost::beast::error_code& ec) override {
    if (length) {
      if (*length > response_.body.max_size()) {
        ec = bhttp::error::buffer_overflow;
        return;
      }
      if (response_.body.empty() && response_.body.capacity() < *length) {
        response_.body = body_buffer(static_cast<std::size_t>(*length));
      } else {
        response_.body.reserve(static_cast<std::size_t>(*length));
      }
    }
    ec = {};
  }
  std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code& ec) override {
    response_.body.append(body.data(), body.size());
    ec = {};
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                            boost::beast::error_code& ec) override {
    ec = {};
  }
  std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                 boost::beast::error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(boost::beast::error_code& ec) override { ec = {}; }

  Response& response_;
  std::size_t head_bytes_ = 0;
  bool in_trailer_ = false;
  unsigned version_ = 11;
};

// Whether a message with these fields keeps its connection open. Connection is a list field:
// every Connection field counts, as one list (RFC 9110 5.3, 7.6.1); Beast's message::keep_alive()
// reads only the first, so `Connection: keep-alive` then `Connection: close` stayed open. HTTP/1.0
// needs "keep-alive" in the list; HTTP/1.1 stays open unless "close" is in it.
inline bool keep_alive(const Headers& headers, unsigned version) {
  if (connection_names(headers, "close")) return false;
  return version >= 11 || connection_names(headers, "keep-alive");
}

// Copies the writable_field() fields.
inline void copy_headers_to(const Headers& from, bhttp::fields& to) {
  for (const auto [k, v] : from) {
    if (writable_field(k, v)) to.insert(k, v);
  }
}

// Writes what the socket takes right now of `head` and then `body` (one sendmsg, never
// waiting) and returns the bytes written: all of them for a message that fits the socket's
// send buffer, which is nearly every message on the hot path. The caller writes the rest, if
// any, with async_write and its timeout. Compared with async_write alone this saves, per
// message, the operation's allocation, a timer armed and cancelled, and a trip through the
// scheduler before the coroutine resumes (docs/performance.md, "Writes without waiting").
// `ec` is set on a hard error (a reset, a broken pipe), never on would-block. (Not Asio's
// socket.write_some: unless the socket is switched to non-blocking mode first, one more
// syscall per connection, it waits in poll() when the socket is full.)
inline std::size_t write_now(boost::asio::ip::tcp::socket& socket, std::string_view head,
                             std::string_view body, boost::system::error_code& ec) {
  ec.clear();
  if (!socket.is_open()) {
    ec = boost::asio::error::bad_descriptor;
    return 0;
  }
  iovec iov[2] = {{const_cast<char*>(head.data()), head.size()},
                  {const_cast<char*>(body.data()), body.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = body.empty() ? 1 : 2;
  for (;;) {
    ssize_t n = ::sendmsg(socket.native_handle(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return static_cast<std::size_t>(n);
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      ec = boost::system::error_code(errno, boost::asio::error::get_system_category());
    return 0;
  }
}

// The part of head + body that write_now() did not write, as at most two buffers.
inline std::array<boost::asio::const_buffer, 2> unwritten(std::string_view head,
                                                          std::string_view body,
                                                          std::size_t written) {
  if (written < head.size()) {
    return {boost::asio::buffer(head.data() + written, head.size() - written),
            boost::asio::buffer(body.data(), body.size())};
  }
  written -= head.size();
  return {boost::asio::const_buffer(),
          boost::asio::buffer(body.data() + written, body.size() - written)};
}

}  // namespace shopctl::http::detail
