#pragma once
// A raw listening socket on an ephemeral loopback port, for tests that play a server by hand
// (one that never answers, or answers something hostile). Header-only.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>

namespace shopctl::test_support {

struct LoopbackListener {
  int fd = -1;
  std::uint16_t port = 0;
};

// Opens, binds to 127.0.0.1:0 and listens; the caller closes `fd`.
inline LoopbackListener listen_on_loopback(int backlog = 16) {
  LoopbackListener l;
  l.fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(l.fd >= 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(l.fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  REQUIRE(::listen(l.fd, backlog) == 0);
  socklen_t length = sizeof address;
  REQUIRE(::getsockname(l.fd, reinterpret_cast<sockaddr*>(&address), &length) == 0);
  l.port = ntohs(address.sin_port);
  return l;
}

}  // namespace shopctl::test_support
