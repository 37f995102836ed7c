// echo.cpp: the physical floor under one HTTP hop of the shop, on this machine (bench/floor.sh).
//
// Plain POSIX sockets and files, no HTTP, no Asio, no allocation per round trip: what the
// kernel's loopback TCP and the disk cost at the least.
//
//   echo rtt REQ RESP SECONDS          one kept-alive connection, a client thread and a server
//                                      thread: the client writes REQ bytes, the server reads
//                                      them and writes RESP bytes back, the client reads them.
//   echo conc CONNS REQ RESP SECONDS   the same on CONNS connections at once: one client
//                                      thread and one server thread, each an epoll loop.
//   echo sync fsync|fdatasync SAMPLES DIR
//                                      a 4 KiB pwrite (appending) followed by fsync or
//                                      fdatasync, SAMPLES times, on a new file in DIR.
//
// Prints `name value` lines on stdout: round trips (or syncs) and the time they took, p50/p99
// of one round trip (or sync) in µs, and the process's CPU time (user + system, both threads)
// per round trip (or sync) in µs. Exit 1 on a bad command line, 2 on a system call's failure.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "echo: %s: %s\n", what, std::strerror(errno));
  std::exit(2);
}

double cpu_seconds() {
  rusage u{};
  if (getrusage(RUSAGE_SELF, &u) != 0) die("getrusage");
  auto s = [](timeval t) { return static_cast<double>(t.tv_sec) + t.tv_usec / 1e6; };
  return s(u.ru_utime) + s(u.ru_stime);
}

double micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// p (0..1) of sorted samples, nearest rank.
double pct(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size()));
  return v[std::min(i, v.size() - 1)];
}

void nodelay(int fd) {
  int one = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) die("TCP_NODELAY");
}

// A listening socket on 127.0.0.1, any port; sets `port`.
int listen_any(int& port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("bind");
  if (listen(fd, 128) != 0) die("listen");
  socklen_t len = sizeof a;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) die("getsockname");
  port = ntohs(a.sin_port);
  return fd;
}

int connect_to(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) die("connect");
  nodelay(fd);
  return fd;
}

// Blocking: reads exactly n bytes (false at end of stream).
bool read_n(int fd, char* buf, std::size_t n) {
  std::size_t got = 0;
  while (got < n) {
    ssize_t r = recv(fd, buf + got, n - got, 0);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR) continue;
      die("recv");
    }
    got += static_cast<std::size_t>(r);
  }
  return true;
}

void write_n(int fd, const char* buf, std::size_t n) {
  std::size_t put = 0;
  while (put < n) {
    ssize_t w = send(fd, buf + put, n - put, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EINTR) continue;
      die("send");
    }
    put += static_cast<std::size_t>(w);
  }
}

void report(const char* mode, long count, double secs, std::vector<double>& lat, double cpu) {
  std::printf("%s_count %ld\n", mode, count);
  std::printf("%s_seconds %.3f\n", mode, secs);
  std::printf("%s_per_second %.1f\n", mode, static_cast<double>(count) / secs);
  std::printf("%s_p50_us %.2f\n", mode, pct(lat, 0.50));
  std::printf("%s_p99_us %.2f\n", mode, pct(lat, 0.99));
  std::printf("%s_cpu_us %.2f\n", mode, cpu * 1e6 / static_cast<double>(count));
}

