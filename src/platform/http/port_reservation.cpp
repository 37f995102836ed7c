#include "platform/http/port_reservation.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

namespace shopctl::http {

PortReservation::PortReservation(std::uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    throw std::runtime_error(std::string("cannot open a socket: ") + std::strerror(errno));
  }
  const int on = 1;
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(port);
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t size = sizeof at;
  if (::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
      ::bind(fd_, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&at), &size) != 0) {
    const int error = errno;
    ::close(fd_);
    fd_ = -1;
    if (port == 0) {
      throw std::runtime_error(std::string("cannot find a free port: ") + std::strerror(error));
    }
    throw std::runtime_error("port " + std::to_string(port) + " of 127.0.0.1 is taken (" +
                             std::strerror(error) + ")");
  }
  port_ = ntohs(at.sin_port);
}

PortReservation::~PortReservation() {
  if (fd_ >= 0) ::close(fd_);
}

PortReservation::PortReservation(PortReservation&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), port_(std::exchange(other.port_, 0)) {}

PortReservation& PortReservation::operator=(PortReservation&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    port_ = std::exchange(other.port_, 0);
  }
  return *this;
}

bool port_held_by_time_wait(std::uint16_t port) {
  bool time_wait = false;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      // "  0: 0100007F:B4D5 00000000:0000 0A ...": the local address, the remote one, the state.
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      if (!(fields >> slot >> local >> remote >> state)) continue;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos) continue;
      unsigned long local_port = 0;
      try {
        local_port = std::stoul(local.substr(colon + 1), nullptr, 16);
      } catch (const std::exception&) {
        continue;
      }
      if (local_port != port) continue;
      if (state == "0A") return false;  // a listener: taken for good
      if (state == "06") time_wait = true;
    }
  }
  return time_wait;
}

namespace {
// Whether `host`:`port` can be bound now (SO_REUSEADDR, as Server binds it; not kept).
int bind_error(const std::string& host, std::uint16_t port) {
  sockaddr_in6 at6{};
  sockaddr_in at4{};
  const bool v6 = ::inet_pton(AF_INET6, host.c_str(), &at6.sin6_addr) == 1;
  if (!v6 && ::inet_pton(AF_INET, host.c_str(), &at4.sin_addr) != 1) return 0;  // not ours to say
  const int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  int rc = 0;
  if (v6) {
    at6.sin6_family = AF_INET6;
    at6.sin6_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&at6), sizeof at6);
  } else {
    at4.sin_family = AF_INET;
    at4.sin_port = htons(port);
    rc = ::bind(fd, reinterpret_cast<const sockaddr*>(&at4), sizeof at4);
  }
  const int error = rc == 0 ? 0 : errno;
  ::close(fd);
  return error;
}
}  // namespace

bool wait_out_time_wait(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds limit, const std::function<void()>& waiting,
                        const std::function<bool()>& give_up) {
  if (port == 0) return true;
  const auto until = std::chrono::steady_clock::now() + limit;
  bool said = false;
  while (bind_error(host, port) == EADDRINUSE && port_held_by_time_wait(port) &&
         std::chrono::steady_clock::now() < until) {
    if (give_up && give_up()) return false;
    if (!said && waiting) waiting();
    said = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return true;
}

}  // namespace shopctl::http
