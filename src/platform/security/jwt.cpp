#include "platform/security/jwt.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>

#include "platform/json_body.hpp"
#include "platform/json_text.hpp"
#include "platform/lru_map.hpp"
#include "platform/security/hmac.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::platform::security {
namespace {

using nlohmann::json;

// base64url of {"alg":"HS256","typ":"JWT"}: the header sign_hs256 writes, recognised
// without decoding or parsing it.
constexpr std::string_view kStandardHeader = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

constexpr std::array<std::string_view, 6> kRegisteredClaims = {"sub", "iss", "aud",
                                                               "iat", "nbf", "exp"};

bool equals_ignoring_ascii_case(std::string_view a, std::string_view b) noexcept {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; };
    return lower(x) == lower(y);
  });
}

// A header or payload as request bodies are read (platform/json_body.hpp): a name given twice
// in one object is refused, as RFC 7515 section 4 allows. nlohmann kept the last, so a token
// with two `sub`s named one user to the shop and maybe the other to a proxy or a log that
// decodes it (an outside probe). Discarded when refused.
json parse_token_part(std::string_view text) {
  try {
    return platform::parse_json_limited(text);
  } catch (...) {  // ApiError (invalid_json, duplicate_json_key, a limit) or std::bad_alloc
    return json(json::value_t::discarded);
  }
}

// Returns why the header is refused, or nothing if it pins HS256.
std::optional<JwtFailure> check_header(std::string_view encoded) {
  if (encoded == kStandardHeader) return std::nullopt;
  thread_local std::string decoded;
  if (!base64url_decode(encoded, decoded)) return JwtFailure::malformed;
  const json header = parse_token_part(decoded);
  if (header.is_discarded() || !header.is_object()) return JwtFailure::malformed;
  const auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "HS256") {
    return JwtFailure::unsupported_algorithm;
  }
  const auto typ = header.find("typ");
  if (typ != header.end() &&
      (!typ->is_string() ||
       !equals_ignoring_ascii_case(typ->get_ref<const std::string&>(), "JWT"))) {
    return JwtFailure::malformed;
  }
  // Critical extensions (RFC 7515 section 4.1.11) must be understood; we understand none.
  if (header.contains("crit")) return JwtFailure::malformed;
  return std::nullopt;
}

// Reads an integer NumericDate into `out`. Returns false if it is not an integer in range.
bool read_seconds(const json& value, std::int64_t& out) noexcept {
  if (value.is_number_unsigned()) {
    const auto raw = value.get_ref<const json::number_unsigned_t&>();
    if (raw > static_cast<json::number_unsigned_t>(std::numeric_limits<std::int64_t>::max())) {
      return false;
    }
    out = static_cast<std::int64_t>(raw);
    return true;
  }
  if (value.is_number_integer()) {
    out = value.get_ref<const json::number_integer_t&>();
    return true;
  }
  return false;
}

// `a - b` as an unsigned distance, for a >= b, without signed overflow.
std::uint64_t distance(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b);
}

// What the payload said, gathered by either reader below.
struct PayloadClaims {
  JwtClaims claims;
  bool has_expiry = false;
  bool has_not_before = false;
  bool audience_matches = false;
};

// Reads a payload of the common shape without building a JSON document: an object whose
// values are plain ASCII strings without escapes, integers, true/false/null, or (for aud) an
// array of such strings. Returns false, leaving `out` partly filled, for anything else,
// including anything invalid; the caller then hands the payload to nlohmann::json, which is
// the only judge of what is malformed. So this reader never accepts what nlohmann refuses,
// and whatever it accepts it reads as nlohmann would. A name given twice, or more than
// kMaxPlainNames names, also hands the payload over (which refuses the first as malformed).
class PlainPayloadReader {
 public:
  PlainPayloadReader(std::string_view text, std::string_view expected_audience)
      : position_(text.data()), end_(text.data() + text.size()), audience_(expected_audience) {}

