#include "scenario/recorder.hpp"
#include "scenario/url_encoding.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>

#include "platform/idempotency_key.hpp"
#include "platform/json_body.hpp"
#include "platform/json_text.hpp"
#include "platform/text_rules.hpp"
#include "scenario/interpolate.hpp"

namespace shopctl::scenario {

namespace {

using nlohmann::json;

bool id_like(const std::string& key) {
  return key == "id" || key == "pay_url" || (key.size() > 3 && key.ends_with("_id"));
}

// A YAML double-quoted scalar (JSON's escapes are YAML's). Bytes that are not UTF-8 (a body
// a client sent) become U+FFFD: YAML text cannot hold them, and dump() threw on them, which
// made the request being recorded a 500.
std::string yaml_quoted(const std::string& text) {
  return platform::json_text(json(text));
}

std::string path_of(const std::string& target) {
  return target.substr(0, target.find('?'));
}

// The string under `key` of an object; "" for anything else. A client may send any JSON shape
// (`{"email": ["a@b"]}`): json::value threw on it, and the step was lost.
std::string text_of(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// The card that gives the same outcome at the provider (docs/scenarios.md, test cards).
std::string card_for(const json& event) {
  if (text_of(event, "type") == "payment.succeeded") return "4242424242424242";
  if (text_of(event, "failure_reason") == "insufficient_funds") return "4000000000009995";
  return "4000000000000002";
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The account an email names, as the auth service tells accounts apart: trimmed, in any letter
// case. ann@x.test, ANN@x.test and " Ann@X.TEST" are one account; the recorder made three, and
// put a "register first" before the 409 and the login that the replay then failed (an outside
// probe).
std::string account_key(const std::string& email) {
  const auto first = email.find_first_not_of(" \t");
  if (first == std::string::npos) return "";
  const auto last = email.find_last_not_of(" \t");
  return lower(email.substr(first, last - first + 1));
}

// A name a password goes under, in any letter case: "password", "newPassword", "passwd",
// "pwd", "passphrase", "client_secret".
bool password_word(const std::string& text) {
  const auto l = lower(text);
  return l.find("passw") != std::string::npos || l.find("passphrase") != std::string::npos ||
         l.find("pwd") != std::string::npos || l.find("secret") != std::string::npos;
}

// `text` with every character replaced by a mask character of the same UTF-8 length, so
// that the shop's length rules (a password of at least 8 characters, at most 1024 bytes, a
// body's size) answer the replay as they answered the session. Bytes that are not UTF-8
// become '*' each.
std::string masked(const std::string& text) {
  // '*', U+00B7, U+2217, U+1F512
  static const std::string kMaskText[] = {"*", "\xc2\xb7", "\xe2\x88\x97", "\xf0\x9f\x94\x92"};
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t length = c < 0x80           ? 1
                         : (c >> 5) == 0x6  ? 2
                         : (c >> 4) == 0xe  ? 3
                         : (c >> 3) == 0x1e ? 4
                                            : 0;
    if (length > 1 && (i + length > text.size() ||
                       platform::first_invalid_utf8(std::string_view(text).substr(i, length))))
      length = 0;
    out += kMaskText[length == 0 ? 0 : length - 1];
    i += length == 0 ? 1 : length;
  }
  return out;
}

// Every string in `value` masked and every number 0, its shape kept (the shop's answer to a
// password of the wrong type must stay the same).
json masked_all(const json& value) {
  if (value.is_string()) return masked(value.get<std::string>());
  if (value.is_number()) return 0;
  if (value.is_structured()) {
    json out = value;
    for (auto& item : out) item = masked_all(item);
    return out;
  }
  return value;
}

// `body` with the passwords in it masked: the value of every key with a password-ish name,
// in any object at any depth; and, in a body to /api/auth/ (`every_string`), every string and
// number that is not directly under an `email` or `name` key, whatever the body's shape.
json without_passwords(const json& body, bool every_string) {
  if (body.is_object()) {
    json out = json::object();
    for (const auto& [key, value] : body.items()) {
      const auto l = lower(key);
      if (password_word(key)) {
        out[key] = masked_all(value);
      } else if (every_string && (l == "email" || l == "name") && value.is_string()) {
        out[key] = value;
      } else {
        out[key] = without_passwords(value, every_string);
      }
    }
    return out;
  }
  if (body.is_array()) {
    json out = json::array();
    for (const auto& item : body) out.push_back(without_passwords(item, every_string));
    return out;
  }
  return every_string ? masked_all(body) : body;
}

// The body of a login or register step has the shape the runner's `register:`/`login:`
// sends: an object with a string email and password (and for register a string name, if
// any). Other members the shop ignores.
bool credentials_shape(const json& body, bool with_name) {
  if (!body.is_object()) return false;
  auto email = body.find("email");
  auto password = body.find("password");
  if (email == body.end() || !email->is_string() || password == body.end() ||
      !password->is_string())
    return false;
  auto name = body.find("name");
  return !with_name || name == body.end() || name->is_string();
}

// The token of an `Authorization: Bearer <token>` value (the scheme in any letter case, as the
// gateway reads it); "" for any other value.
std::string bearer_token(const std::string& authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size() ||
      lower(authorization.substr(0, kScheme.size())) != kScheme)
    return "";
  // One or more spaces after the scheme (RFC 6750 2.1), as the gateway reads it: with two, the
  // token was taken for one no login had given, and the replay sent none (401).
  const auto token = authorization.find_first_not_of(' ', kScheme.size());
  return token == std::string::npos ? "" : authorization.substr(token);
}

// The gateway refused the token itself (a token it cannot verify, or one that expired).
bool token_refused(int status, const json& answer) {
  if (status != 401 || !answer.is_object() || !answer.contains("error")) return false;
  const auto code = text_of(answer["error"], "code");
  return code == "invalid_token" || code == "token_expired";
}

}  // namespace

SessionRecorder::SessionRecorder(RecorderOptions options) : options_(std::move(options)) {}

namespace {

// A request target as a comment shows it: at most 200 bytes, each byte outside printable ASCII
// as \xHH.
std::string shown_target(const std::string& target) {
  std::string shown;
  for (char c : target.substr(0, 200)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte >= 0x20 && byte < 0x7f) {
      shown.push_back(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", byte);
      shown += hex;
    }
  }
  return shown;
}

}  // namespace

void SessionRecorder::record(const platform::PublicExchange& exchange) {
  std::lock_guard lock(mu_);
  // The bounds are said in the file where they bit, not only on serve's standard error: a
  // replay of a file that silently missed a request that changed the shop failed at a later
  // step for no reason the file showed (an outside probe).
  if (steps_.size() >= options_.max_steps) {
    ++past_max_steps_;
    return;
  }
  if (exchange.request_body.size() > options_.max_body) {
    pending_comments_.push_back(
        "left out: " + exchange.method + " " + shown_target(exchange.target) + " (answered " +
        std::to_string(exchange.status) + "): its request body of " +
        std::to_string(exchange.request_body.size()) + " bytes is over the " +
        (options_.max_body % 1024 == 0 ? std::to_string(options_.max_body / 1024) + " KiB"
                                       : std::to_string(options_.max_body) + " bytes") +
        " a recording keeps of one");
    return;
  }
  record_locked(exchange);
}

std::size_t SessionRecorder::steps() const {
  std::lock_guard lock(mu_);
  return steps_.size();
}

std::string SessionRecorder::literal(const std::string& text) const {
  std::string out;
  for (char c : text) {
    out += c;
    if (c == '$') out += '$';  // "$$" is a literal "$" (docs/scenarios.md)
  }
  return out;
}

std::string SessionRecorder::new_var(const std::string& wanted) {
  // The runner's own names cannot be captured into.
  bool reserved = wanted == "run_id" || wanted == "uuid" || wanted == "token" || wanted == "env" ||
                  wanted == "provider_api_key";
  const std::string base = reserved ? "captured_" + wanted : wanted;
  int n = ++names_[base];
  return n == 1 && base != "email" && base != "password" ? base : base + "_" + std::to_string(n);
}

// The var suffix of an account the scenario registers: "email_1"/"password_1" -> "1".
std::string SessionRecorder::account_var(const std::string& email, bool create) {
  if (auto it = accounts_.find(account_key(email)); it != accounts_.end()) return it->second;
  if (!create) return "";
  auto email_name = new_var("email");
  auto suffix = email_name.substr(6);
  auto at = email.find('@');
  std::string local = at == std::string::npos ? email : email.substr(0, at);
  std::string domain = at == std::string::npos ? "shop.test" : email.substr(at + 1);
  vars_.emplace_back(email_name, literal(local) + "-${run_id}@" + literal(domain));
  // A made-up password: the session's is never written.
  vars_.emplace_back("password_" + suffix, "recorded-password-" + suffix);
  names_["password"] = std::max(names_["password"], std::stoi(suffix));
  accounts_[account_key(email)] = suffix;
  return suffix;
}

// A `register:` step of its own for an account the session used without registering it.
void SessionRecorder::register_first(const std::string& email, const std::string& why) {
  auto suffix = account_var(email, true);
  Step step;
  step.comments.push_back(why);
  step.name = "register " + literal(email);
  step.action =
      "register: {email: \"${email_" + suffix + "}\", password: \"${password_" + suffix + "}\"}";
  step.status = 201;
  add_step(std::move(step));
  registered_.insert(account_key(email));
}

// How a `request:` step is authorized so that the replay sends the token of the same user as
// the session did: nothing for the token of the last `login:` step (the runner sends it), the
// captured token of an earlier login, or none.
std::string SessionRecorder::auth_of(const platform::PublicExchange& e, const json& answer,
                                     std::vector<std::string>& comments) {
  if (!e.authorized) return ", auth: none";
  const auto token = bearer_token(e.authorization);
  if (token_refused(e.status, answer)) {
    // Refused in the session (expired, say): a valid token would be accepted on replay.
    comments.push_back("the shop refused this request's token (" +
                       text_of(answer["error"], "code") +
                       "): the replay sends one that is not a token");
    return ", auth: \"not-a-token\"";
  }
  if (!token.empty() && token == replay_token_) return "";
  if (auto it = tokens_.find(token); !token.empty() && it != tokens_.end()) {
    auto& issued = it->second;
    if (issued.captured.empty()) {
      issued.captured = new_var("token_" + issued.account);
      steps_[issued.step].captures[issued.captured] = "$.access_token";
    }
    return ", auth: \"${" + issued.captured + "}\"";
  }
  comments.push_back(
      "this request carried a token that no login of the recording was given (one from before "
      "it): the replay sends none");
  return ", auth: none";
}

std::string SessionRecorder::use(const std::string& value) {
  if (auto it = captured_.find(value); it != captured_.end()) return "${" + it->second + "}";
  auto it = candidates_.find(value);
  if (it == candidates_.end()) return "";
  auto name = new_var(it->second.key);
  steps_[it->second.step].captures[name] = it->second.path;
  captured_[value] = name;
  return "${" + name + "}";
}

std::string SessionRecorder::rewrite_target(const std::string& target) {
  auto q = target.find('?');
  std::string path = target.substr(0, q);
  std::string out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto slash = path.find('/', start);
    std::string segment =
        path.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    auto used = segment.empty() ? "" : use(segment);
    out += used.empty() ? literal(segment) : used;
    if (slash == std::string::npos) break;
    out += '/';
    start = slash + 1;
  }
  if (q == std::string::npos) return out;
  out += '?';
  std::string query = target.substr(q + 1);
  start = 0;
  while (start <= query.size()) {
    auto amp = query.find('&', start);
    std::string pair =
        query.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    auto eq = pair.find('=');
    if (eq != std::string::npos) {
      auto used = use(pair.substr(eq + 1));
      out += literal(pair.substr(0, eq + 1)) + (used.empty() ? literal(pair.substr(eq + 1)) : used);
    } else {
      out += literal(pair);
    }
    if (amp == std::string::npos) break;
    out += '&';
    start = amp + 1;
  }
  return out;
}

