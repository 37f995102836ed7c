#include "cli/interrupt.hpp"

#include <pthread.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "platform/temp_folder.hpp"

namespace shopctl::cli {

namespace {
std::mutex cleanup_mutex;
std::function<std::string()> cleanup_work;
std::function<bool()> reports_written;
}  // namespace

std::string signal_name(int number) {
  const char* abbreviation = sigabbrev_np(number);
  return abbreviation ? std::string("SIG") + abbreviation : "signal " + std::to_string(number);
}

int pending_stop_signal() {
  sigset_t pending;
  sigemptyset(&pending);
  if (::sigpending(&pending) != 0) return 0;
  for (int sig : kStopSignals)
    if (sigismember(&pending, sig)) return sig;
  return 0;
}

int take_pending_stop_signal() {
  const int sig = pending_stop_signal();
  if (sig == 0) return 0;
  sigset_t one;
  sigemptyset(&one);
  sigaddset(&one, sig);
  const timespec none{0, 0};
  ::sigtimedwait(&one, nullptr, &none);
  return sig;
}

void set_interrupt_reports(std::function<bool()> written) {
  std::lock_guard lock(cleanup_mutex);
  reports_written = std::move(written);
}

void set_interrupt_cleanup(std::function<std::string()> cleanup) {
  std::lock_guard lock(cleanup_mutex);
  cleanup_work = std::move(cleanup);
}

void exit_cleanly_on_interrupt(const char* command, const char* what_is_lost) {
  static sigset_t signals;
  sigemptyset(&signals);
  // A signal the parent set to be ignored stays ignored (a script's background job ignores
  // SIGINT, so a Ctrl-C meant for the script does not stop it).
  // SIGHUP too: the terminal or ssh session of a run closed, which left its shops' folders.
  for (int number : kStopSignals) {
    struct sigaction current {};
    if (sigaction(number, nullptr, &current) == 0 && current.sa_handler == SIG_IGN) continue;
    sigaddset(&signals, number);
  }
  if (sigisemptyset(&signals)) return;
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::thread([command, what_is_lost] {
    int number = 0;
    if (sigwait(&signals, &number) != 0) return;
    std::string cleaned;
    bool written = false;
    {
      std::lock_guard lock(cleanup_mutex);
      if (cleanup_work) {
        try {
          cleaned = cleanup_work();
        } catch (const std::exception& e) {
          cleaned = e.what();
        }
      }
      written = reports_written && reports_written();
    }
    std::fflush(stdout);
    // Against a running shop (--target) there are none: it said "temporary folders removed".
    const bool folders = platform::temp_folders_held() > 0;
    std::fprintf(stderr, "\n%s: interrupted (%s): %s%s%s%s (exit %d)\n", command,
                 signal_name(number).c_str(), folders ? "temporary folders removed, " : "",
                 written ? "its reports were all written before it, and are kept" : what_is_lost,
                 cleaned.empty() ? "" : "; ", cleaned.c_str(), 128 + number);
    platform::remove_temp_folders_and_exit(128 + number);
  }).detach();
}

}  // namespace shopctl::cli
