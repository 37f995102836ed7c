#include "platform/admin_client.hpp"

#include <algorithm>

#include "platform/admin_fanout.hpp"
#include "platform/http/blocking_client.hpp"
#include "platform/json_text.hpp"
#include "platform/service.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::platform {

std::string AdminAnswer::error_message() const {
  if (body.is_object() && body.contains("error") && body.at("error").is_object()) {
    const auto& e = body.at("error");
    std::string message = e.value("message", std::string());
    std::string code = e.value("code", std::string());
    if (!code.empty()) return code + ": " + message;
    if (!message.empty()) return message;
  }
  // Not the error shape: the start of the body, on one line.
  std::string text;
  for (char c : raw.substr(0, 200)) {
    bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (!space)
      text.push_back(c);
    else if (!text.empty() && text.back() != ' ')
      text.push_back(' ');
  }
  return text;
}

AdminAnswer send_admin_request(http::BlockingClient& client, std::string_view url,
                               std::string_view admin_token, const std::string& method,
                               const std::optional<nlohmann::json>& body,
                               std::chrono::nanoseconds timeout, bool process_scope,
                               std::string_view lease_holder) {
  http::Request request;
  request.method = method;
  request.headers.set(std::string(kAdminTokenHeader), std::string(admin_token));
  if (!lease_holder.empty())
    request.headers.set(std::string(kLeaseHolderHeader), std::string(lease_holder));
  // This process alone: the clients fan out across a split shop themselves.
  if (process_scope) request.headers.set(std::string(kAdminScopeHeader), "process");
  request.headers.set("Accept", "application/json");
  if (body) {
    request.headers.set("Content-Type", "application/json");
    request.body = json_text(*body);  // bytes that are not UTF-8 as U+FFFD: the shop refuses them
  }
  auto response = client.send_url(url, std::move(request), timeout);
  AdminAnswer answer;
  answer.status = response.status;
  answer.raw = std::move(response.body);
  answer.body = platform::parse_json_or_discarded(answer.raw);
  return answer;
}

struct AdminClient::Split {
  Deployment deployment;
  AdminFanOut fanout;
  bool from_the_shop = false;  // found with GET /_admin/services, not from a deployment file
};

AdminClient::AdminClient(std::string base_url, std::string admin_token,
                         std::chrono::nanoseconds timeout)
    : base_url_(base_url),
      admin_token_(std::move(admin_token)),
      timeout_(timeout),
      client_(std::make_unique<http::BlockingClient>()) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  // A user name or password before the host was dropped without a word (an outside probe):
  // the admin plane reads the token only.
  if (const auto scheme = base_url_.find("://"); scheme != std::string::npos) {
    const auto authority = std::string_view(base_url_).substr(scheme + 3);
    if (authority.substr(0, authority.find_first_of("/?#")).find('@') != std::string_view::npos)
      throw std::invalid_argument(
          "expected an http:// URL without a user name or password (the admin plane takes the "
          "admin token only), like http://127.0.0.1:8080; got '" +
          platform::terminal_text(base_url.substr(0, 200), true) + "'");
  }
  try {
    http::split_url(base_url_ + "/");
  } catch (const std::invalid_argument&) {
    // In the words it was given: "" was reported as "got '/'".
    throw std::invalid_argument(
        "expected an http:// URL with a host, and a port from 1 to 65535 if any, like "
        "http://127.0.0.1:8080; got '" +
        platform::terminal_text(base_url.substr(0, 200), true) + "'");
  }
}

AdminClient::~AdminClient() = default;

AdminAnswer AdminClient::send(const std::string& method, const std::string& path,
                              const std::optional<nlohmann::json>& body) {
  return send(method, path, body, timeout_);
}

AdminAnswer AdminClient::send(const std::string& method, const std::string& path,
                              const std::optional<nlohmann::json>& body,
                              std::chrono::nanoseconds timeout) {
  // A path with CR LF or a space was reported as "expected an http:// URL".
  auto visible = [](std::string_view text) {
    return std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 0x7F; });
  };
  if (method.empty() || !visible(method))
    throw std::invalid_argument("the method must be a word like GET, got '" +
                                platform::terminal_text(method.substr(0, 50), true) + "'");
  // Methods are case-sensitive (RFC 9110 9.1): "get" went out as it was, and the shop's 405
  // read as if the path took no GET (an outside probe).
  if (std::any_of(method.begin(), method.end(), [](char c) { return c >= 'a' && c <= 'z'; }))
    throw std::invalid_argument(
        "the method must be upper case, like GET (HTTP methods are "
        "case-sensitive), got '" +
        platform::terminal_text(method.substr(0, 50), true) + "'");
  if (path.empty() || path[0] != '/' || !visible(path))
    throw std::invalid_argument(
        "the path must start with / and hold no spaces or control characters, got '" +
        platform::terminal_text(path.substr(0, 200), true) + "'");
  if (AdminFanOut::handles(method, path)) {
    if (!split_known_) {
      if (auto known = remembered_deployment(base_url_)) {
        split_known_ = true;
        if (known->split()) {
          split_ = std::make_unique<Split>();
          split_->deployment = std::move(*known);
        }
      }
    }
    if (!split_known_) {
      // Once: is this shop one process or several? A shop that cannot say (no answer, an
      // older shop) is taken as one process, and asked again next time.
      auto answer = send_admin_request(*client_, base_url_ + "/_admin/services", admin_token_,
                                       "GET", std::nullopt, timeout);
      if (answer.ok()) {
        split_known_ = true;
        auto deployment = Deployment::from_services(answer.body, base_url_);
        if (deployment.split()) {
          split_ = std::make_unique<Split>();
          split_->deployment = std::move(deployment);
          split_->from_the_shop = true;
        }
      }
    }
    // A change to a split shop that knows its processes goes to the gateway's process, which
    // fans it out itself, one change at a time: fanned out here, two `fault add --id same`
    // from two shells reached the processes in different orders and left them holding
    // different faults (an outside probe). A deployment file's shop is fanned out here: its
    // processes may be reachable from here only.
    if (split_ && split_->from_the_shop && method != "GET" && method != "HEAD")
      return send_admin_request(*client_, base_url_ + path, admin_token_, method, body, timeout,
                                /*process_scope=*/false, lease_holder_);
    if (split_) {
      AdminSender sender = [this, timeout](const std::string& base, const std::string& m,
                                           const std::string& p,
                                           const std::optional<nlohmann::json>& b) {
        return send_admin_request(*client_, base + p, admin_token_, m, b, timeout, true,
                                  lease_holder_);
      };
      return split_->fanout.send(split_->deployment, sender, method, path, body);
    }
  }
  return send_admin_request(*client_, base_url_ + path, admin_token_, method, body, timeout, true,
                            lease_holder_);
}

}  // namespace shopctl::platform
