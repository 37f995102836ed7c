#include "platform/http/static_asset.hpp"

namespace shopctl::http {

namespace {

// Whether an If-None-Match value (a list of quoted tags, or "*") names `etag`.
bool names_etag(std::string_view header, std::string_view etag) {
  if (header == "*") return true;
  std::size_t at = 0;
  while (at < header.size()) {
    auto comma = header.find(',', at);
    if (comma == std::string_view::npos) comma = header.size();
    auto tag = header.substr(at, comma - at);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);  // weak comparison, as RFC 9110 asks for GET
    if (tag == etag) return true;
    at = comma + 1;
  }
  return false;
}

}  // namespace

const StaticAsset* find_asset(std::span<const StaticAsset> assets, std::string_view path) {
  for (const auto& asset : assets) {
    if (asset.path == path) return &asset;
  }
  return nullptr;
}

Response asset_response(const Request& req, const StaticAsset& asset, std::string_view csp) {
  Response res;
  res.headers.set("ETag", std::string(asset.etag));
  res.headers.set("Cache-Control", "no-cache");
  res.headers.set("Content-Security-Policy", std::string(csp));
  // X-Content-Type-Options: nosniff comes with every answer of the server (server.cpp).
  res.headers.set("X-Frame-Options", "DENY");
  res.headers.set("Referrer-Policy", "no-referrer");
  if (auto tags = req.headers.get("If-None-Match"); tags && names_etag(*tags, asset.etag)) {
    res.status = 304;
    return res;
  }
  res.status = 200;
  res.headers.set("Content-Type", std::string(asset.content_type));
  res.body.assign(asset.body);
  return res;
}

}  // namespace shopctl::http
