#include "scenario/recorder.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>

#include "platform/idempotency_key.hpp"
#include "platform/json_text.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::scenario {

namespace {

using nlohmann::json;

bool is_identifier(const std::string& key) {
  if (key.empty() || !(std::isalpha(static_cast<unsigned char>(key[0])) || key[0] == '_'))
    return false;
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

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

// The card that gives the same outcome at the provider (docs/scenarios.md, test cards).
std::string card_for(const json& event) {
  if (event.value("type", std::string()) == "payment.succeeded") return "4242424242424242";
  if (event.contains("failure_reason") && event["failure_reason"] == "insufficient_funds")
    return "4000000000009995";
  return "4000000000000002";
}

}  // namespace

SessionRecorder::SessionRecorder(RecorderOptions options) : options_(std::move(options)) {}

void SessionRecorder::record(const platform::PublicExchange& exchange) {
  std::lock_guard lock(mu_);
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
  if (auto it = accounts_.find(email); it != accounts_.end()) return it->second;
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
  accounts_[email] = suffix;
  return suffix;
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

void SessionRecorder::record_locked(const platform::PublicExchange& e) {
  const std::string path = path_of(e.target);
  if (!path.starts_with("/api/")) return;
  json request = platform::parse_json_or_discarded(e.request_body);
  json answer = platform::parse_json_or_discarded(e.response_body);

  if (path == "/api/payments/webhook") {
    // The shopper paid at the provider's page (outside the gateway); the provider told the
    // shop. Once per event, and only for an order of this session.
    if (!request.is_object() || e.status != 200) return;
    auto event_id = request.value("event_id", std::string());
    if (std::find(paid_events_.begin(), paid_events_.end(), event_id) != paid_events_.end()) return;
    paid_events_.push_back(event_id);
    Step step;
    auto order = order_of_payment_.find(request.value("payment_id", std::string()));
    std::string order_ref = order == order_of_payment_.end() ? "" : use(order->second);
    if (order_ref.empty()) {
      if (!steps_.empty())
        steps_.back().comments.push_back(
            "the session paid an order this recording did not see (payment " +
            request.value("payment_id", std::string()) + "): not replayed");
      return;
    }
    step.name = "pay at the provider (" + request.value("type", std::string("payment")) + ")";
    step.action = "pay: {order: " + yaml_quoted(order_ref) +
                  ", card: " + yaml_quoted(card_for(request)) + "}";
    step.status = 200;
    steps_.push_back(std::move(step));
    return;
  }

  Step step;
  step.status = e.status;
  step.name = e.method + " " + path;
  if (e.method == "POST" && path == "/api/auth/register" && request.is_object() &&
      request.contains("email")) {
    auto email = request.value("email", std::string());
    auto suffix = account_var(email, true);
    step.action =
        "register: {email: \"${email_" + suffix + "}\", password: \"${password_" + suffix + "}\"";
    if (request.contains("name") && request["name"].is_string())
      step.action += ", name: " + yaml_quoted(literal(request["name"].get<std::string>()));
    step.action += "}";
  } else if (e.method == "POST" && path == "/api/auth/login" && request.is_object() &&
             request.contains("email")) {
    auto email = request.value("email", std::string());
    std::string email_text, password_text;
    if (email == options_.demo_email) {
      email_text = yaml_quoted(literal(email));
      password_text = yaml_quoted(literal(options_.replay_demo_password));
    } else {
      auto suffix = account_var(email, false);
      if (suffix.empty()) {
        // An account from before the recording: the replay registers it first.
        suffix = account_var(email, true);
        Step register_first;
        register_first.comments.push_back(
            "the account existed before the recording; the replay registers it");
        register_first.name = "register " + email;
        register_first.action = "register: {email: \"${email_" + suffix +
                                "}\", password: \"${password_" + suffix + "}\"}";
        register_first.status = 201;
        steps_.push_back(std::move(register_first));
      }
      email_text = "\"${email_" + suffix + "}\"";
      password_text = "\"${password_" + suffix + "}\"";
    }
    // A login the session got wrong is replayed wrong: it must fail the same way.
    if (e.status != 200) password_text = yaml_quoted("not-the-password");
    step.action = "login: {email: " + email_text + ", password: " + password_text + "}";
  } else {
    step.action =
        "request: {method: " + e.method + ", path: " + yaml_quoted(rewrite_target(e.target));
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
    const bool as_json = !e.request_body.empty() && !request.is_discarded() &&
                         e.content_type.find("json") != std::string::npos;
    // A raw body goes with the Content-Type it was sent with (without it the replay was 415
    // where the session got 400 for a body that was not JSON).
    if (!e.request_body.empty() && !as_json && !e.content_type.empty())
      headers.push_back("Content-Type: " + yaml_quoted(literal(e.content_type)));
    if (!headers.empty()) {
      step.action += ", headers: {";
      for (std::size_t i = 0; i < headers.size(); ++i) step.action += (i ? ", " : "") + headers[i];
      step.action += "}";
    }
    if (as_json) {
      step.action += ", json: " + platform::json_text(rewrite_body(request));
    } else if (!e.request_body.empty()) {
      step.action += ", body: " + yaml_quoted(literal(e.request_body));
      if (platform::first_invalid_utf8(e.request_body))
        step.comments.push_back("the body was not UTF-8: its other bytes are written as U+FFFD");
    }
    if (!e.authorized) step.action += ", auth: none";
    step.action += "}";
  }
  steps_.push_back(std::move(step));
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
      "# public demo password for the demo user); logins are replayed by the runner, which sends\n"
      "# their token on the next requests. Ids the shop made are captured where they appeared.\n"
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
    out += "  - name: " + yaml_quoted(literal(s.name)) + "\n";
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
