#pragma once
// Ports a launcher picks for its children, held for as long as they may be needed.
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

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

// Whether no socket of this machine listens on TCP `port` and some connection in TIME-WAIT has
// it as its local port (/proc/net/tcp and tcp6). Such a connection, made by any program while
// the shop was down (its ports are in the system's ephemeral range), makes a bind of the port
// fail for up to 60 s, SO_REUSEADDR or not.
bool port_held_by_time_wait(std::uint16_t port);

// Waits, up to `limit`, while `port` of `host` cannot be bound only because of connections in
// TIME-WAIT (port_held_by_time_wait); calls `waiting` once when it begins to wait. Returns at
// once when the port can be bound, or is held by a listener or anything else: the caller's own
// bind then says why. A shop killed and started again on its folder failed for up to a minute
// with "port P is taken by another process", and its advice (remove the port from
// identity.json) would have broken every pay link handed out (an outside probe).
// `give_up`, asked every 250 ms while it waits: true ends the wait at once, and the call
// returns false (a stop signal came: serve ignored SIGTERM for up to a minute; an outside probe).
bool wait_out_time_wait(const std::string& host, std::uint16_t port,
                        std::chrono::milliseconds limit, const std::function<void()>& waiting,
                        const std::function<bool()>& give_up = {});

}  // namespace shopctl::http
