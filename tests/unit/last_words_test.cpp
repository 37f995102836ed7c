// Out of memory on any thread ends the process with a line and exit 3 (platform/last_words): a
// std::bad_alloc that left a thread other than a shop's io threads ended `shopctl run` with
// SIGABRT, exit 134, under `ulimit -v` (an outside probe). Each case runs in a child process.
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <new>
#include <stdexcept>
#include <string>
#include <thread>

#include "platform/last_words.hpp"

namespace {

struct Ended {
  int status = -1;   // waitpid's
  std::string said;  // the child's standard error
};

// Runs `body` in a child process and returns how it ended and what it wrote to stderr.
template <typename Body>
Ended in_child(Body body) {
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    // The test runner's own handler, inherited, reported the child's abort as the test's crash
    // (a passing run printed "test case CRASHED" and "Status: FAILURE!"; an outside probe).
    std::signal(SIGABRT, SIG_DFL);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    body();
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  Ended ended;
  char buffer[512];
  for (ssize_t n; (n = ::read(pipe_fds[0], buffer, sizeof buffer)) > 0;)
    ended.said.append(buffer, n);
  ::close(pipe_fds[0]);
  ::waitpid(pid, &ended.status, 0);
  return ended;
}

}  // namespace

TEST_CASE("std::bad_alloc out of any thread ends the process with its line and exit 3") {
  const auto ended = in_child([] {
    shopctl::platform::end_out_of_memory_on_terminate(3);
    std::thread worker([] { throw std::bad_alloc(); });
    worker.join();
  });
  REQUIRE(WIFEXITED(ended.status));
  CHECK(WEXITSTATUS(ended.status) == 3);
  CHECK(ended.said ==
        "shopctl: out of memory on one of its threads (ulimit -v?): the shop cannot go on; exit "
        "3\n");
}

TEST_CASE("another exception out of a thread still aborts") {
  const auto ended = in_child([] {
    shopctl::platform::end_out_of_memory_on_terminate(3);
    std::thread worker([] { throw std::runtime_error("a bug"); });
    worker.join();
  });
  REQUIRE(WIFSIGNALED(ended.status));
  CHECK(WTERMSIG(ended.status) == SIGABRT);
  // Said by the handler that was there before (libstdc++'s names the exception).
  CHECK(ended.said.find("a bug") != std::string::npos);
}

TEST_CASE("current_exception_what names the exception being handled, or says unknown") {
  CHECK(std::string(shopctl::platform::current_exception_what()) == "unknown");
  try {
    throw std::runtime_error("disk on fire");
  } catch (...) {
    CHECK(std::string(shopctl::platform::current_exception_what()) == "disk on fire");
  }
  try {
    throw 42;
  } catch (...) {
    CHECK(std::string(shopctl::platform::current_exception_what()) == "unknown");
  }
}
