#include "services/auth/auth_model.hpp"

#include <cctype>
#include <cstdio>
#include <vector>

#include "platform/domain_error.hpp"
#include "platform/json_body.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::auth {

using platform::DomainError;
using platform::ErrorKind;

namespace {

constexpr std::string_view kDefaultDemoPassword = "demo-password-1";
constexpr std::string_view kDefaultDemoHash =
    "$argon2id$v=19$m=19456,t=2,p=1$OKc4/dAUhc1wCAd5P611Gg$0/"
    "0Cpz2Vl5Rtoimk1mNGYqTPaUUBh9fwPyrQV4Z4byI";

// The passwords of 8 characters or more that lead the published lists of leaked passwords
// (NIST SP 800-63B 5.1.1.2 asks that a new password be checked against such a list), lower
// case. A short list of our own rather than cracklib's dictionary (libpwquality): that refuses
// passphrases of words, which the same guidance asks services to take (docs/security.md).
constexpr std::string_view kCommonPasswords[] = {
    "password", "password1", "password12", "password123",   "passw0rd",  "p@ssw0rd",   "p@ssword",
    "12345678", "123456789", "1234567890", "12341234",      "11223344",  "123123123",  "987654321",
    "87654321", "1234qwer",  "qwer1234",   "q1w2e3r4",      "1q2w3e4r",  "1q2w3e4r5t", "1qaz2wsx",
    "zaq12wsx", "qwertyui",  "qwertyuiop", "qwerty123",     "qwerty12",  "asdfghjk",   "asdfghjkl",
    "zxcvbnm1", "abc12345",  "abcd1234",   "iloveyou",      "iloveyou1", "sunshine",   "princess",
    "football", "baseball",  "superman",   "starwars",      "trustno1",  "welcome1",   "welcome123",
    "letmein1", "whatever",  "changeme",   "administrator", "admin123",  "computer",   "internet",
    "michael1", "jennifer",  "basketball", "sunshine1",     "charlie1",  "shopctl1",   "aa123456",
    "a1b2c3d4", "monkey123", "dragon123",  "master123",
};

// Why `password` is too easy to guess, or empty: a leaked favourite, one character repeated,
// a run of consecutive characters up or down ("abcdefgh", "98765432"), or the email itself.
// Read as code points, with spaces and invisible characters around or inside left out, ASCII
// and fullwidth letters folded to lower-case ASCII: "PASSWORD1 ", "p\u200Bassword1",
// "\uFF50\uFF41\uFF53\uFF53\uFF57\uFF4F\uFF52\uFF44", eight emoji and a Cyrillic run passed
// (an outside probe).
std::string guessable(std::string_view password, std::string_view email) {
  std::vector<std::uint32_t> core;
  platform::find_code_point(password, [&core](std::uint32_t cp) {
    if (cp == ' ' || cp == '\t' || platform::is_other_space(cp) || platform::is_hidden(cp, false))
      return false;
    if (cp >= 0xFF01 && cp <= 0xFF5E) cp -= 0xFEE0;  // fullwidth ASCII
    if (cp >= 'A' && cp <= 'Z') cp += 'a' - 'A';
    core.push_back(cp);
    return false;
  });
  if (core.empty()) return "it is only spaces";
  bool same = true, up = true, down = true, ascii = core[0] < 0x80;
  for (std::size_t i = 1; i < core.size(); ++i) {
    same = same && core[i] == core[0];
    up = up && core[i] == core[i - 1] + 1;
    down = down && core[i] + 1 == core[i - 1];
    ascii = ascii && core[i] < 0x80;
  }
  if (same) return "it is one character repeated";
  if (up || down) return "it is a run of consecutive characters";
  if (!ascii) return "";
  const std::string lower(core.begin(), core.end());
  for (auto common : kCommonPasswords)
    if (lower == common) return "it is one of the most common passwords";
  // The email, its part before the @, or that part without a +tag.
  const auto at = email.find('@');
  const auto local = email.substr(0, at);
  const auto untagged = local.substr(0, local.find('+'));
  if (lower == email || lower == local || lower == untagged) return "it is the email address";
  return "";
}

}  // namespace

std::optional<std::string> normalize_email(std::string_view email) {
  return normalize_email(email, nullptr);
}