  bool read(PayloadClaims& out) {
    skip_whitespace();
    if (!consume('{')) return false;
    skip_whitespace();
    if (consume('}')) return at_end_after_whitespace();
    std::size_t names = 0;
    for (;;) {
      std::string_view name;
      if (!read_plain_string(name)) return false;
      if (names == kMaxPlainNames) return false;
      for (std::size_t i = 0; i < names; ++i)
        if (names_[i] == name) return false;
      names_[names++] = name;
      skip_whitespace();
      if (!consume(':')) return false;
      skip_whitespace();
      if (!read_member(name, out)) return false;
      skip_whitespace();
      if (consume('}')) return at_end_after_whitespace();
      if (!consume(',')) return false;
      skip_whitespace();
    }
  }

 private:
  bool read_member(std::string_view name, PayloadClaims& out) {
    std::string_view text;
    if (name == "sub" || name == "iss") {
      if (!read_plain_string(text)) return false;
      (name == "sub" ? out.claims.subject : out.claims.issuer).assign(text);
      return true;
    }
    if (name == "aud") return read_audience(out.audience_matches);
    if (name == "iat" || name == "nbf" || name == "exp") {
      bool negative = false;
      std::uint64_t magnitude = 0;
      if (!read_integer(negative, magnitude)) return false;
      // Out of int64 range: nlohmann reads a float, which is malformed; let it say so.
      if (magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return false;
      }
      const auto value =
          negative ? -static_cast<std::int64_t>(magnitude) : static_cast<std::int64_t>(magnitude);
      if (name == "iat") {
        out.claims.issued_at = value;
      } else if (name == "nbf") {
        out.claims.not_before = value;
        out.has_not_before = true;
      } else {
        out.claims.expires_at = value;
        out.has_expiry = true;
      }
      return true;
    }
    json value;
    if (!read_plain_value(value)) return false;
    out.claims.extra.get_ref<json::object_t&>()[std::string(name)] = std::move(value);
    return true;
  }

  bool read_audience(bool& matches) {
    std::string_view entry;
    if (position_ != end_ && *position_ == '"') {
      if (!read_plain_string(entry)) return false;
      matches = entry == audience_;
      return true;
    }
    if (!consume('[')) return false;
    matches = false;
    skip_whitespace();
    if (consume(']')) return true;
    for (;;) {
      if (!read_plain_string(entry)) return false;
      if (entry == audience_) matches = true;
      skip_whitespace();
      if (consume(']')) return true;
      if (!consume(',')) return false;
      skip_whitespace();
    }
  }

  bool read_plain_value(json& value) {
    if (position_ == end_) return false;
    const char first = *position_;
    if (first == '"') {
      std::string_view text;
      if (!read_plain_string(text)) return false;
      value = std::string(text);
      return true;
    }
    if (first == '-' || (first >= '0' && first <= '9')) {
      bool negative = false;
      std::uint64_t magnitude = 0;
      if (!read_integer(negative, magnitude)) return false;
      if (!negative) {
        value = static_cast<json::number_unsigned_t>(magnitude);
        return true;
      }
      if (magnitude > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return false;  // including INT64_MIN: not worth a special case
      }
      value = -static_cast<json::number_integer_t>(magnitude);
      return true;
    }
    if (consume_literal("true")) {
      value = true;
      return true;
    }
    if (consume_literal("false")) {
      value = false;
      return true;
    }
    if (consume_literal("null")) {
      value = nullptr;
      return true;
    }
    return false;
  }

  // A string of printable ASCII without escapes; `text` views the input.
  bool read_plain_string(std::string_view& text) {
    if (!consume('"')) return false;
    const char* const start = position_;
    while (position_ != end_) {
      const auto c = static_cast<unsigned char>(*position_);
      if (c == '"') {
        text = std::string_view(start, static_cast<std::size_t>(position_ - start));
        ++position_;
        return true;
      }
      if (c < 0x20 || c >= 0x80 || c == '\\') return false;
      ++position_;
    }
    return false;
  }

  // An integer without fraction or exponent that fits 64 bits of magnitude.
  bool read_integer(bool& negative, std::uint64_t& magnitude) {
    negative = consume('-');
    const char* const digits = position_;
    while (position_ != end_ && *position_ >= '0' && *position_ <= '9') ++position_;
    const auto count = static_cast<std::size_t>(position_ - digits);
    if (count == 0 || count > 19 || (count > 1 && *digits == '0')) return false;
    if (position_ != end_ && (*position_ == '.' || *position_ == 'e' || *position_ == 'E')) {
      return false;
    }
    magnitude = 0;
    for (const char* digit = digits; digit != position_; ++digit) {
      magnitude = magnitude * 10 + static_cast<std::uint64_t>(*digit - '0');
    }
    return true;
  }