// One connection, one client thread, one server thread.
int rtt(std::size_t req, std::size_t resp, long seconds) {
  int port = 0;
  int lfd = listen_any(port);
  std::thread server([&] {
    int fd = accept(lfd, nullptr, nullptr);
    if (fd < 0) die("accept");
    nodelay(fd);
    std::vector<char> in(req), out(resp, 'x');
    while (read_n(fd, in.data(), req)) write_n(fd, out.data(), resp);
    close(fd);
  });
  int fd = connect_to(port);
  std::vector<char> out(req, 'q'), in(resp);
  auto once = [&] {
    write_n(fd, out.data(), req);
    if (!read_n(fd, in.data(), resp)) die("server closed");
  };
  for (int i = 0; i < 2000; ++i) once();  // warm-up
  std::vector<double> lat;
  lat.reserve(1 << 20);
  double cpu0 = cpu_seconds();
  Clock::time_point t0 = Clock::now(), end = t0 + std::chrono::seconds(seconds);
  auto now = t0;
  while (now < end) {
    auto s = now;
    once();
    now = Clock::now();
    lat.push_back(micros(now - s));
  }
  double cpu = cpu_seconds() - cpu0;
  double secs = std::chrono::duration<double>(now - t0).count();
  shutdown(fd, SHUT_WR);
  server.join();
  close(fd);
  close(lfd);
  report("rtt", static_cast<long>(lat.size()), secs, lat, cpu);
  return 0;
}

struct Conn {
  int fd = -1;
  std::size_t done = 0;  // bytes read (of the request, or the answer) or written so far
  bool writing = false;  // server: writing the answer; client: writing the request
  Clock::time_point started;
};

void set_nonblocking(int fd) {
  if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) die("O_NONBLOCK");
}

void epoll_add(int ep, int fd, std::uint32_t events, std::size_t index) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = index;
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) != 0) die("epoll_ctl");
}

void epoll_mod(int ep, int fd, std::uint32_t events, std::size_t index) {
  epoll_event e{};
  e.events = events;
  e.data.u64 = index;
  if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e) != 0) die("epoll_ctl");
}

// Non-blocking: moves what it can of the `total - c.done` bytes; true when all are done.
bool pump(Conn& c, char* buf, std::size_t total, bool write) {
  while (c.done < total) {
    ssize_t n = write ? send(c.fd, buf + c.done, total - c.done, MSG_NOSIGNAL)
                      : recv(c.fd, buf + c.done, total - c.done, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return false;
    if (n < 0) die(write ? "send" : "recv");
    if (n == 0) return false;  // the peer closed: the run is over
    c.done += static_cast<std::size_t>(n);
  }
  return true;
}

// CONNS connections; the server thread and the client thread each run an epoll loop.
int conc(std::size_t conns, std::size_t req, std::size_t resp, long seconds) {
  int port = 0;
  int lfd = listen_any(port);
  std::atomic<bool> stop{false};
  std::thread server([&] {
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    std::vector<Conn> cs(conns);
    for (std::size_t i = 0; i < conns; ++i) {
      cs[i].fd = accept(lfd, nullptr, nullptr);
      if (cs[i].fd < 0) die("accept");
      nodelay(cs[i].fd);
      set_nonblocking(cs[i].fd);
      epoll_add(ep, cs[i].fd, EPOLLIN, i);
    }
    std::vector<char> in(req), out(resp, 'x');
    std::vector<epoll_event> evs(conns);
    while (!stop.load(std::memory_order_relaxed)) {
      int n = epoll_wait(ep, evs.data(), static_cast<int>(conns), 100);
      for (int k = 0; k < n; ++k) {
        std::size_t i = evs[k].data.u64;
        Conn& c = cs[i];
        if (!c.writing) {
          if (!pump(c, in.data(), req, false)) continue;
          c.writing = true;
          c.done = 0;
        }
        bool armed = (evs[k].events & EPOLLOUT) != 0;
        if (pump(c, out.data(), resp, true)) {
          c.writing = false;
          c.done = 0;
          if (armed) epoll_mod(ep, c.fd, EPOLLIN, i);
        } else if (!armed) {
          epoll_mod(ep, c.fd, EPOLLIN | EPOLLOUT, i);  // the rest when the socket has room
        }
      }
    }
    for (auto& c : cs) close(c.fd);
    close(ep);
  });

  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  std::vector<Conn> cs(conns);
  for (std::size_t i = 0; i < conns; ++i) {
    cs[i].fd = connect_to(port);
    set_nonblocking(cs[i].fd);
    epoll_add(ep, cs[i].fd, EPOLLIN, i);
  }
  std::vector<char> out(req, 'q'), in(resp);
  std::vector<epoll_event> evs(conns);
  std::vector<double> lat;
  lat.reserve(1 << 22);
  long count = 0;
  bool measuring = false;
  Clock::time_point warm_end = Clock::now() + std::chrono::milliseconds(500);
  Clock::time_point t0 = warm_end, end = warm_end + std::chrono::seconds(seconds);
  double cpu0 = 0;
  auto start = [&](Conn& c) {  // sends a request: all of it fits an idle socket's buffer
    c.started = Clock::now();
    c.done = 0;
    if (!pump(c, out.data(), req, true)) die("the request did not fit the socket buffer");
    c.done = 0;
  };
  for (auto& c : cs) start(c);
  auto now = Clock::now();
  while (now < end) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(conns), 100);
    now = Clock::now();
    if (!measuring && now >= warm_end) {
      measuring = true;
      t0 = now;
      cpu0 = cpu_seconds();
    }
    for (int k = 0; k < n; ++k) {
      Conn& c = cs[evs[k].data.u64];
      if (!pump(c, in.data(), resp, false)) continue;
      if (measuring) {
        ++count;
        lat.push_back(micros(now - c.started));
      }
      start(c);
    }
  }
  double cpu = cpu_seconds() - cpu0;
  double secs = std::chrono::duration<double>(now - t0).count();
  stop = true;
  server.join();
  for (auto& c : cs) close(c.fd);
  close(ep);
  close(lfd);
  report("conc", count, secs, lat, cpu);
  return 0;
}