std::optional<std::string> normalize_email(std::string_view email, std::string* why) {
  // Each refusal names its rule: every one was "that is not a valid email address", and a
  // shopper could not tell a 65-character local part from a no-break space (an outside probe).
  auto refuse = [why](std::string reason) -> std::optional<std::string> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  while (!email.empty() && email.front() == ' ') email.remove_prefix(1);
  while (!email.empty() && email.back() == ' ') email.remove_suffix(1);
  if (email.empty()) return refuse("it is empty");
  // RFC 5321 counts octets: a character past ASCII takes 2 to 4 (the message said characters,
  // and 36 accented ones were refused as "longer than 64 characters", an outside probe).
  if (email.size() > 254) return refuse("it is longer than 254 bytes");
  auto at = email.find('@');
  if (at == std::string_view::npos || at == 0 || email.find('@', at + 1) != std::string_view::npos)
    return refuse("it needs exactly one @, with a name before it");
  // RFC 5321 4.5.3.1.1: a local part holds at most 64 octets.
  if (at > 64)
    return refuse(
        "the part before the @ is longer than 64 bytes (a character past ASCII takes 2 to 4)");
  // Nothing invisible or reordering: "demo\u200b@shop.test" would be a second account that
  // reads as the demo user's.
  if (auto hidden = platform::first_hidden_character(email, false)) {
    char code[16];
    std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(*hidden));
    return refuse(std::string("it holds an invisible or reordering character (") + code + ")");
  }
  // Nor a space of another kind: "demo@shop.test\u00a0" reads as the demo user's too.
  if (platform::find_code_point(email, platform::is_other_space))
    return refuse("it holds a space other than a plain one");
  auto domain = email.substr(at + 1);
  // No empty part between dots (RFC 5321 4.1.2: "a..b", ".a", "a.@" and "x..test" are not
  // addresses).
  const auto local = email.substr(0, at);
  if (local.front() == '.' || local.back() == '.' || domain.empty() || domain.front() == '.' ||
      email.find("..") != std::string_view::npos)
    return refuse("a dot begins or ends a part, or two dots stand together");
  auto dot = domain.rfind('.');
  if (domain.empty() || dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size())
    return refuse("the part after the @ needs a dot and a last part (shop.test)");
  std::string out;
  for (char c : email) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f || c == '<' || c == '>' || c == '"' || c == '\\' || c == ',')
      return refuse("it holds a space, a control character or one of < > \" \\ ,");
    out.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  }
  return out;
}

