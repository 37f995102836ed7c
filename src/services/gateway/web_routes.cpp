#include "services/gateway/web_routes.hpp"

#include "platform/error.hpp"

namespace shopctl::gateway {

namespace asio = boost::asio;
using http::Request;
using http::Response;

namespace {

Response serve_asset(const Request& req, std::string_view path) {
  const http::StaticAsset* asset = http::find_asset(web_assets(), path);
  if (!asset) {
    throw platform::ApiError(404, "asset_not_found", "no file " + std::string(path.substr(0, 200)));
  }
  return http::asset_response(req, *asset, kWebContentSecurityPolicy);
}

}  // namespace

void add_web_routes(platform::ServiceHost& host) {
  auto& routes = host.routes();
  // The console and the files it loads are the operator's, as the admin plane is: a fault on
  // the gateway (the console's own form offers one) hung them, and the operator had no
  // console to clear it with. The shop's pages stay open to faults.
  for (const char* path : {"/console", "/console/", "/assets/console/", "/assets/common/"})
    host.exempt_from_faults(path);
  for (const char* method : {"GET", "HEAD"}) {
    routes.add(method, "/", http::Access::anyone(), [](Request& req) -> asio::awaitable<Response> {
      co_return serve_asset(req, "shop/index.html");
    });
    routes.add(method, "/console", http::Access::anyone(),
               [](Request& req) -> asio::awaitable<Response> {
                 co_return serve_asset(req, "console/index.html");
               });
    // The rest parameter is "/shop/app.js"; only files of shop/, console/ and common/ are in
    // the table, so no other path can be asked for.
    routes.add(method, "/assets/{*path}", http::Access::anyone(),
               [](Request& req) -> asio::awaitable<Response> {
                 std::string_view path = req.param("path");
                 if (!path.empty() && path.front() == '/') path.remove_prefix(1);
                 co_return serve_asset(req, path);
               });
  }
}

}  // namespace shopctl::gateway