json SessionRecorder::rewrite_body(const json& body) {
  if (body.is_string()) {
    auto used = use(body.get<std::string>());
    return used.empty() ? json(literal(body.get<std::string>())) : json(used);
  }
  if (body.is_object()) {
    json out = json::object();
    for (const auto& [k, v] : body.items()) out[literal(k)] = rewrite_body(v);
    return out;
  }
  if (body.is_array()) {
    json out = json::array();
    for (const auto& v : body) out.push_back(rewrite_body(v));
    return out;
  }
  return body;
}

void SessionRecorder::remember_answer(std::size_t step, const json& body, const std::string& path) {
  if (body.is_object()) {
    // Which order a payment belongs to, for the webhook of a payment made at the provider.
    if (body.contains("order_id") && body["order_id"].is_string()) {
      const json* payment_id = nullptr;
      if (body.contains("payment_id") && body["payment_id"].is_string())
        payment_id = &body["payment_id"];
      if (body.contains("payment") && body["payment"].is_object() &&
          body["payment"].contains("payment_id") && body["payment"]["payment_id"].is_string())
        payment_id = &body["payment"]["payment_id"];
      if (payment_id)
        order_of_payment_[payment_id->get<std::string>()] = body["order_id"].get<std::string>();
    }
    for (const auto& [key, value] : body.items()) {
      if (!is_identifier(key)) continue;
      if (value.is_string() && id_like(key) && value.get<std::string>().size() >= 3) {
        candidates_[value.get<std::string>()] = {step, path + "." + key, key == "id" ? "id" : key};
      } else if (value.is_structured()) {
        remember_answer(step, value, path + "." + key);
      }
    }
  } else if (body.is_array()) {
    for (std::size_t i = 0; i < body.size() && i < 200; ++i)
      remember_answer(step, body[i], path + "[" + std::to_string(i) + "]");
  }
}