  bool consume_literal(std::string_view literal) {
    if (static_cast<std::size_t>(end_ - position_) < literal.size() ||
        std::string_view(position_, literal.size()) != literal) {
      return false;
    }
    position_ += literal.size();
    return true;
  }

  bool consume(char expected) {
    if (position_ == end_ || *position_ != expected) return false;
    ++position_;
    return true;
  }

  void skip_whitespace() {
    while (position_ != end_ &&
           (*position_ == ' ' || *position_ == '\t' || *position_ == '\n' || *position_ == '\r')) {
      ++position_;
    }
  }

  bool at_end_after_whitespace() {
    skip_whitespace();
    return position_ == end_;
  }

  static constexpr std::size_t kMaxPlainNames = 16;
  const char* position_;
  const char* const end_;
  std::string_view audience_;
  std::array<std::string_view, kMaxPlainNames> names_{};  // the names read so far
};

// Reads any payload through nlohmann::json. Returns malformed for anything that is not a
// JSON object with well-typed registered claims.
std::optional<JwtFailure> read_payload_document(std::string_view text, std::string_view audience,
                                                PayloadClaims& out) {
  json body = parse_token_part(text);
  if (body.is_discarded() || !body.is_object()) return JwtFailure::malformed;
  auto& members = body.get_ref<json::object_t&>();
  for (auto it = members.begin(); it != members.end();) {
    const std::string& name = it->first;
    json& value = it->second;
    if (name == "sub" || name == "iss") {
      if (!value.is_string()) return JwtFailure::malformed;
      (name == "sub" ? out.claims.subject : out.claims.issuer) =
          std::move(value.get_ref<std::string&>());
    } else if (name == "aud") {
      if (value.is_string()) {
        out.audience_matches = value.get_ref<const std::string&>() == audience;
      } else if (value.is_array()) {
        for (const json& entry : value) {
          if (!entry.is_string()) return JwtFailure::malformed;
          if (entry.get_ref<const std::string&>() == audience) out.audience_matches = true;
        }
      } else {
        return JwtFailure::malformed;
      }
    } else if (name == "iat") {
      if (!read_seconds(value, out.claims.issued_at)) return JwtFailure::malformed;
    } else if (name == "nbf") {
      if (!read_seconds(value, out.claims.not_before)) return JwtFailure::malformed;
      out.has_not_before = true;
    } else if (name == "exp") {
      if (!read_seconds(value, out.claims.expires_at)) return JwtFailure::malformed;
      out.has_expiry = true;
    } else {
      ++it;
      continue;
    }
    it = members.erase(it);
  }
  out.claims.extra = std::move(body);
  return std::nullopt;
}

// Tokens this thread verified successfully, by their exact text, with what they were verified
// against. A token's header, signature, payload, issuer and audience give the same answer
// every time for one secret, issuer and audience; only the times (exp, nbf) are checked again
// on every hit, against the caller's now and leeway, in the same order as a full check. Only
// successes are kept, so a refused token is always checked in full (constant-time compare of
// the signature included). Bounded: the least recently used token makes room for a new one.
struct VerifiedToken {
  std::string secret;
  std::string issuer;
  std::string audience;
  JwtClaims claims;
  bool has_not_before = false;
};

constexpr std::size_t kVerifiedTokenCacheSize = 1024;

// Whether exp is further ahead than the options allow (never, without max_lifetime_seconds). A
// credential minted with the key for a million seconds was taken (an outside probe).
bool lives_too_long(const JwtClaims& claims, const JwtVerifyOptions& options,
                    std::uint64_t leeway) noexcept {
  if (options.max_lifetime_seconds <= 0 || claims.expires_at <= options.now_unix) return false;
  return distance(claims.expires_at, options.now_unix) >
         static_cast<std::uint64_t>(options.max_lifetime_seconds) + leeway;
}

LruMap<VerifiedToken>& verified_tokens() {
  thread_local LruMap<VerifiedToken> cache(kVerifiedTokenCacheSize);
  return cache;
}

