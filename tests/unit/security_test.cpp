// Unit tests of src/platform/security: HS256 JWTs, Argon2id passwords, random ids, webhook
// signatures and service credentials.
#include <doctest/doctest.h>

#include <chrono>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/clock.hpp"
#include "platform/security/hmac.hpp"
#include "platform/security/jwt.hpp"
#include "platform/security/password.hpp"
#include "platform/security/random.hpp"
#include "platform/security/service_credential.hpp"
#include "platform/security/webhook_signature.hpp"
#include "platform/text_rules.hpp"

namespace {

using namespace shopctl::platform::security;
using nlohmann::json;

constexpr std::string_view kSecret = "test-secret-of-reasonable-length-0123456789";
constexpr std::int64_t kNow = 1'700'000'000;

JwtClaims user_claims() {
  JwtClaims claims;
  claims.subject = "usr_42";
  claims.issuer = "shopctl-auth";
  claims.audience = "shopctl";
  claims.issued_at = kNow;
  claims.expires_at = kNow + 900;
  claims.extra = {{"email", "ada@example.com"}, {"role", "customer"}};
  return claims;
}

JwtVerifyOptions user_options(std::int64_t now = kNow) {
  return {.secret = kSecret, .issuer = "shopctl-auth", .audience = "shopctl", .now_unix = now};
}

std::string encode(std::string_view text) {
  return base64url_encode(text);
}

std::string signature_of(std::string_view signing_input, std::string_view secret = kSecret) {
  const Sha256Digest digest = hmac_sha256(secret, {signing_input});
  return encode(std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
}

// Builds a token from raw header and payload text, signed with HMAC-SHA256 whatever the
// header claims (as an attacker holding, or guessing, the key would).
std::string hand_built(std::string_view header, std::string_view payload,
                       std::string_view secret = kSecret) {
  std::string token = encode(header) + "." + encode(payload);
  return token + "." + signature_of(token, secret);
}

std::string valid_payload() {
  return json{{"sub", "usr_42"}, {"iss", "shopctl-auth"}, {"aud", "shopctl"}, {"exp", kNow + 900}}
      .dump();
}

JwtFailure failure_of(const JwtVerifyResult& result) {
  REQUIRE(std::holds_alternative<JwtFailure>(result));
  return std::get<JwtFailure>(result);
}

const JwtClaims& claims_of(const JwtVerifyResult& result) {
  if (const auto* failure = std::get_if<JwtFailure>(&result)) {
    FAIL("token refused: " << to_string(*failure));
  }
  return std::get<JwtClaims>(result);
}

}  // namespace

TEST_SUITE("security") {
  // ---- JWT ----------------------------------------------------------------------------------

  TEST_CASE("a signed HS256 token verifies and gives back every claim") {
    const std::string token = sign_hs256(user_claims(), kSecret);
    CHECK(token.starts_with("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."));
    const JwtVerifyResult result = verify_hs256(token, user_options());
    const JwtClaims& claims = claims_of(result);
    CHECK(claims.subject == "usr_42");
    CHECK(claims.issuer == "shopctl-auth");
    CHECK(claims.audience == "shopctl");
    CHECK(claims.issued_at == kNow);
    CHECK(claims.expires_at == kNow + 900);
    CHECK(claims.extra == json{{"email", "ada@example.com"}, {"role", "customer"}});
  }

  TEST_CASE("the sign_hs256 header is exactly alg HS256 and typ JWT") {
    const std::string token = sign_hs256(user_claims(), kSecret);
    std::string header;
    REQUIRE(base64url_decode(token.substr(0, token.find('.')), header));
    CHECK(json::parse(header) == json{{"alg", "HS256"}, {"typ", "JWT"}});
  }

  TEST_CASE("a hand-built HS256 token with or without typ verifies") {
    CHECK(std::holds_alternative<JwtClaims>(
        verify_hs256(hand_built(R"({"alg":"HS256"})", valid_payload()), user_options())));
    CHECK(std::holds_alternative<JwtClaims>(verify_hs256(
        hand_built(R"({"typ":"JWT","alg":"HS256"})", valid_payload()), user_options())));
    CHECK(
        failure_of(verify_hs256(hand_built(R"({"alg":"HS256","typ":"JOSE+XML"})", valid_payload()),
                                user_options())) == JwtFailure::malformed);
  }

  TEST_CASE("a token past its expiry is refused as expired, within the leeway it is not") {
    const std::string token = sign_hs256(user_claims(), kSecret);
    CHECK(std::holds_alternative<JwtClaims>(verify_hs256(token, user_options(kNow + 899))));
    CHECK(failure_of(verify_hs256(token, user_options(kNow + 900))) == JwtFailure::expired);
    CHECK(failure_of(verify_hs256(token, user_options(kNow + 5000))) == JwtFailure::expired);
    JwtVerifyOptions lenient = user_options(kNow + 910);
    lenient.leeway_seconds = 30;
    CHECK(std::holds_alternative<JwtClaims>(verify_hs256(token, lenient)));
  }

  TEST_CASE("a token without exp is refused as missing_expiry") {
    const std::string payload =
        json{{"sub", "usr_42"}, {"iss", "shopctl-auth"}, {"aud", "shopctl"}}.dump();
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"HS256","typ":"JWT"})", payload),
                                  user_options())) == JwtFailure::missing_expiry);
  }

  TEST_CASE("a signed token that names no subject is refused as malformed") {
    // It passed (an outside probe): the gateway then let it through where no user is needed.
    for (const json& payload :
         {json{{"iss", "shopctl-auth"}, {"aud", "shopctl"}, {"exp", kNow + 900}},
          json{{"sub", ""}, {"iss", "shopctl-auth"}, {"aud", "shopctl"}, {"exp", kNow + 900}}}) {
      CAPTURE(payload.dump());
      CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"HS256","typ":"JWT"})", payload.dump()),
                                    user_options())) == JwtFailure::malformed);
    }
    // The other failures come first: an expired one without sub is still "expired".
    const json old_one = {{"iss", "shopctl-auth"}, {"aud", "shopctl"}, {"exp", kNow - 10}};
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"HS256"})", old_one.dump()),
                                  user_options())) == JwtFailure::expired);
  }

  TEST_CASE("a signed subject with a control character is malformed, the second time too") {
    // The sub goes on as a header field (X-User-Id); the check sat in the gateway and ran on
    // every request. It is the verifier's, once per token: a cached token was checked already.
    for (const std::string& subject :
         {std::string("usr_x\r\nX-Admin: 1"), std::string("usr_\0x", 6), std::string("usr_\x7f"),
          std::string("\tusr"),
          // A space at either end is dropped by the service that reads X-User-Id (RFC 9110's
          // OWS), so " usr_x " acted as usr_x (an outside probe); C1 controls, invisible,
          // reordering characters and other spaces are as hidden as CR.
          std::string(" usr_x"), std::string("usr_x "), std::string("usr_q\u009b"),
          std::string("usr_q\u0080"), std::string("usr_q\u202e"), std::string("usr_q\u200b"),
          std::string("usr_q\u2028"), std::string("usr_q\u00a0")}) {
      const json payload = {
          {"sub", subject}, {"iss", "shopctl-auth"}, {"aud", "shopctl"}, {"exp", kNow + 900}};
      const std::string token = hand_built(R"({"alg":"HS256","typ":"JWT"})", payload.dump());
      CAPTURE(payload.dump());
      CHECK(failure_of(verify_hs256(token, user_options())) == JwtFailure::malformed);
      CHECK(failure_of(verify_hs256(token, user_options())) == JwtFailure::malformed);
    }
    const json fine = {{"sub", "usr_Zo\u00eb ~"},
                       {"iss", "shopctl-auth"},
                       {"aud", "shopctl"},
                       {"exp", kNow + 900}};
    CHECK(std::holds_alternative<JwtClaims>(
        verify_hs256(hand_built(R"({"alg":"HS256"})", fine.dump()), user_options())));
  }

  TEST_CASE("an alg none token is refused as an unsupported algorithm") {
    const std::string unsigned_token =
        encode(R"({"alg":"none","typ":"JWT"})") + "." + encode(valid_payload()) + ".";
    CHECK(failure_of(verify_hs256(unsigned_token, user_options())) ==
          JwtFailure::unsupported_algorithm);
    // Even with a valid HMAC over it, "none" is not HS256.
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"none"})", valid_payload()),
                                  user_options())) == JwtFailure::unsupported_algorithm);
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"None"})", valid_payload()),
                                  user_options())) == JwtFailure::unsupported_algorithm);
  }

  TEST_CASE("HS384, RS256, hs256 and a missing alg are refused as unsupported algorithms") {
    for (const char* header :
         {R"({"alg":"HS384","typ":"JWT"})", R"({"alg":"RS256","typ":"JWT"})", R"({"alg":"hs256"})",
          R"({"typ":"JWT"})", R"({"alg":null})", R"({"alg":["HS256"]})"}) {
      CAPTURE(header);
      CHECK(failure_of(verify_hs256(hand_built(header, valid_payload()), user_options())) ==
            JwtFailure::unsupported_algorithm);
    }
  }

  TEST_CASE("a token with a tampered payload is refused as bad_signature") {
    const std::string token = sign_hs256(user_claims(), kSecret);
    JwtClaims admin = user_claims();
    admin.extra["role"] = "admin";
    const std::string forged_source = sign_hs256(admin, "attacker-key");
    const auto payload_of = [](const std::string& t) {
      const std::size_t first_dot = t.find('.');
      return t.substr(first_dot + 1, t.rfind('.') - first_dot - 1);
    };
    const std::string forged = token.substr(0, token.find('.') + 1) + payload_of(forged_source) +
                               token.substr(token.rfind('.'));
    REQUIRE(forged != token);
    CHECK(failure_of(verify_hs256(forged, user_options())) == JwtFailure::bad_signature);
  }

  TEST_CASE("a token with a tampered signature is refused as bad_signature") {
    std::string token = sign_hs256(user_claims(), kSecret);
    const std::size_t signature_start = token.rfind('.') + 1;
    token[signature_start] = token[signature_start] == 'A' ? 'B' : 'A';
    CHECK(failure_of(verify_hs256(token, user_options())) == JwtFailure::bad_signature);

    std::string truncated = sign_hs256(user_claims(), kSecret);
    truncated.pop_back();
    CHECK(failure_of(verify_hs256(truncated, user_options())) == JwtFailure::bad_signature);

    const std::string other_key = sign_hs256(user_claims(), "another-secret");
    CHECK(failure_of(verify_hs256(other_key, user_options())) == JwtFailure::bad_signature);
  }

  TEST_CASE("a token for another audience is refused as wrong_audience") {
    JwtClaims claims = user_claims();
    claims.audience = "shopctl-admin";
    CHECK(failure_of(verify_hs256(sign_hs256(claims, kSecret), user_options())) ==
          JwtFailure::wrong_audience);
    claims.audience.clear();
    CHECK(failure_of(verify_hs256(sign_hs256(claims, kSecret), user_options())) ==
          JwtFailure::wrong_audience);
  }

  TEST_CASE("a token from another issuer is refused as wrong_issuer") {
    JwtClaims claims = user_claims();
    claims.issuer = "evil-auth";
    CHECK(failure_of(verify_hs256(sign_hs256(claims, kSecret), user_options())) ==
          JwtFailure::wrong_issuer);
    claims.issuer.clear();
    CHECK(failure_of(verify_hs256(sign_hs256(claims, kSecret), user_options())) ==
          JwtFailure::wrong_issuer);
  }

  TEST_CASE("aud may be an array that contains the expected audience") {
    const auto payload_with = [](json audience) {
      return json{{"sub", "usr_42"},
                  {"iss", "shopctl-auth"},
                  {"aud", std::move(audience)},
                  {"exp", kNow + 60}}
          .dump();
    };
    const JwtVerifyResult accepted = verify_hs256(
        hand_built(R"({"alg":"HS256"})", payload_with({"billing", "shopctl"})), user_options());
    CHECK(claims_of(accepted).audience == "shopctl");
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"HS256"})", payload_with({"billing"})),
                                  user_options())) == JwtFailure::wrong_audience);
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"HS256"})", payload_with(json::array())),
                                  user_options())) == JwtFailure::wrong_audience);
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"HS256"})", payload_with({"shopctl", 7})),
                                  user_options())) == JwtFailure::malformed);
  }

  TEST_CASE("a token whose nbf is in the future is not yet valid") {
    JwtClaims claims = user_claims();
    claims.not_before = kNow + 120;
    const std::string token = sign_hs256(claims, kSecret);
    CHECK(failure_of(verify_hs256(token, user_options())) == JwtFailure::not_yet_valid);
    CHECK(std::holds_alternative<JwtClaims>(verify_hs256(token, user_options(kNow + 120))));
    JwtVerifyOptions lenient = user_options(kNow + 100);
    lenient.leeway_seconds = 30;
    CHECK(std::holds_alternative<JwtClaims>(verify_hs256(token, lenient)));
  }

  TEST_CASE("garbage tokens are refused without throwing") {
    const std::string ten_kib(10 * 1024, 'a');
    JwtClaims bulky = user_claims();
    bulky.extra["padding"] = std::string(10 * 1024, 'x');
    const std::string bulky_token = sign_hs256(bulky, kSecret);
    const std::string header = R"({"alg":"HS256","typ":"JWT"})";
    const std::string nested = std::string(2000, '[') + std::string(2000, ']');
    const std::string cases[] = {
        "",
        "a.b",
        "...",
        "..",
        "a.b.c.d",
        "!!!.@@@.###",
        "eyJhbGciOiJIUzI1NiJ9.e30=.AAAA",
        std::string("abc\0def.ghi.jkl", 15),
        ten_kib,
        ten_kib + "." + ten_kib + "." + ten_kib,
        bulky_token,
        encode("not json") + "." + encode(valid_payload()) + "." + signature_of("x"),
        encode("[]") + "." + encode(valid_payload()) + "." + signature_of("x"),
        hand_built(header, "[]"),
        hand_built(header, "null"),
        hand_built(header, "42"),
        hand_built(header, "{\"exp\":"),
        hand_built(header, "not json at all"),
        hand_built(header, nested),
        hand_built(header, "{\"sub\":\"\xff\xfe\",\"exp\":1800000000}"),
        hand_built(header, R"({"iss":"shopctl-auth","aud":"shopctl","exp":"1800000000"})"),
        hand_built(header, R"({"iss":"shopctl-auth","aud":"shopctl","exp":1800000000.5})"),
        hand_built(header, R"({"iss":"shopctl-auth","aud":"shopctl","exp":1e400})"),
        hand_built(header,
                   R"({"iss":"shopctl-auth","aud":"shopctl","exp":99999999999999999999999})"),
        hand_built(header, R"({"iss":"shopctl-auth","aud":"shopctl","exp":18446744073709551615})"),
        hand_built(header, R"({"iss":"shopctl-auth","aud":"shopctl","exp":-9223372036854775808})"),
        hand_built(header, R"({"iss":42,"aud":"shopctl","exp":1800000000})"),
        hand_built(header, R"({"iss":"shopctl-auth","aud":{},"exp":1800000000})"),
        hand_built(header, R"({"iss":"shopctl-auth","aud":"shopctl","exp":1800000000,"nbf":"0"})"),
        hand_built(R"({"alg":"HS256","crit":["exp"]})", valid_payload()),
    };
    for (const std::string& token : cases) {
      CAPTURE(token.substr(0, 80));
      JwtVerifyResult result = JwtFailure::malformed;
      CHECK_NOTHROW(result = verify_hs256(token, user_options()));
      CHECK(std::holds_alternative<JwtFailure>(result));
    }
    CHECK(failure_of(verify_hs256(bulky_token, user_options())) == JwtFailure::malformed);
    CHECK(failure_of(verify_hs256(hand_built(header, "[]"), user_options())) ==
          JwtFailure::malformed);
    CHECK(failure_of(verify_hs256(hand_built(header, R"({"exp":"1800000000"})"), user_options())) ==
          JwtFailure::malformed);
  }

  // What verify_hs256 must answer for a payload, worked out independently with nlohmann::json:
  // the claims on success, or the failure.
  // Whether some object of `text` names a key twice (nlohmann's callback parser sees every key).
  bool has_duplicate_key(const std::string& text) {
    std::vector<std::set<std::string>> open;
    bool duplicate = false;
    const json::parser_callback_t seen = [&](int, json::parse_event_t event, json& parsed) {
      if (event == json::parse_event_t::object_start) {
        open.emplace_back();
      } else if (event == json::parse_event_t::object_end) {
        open.pop_back();
      } else if (event == json::parse_event_t::key &&
                 !open.back().insert(parsed.get<std::string>()).second) {
        duplicate = true;
      }
      return true;
    };
    (void)json::parse(text, seen, false);
    return duplicate;
  }

  JwtVerifyResult reference_verdict(const std::string& payload) {
    const json body = json::parse(payload, nullptr, false);
    if (body.is_discarded() || !body.is_object()) return JwtFailure::malformed;
    if (has_duplicate_key(payload)) return JwtFailure::malformed;  // RFC 7515 section 4
    JwtClaims claims;
    claims.extra = body;
    const auto take_seconds = [&](const char* name, std::int64_t& out) {
      if (!body.contains(name)) return true;
      claims.extra.erase(name);
      if (!body[name].is_number_integer()) return false;
      if (body[name].is_number_unsigned() &&
          body[name].get<std::uint64_t>() > std::uint64_t{INT64_MAX}) {
        return false;
      }
      out = body[name].get<std::int64_t>();
      return true;
    };
    bool audience_matches = false;
    for (const char* name : {"sub", "iss"}) {
      if (!body.contains(name)) continue;
      if (!body[name].is_string()) return JwtFailure::malformed;
      (std::string_view(name) == "sub" ? claims.subject : claims.issuer) = body[name];
      claims.extra.erase(name);
    }
    if (body.contains("aud")) {
      claims.extra.erase("aud");
      const json& aud = body["aud"];
      if (aud.is_string()) {
        audience_matches = aud == "shopctl";
      } else if (aud.is_array()) {
        for (const json& entry : aud) {
          if (!entry.is_string()) return JwtFailure::malformed;
          audience_matches = audience_matches || entry == "shopctl";
        }
      } else {
        return JwtFailure::malformed;
      }
    }
    if (!take_seconds("iat", claims.issued_at) || !take_seconds("nbf", claims.not_before) ||
        !take_seconds("exp", claims.expires_at)) {
      return JwtFailure::malformed;
    }
    if (!body.contains("exp")) return JwtFailure::missing_expiry;
    if (claims.expires_at <= kNow) return JwtFailure::expired;
    if (claims.not_before > kNow) return JwtFailure::not_yet_valid;
    if (claims.issuer != "shopctl-auth") return JwtFailure::wrong_issuer;
    if (!audience_matches) return JwtFailure::wrong_audience;
    if (claims.subject.empty()) return JwtFailure::malformed;
    if (claims.subject.front() == ' ' || claims.subject.back() == ' ') return JwtFailure::malformed;
    if (shopctl::platform::first_hidden_character(claims.subject, false) ||
        shopctl::platform::find_code_point(claims.subject, shopctl::platform::is_other_space))
      return JwtFailure::malformed;
    claims.audience = "shopctl";
    return claims;
  }

  TEST_CASE("payload claims are read as nlohmann::json reads them, whatever their shape") {
    const std::string payloads[] = {
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","iat":1699999999,"exp":1700000900})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"n":-0,"t":true,"f":false,"z":null,"u":7})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"big":18446744073709551615,"neg":-9223372036854775807,"min":-9223372036854775808})",
        " \n{ \"iss\" : \"shopctl-auth\" ,\t\"aud\":[ \"x\" , \"shopctl\" ] , \"exp\" : 1700000900 "
        "} \r\n",
        R"({"iss":"evil","iss":"shopctl-auth","aud":"shopctl","aud":"other","exp":1,"exp":1700000900,"x":1,"x":"two"})",
        R"({"iss":"evil","iss":"shopctl-auth","aud":"other","aud":"shopctl","exp":1700000900})",
        R"({"iss":"shopctl\u002dauth","aud":"shopctl","exp":1700000900,"name":"Zo\u00eb","e":"\ud83d\ude00"})",
        "{\"sub\":\"u\",\"iss\":\"shopctl-auth\",\"aud\":\"shopctl\",\"exp\":1700000900,\"name\":"
        "\"Zo\xc3\xab\"}",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"obj":{"a":[1,2,{"b":null}]},"f":1.5,"e":1e3})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":-9223372036854775808})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":9223372036854775807,"nbf":1700000000})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":9223372036854775808})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"nbf":1700000001})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900.0})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":17000009e2})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":01700000900})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":-5})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900} x)",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900}{})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,})",
        R"({"sub":"u","iss":"shopctl-auth","aud":["shopctl",],"exp":1700000900})",
        R"({"sub":"u","iss":"shopctl-auth","aud":["shopctl"],"exp":1700000900,"t":tru})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"t":True})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"s":"a)"
        "\x01"
        R"(b"})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"s":"a\qb"})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"s":"unterminated})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"":"empty name"})",
        R"({"sub":"u\r\nX: 1","iss":"shopctl-auth","aud":"shopctl","exp":1700000900})",
        R"({"sub":"u\u007f","iss":"shopctl-auth","aud":"shopctl","exp":1700000900})",
        R"({"sub":"u","iss":"shopctl-auth" "aud":"shopctl","exp":1700000900})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":-})",
        R"({"sub":null,"iss":"shopctl-auth","aud":"shopctl","exp":1700000900})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","iat":"yesterday","exp":1700000900})",
        R"({"sub":"u","iss":"shopctl-auth","aud":[],"exp":1700000900})",
        R"({})",
        // A subject is needed (the others have one, so that what they test is reached).
        R"({"iss":"shopctl-auth","aud":"shopctl","exp":1700000900})",
        R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900)",
        "{\"sub\":\"u\",\"iss\":\"shopctl-auth\",\"aud\":\"shopctl\",\"exp\":1700000900,\"bad\":"
        "\"\xff\"}",
    };
    for (const std::string& payload : payloads) {
      CAPTURE(payload);
      const JwtVerifyResult expected = reference_verdict(payload);
      const JwtVerifyResult actual =
          verify_hs256(hand_built(R"({"alg":"HS256","typ":"JWT"})", payload), user_options());
      REQUIRE(actual.index() == expected.index());
      if (const auto* failure = std::get_if<JwtFailure>(&expected)) {
        CHECK(to_string(std::get<JwtFailure>(actual)) == to_string(*failure));
        continue;
      }
      const JwtClaims& want = std::get<JwtClaims>(expected);
      const JwtClaims& got = std::get<JwtClaims>(actual);
      CHECK(got.subject == want.subject);
      CHECK(got.issuer == want.issuer);
      CHECK(got.audience == want.audience);
      CHECK(got.issued_at == want.issued_at);
      CHECK(got.not_before == want.not_before);
      CHECK(got.expires_at == want.expires_at);
      CHECK(got.extra.dump() == want.extra.dump());
    }
  }

  // nlohmann kept the last of two `sub`s: a proxy or a log that decodes the token may read the
  // first, and see another user (an outside probe).
  TEST_CASE("a token that names a claim twice is malformed, in its payload or its header") {
    const std::string header = R"({"alg":"HS256","typ":"JWT"})";
    for (
        const std::string payload : {
            R"({"sub":"usr_42","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"sub":"usr_other"})",
            R"({"sub":"usr_42","sub":"usr_42","iss":"shopctl-auth","aud":"shopctl","exp":1700000900})",
            R"({"sub":"usr_42","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"x":1,"x":2})",
            R"({"sub":"u1","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"sub":"u2"})",
            R"({"sub":"u","iss":"shopctl-auth","aud":"shopctl","exp":1700000900,"o":{"a":1,"a":2}})",
        }) {
      CAPTURE(payload);
      CHECK(failure_of(verify_hs256(hand_built(header, payload), user_options())) ==
            JwtFailure::malformed);
    }
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"HS256","alg":"HS256"})", valid_payload()),
                                  user_options())) == JwtFailure::malformed);
    CHECK(failure_of(verify_hs256(hand_built(R"({"alg":"none","alg":"HS256"})", valid_payload()),
                                  user_options())) == JwtFailure::malformed);
    // Seventeen distinct names are read by the document reader, and taken.
    json many = json::parse(valid_payload());
    for (int i = 0; i < 17; ++i) many["c" + std::to_string(i)] = i;
    CHECK(claims_of(verify_hs256(hand_built(header, many.dump()), user_options())).subject ==
          "usr_42");
  }

  TEST_CASE("an empty verification secret refuses every token") {
    const std::string token = sign_hs256(user_claims(), kSecret);
    JwtVerifyOptions options = user_options();
    options.secret = "";
    CHECK(failure_of(verify_hs256(token, options)) == JwtFailure::bad_signature);
  }

  TEST_CASE("sign_hs256 refuses an empty secret and extra claims that shadow registered ones") {
    CHECK_THROWS_AS(sign_hs256(user_claims(), ""), std::invalid_argument);
    JwtClaims shadowing = user_claims();
    shadowing.extra["exp"] = kNow + 999'999;
    CHECK_THROWS_AS(sign_hs256(shadowing, kSecret), std::invalid_argument);
    JwtClaims not_object = user_claims();
    not_object.extra = json::array();
    CHECK_THROWS_AS(sign_hs256(not_object, kSecret), std::invalid_argument);
  }

  TEST_CASE("every JWT failure has a snake_case name") {
    CHECK(to_string(JwtFailure::bad_signature) == "bad_signature");
    CHECK(to_string(JwtFailure::unsupported_algorithm) == "unsupported_algorithm");
    CHECK(to_string(JwtFailure::missing_expiry) == "missing_expiry");
  }

  TEST_CASE("base64url round-trips every length and refuses non-canonical text") {
    std::string bytes;
    std::string decoded;
    for (int length = 0; length < 70; ++length) {
      const std::string text = base64url_encode(bytes);
      CHECK(text.find_first_of("+/=") == std::string::npos);
      REQUIRE(base64url_decode(text, decoded));
      CHECK(decoded == bytes);
      bytes += static_cast<char>(length * 37 + 200);
    }
    CHECK(base64url_encode("\xfb\xff") == "-_8");
    CHECK_FALSE(base64url_decode("e30=", decoded));  // padding
    CHECK_FALSE(base64url_decode("A", decoded));     // impossible length
    CHECK_FALSE(base64url_decode("AB", decoded));    // non-zero unused bits
    CHECK_FALSE(base64url_decode("a+b/", decoded));  // standard alphabet
  }

  // ---- passwords ----------------------------------------------------------------------------

  TEST_CASE("a hashed password verifies and a wrong one does not") {
    const std::string stored =
        hash_password("correct horse battery", PasswordHashing::fast_for_tests());
    CHECK(verify_password("correct horse battery", stored));
    CHECK_FALSE(verify_password("correct horse batterY", stored));
    CHECK_FALSE(verify_password("", stored));
  }

  TEST_CASE("password hashes are argon2id with the requested cost") {
    const std::string stored = hash_password("hunter2hunter2", PasswordHashing::fast_for_tests());
    CHECK(stored.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
    CHECK_FALSE(password_needs_rehash(stored, PasswordHashing::fast_for_tests()));
    CHECK(password_needs_rehash(stored, PasswordHashing::owasp()));
    const PasswordHashing owasp = PasswordHashing::owasp();
    CHECK(owasp.ops_limit == 2);
    CHECK(owasp.mem_limit_bytes == 19u * 1024 * 1024);
  }

  TEST_CASE("two hashes of the same password differ and both verify") {
    const std::string first = hash_password("same password", PasswordHashing::fast_for_tests());
    const std::string second = hash_password("same password", PasswordHashing::fast_for_tests());
    CHECK(first != second);
    CHECK(verify_password("same password", first));
    CHECK(verify_password("same password", second));
  }

  TEST_CASE("a malformed stored hash verifies nothing and does not throw") {
    const std::string stored = hash_password("password1", PasswordHashing::fast_for_tests());
    const std::string cases[] = {
        "",
        "password1",
        "$argon2id$",
        stored.substr(0, stored.size() - 5),
        stored + std::string(200, 'A'),
        std::string(stored).insert(10, std::string(1, '\0')),
        "$2b$12$abcdefghijklmnopqrstuuJ6W0rVY1.nU3lIBPtIpZC1g2c7QnHK",
        "$argon2i$v=19$m=1024,t=1,p=1$c29tZXNhbHQ$aGFzaA",
    };
    for (const std::string& bad : cases) {
      CAPTURE(bad);
      bool verified = true;
      CHECK_NOTHROW(verified = verify_password("password1", bad));
      CHECK_FALSE(verified);
    }
  }

  // ---- random ids ---------------------------------------------------------------------------

  TEST_CASE("random ids carry the prefix and 24 fresh hex characters") {
    const std::string id = new_id("ord_");
    REQUIRE(id.size() == 4 + 24);
    CHECK(id.starts_with("ord_"));
    CHECK(id.find_first_not_of("0123456789abcdef", 4) == std::string::npos);
    std::set<std::string> seen;
    for (int i = 0; i < 100; ++i) seen.insert(new_id("x"));
    CHECK(seen.size() == 100);
    CHECK(random_hex(16).size() == 32);
    CHECK(random_hex(0).empty());
    CHECK(to_hex(std::string_view("\x00\x7f\xab\xff", 4)) == "007fabff");
  }

  // ---- webhook signatures -------------------------------------------------------------------

  TEST_CASE("a signed webhook verifies against its exact body") {
    const std::string body = R"({"event":"payment.succeeded","intent_id":"pi_1","amount":1999})";
    const std::string header = sign_webhook("whsec", kNow, body);
    CHECK(header.starts_with("t=1700000000,v1="));
    CHECK(header.size() == std::string("t=1700000000,v1=").size() + 64);
    CHECK(verify_webhook(header, body, "whsec", kNow) == WebhookCheck::ok);
    CHECK(verify_webhook(header, body, "whsec", kNow + 300) == WebhookCheck::ok);
    CHECK(verify_webhook(header, body + " ", "whsec", kNow) == WebhookCheck::bad_signature);
  }

  TEST_CASE("a webhook signed with another secret is refused as bad_signature") {
    const std::string body = R"({"event":"payment.succeeded"})";
    CHECK(verify_webhook(sign_webhook("other", kNow, body), body, "whsec", kNow) ==
          WebhookCheck::bad_signature);
    std::string header = sign_webhook("whsec", kNow, body);
    header.back() = header.back() == '0' ? '1' : '0';
    CHECK(verify_webhook(header, body, "whsec", kNow) == WebhookCheck::bad_signature);
    // Moving t invalidates the signature, since t is signed with the body.
    std::string moved = sign_webhook("whsec", kNow, body);
    moved.replace(2, 10, "1700000100");
    CHECK(verify_webhook(moved, body, "whsec", kNow + 100) == WebhookCheck::bad_signature);
  }

  TEST_CASE("a genuine webhook 301 s old or 301 s in the future is stale") {
    const std::string body = "{}";
    CHECK(verify_webhook(sign_webhook("whsec", kNow - 301, body), body, "whsec", kNow) ==
          WebhookCheck::stale);
    CHECK(verify_webhook(sign_webhook("whsec", kNow + 301, body), body, "whsec", kNow) ==
          WebhookCheck::stale);
    CHECK(verify_webhook(sign_webhook("whsec", kNow - 300, body), body, "whsec", kNow) ==
          WebhookCheck::ok);
    CHECK(verify_webhook(sign_webhook("whsec", kNow - 3600, body), body, "whsec", kNow, 7200) ==
          WebhookCheck::ok);
  }

  TEST_CASE("a forged old webhook is bad_signature, not stale") {
    const std::string body = "{}";
    CHECK(verify_webhook(sign_webhook("attacker", kNow - 10'000, body), body, "whsec", kNow) ==
          WebhookCheck::bad_signature);
  }

  TEST_CASE("a webhook header with several v1 entries passes when one is right, in any order") {
    const std::string body = R"({"event":"payment.failed"})";
    const std::string good = sign_webhook("whsec", kNow, body);
    const std::string good_v1 = good.substr(good.find("v1="));
    const std::string wrong_v1 = "v1=" + std::string(64, 'a');
    CHECK(verify_webhook("t=1700000000," + wrong_v1 + "," + good_v1, body, "whsec", kNow) ==
          WebhookCheck::ok);
    CHECK(verify_webhook(good_v1 + ", " + wrong_v1 + ", t=1700000000, v0=legacy", body, "whsec",
                         kNow) == WebhookCheck::ok);
    CHECK(verify_webhook("t=1700000000," + wrong_v1 + "," + wrong_v1, body, "whsec", kNow) ==
          WebhookCheck::bad_signature);
  }

  TEST_CASE("malformed webhook signature headers are refused without throwing") {
    const std::string body = "{}";
    const std::string good = sign_webhook("whsec", kNow, body);
    const std::string good_v1 = good.substr(good.find("v1="));
    const std::string cases[] = {
        "",
        ",",
        "garbage",
        "t=1700000000",
        good_v1,
        "t=," + good_v1,
        "t=abc," + good_v1,
        "t=-1700000000," + good_v1,
        "t=+1700000000," + good_v1,
        "t=1700000000 ," + good_v1 + "x",
        "t=99999999999999999999999," + good_v1,
        "t=1700000000,t=1700000000," + good_v1,
        "t=1700000000,v1=zz" + std::string(62, '0'),
        "t=1700000000,v1=abc",
        "t=1700000000,v1",
        "t=1700000000,," + good_v1,
        "t=1700000000,v0=" + std::string(64, '0'),
        "t=1700000000," + good_v1 + std::string(5000, ' '),
    };
    for (const std::string& header : cases) {
      CAPTURE(header.substr(0, 100));
      WebhookCheck check = WebhookCheck::ok;
      CHECK_NOTHROW(check = verify_webhook(header, body, "whsec", kNow));
      CHECK(check == WebhookCheck::malformed);
    }
    CHECK(to_string(WebhookCheck::stale) == "stale");
  }

  // ---- service credentials ------------------------------------------------------------------

  TEST_CASE("a service credential verifies to the name of the service that holds it") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials credentials("service-key", clock);
    const std::string token = credentials.token_for("order");
    const auto verified = credentials.verify(token);
    REQUIRE(std::holds_alternative<std::string>(verified));
    CHECK(std::get<std::string>(verified) == "order");
    CHECK(kServiceTokenHeader == "X-Service-Token");

    const JwtVerifyResult raw = verify_hs256(token, {.secret = "service-key",
                                                     .issuer = "shopctl-internal",
                                                     .audience = "shopctl-services",
                                                     .now_unix = clock.unix_seconds()});
    CHECK(claims_of(raw).subject == "svc:order");
    CHECK(claims_of(raw).expires_at == clock.unix_seconds() + 60);
  }

  TEST_CASE("a cached service credential is reused, and re-issued once under 15 s remain") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials credentials("service-key", clock);
    const std::string first = credentials.token_for("order");
    CHECK(credentials.token_for("order") == first);
    CHECK(credentials.token_for("payment") != first);
    clock.advance(std::chrono::seconds(45));
    CHECK(credentials.token_for("order") == first);  // exactly 15 s left
    clock.advance(std::chrono::seconds(5));
    const std::string renewed = credentials.token_for("order");
    CHECK(renewed != first);
    CHECK(std::get<std::string>(credentials.verify(renewed)) == "order");
    CHECK(credentials.token_for("order") == renewed);
  }

  TEST_CASE("a service credential 61 s old is refused as expired") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials credentials("service-key", clock);
    const std::string token = credentials.token_for("gateway");
    clock.advance(std::chrono::seconds(61));
    const auto verified = credentials.verify(token);
    REQUIRE(std::holds_alternative<JwtFailure>(verified));
    CHECK(std::get<JwtFailure>(verified) == JwtFailure::expired);
  }

  // A credential minted with the key for a million seconds was taken: docs/security.md promises
  // 60 s (an outside probe). 75 s ahead is the most: 60 and the 15 s renewal margin.
  TEST_CASE(
      "a service credential whose exp is more than 75 s ahead is refused, whoever signed it") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials credentials("service-key", clock);
    const std::int64_t now = clock.unix_seconds();
    const auto minted = [&](std::int64_t lifetime) {
      JwtClaims claims;
      claims.subject = "svc:order";
      claims.issuer = std::string(kServiceIssuer);
      claims.audience = std::string(kServiceAudience);
      claims.issued_at = now;
      claims.expires_at = now + lifetime;
      return credentials.verify(sign_hs256(claims, "service-key"));
    };
    for (const std::int64_t lifetime :
         {std::int64_t{76}, std::int64_t{1'000'000}, INT64_MAX - now}) {
      CAPTURE(lifetime);
      const auto verified = minted(lifetime);
      REQUIRE(std::holds_alternative<JwtFailure>(verified));
      CHECK(std::get<JwtFailure>(verified) == JwtFailure::too_long_lived);
    }
    CHECK(std::get<std::string>(minted(75)) == "order");
    CHECK(std::get<std::string>(minted(60)) == "order");
    CHECK(to_string(JwtFailure::too_long_lived) == "too_long_lived");
    // The cap is the verifier's: user tokens (no max_lifetime_seconds) keep their exp.
    JwtClaims user = user_claims();
    user.expires_at = kNow + 10'000'000;
    CHECK(claims_of(verify_hs256(sign_hs256(user, kSecret), user_options())).subject == "usr_42");
  }

  TEST_CASE("a service credential signed with a different key is refused") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials ours("service-key", clock);
    ServiceCredentials theirs("some-other-key", clock);
    const auto verified = ours.verify(theirs.token_for("order"));
    REQUIRE(std::holds_alternative<JwtFailure>(verified));
    CHECK(std::get<JwtFailure>(verified) == JwtFailure::bad_signature);
  }

  TEST_CASE("a user JWT is not accepted as a service credential, even with the same key") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials credentials("shared-key", clock);
    JwtClaims user = user_claims();
    user.issued_at = clock.unix_seconds();
    user.expires_at = clock.unix_seconds() + 60;  // a credential's life: the subject is what fails
    const auto as_user = credentials.verify(sign_hs256(user, "shared-key"));
    REQUIRE(std::holds_alternative<JwtFailure>(as_user));
    CHECK(std::get<JwtFailure>(as_user) == JwtFailure::wrong_issuer);

    user.issuer = "shopctl-internal";  // right issuer, user audience
    const auto wrong_audience = credentials.verify(sign_hs256(user, "shared-key"));
    REQUIRE(std::holds_alternative<JwtFailure>(wrong_audience));
    CHECK(std::get<JwtFailure>(wrong_audience) == JwtFailure::wrong_audience);

    user.audience = "shopctl-services";  // right iss and aud, but not a svc: subject
    const auto not_a_service = credentials.verify(sign_hs256(user, "shared-key"));
    REQUIRE(std::holds_alternative<JwtFailure>(not_a_service));
    CHECK(std::get<JwtFailure>(not_a_service) == JwtFailure::malformed);
  }

  TEST_CASE("service credentials refuse an empty key or service name") {
    shopctl::platform::ManualClock clock;
    CHECK_THROWS_AS(ServiceCredentials("", clock), std::invalid_argument);
    ServiceCredentials credentials("service-key", clock);
    CHECK_THROWS_AS(credentials.token_for(""), std::invalid_argument);
  }

  // ---- verified-token cache (per thread, successes only, times re-checked on every hit) -------

  TEST_CASE("a cached service credential is refused as expired once the clock passes its exp") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials credentials("cache-key-expiry", clock);
    const std::string token = credentials.token_for("gateway");
    for (int i = 0; i < 3; ++i) {  // verified, then served from the cache
      const auto verified = credentials.verify(token);
      REQUIRE(std::holds_alternative<std::string>(verified));
      CHECK(std::get<std::string>(verified) == "gateway");
    }
    clock.advance(std::chrono::seconds(59));
    CHECK(std::holds_alternative<std::string>(credentials.verify(token)));
    clock.advance(std::chrono::seconds(1));  // now == exp
    for (int i = 0; i < 2; ++i) {
      const auto verified = credentials.verify(token);
      REQUIRE(std::holds_alternative<JwtFailure>(verified));
      CHECK(std::get<JwtFailure>(verified) == JwtFailure::expired);
    }
  }

  TEST_CASE("a tampered copy of a cached service credential is refused") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials credentials("cache-key-tamper", clock);
    const std::string token = credentials.token_for("order");
    REQUIRE(std::holds_alternative<std::string>(credentials.verify(token)));

    std::string signature_flipped = token;
    signature_flipped.back() = signature_flipped.back() == 'A' ? 'B' : 'A';
    std::string payload_flipped = token;
    const auto dot = payload_flipped.find('.');
    payload_flipped[dot + 3] = payload_flipped[dot + 3] == 'A' ? 'B' : 'A';
    for (const std::string& tampered :
         {signature_flipped, payload_flipped, token + "A", token.substr(0, token.size() - 1)}) {
      const auto verified = credentials.verify(tampered);
      REQUIRE(std::holds_alternative<JwtFailure>(verified));
      CHECK(std::get<JwtFailure>(verified) == JwtFailure::bad_signature);
    }
    CHECK(std::get<std::string>(credentials.verify(token)) == "order");
  }

  TEST_CASE("a cached service credential is refused by services holding another key") {
    shopctl::platform::ManualClock clock;
    ServiceCredentials ours("cache-key-ours", clock);
    ServiceCredentials theirs("cache-key-theirs", clock);
    const std::string token = theirs.token_for("order");
    REQUIRE(std::holds_alternative<std::string>(theirs.verify(token)));  // cached for their key
    const auto verified = ours.verify(token);
    REQUIRE(std::holds_alternative<JwtFailure>(verified));
    CHECK(std::get<JwtFailure>(verified) == JwtFailure::bad_signature);
  }

  TEST_CASE("a cached user token is checked again for audience, issuer, nbf, exp and leeway") {
    JwtClaims claims = user_claims();
    claims.subject = "usr_cache";
    claims.not_before = kNow + 10;
    const std::string token = sign_hs256(claims, kSecret);
    CHECK(failure_of(verify_hs256(token, user_options(kNow))) == JwtFailure::not_yet_valid);
    CHECK(claims_of(verify_hs256(token, user_options(kNow + 10))).subject == "usr_cache");
    CHECK(claims_of(verify_hs256(token, user_options(kNow + 10))).extra.at("role") == "customer");
    CHECK(failure_of(verify_hs256(token, user_options(kNow + 9))) == JwtFailure::not_yet_valid);
    JwtVerifyOptions lenient = user_options(kNow + 9);
    lenient.leeway_seconds = 1;
    CHECK(claims_of(verify_hs256(token, lenient)).subject == "usr_cache");
    CHECK(failure_of(verify_hs256(token, user_options(kNow + 900))) == JwtFailure::expired);
    lenient.now_unix = kNow + 900;
    CHECK(claims_of(verify_hs256(token, lenient)).subject == "usr_cache");

    JwtVerifyOptions other_audience = user_options(kNow + 10);
    other_audience.audience = "someone-else";
    CHECK(failure_of(verify_hs256(token, other_audience)) == JwtFailure::wrong_audience);
    JwtVerifyOptions other_issuer = user_options(kNow + 10);
    other_issuer.issuer = "someone-else";
    CHECK(failure_of(verify_hs256(token, other_issuer)) == JwtFailure::wrong_issuer);
    JwtVerifyOptions other_secret = user_options(kNow + 10);
    other_secret.secret = "another-secret";
    CHECK(failure_of(verify_hs256(token, other_secret)) == JwtFailure::bad_signature);
    CHECK(claims_of(verify_hs256(token, user_options(kNow + 10))).subject == "usr_cache");
  }

}  // TEST_SUITE("security")