void SessionRecorder::add_step(Step step) {
  step.comments.insert(step.comments.begin(), pending_comments_.begin(), pending_comments_.end());
  pending_comments_.clear();
  steps_.push_back(std::move(step));
}

void SessionRecorder::record_locked(const platform::PublicExchange& e) {
  const std::string path = path_of(e.target);
  if (!path.starts_with("/api/")) return;
  // The body as the shop reads it: one it refused (a key given twice, nested too deep) is no
  // JSON here either. Parsed leniently, {"quantity":1,"quantity":50} was written as `json:`
  // with the keys merged, and the replay's valid request added 50 to the cart where the
  // session got 400 duplicate_json_key (an outside probe).
  json request = json(json::value_t::discarded);
  if (!e.request_body.empty()) {
    try {
      request = platform::parse_json_limited(e.request_body);
    } catch (const std::exception&) {
    }
  }
  json answer = platform::parse_json_or_discarded(e.response_body);

  if (path == "/api/payments/webhook") {
    // The shopper paid at the provider's page (outside the gateway); the provider told the
    // shop. Once per event, and only for an order of this session.
    if (!request.is_object() || e.status != 200) return;
    auto event_id = text_of(request, "event_id");
    if (std::find(paid_events_.begin(), paid_events_.end(), event_id) != paid_events_.end()) return;
    paid_events_.push_back(event_id);
    Step step;
    auto order = order_of_payment_.find(text_of(request, "payment_id"));
    std::string order_ref = order == order_of_payment_.end() ? "" : use(order->second);
    if (order_ref.empty()) {
      if (!steps_.empty())
        steps_.back().comments.push_back(
            "the session paid an order this recording did not see (payment " +
            text_of(request, "payment_id") + "): not replayed");
      return;
    }
    auto type = text_of(request, "type");
    step.name = "pay at the provider (" + literal(type.empty() ? "payment" : type) + ")";
    step.action = "pay: {order: " + yaml_quoted(order_ref) +
                  ", card: " + yaml_quoted(card_for(request)) + "}";
    step.status = 200;
    add_step(std::move(step));
    return;
  }

  // A target with a byte that a scenario's path sends percent-encoded (# | { } and the others
  // of url_encoding.hpp) cannot be sent again as the session sent it: the shop refused it as
  // written (400), and the replay, asking for the encoded URL, got 200 (an outside probe). A
  // request the shop could not read changed nothing: it is left out, and the file says so.
  if (std::any_of(e.target.begin(), e.target.end(),
                  [](char c) { return url_byte_needs_encoding(c, true); })) {
    const auto shown = shown_target(e.target);
    pending_comments_.push_back("left out: " + e.method + " " + shown + " (answered " +
                                std::to_string(e.status) +
                                "): its target holds a character a scenario's path sends "
                                "percent-encoded, so a replay could not send it as it was sent");
    return;
  }

  Step step;
  step.status = e.status;
  step.name = e.method + " " + literal(path);
  const bool post = e.method == "POST";
  // A `register:` or `login:` step sends the body the runner makes, so it stands for the
  // session's request only when that got the same answer from the same shape: anything else
  // (another shape, a 415 for its Content-Type, a 400 for its lengths) is a `request:` step
  // with the body as sent, its passwords masked.
  const bool as_register = post && path == "/api/auth/register" &&
                           credentials_shape(request, true) && (e.status == 201 || e.status == 409);
  const bool as_login = post && path == "/api/auth/login" && credentials_shape(request, false) &&
                        (e.status == 200 || e.status == 401 || e.status == 429);
  // The user a successful login stands for: its account's var suffix, "demo", or "" (a login
  // that is a `request:` step and names no account the recording knows).
  std::string login_account;
  if (as_register) {
    const auto email = request["email"].get<std::string>();
    if (e.status == 409 && !registered_.contains(account_key(email)))
      register_first(email,
                     "the account existed before the recording (its registration was refused as a "
                     "duplicate): the replay registers it first");
    auto suffix = account_var(email, true);
    if (e.status == 201) registered_.insert(account_key(email));
    step.action =
        "register: {email: \"${email_" + suffix + "}\", password: \"${password_" + suffix + "}\"";
    if (request.contains("name") && request["name"].is_string())
      step.action += ", name: " + yaml_quoted(literal(request["name"].get<std::string>()));
    step.action += "}";
  } else if (as_login) {
    auto email = request["email"].get<std::string>();
    std::string email_text, password_text;
    if (account_key(email) == account_key(options_.demo_email)) {
      email_text = yaml_quoted(literal(email));
      password_text = yaml_quoted(literal(options_.replay_demo_password));
      login_account = "demo";
    } else {
      auto suffix = account_var(email, true);
      // A login that succeeded needs the account in the fresh shop; one that failed does not
      // (an unknown email and a wrong password are refused, and throttled, alike), and the
      // session may never have had the account (its registration refused, say).
      if (e.status == 200 && !registered_.contains(account_key(email)))
        register_first(email,
                       "the session logged in as this account without registering it (it existed "
                       "before the recording): the replay registers it first");
      email_text = "\"${email_" + suffix + "}\"";
      password_text = "\"${password_" + suffix + "}\"";
      login_account = suffix;
    }
    // A login the session got wrong is replayed wrong: it must fail the same way.
    if (e.status != 200) password_text = yaml_quoted("not-the-password");
    step.action = "login: {email: " + email_text + ", password: " + password_text + "}";
  } else {
    const auto written_target = rewrite_target(e.target);
    // The label is the path as written, `${order_id}` and all: the same in every recording.
    step.name = e.method + " " + written_target.substr(0, written_target.find('?'));
    step.action = "request: {method: " + e.method + ", path: " + yaml_quoted(written_target);
    std::vector<std::string> headers;
    if (!e.idempotency_key.empty()) {
      bool valid = true;
      try {
        platform::validate_idempotency_key(e.idempotency_key);
      } catch (const std::exception&) {
        valid = false;
      }
      if (valid) {
        auto& key = idempotency_keys_[e.idempotency_key];
        if (key.empty()) key = "recorded-${run_id}-" + std::to_string(idempotency_keys_.size());
        headers.push_back("Idempotency-Key: " + yaml_quoted(key));
      } else {
        // One the shop refused is replayed as it was (a fresh valid key was accepted).
        headers.push_back("Idempotency-Key: " + yaml_quoted(literal(e.idempotency_key)));
      }
    }
    // Passwords are never written, whatever the body's shape: in a body to /api/auth/ every
    // value but the email and the name is masked; elsewhere the values of password-ish keys.
    const bool auth_route = path.starts_with("/api/auth/");
    json sent = request;
    bool hidden = false;
    if (!request.is_discarded()) {
      sent = without_passwords(request, auth_route);
      hidden = sent != request;
    }
    // A 415 answered the Content-Type, which `json:` would replace with application/json: the
    // body goes raw, with the Content-Type it was sent with.
    const bool as_json = !e.request_body.empty() && !request.is_discarded() && e.status != 415 &&
                         e.content_type.find("json") != std::string::npos;
    // A raw body goes with the Content-Type it was sent with (without it the replay was 415
    // where the session got 400 for a body that was not JSON).
    if (!e.request_body.empty() && !as_json && !e.content_type.empty())
      headers.push_back("Content-Type: " + yaml_quoted(literal(e.content_type)));
    // The shop refuses a body in a content coding (415): left out, the replay's same bytes
    // were read as plain JSON and added to the cart (an outside probe).
    if (!e.content_encoding.empty())
      headers.push_back("Content-Encoding: " + yaml_quoted(literal(e.content_encoding)));
    if (!headers.empty()) {
      step.action += ", headers: {";
      for (std::size_t i = 0; i < headers.size(); ++i) step.action += (i ? ", " : "") + headers[i];
      step.action += "}";
    }
    if (as_json) {
      step.action += ", json: " + platform::json_text(rewrite_body(sent));
    } else if (!e.request_body.empty()) {
      std::string body = e.request_body;
      if (hidden) {
        body = sent.dump();
      } else if (request.is_discarded() && (auth_route || password_word(body))) {
        // Not JSON, so its password cannot be found: every character is masked. The mask is
        // not JSON either and has the same length, so the shop refuses it as it did the
        // session's body.
        body = masked(body);
        hidden = true;
      }
      step.action += ", body: " + yaml_quoted(literal(body));
      if (platform::first_invalid_utf8(body))
        step.comments.push_back("the body was not UTF-8: its other bytes are written as U+FFFD");
    }
    if (hidden)
      step.comments.push_back(request.is_discarded()
                                  ? "the body was not JSON and may hold a password: each of its "
                                    "characters is written as a mask character"
                                  : "passwords in the body are masked (each character as *)");
    step.action += auth_of(e, answer, step.comments);
    step.action += "}";
    if (post && path == "/api/auth/login") {
      // A login the runner's `login:` cannot stand for still gives a token later requests may
      // carry.
      const auto email = text_of(request, "email");
      login_account = account_key(email) == account_key(options_.demo_email)
                          ? "demo"
                          : account_var(email, false);
      if (login_account.empty()) login_account = "other";
    }
  }
  add_step(std::move(step));
  if (e.status == 200 && !login_account.empty()) {
    if (auto token = text_of(answer, "access_token"); !token.empty()) {
      tokens_[token] = {steps_.size() - 1, login_account, ""};
      // The runner sends the token of its last successful `login:` step.
      if (as_login) replay_token_ = token;
    }
  }
  if (!answer.is_discarded()) remember_answer(steps_.size() - 1, answer, "$");
}