// The cache entry of `token` verified against these options, or nullptr; `failure` is set when
// the entry's times refuse the token now.
const VerifiedToken* find_verified(std::string_view token, const JwtVerifyOptions& options,
                                   std::optional<JwtFailure>& failure) {
  const VerifiedToken* found = verified_tokens().find(token);
  if (found == nullptr) return nullptr;
  const VerifiedToken& known = *found;
  if (known.secret != options.secret || known.issuer != options.issuer ||
      known.audience != options.audience) {
    return nullptr;
  }
  const JwtClaims& claims = known.claims;
  const std::int64_t now = options.now_unix;
  const auto leeway = static_cast<std::uint64_t>(std::max<std::int64_t>(options.leeway_seconds, 0));
  if (claims.expires_at <= now && distance(now, claims.expires_at) >= leeway) {
    failure = JwtFailure::expired;
  } else if (lives_too_long(claims, options, leeway)) {
    failure = JwtFailure::too_long_lived;
  } else if (known.has_not_before && claims.not_before > now &&
             distance(claims.not_before, now) > leeway) {
    failure = JwtFailure::not_yet_valid;
  }
  return found;
}

std::optional<JwtVerifyResult> verify_cached(std::string_view token,
                                             const JwtVerifyOptions& options) {
  std::optional<JwtFailure> failure;
  const VerifiedToken* known = find_verified(token, options, failure);
  if (known == nullptr) return std::nullopt;
  if (failure) return *failure;
  return JwtVerifyResult{known->claims};
}

void remember_verified(std::string_view token, const JwtVerifyOptions& options,
                       const JwtClaims& claims, bool has_not_before) {
  try {
    verified_tokens().touch(token) =
        VerifiedToken{std::string(options.secret), std::string(options.issuer),
                      std::string(options.audience), claims, has_not_before};
  } catch (...) {  // std::bad_alloc: the token is still good, just not remembered
  }
}

JwtVerifyResult verify(std::string_view token, const JwtVerifyOptions& options) {
  if (token.empty() || token.size() > kMaxJwtLength) return JwtFailure::malformed;
  if (auto cached = verify_cached(token, options)) return std::move(*cached);
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return JwtFailure::malformed;
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos ||
      token.find('.', second_dot + 1) != std::string_view::npos) {
    return JwtFailure::malformed;
  }
  const std::string_view header = token.substr(0, first_dot);
  const std::string_view payload = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature = token.substr(second_dot + 1);
  if (header.empty() || payload.empty()) return JwtFailure::malformed;

  if (const auto refused = check_header(header)) return *refused;

  // The signature is checked before anything in the payload is parsed.
  Sha256Digest given{};
  if (!base64url_decode_exact(signature, given.data(), given.size())) {
    return JwtFailure::bad_signature;
  }
  Sha256Digest expected{};
  if (options.secret.empty() ||
      !try_hmac_sha256(options.secret, {token.substr(0, second_dot)}, expected) ||
      !digests_equal(given, expected)) {
    return JwtFailure::bad_signature;
  }

  thread_local std::string decoded;
  if (!base64url_decode(payload, decoded)) return JwtFailure::malformed;
  PayloadClaims read;
  if (!PlainPayloadReader(decoded, options.audience).read(read)) {
    read = PayloadClaims{};
    if (const auto refused = read_payload_document(decoded, options.audience, read)) {
      return *refused;
    }
  }
  JwtClaims& claims = read.claims;

  if (!read.has_expiry) return JwtFailure::missing_expiry;
  const std::int64_t now = options.now_unix;
  const auto leeway = static_cast<std::uint64_t>(std::max<std::int64_t>(options.leeway_seconds, 0));
  if (claims.expires_at <= now && distance(now, claims.expires_at) >= leeway) {
    return JwtFailure::expired;
  }
  if (read.has_not_before && claims.not_before > now && distance(claims.not_before, now) > leeway) {
    return JwtFailure::not_yet_valid;
  }
  if (options.issuer.empty() || claims.issuer != options.issuer) return JwtFailure::wrong_issuer;
  if (options.audience.empty() || !read.audience_matches) return JwtFailure::wrong_audience;
  // After whose token it is: a user's token shown as a service's credential is wrong_issuer.
  if (lives_too_long(claims, options, leeway)) return JwtFailure::too_long_lived;
  // A token names whom it speaks for: one without a sub (or with an empty one) named nobody,
  // and the gateway let it through on the routes without a user (an outside probe).
  if (claims.subject.empty()) return JwtFailure::malformed;
  // The sub travels on as a header field (the gateway's X-User-Id): one with a control
  // character (CR, LF, NUL), which only a holder of the key could sign, is malformed here, once
  // per token, before the cache remembers it. So is one that would not arrive as signed, or
  // that reads as another: a space at either end (the reader drops it as RFC 9110's OWS, and
  // " usr_x " acted as usr_x; an outside probe), a C1 control, an invisible or reordering
  // character, a space other than U+0020 (platform/text_rules.hpp, as for an email).
  if (claims.subject.front() == ' ' || claims.subject.back() == ' ') return JwtFailure::malformed;
  if (platform::first_unseen_character(claims.subject)) return JwtFailure::malformed;
  claims.audience = options.audience;
  remember_verified(token, options, claims, read.has_not_before);
  return std::move(claims);
}

}  // namespace

