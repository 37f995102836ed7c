#pragma once
// Ports a launcher picks for its children, held for as long as they may be needed.
#include <cstdint>

namespace shopctl::http {

// Holds a TCP port of 127.0.0.1 for a child process to listen on, for as long as it lives: a
// socket bound with SO_REUSEADDR that does not listen. The kernel gives such a port to no
// port-0 bind and no outgoing connection, and refuses a plain bind of it, while a server that
// binds it with SO_REUSEADDR (as Server does) may listen on it. So a launcher that picks its
// children's ports (serve --processes, chaos --crash) keeps them through every restart of a
// child, and a connection to a port whose child is down is refused, as before. Picked free and
// released (pick_free_port), a port could be taken before the child bound it (docs/deploy.md).
class PortReservation {
 public:
  // Binds 127.0.0.1:`port` (0: a free port). Throws std::runtime_error naming the port when
  // it is taken (a listener holds it) or no port can be had.
  explicit PortReservation(std::uint16_t port = 0);
  ~PortReservation();
  PortReservation(PortReservation&& other) noexcept;
  PortReservation& operator=(PortReservation&& other) noexcept;
  PortReservation(const PortReservation&) = delete;
  PortReservation& operator=(const PortReservation&) = delete;
  std::uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

}  // namespace shopctl::http
