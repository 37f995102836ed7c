#include "platform/http/message.hpp"
#include "platform/json_text.hpp"
#include "platform/text_rules.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <functional>

#include <boost/beast/http/status.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <nlohmann/json.hpp>

namespace shopctl::http {

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if ((byte >= 'a' && byte <= 'z') || (byte >= 'A' && byte <= 'Z') ||
        (byte >= '0' && byte <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[byte >> 4]);
      out.push_back(kHex[byte & 0x0F]);
    }
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::optional<std::string> canonical_ip_address(std::string_view text) {
  if (text.size() > 64) return std::nullopt;
  std::string host(text);
  if (!host.empty() && host.front() == '[') {  // [v6] or [v6]:port
    const auto close = host.find(']');
    if (close == std::string::npos) return std::nullopt;
    const auto after = std::string_view(host).substr(close + 1);
    if (!after.empty() &&
        !(after.front() == ':' && after.size() > 1 &&
          std::all_of(after.begin() + 1, after.end(), [](char c) { return c >= '0' && c <= '9'; })))
      return std::nullopt;
    host = host.substr(1, close - 1);
  } else if (const auto colon = host.find(':');
             colon != std::string::npos && host.find(':', colon + 1) == std::string::npos) {
    // a.b.c.d:port (one colon: no IPv6 has only one)
    const auto port = std::string_view(host).substr(colon + 1);
    if (port.empty() ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return std::nullopt;
    host.resize(colon);
  }
  unsigned char raw[sizeof(in6_addr)];
  char out[INET6_ADDRSTRLEN] = {};
  if (inet_pton(AF_INET, host.c_str(), raw) == 1) {
    if (inet_ntop(AF_INET, raw, out, sizeof out) == nullptr) return std::nullopt;
    return std::string(out);
  }
  if (inet_pton(AF_INET6, host.c_str(), raw) != 1) return std::nullopt;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(std::begin(kMapped), std::end(kMapped), raw)) {
    if (inet_ntop(AF_INET, raw + 12, out, sizeof out) == nullptr) return std::nullopt;
  } else if (inet_ntop(AF_INET6, raw, out, sizeof out) == nullptr) {
    return std::nullopt;
  }
  return std::string(out);
}

bool list_names(std::string_view list, std::string_view item) {
  return platform::any_list_element(list, ',', [item](std::string_view element) {
    return !element.empty() && iequals(element, item);
  });
}

bool connection_names(const Headers& headers, std::string_view option) {
  for (const auto field : headers) {
    if (iequals(field.name, "Connection") && list_names(field.value, option)) return true;
  }
  return false;
}

namespace {

// A qvalue (RFC 9110 12.4.2: "0" ["." 0*3DIGIT] / "1" ["." 0*3("0")]) in thousandths.
std::optional<int> qvalue(std::string_view text) {
  if (text.empty() || text.size() > 5 || (text[0] != '0' && text[0] != '1')) return std::nullopt;
  int value = (text[0] - '0') * 1000;
  if (text.size() == 1) return value;
  if (text[1] != '.') return std::nullopt;
  int scale = 100;
  for (char c : text.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    value += (c - '0') * scale;
    scale /= 10;
  }
  return value <= 1000 ? std::optional<int>(value) : std::nullopt;
}

}  // namespace

std::optional<int> accept_quality(const Headers& headers, std::string_view media_type) {
  const auto slash = media_type.find('/');
  const auto type = media_type.substr(0, slash);
  bool any_field = false;
  int best_specificity = 0, best_quality = 0;
  for (const auto field : headers) {
    if (!iequals(field.name, "Accept")) continue;
    any_field = true;
    platform::any_list_element(field.value, ',', [&](std::string_view element) {
      const auto semicolon = element.find(';');
      const auto range = platform::trim_ows(element.substr(0, semicolon));
      int specificity = 0;
      if (iequals(range, media_type)) {
        specificity = 3;
      } else if (const auto rslash = range.find('/');
                 rslash != std::string_view::npos && range.substr(rslash) == "/*") {
        if (iequals(range, "*/*"))
          specificity = 1;
        else if (iequals(range.substr(0, rslash), type))
          specificity = 2;
      }
      if (specificity == 0 || specificity <= best_specificity) return false;
      std::optional<int> quality = 1000;
      if (semicolon != std::string_view::npos) {
        platform::any_list_element(element.substr(semicolon + 1), ';', [&](std::string_view param) {
          if (param.size() >= 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
            quality = qvalue(param.substr(2));
          return false;
        });
      }
      if (!quality) return false;
      best_specificity = specificity;
      best_quality = *quality;
      return false;
    });
  }
  if (!any_field) return std::nullopt;
  return best_quality;
}

// Per thread: the storage of destroyed Headers, for the next ones. Bounded in count and in
// size, so it holds at most a few dozen KiB per thread. A Headers destroyed on another thread
// than the one that filled it simply moves its storage to that thread's recycler.
struct Headers::Recycler {
  static constexpr std::size_t kKeep = 32;
  static constexpr std::size_t kMaxText = 4096;
  static constexpr std::size_t kMaxSpans = 64;
  enum class State : unsigned char { unborn, alive, dead };
  // Trivially destructible: readable even while the thread's other objects are destroyed.
  static thread_local State state;

  Recycler() {
    texts.reserve(kKeep);
    spans.reserve(kKeep);
    state = State::alive;
  }
  ~Recycler() { state = State::dead; }

  // This thread's recycler, or nullptr once it is gone (thread exit); `create`: build it on
  // first use (never from a destructor, where building could throw).
  static Recycler* get(bool create) {
    if (state == State::dead || (state == State::unborn && !create)) return nullptr;
    thread_local Recycler recycler;
    return &recycler;
  }

  std::vector<std::string> texts;
  std::vector<std::vector<Span>> spans;
};

thread_local Headers::Recycler::State Headers::Recycler::state = Headers::Recycler::State::unborn;

void Headers::recycle() noexcept {
  Recycler* r = Recycler::get(false);
  if (r == nullptr) return;
  if (text_.capacity() > 15 && text_.capacity() <= Recycler::kMaxText &&
      r->texts.size() < r->texts.capacity()) {
    text_.clear();
    r->texts.push_back(std::move(text_));
  }
  if (spans_.capacity() > 0 && spans_.capacity() <= Recycler::kMaxSpans &&
      r->spans.size() < r->spans.capacity()) {
    spans_.clear();
    r->spans.push_back(std::move(spans_));
  }
}

Headers::~Headers() {
  recycle();
}

Headers& Headers::operator=(Headers&& other) noexcept {
  if (this != &other) {
    recycle();
    text_ = std::move(other.text_);
    spans_ = std::move(other.spans_);
  }
  return *this;
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const Span& s : spans_) {
    if (iequals(std::string_view(text_.data() + s.name_at, s.name_size), name))
      return std::string_view(text_.data() + s.value_at, s.value_size);
  }
  return std::nullopt;
}

void Headers::set(std::string_view name, std::string_view value) {
  erase(name);
  add(name, value);
}

void Headers::add(std::string_view name, std::string_view value) {
  // `name` or `value` may point into text_ (a field copied within this message): the buffer
  // may move as it grows, so those are copied out first (rare).
  std::less<const char*> before;
  auto inside = [&](std::string_view s) {
    return !s.empty() && !before(s.data(), text_.data()) &&
           before(s.data(), text_.data() + text_.size());
  };
  if (inside(name) || inside(value)) {
    const std::string n(name), v(value);
    add(n, v);
    return;
  }
  // Room for a typical message's fields at once instead of growing field by field: storage a
  // destroyed message left to this thread, else new.
  if (spans_.capacity() == 0 || text_.capacity() < 512) {
    if (Recycler* r = Recycler::get(true)) {
      if (spans_.capacity() == 0 && !r->spans.empty()) {
        spans_ = std::move(r->spans.back());
        r->spans.pop_back();
      }
      if (text_.empty() && text_.capacity() < 512 && !r->texts.empty()) {
        text_ = std::move(r->texts.back());
        r->texts.pop_back();
      }
    }
  }
  if (spans_.capacity() == 0) spans_.reserve(8);
  // 512: an outbound call's fields (traceparent, the service credential, the user) fit.
  if (text_.capacity() < 512) text_.reserve(512);
  Span span{};
  span.name_at = static_cast<std::uint32_t>(text_.size());
  span.name_size = static_cast<std::uint32_t>(name.size());
  text_.append(name);
  span.value_at = static_cast<std::uint32_t>(text_.size());
  span.value_size = static_cast<std::uint32_t>(value.size());
  text_.append(value);
  spans_.push_back(span);
}

void Headers::erase(std::string_view name) {
  // The text of erased fields stays in the buffer until clear().
  const auto erased = std::erase_if(spans_, [&](const Span& s) {
    return iequals(std::string_view(text_.data() + s.name_at, s.name_size), name);
  });
  if (erased == 0) return;
  std::size_t live = 0;
  for (const Span& s : spans_) live += s.name_size + s.value_size;
  if (text_.size() <= 2 * live + 1024) return;
  // Mostly dead text (a message whose fields were set over and over): compact it.
  Headers compact;
  for (auto f : *this) compact.add(f.name, f.value);
  *this = std::move(compact);
}

std::string_view Request::path() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view Request::query() const {
  std::string_view t = target;
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) return std::nullopt;
  for (auto param : parsed->params()) {
    if (param.key == name) return std::string(param.has_value ? param.value : "");
  }
  return std::nullopt;
}