std::string SessionRecorder::yaml() const {
  std::lock_guard lock(mu_);
  if (steps_.empty()) return "";
  std::string out =
      "# Recorded by `shopctl serve --record`: the public /api/ traffic of one session through\n"
      "# the gateway. Replay it with `shopctl run FILE` (a fresh shop each run).\n"
      "# Registered emails get -${run_id}, so that every replay registers new users; passwords\n"
      "# typed in the session are not written (made-up ones for the session's own accounts, the\n"
      "# public demo password for the demo user, masked with * in any other body); logins are\n"
      "# replayed by the runner, which sends the last one's token on the next requests (a\n"
      "# request made with an earlier login's token, another user's, sends that one, captured:\n"
      "# auth: \"${token_N}\"). Ids the shop made are captured where they appeared.\n"
      "version: 1\n"
      "name: " +
      yaml_quoted(literal(options_.name)) +
      "\n"
      "tags: [recorded]\n";
  if (!vars_.empty()) {
    out += "vars:\n";
    for (const auto& [name, value] : vars_) out += "  " + name + ": " + yaml_quoted(value) + "\n";
  }
  out += "steps:\n";
  for (const auto& s : steps_) {
    for (const auto& c : s.comments) out += "  # " + c + "\n";
    out += "  - name: " + yaml_quoted(s.name) + "\n";  // written form: $ doubled already
    out += "    " + s.action + "\n";
    out += "    expect: {status: " + std::to_string(s.status) + "}\n";
    if (!s.captures.empty()) {
      out += "    capture: {";
      bool first = true;
      for (const auto& [name, path] : s.captures) {
        out += (first ? "" : ", ") + name + ": " + yaml_quoted(path);
        first = false;
      }
      out += "}\n";
    }
  }
  for (const auto& c : pending_comments_) out += "  # " + c + "\n";
  if (past_max_steps_ > 0) {
    out += "  # not recorded: the " + std::to_string(past_max_steps_) + " exchange" +
           (past_max_steps_ == 1 ? "" : "s") + " after the first " +
           std::to_string(options_.max_steps) + " steps (the most a recording keeps)\n";
  }
  return out;
}

bool SessionRecorder::write(const std::filesystem::path& file) const {
  auto text = yaml();
  if (text.empty()) return false;
  auto temporary = file;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << text;
    out.flush();
    if (!out) return false;
  }
  std::error_code ec;
  std::filesystem::rename(temporary, file, ec);
  return !ec;
}

}  // namespace shopctl::scenario
