#include "services/gateway/openapi_description.hpp"

#include <yaml-cpp/yaml.h>

#include "platform/yaml_json.hpp"

namespace shopctl::gateway {

namespace asio = boost::asio;
using http::Request;
using http::Response;

const nlohmann::json& openapi_description() {
  static const nlohmann::json description =
      platform::yaml_to_json(YAML::Load(std::string(kOpenApiYaml)));
  return description;
}

void add_openapi_route(platform::ServiceHost& host) {
  static const std::string body = openapi_description().dump();
  host.routes().add("GET", "/openapi.json", http::Access::anyone(),
                    [](Request&) -> asio::awaitable<Response> {
                      Response res;
                      res.status = 200;
                      res.headers.set("Content-Type", "application/json; charset=utf-8");
                      res.body = body;
                      co_return res;
                    });
}

}  // namespace shopctl::gateway
