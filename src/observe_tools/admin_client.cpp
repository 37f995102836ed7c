#include "observe_tools/admin_client.hpp"

#include "platform/http/blocking_client.hpp"
#include "platform/service.hpp"

namespace shopctl::observe_tools {

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

AdminClient::AdminClient(std::string base_url, std::string admin_token,
                         std::chrono::nanoseconds timeout)
    : base_url_(std::move(base_url)),
      admin_token_(std::move(admin_token)),
      timeout_(timeout),
      client_(std::make_unique<http::BlockingClient>()) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
  http::split_url(base_url_ + "/");  // throws std::invalid_argument for a URL it cannot use
}

AdminClient::~AdminClient() = default;

AdminAnswer AdminClient::send(const std::string& method, const std::string& path,
                              const std::optional<nlohmann::json>& body) {
  http::Request request;
  request.method = method;
  request.headers.set(std::string(platform::kAdminTokenHeader), admin_token_);
  request.headers.set("Accept", "application/json");
  if (body) {
    request.headers.set("Content-Type", "application/json");
    request.body = body->dump();
  }
  auto response = client_->send_url(base_url_ + path, std::move(request), timeout_);
  AdminAnswer answer;
  answer.status = response.status;
  answer.raw = std::move(response.body);
  answer.body = nlohmann::json::parse(answer.raw, nullptr, false);
  return answer;
}

}  // namespace shopctl::observe_tools
