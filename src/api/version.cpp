// shopctl::library_version (include/shopctl/version.hpp).
#include "shopctl/version.hpp"

namespace shopctl {

std::string_view library_version() {
  return SHOPCTL_VERSION;
}

}  // namespace shopctl