std::string sign_hs256(const JwtClaims& claims, std::string_view secret) {
  if (secret.empty()) throw std::invalid_argument("sign_hs256: the secret is empty");
  json payload = claims.extra.is_null() ? json::object() : claims.extra;
  if (!payload.is_object()) {
    throw std::invalid_argument("sign_hs256: extra claims must be an object");
  }
  for (std::string_view name : kRegisteredClaims) {
    if (payload.contains(name)) {
      throw std::invalid_argument("sign_hs256: extra claims name the registered claim " +
                                  std::string(name));
    }
  }
  if (!claims.subject.empty()) payload["sub"] = claims.subject;
  if (!claims.issuer.empty()) payload["iss"] = claims.issuer;
  if (!claims.audience.empty()) payload["aud"] = claims.audience;
  if (claims.issued_at != 0) payload["iat"] = claims.issued_at;
  if (claims.not_before != 0) payload["nbf"] = claims.not_before;
  payload["exp"] = claims.expires_at;

  std::string token(kStandardHeader);
  token += '.';
  token += base64url_encode(payload.dump());
  const Sha256Digest signature = hmac_sha256(secret, {token});
  token += '.';
  token += base64url_encode(
      std::string_view(reinterpret_cast<const char*>(signature.data()), signature.size()));
  return token;
}

JwtVerifyResult verify_hs256(std::string_view token, const JwtVerifyOptions& options) noexcept {
  try {
    return verify(token, options);
  } catch (...) {  // std::bad_alloc; nothing else in verify throws
    return JwtFailure::malformed;
  }
}

std::optional<JwtFailure> verify_hs256_subject(std::string_view token,
                                               const JwtVerifyOptions& options,
                                               std::string& subject) noexcept {
  try {
    if (token.empty() || token.size() > kMaxJwtLength) return JwtFailure::malformed;
    std::optional<JwtFailure> failure;
    if (const VerifiedToken* known = find_verified(token, options, failure)) {
      if (!failure) subject.assign(known->claims.subject);
      return failure;
    }
    JwtVerifyResult result = verify(token, options);
    if (const auto* refused = std::get_if<JwtFailure>(&result)) return *refused;
    subject = std::move(std::get<JwtClaims>(result).subject);
    return std::nullopt;
  } catch (...) {  // std::bad_alloc; nothing else in verify throws
    return JwtFailure::malformed;
  }
}

std::string_view to_string(JwtFailure failure) noexcept {
  switch (failure) {
    case JwtFailure::malformed:
      return "malformed";
    case JwtFailure::unsupported_algorithm:
      return "unsupported_algorithm";
    case JwtFailure::bad_signature:
      return "bad_signature";
    case JwtFailure::expired:
      return "expired";
    case JwtFailure::missing_expiry:
      return "missing_expiry";
    case JwtFailure::not_yet_valid:
      return "not_yet_valid";
    case JwtFailure::wrong_issuer:
      return "wrong_issuer";
    case JwtFailure::wrong_audience:
      return "wrong_audience";
    case JwtFailure::too_long_lived:
      return "too_long_lived";
  }
  return "unknown";
}

}  // namespace shopctl::platform::security