namespace {
// RFC 1035 2.3.1 / RFC 5890: a domain's labels are letters, digits and hyphens (or the UTF-8 of
// an internationalized name), 1 to 63 octets, not beginning or ending with a hyphen. No
// address literal ("[127.0.0.1]"), no "_". "a@-x.test" and "a@x_y.test" registered. Checked at
// registration only: logging in with an address taken before stays possible.
bool plain_domain(std::string_view domain) {
  std::size_t start = 0;
  while (start <= domain.size()) {
    const auto end = std::min(domain.find('.', start), domain.size());
    const auto label = domain.substr(start, end - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (char c : label) {
      const auto u = static_cast<unsigned char>(c);
      const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || u >= 0x80;
      if (!ok) return false;
    }
    start = end + 1;
  }
  return true;
}
}  // namespace

Registration validate_registration(std::string_view email, std::string password, std::string name) {
  std::string why;
  auto canonical = normalize_email(email, &why);
  if (canonical && !plain_domain(std::string_view(*canonical).substr(canonical->find('@') + 1))) {
    canonical.reset();
    why =
        "each part of the domain is 1 to 63 letters, digits or hyphens, not beginning or ending "
        "with a hyphen";
  }
  // Nothing that reads as another address: a character that reads as an ASCII one, or a part
  // (before the @, or between the domain's dots) that mixes scripts whose letters read alike.
  // Checked at registration only, as the domain's shape is.
  if (canonical) {
    if (const auto lookalike = platform::find_code_point(*canonical, platform::reads_as_ascii)) {
      char code[16];
      std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(*lookalike));
      canonical.reset();
      why = std::string("it holds ") + code +
            ", a form of an ASCII character (fullwidth or mathematical) or an ideographic dot, "
            "which reads as the plain one";
    }
  }
  if (canonical) {
    const std::string_view address = *canonical;
    std::size_t start = 0;
    while (start <= address.size()) {
      const auto end = std::min(address.find_first_of("@.", start), address.size());
      const auto part = address.substr(start, end - start);
      if (const auto mixed = platform::mixed_lookalike_scripts(part)) {
        why = "the part '" + std::string(part) + "' mixes " +
              platform::lookalike_script_name(mixed->first) + " letters with " +
              platform::lookalike_script_name(mixed->second) + " ones, which read alike";
        canonical.reset();
        break;
      }
      start = end + 1;
    }
  }
  if (!canonical) {
    throw DomainError(ErrorKind::invalid, "invalid_email",
                      "that is not a valid email address: " + why,
                      {{"field", "email"}, {"rule", why}});
  }
  if (platform::utf8_length(password) < kMinPasswordLength) {  // characters, not bytes
    throw DomainError(ErrorKind::invalid, "weak_password",
                      "the password needs at least 8 characters",
                      {{"field", "password"}, {"min_length", kMinPasswordLength}});
  }
  if (const auto guess = guessable(password, *canonical); !guess.empty()) {
    throw DomainError(
        ErrorKind::invalid, "weak_password",
        "the password is too easy to guess: " + guess + "; a few words together make a strong one",
        {{"field", "password"}, {"rule", guess}});
  }
  // A name is shown to people (the web shop, the console): no control characters, nothing
  // invisible and nothing that reorders the text around it (U+202E). ZWJ and ZWNJ stay. Asked
  // before blankness, so that "\u202E" alone is named for what it holds, not called empty.
  if (auto hidden = platform::first_hidden_character(name, true)) {
    char code[16];
    std::snprintf(code, sizeof code, "U+%04X", static_cast<unsigned>(*hidden));
    throw DomainError(ErrorKind::invalid, "invalid_field",
                      std::string("name holds a control or invisible character (") + code + ")",
                      {{"field", "name"}, {"character", code}});
  }
  // "\u3000\u3000" reads as no name, as "  " does; so does a mark with nothing to mark.
  if (platform::looks_blank(name)) {
    const bool spaces_only = name.find_first_not_of(" ") == std::string::npos;
    throw DomainError(ErrorKind::invalid, "invalid_field",
                      spaces_only ? "name must not be empty"
                                  : "name shows nothing: it holds only spaces, joiners or "
                                    "marks with no letter to mark",
                      {{"field", "name"}});
  }
  // Spaces around a name are a form's leftovers, not part of it: " Bob " is shown as "Bob"
  // (as the email's are dropped). Spaces inside it stay.
  name.erase(0, name.find_first_not_of(' '));
  name.erase(name.find_last_not_of(' ') + 1);
  return {std::move(*canonical), std::move(password), std::move(name)};
}

platform::security::JwtClaims access_token_claims(const std::string& user_id,
                                                  const std::string& email, const std::string& name,
                                                  const std::string& issuer,
                                                  const std::string& audience,
                                                  std::int64_t now_millis,
                                                  std::int64_t ttl_seconds) {
  platform::security::JwtClaims claims;
  claims.subject = user_id;
  claims.issuer = issuer;
  claims.audience = audience;
  // JWT times are whole seconds, and a token is checked against the whole second it is used in:
  // exp from the second the login was in (rounded down) let a token live between ttl - 1 and
  // ttl seconds, never the `expires_in` the login said, so a scenario that used a token 899.5 s
  // after its login passed or failed by the millisecond (an outside probe). Rounded up, it lives
  // at least `expires_in` seconds, and less than one more.
  const std::int64_t now_floor =
      now_millis >= 0 ? now_millis / 1000 : -((-now_millis + 999) / 1000);
  const std::int64_t now_ceil = now_floor + (now_floor * 1000 == now_millis ? 0 : 1);
  claims.issued_at = now_floor;
  claims.expires_at = now_ceil + ttl_seconds;
  claims.extra = {{"email", email}, {"name", name}};
  return claims;
}

std::optional<std::string> precomputed_demo_hash(
    std::string_view password, const platform::security::PasswordHashing& hashing) {
  const auto owasp = platform::security::PasswordHashing::owasp();
  if (password != kDefaultDemoPassword || hashing.ops_limit != owasp.ops_limit ||
      hashing.mem_limit_bytes != owasp.mem_limit_bytes) {
    return std::nullopt;
  }
  return std::string(kDefaultDemoHash);
}

}  // namespace shopctl::auth
