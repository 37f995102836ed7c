#pragma once
// Static files embedded in the binary at build time (cmake/embed_web.cmake turns a folder of
// web/ into a table of these): the web shop and the operator console at the gateway, the
// provider's hosted pay page. Nothing is read from disk at run time.
#include <span>
#include <string_view>

#include "platform/http/message.hpp"

namespace shopctl::http {

struct StaticAsset {
  std::string_view path;          // relative to its web/ folder: "shop/app.js"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
  std::string_view etag;  // a strong validator, quoted: "\"3f2a...\""
};

// Returns the asset called `path` in `assets`, or nullptr.
const StaticAsset* find_asset(std::span<const StaticAsset> assets, std::string_view path);

// The answer to GET or HEAD of `asset`: 200 with the body, or 304 without it when the request's
// If-None-Match names the asset's ETag. Every answer carries the ETag, `Cache-Control:
// no-cache` (the browser keeps the file and revalidates it: the names do not change when the
// content does), the Content-Security-Policy `csp`, and headers that keep the page out of
// frames and stop content sniffing.
Response asset_response(const Request& req, const StaticAsset& asset, std::string_view csp);

}  // namespace shopctl::http
