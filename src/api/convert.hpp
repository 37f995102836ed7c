#pragma once
// Between the public API's plain types (include/shopctl/) and the internal ones: the few
// conversions more than one file of src/api/ needs.
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "observe_tools/fault_spec.hpp"
#include "shopctl/admin_client.hpp"

namespace shopctl::api {

// The object behind a public class's `impl_`. A moved-from Shop, ScenarioRunner or AdminClient
// holds none: every call on it throws std::logic_error instead of following a null pointer.
template <typename Pointer>
auto& live(const Pointer& impl, const char* type) {
  if (!impl)
    throw std::logic_error(std::string("this shopctl::") + type +
                           " was moved from: use the object it was moved to");
  return *impl;
}

inline observe_tools::FaultFlags to_flags(const FaultSpec& spec) {
  observe_tools::FaultFlags f;
  f.target_service = spec.target_service;
  f.type = spec.type;
  f.id = spec.id;
  f.from = spec.from;
  f.method = spec.method;
  f.path = spec.path;
  f.delay = spec.delay;
  f.jitter = spec.jitter;
  f.status = spec.status;
  f.body = spec.body;
  f.bytes_per_second = spec.bytes_per_second;
  f.probability = spec.probability;
  f.first = spec.first;
  f.every = spec.every;
  f.after = spec.after;
  return f;
}

// The items of GET /_admin/services.
inline std::vector<ServiceInfo> services_from_json(const nlohmann::json& answer) {
  std::vector<ServiceInfo> out;
  if (!answer.is_object() || !answer.contains("items")) return out;
  for (const auto& item : answer.at("items")) {
    out.push_back({item.value("name", std::string()), item.value("url", std::string()),
                   item.value("database", std::string()), item.value("running", false)});
  }
  return out;
}

}  // namespace shopctl::api
