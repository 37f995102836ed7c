#include "services/provider/pay_page.hpp"

#include "platform/error.hpp"

namespace shopctl::provider {

namespace asio = boost::asio;
using http::Request;
using http::Response;
using platform::ApiError;

namespace {

constexpr std::size_t kMaxReturnUrlLength = 2000;

Response serve(const Request& req, std::string_view path) {
  const http::StaticAsset* asset = http::find_asset(pay_assets(), path);
  if (!asset) throw ApiError(404, "asset_not_found", "no file " + std::string(path.substr(0, 200)));
  return http::asset_response(req, *asset, kPayPageContentSecurityPolicy);
}

ApiError invalid_return_url(const std::string& why) {
  return ApiError(400, "invalid_return_url", "return_url " + why, {{"parameter", "return_url"}});
}

}  // namespace

bool wants_pay_page(const Request& req) {
  // Read as RFC 9110 says: "text/html;q=0" refuses HTML, "TEXT/HTML" asks for it (a search for
  // the text "text/html" answered the first with the page and the second with JSON, an outside
  // probe). The page when HTML is preferred to JSON; on a tie, or with no Accept, JSON.
  const auto html = http::accept_quality(req.headers, "text/html");
  if (!html || *html == 0) return false;
  return *html > http::accept_quality(req.headers, "application/json").value_or(0);
}

Response pay_page_response(const Request& req, int status) {
  Response res = serve(req, "pay/index.html");
  if (status == 200) return res;
  // An error's page is not the cached page: no validator, the body always sent.
  const http::StaticAsset* asset = http::find_asset(pay_assets(), "pay/index.html");
  res.status = status;
  res.headers.erase("ETag");
  res.headers.set("Content-Type", std::string(asset->content_type));
  res.body.assign(asset->body);
  return res;
}

std::optional<std::string> checked_return_url(const Request& req, const http::Endpoint& gateway,
                                              const http::HostAllowlist* names) {
  auto url = req.query_param("return_url");
  if (!url) return std::nullopt;
  if (url->size() > kMaxReturnUrlLength) throw invalid_return_url("is too long");
  for (unsigned char c : *url) {
    if (c <= 0x20 || c >= 0x7f || c == '\\')
      throw invalid_return_url("holds a character a URL may not");
  }
  constexpr std::string_view kScheme = "http://";
  if (!std::string_view(*url).starts_with(kScheme))
    throw invalid_return_url("must start with http://");
  std::string_view rest = std::string_view(*url).substr(kScheme.size());
  auto end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  if (end != std::string_view::npos && rest[end] != '/') {
    throw invalid_return_url("must have a path after the host");
  }
  auto colon = authority.rfind(':');
  if (colon == std::string_view::npos || authority.find('@') != std::string_view::npos) {
    throw invalid_return_url("must name host:port");
  }
  std::string_view host = authority.substr(0, colon);
  std::string_view port = authority.substr(colon + 1);
  // A shop opened by a name its Host check takes (this machine's name, say) sends the browser
  // back by that name: its pay page refused it, and the order could not be paid.
  bool host_ok = host == "127.0.0.1" || host == "[::1]" || host == "localhost" ||
                 host == gateway.host || (names && names->names_this_shop(host));
  if (!host_ok || gateway.port == 0 || port != std::to_string(gateway.port)) {
    throw invalid_return_url("must lead back to the shop (its public door)");
  }
  return *url;
}

void add_pay_page_routes(platform::ServiceHost& host) {
  for (const char* method : {"GET", "HEAD"}) {
    host.routes().add(method, "/pay/static/{file}", http::Access::anyone(),
                      [](Request& req) -> asio::awaitable<Response> {
                        co_return serve(req, "pay/" + req.param("file"));
                      });
  }
}

}  // namespace shopctl::provider