const std::string& Request::param(std::string_view name) const {
  auto it = path_params.find(name);
  if (it == path_params.end()) throw std::out_of_range("no path parameter " + std::string(name));
  return it->second;
}

void Request::clear() noexcept {
  method.clear();
  target.clear();
  headers.clear();
  body.clear();
  path_params.clear();
  route.clear();
  caller.clear();
  trace_id.clear();
  user_id.clear();
}

namespace {

// Per thread: the storage of destroyed Responses' bodies, for the next ones (as Headers'
// recycler, for bodies).
struct BodyRecycler {
  static constexpr std::size_t kKeep = 8;
  static constexpr std::size_t kMaxBody = 64 * 1024;
  enum class State : unsigned char { unborn, alive, dead };
  static thread_local State state;

  BodyRecycler() {
    bodies.reserve(kKeep);
    state = State::alive;
  }
  ~BodyRecycler() { state = State::dead; }
  static BodyRecycler* get(bool create) {
    if (state == State::dead || (state == State::unborn && !create)) return nullptr;
    thread_local BodyRecycler recycler;
    return &recycler;
  }

  std::vector<std::string> bodies;
};

thread_local BodyRecycler::State BodyRecycler::state = BodyRecycler::State::unborn;

void recycle_body(std::string& body) noexcept {
  if (body.capacity() <= 15 || body.capacity() > BodyRecycler::kMaxBody) return;
  BodyRecycler* r = BodyRecycler::get(false);
  if (r == nullptr || r->bodies.size() >= r->bodies.capacity()) return;
  body.clear();
  r->bodies.push_back(std::move(body));
}

}  // namespace

