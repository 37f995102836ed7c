#pragma once
// Private to the HTTP layer's .cpp files: conversions between Beast and our messages.
#include <boost/beast/http.hpp>

#include "platform/http/message.hpp"

namespace shopctl::http::detail {

namespace bhttp = boost::beast::http;

template <class Fields>
void copy_headers(const Fields& from, Headers& to) {
  for (const auto& f : from) to.add(std::string(f.name_string()), std::string(f.value()));
}

inline void copy_headers_to(const Headers& from, bhttp::fields& to) {
  for (const auto& [k, v] : from.fields()) to.insert(k, v);
}

}  // namespace shopctl::http::detail