int sync_cost(const std::string& how, long samples, const std::string& dir) {
  std::string path = dir + "/echo-sync.XXXXXX";
  int fd = mkstemp(path.data());
  if (fd < 0) die("mkstemp");
  unlink(path.c_str());
  bool data_only = how == "fdatasync";
  std::vector<char> page(4096, 'w');
  std::vector<double> lat;
  off_t off = 0;
  auto once = [&] {
    if (pwrite(fd, page.data(), page.size(), off) != static_cast<ssize_t>(page.size())) {
      die("pwrite");
    }
    off += static_cast<off_t>(page.size());
    if ((data_only ? fdatasync(fd) : fsync(fd)) != 0) die(data_only ? "fdatasync" : "fsync");
  };
  for (int i = 0; i < 5; ++i) once();  // warm-up: the file's first blocks and its inode
  double cpu0 = cpu_seconds();
  auto t0 = Clock::now();
  for (long i = 0; i < samples; ++i) {
    auto s = Clock::now();
    once();
    lat.push_back(micros(Clock::now() - s));
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  close(fd);
  report(how.c_str(), samples, secs, lat, cpu);
  return 0;
}

long number(const char* s) {
  char* end = nullptr;
  long v = std::strtol(s, &end, 10);
  if (end == s || *end != '\0' || v <= 0) {
    std::fprintf(stderr, "echo: '%s' is not a positive whole number\n", s);
    std::exit(1);
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  auto z = [](const char* s) { return static_cast<std::size_t>(number(s)); };
  if (mode == "rtt" && argc == 5) {
    return rtt(z(argv[2]), z(argv[3]), number(argv[4]));
  }
  if (mode == "conc" && argc == 6) {
    return conc(z(argv[2]), z(argv[3]), z(argv[4]), number(argv[5]));
  }
  if (mode == "sync" && argc == 5 &&
      (std::string(argv[2]) == "fsync" || std::string(argv[2]) == "fdatasync")) {
    return sync_cost(argv[2], number(argv[3]), argv[4]);
  }
  std::fprintf(stderr,
               "usage: echo rtt REQ RESP SECONDS | echo conc CONNS REQ RESP SECONDS |"
               " echo sync fsync|fdatasync SAMPLES DIR\n");
  return 1;
}