std::string body_buffer(std::size_t size) {
  std::string out;
  if (size > 15 && size <= BodyRecycler::kMaxBody) {
    if (BodyRecycler* r = BodyRecycler::get(true)) {
      for (std::size_t i = r->bodies.size(); i-- > 0;) {
        if (r->bodies[i].capacity() >= size) {
          out = std::move(r->bodies[i]);
          r->bodies.erase(r->bodies.begin() + static_cast<std::ptrdiff_t>(i));
          return out;
        }
      }
    }
  }
  out.reserve(size);
  return out;
}

Response::~Response() {
  recycle_body(body);
}

Response& Response::operator=(Response&& other) noexcept {
  if (this != &other) {
    status = other.status;
    headers = std::move(other.headers);
    recycle_body(body);
    body = std::move(other.body);
    action = other.action;
    bytes_per_second = other.bytes_per_second;
  }
  return *this;
}

Response Response::json(int status, const nlohmann::json& body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.body = platform::json_text(body);
  return r;
}

std::string_view to_string(TransportErrorKind kind) {
  switch (kind) {
    case TransportErrorKind::timeout:
      return "timeout";
    case TransportErrorKind::refused:
      return "connection_refused";
    case TransportErrorKind::reset:
      return "connection_reset";
    case TransportErrorKind::closed:
      return "connection_closed";
    case TransportErrorKind::protocol:
      return "protocol_error";
    case TransportErrorKind::unreachable:
      return "host_unreachable";
    case TransportErrorKind::not_permitted:
      return "not_permitted";
  }
  return "unknown";
}

std::string_view reason_phrase(int status) {
  // Beast's table (RFC 9110's names) where it knows the status: both writers of a status line
  // (the server's own head and Beast's) said "<unknown-status>" for an abort fault's 418, 299
  // or 522 (an outside probe). Another status gets its class's name (RFC 9110, 15): a reason
  // phrase is optional (RFC 9112, 4), but Beast writes its placeholder for an empty one.
  if (status >= 100 && status <= 999) {
    const auto known = boost::beast::http::obsolete_reason(
        static_cast<boost::beast::http::status>(static_cast<unsigned>(status)));
    if (!known.empty() && known.front() != '<') return {known.data(), known.size()};
  }
  if (status >= 100 && status < 200) return "Informational";
  if (status >= 200 && status < 300) return "Successful";
  if (status >= 300 && status < 400) return "Redirection";
  if (status >= 400 && status < 500) return "Client Error";
  return "Server Error";
}

}  // namespace shopctl::http
