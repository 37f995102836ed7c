// shopctl: a microservice shop in one process, and a scenario tester for it.
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "cli/commands.hpp"
#include "cli/escaping_stream.hpp"
#include "platform/last_words.hpp"
#include "platform/text_rules.hpp"

namespace {

// A stack limit far below the usual 8 MiB (`ulimit -s 64`) crashed shopctl with SIGSEGV: the
// main thread's stack and every thread's default one are sized from it when the process
// starts. Below 8 MiB it is raised to 8 MiB (or as far as the hard limit allows) and shopctl
// starts itself again, once; a hard limit under 1 MiB is said, exit 3.
constexpr rlim_t kWantedStack = 8u << 20;
constexpr rlim_t kLeastStack = 1u << 20;

void ensure_stack(char** argv) {
  // Set for the start again only; not handed down to the processes shopctl starts.
  const bool raised_already = std::getenv("SHOPCTL_STACK_RAISED") != nullptr;
  ::unsetenv("SHOPCTL_STACK_RAISED");
  rlimit limit{};
  if (::getrlimit(RLIMIT_STACK, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
      limit.rlim_cur >= kWantedStack)
    return;
  if (!raised_already) {
    const rlim_t raised =
        limit.rlim_max == RLIM_INFINITY ? kWantedStack : std::min(kWantedStack, limit.rlim_max);
    if (raised > limit.rlim_cur) {
      rlimit wanted = limit;
      wanted.rlim_cur = raised;
      if (::setrlimit(RLIMIT_STACK, &wanted) == 0) {
        ::setenv("SHOPCTL_STACK_RAISED", "1", 1);
        ::execv("/proc/self/exe", argv);  // returns only when it failed: go on as we are
        wanted.rlim_cur = limit.rlim_cur;
        ::setrlimit(RLIMIT_STACK, &wanted);
      }
    }
  }
  if (::getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY &&
      limit.rlim_cur < kLeastStack) {
    std::fprintf(stderr,
                 "shopctl: the stack limit is %llu KiB (ulimit -s) and cannot be raised here: "
                 "shopctl needs at least 1024 KiB; raise it (ulimit -s 8192) and run it again "
                 "(exit 3)\n",
                 static_cast<unsigned long long>(limit.rlim_cur / 1024));
    std::exit(3);
  }
}

}  // namespace

int main(int argc, char** argv) {
  ensure_stack(argv);
  // Out of memory on any thread (a runner's, a sweeper's, a worker's) ends the process with a
  // line and exit 3, as on a shop's io thread: a std::bad_alloc that left another thread ended
  // it with SIGABRT, exit 134, under `ulimit -v` (an outside probe).
  shopctl::platform::end_out_of_memory_on_terminate(shopctl::kExitShop);
  // SIGQUIT (Ctrl-\) stops a command that takes no signals itself (validate, graph, fault) as
  // SIGTERM does, exit 131, without a core dump: it left a 2.5 MB core file (an outside probe).
  // The commands that take it (run, load, chaos, serve) block it and wait for it instead. One
  // ignored by the parent stays ignored.
  {
    struct sigaction quit {};
    if (::sigaction(SIGQUIT, nullptr, &quit) == 0 && quit.sa_handler != SIG_IGN) {
      quit.sa_handler = [](int) { ::_exit(128 + SIGQUIT); };
      sigemptyset(&quit.sa_mask);
      quit.sa_flags = 0;
      ::sigaction(SIGQUIT, &quit, nullptr);
    }
  }
  // `serve` takes its stop signals itself, from here on (cli/commands.hpp).
  for (int i = 1; i < argc; ++i) {
    if (argv[i][0] == '-') continue;
    if (std::string_view(argv[i]) == "serve") {
      sigset_t serve_signals;
      shopctl::cli::block_serve_signals(serve_signals);
    }
    break;
  }
  // Every message on stderr shows control characters as escapes (cli/escaping_stream.hpp).
  static shopctl::cli::EscapingStreambuf escaping(std::cerr.rdbuf());
  std::cerr.rdbuf(&escaping);
  // A reader that goes away (`shopctl run scenarios/ | head -1`) makes writes fail instead of
  // killing the process with SIGPIPE: a killed run left its shops' temporary folders behind.
  // Whether standard output took everything is checked once the command is done (below).
  std::signal(SIGPIPE, SIG_IGN);
  // What this process makes, its owner may use, whatever the umask takes from the others: under
  // `umask 777` (or 277) a scenario's shop made its temporary folder and databases with no
  // permission for anyone, and could not open them (an outside probe, as a non-root user).
  const mode_t mask = ::umask(0);
  ::umask(mask & ~static_cast<mode_t>(S_IRWXU));
  CLI::App app{
      "shopctl: a complete microservice shop (gateway, auth, catalog, order, payment and a\n"
      "simulated payment provider) on loopback ports in one process, and a scenario tester\n"
      "that drives it with faults and asserts circuit breakers and the call graph.\n\n"
      "Examples:\n"
      "  shopctl serve                         # the shop for a demo, gateway on :8080\n"
      "  shopctl run scenarios/                # run every scenario, fresh shop each\n"
      "  shopctl run scenarios/ --junit r.xml  # as a CI gate\n"
      "  shopctl validate scenarios/           # check files only\n"
      "  shopctl load --users 32 --duration 10s --threshold 'p99<50ms'   # virtual users\n"
      "  shopctl chaos --crash --duration 45s --seed 7   # faults, crashes, money invariants\n"
      "  shopctl graph                         # the allowed call graph as Mermaid\n"
      "  shopctl fault add --target http://127.0.0.1:8080 --admin-token TOKEN \\\n"
      "      --target-service catalog --type hang   # on a running shop (serve prints TOKEN)\n",
      "shopctl"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "shopctl " SHOPCTL_VERSION);  // as `shopctl version`
  shopctl::cli::register_commands(app);
  shopctl::cli::refuse_empty_values(app);
  // CLI11 answers a word that is no command with "A subcommand is required", which does not
  // say which word it did not know: at any level (`shopctl fault remove` said only that).
  {
    const CLI::App* at = &app;
    std::string path = "shopctl";
    for (int i = 1; i < argc && argv[i][0] != '\0'; ++i) {
      const auto subs = at->get_subcommands([](const CLI::App*) { return true; });
      if (subs.empty()) break;  // a command's own arguments from here
      if (argv[i][0] == '-') {
        // An option before the command: `shopctl --verison` said "A subcommand is required",
        // naming neither the word nor the options there are (an outside probe).
        const std::string word = argv[i];
        const std::string name = word.substr(0, word.find('='));
        if (word == "--" || at->get_option_no_throw(name) != nullptr) break;
        std::string options;
        for (const CLI::Option* o : at->get_options())
          options += (options.empty() ? "" : ", ") + o->get_name();
        std::cerr << path << ": unknown option '" << shopctl::platform::terminal_text(name, true)
                  << "' (options here: " << options << "; a command's own options follow it)"
                  << "\nRun with --help for more information.\n";
        return shopctl::kExitUsage;
      }
      const CLI::App* next = nullptr;
      std::string names;
      for (const CLI::App* sub : subs) {
        if (sub->check_name(argv[i])) next = sub;
        if (!sub->get_group().empty()) names += (names.empty() ? "" : ", ") + sub->get_name();
      }
      if (!next) {
        std::cerr << path << ": no command '" << argv[i] << "' (commands: " << names
                  << ")\nRun with --help for more information.\n";
        return shopctl::kExitUsage;
      }
      at = next;
      path += " " + next->get_name();
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // CLI11 exits 0 for --help; every real command-line error is exit code 1.
    int code = app.exit(e);
    if (code != 0) {
      shopctl::cli::remove_reports_after_parse_error(app, argc, argv);
      return shopctl::kExitUsage;
    }
    std::cout.flush();
    if (!std::cout) {
      std::cerr << "shopctl: cannot write to standard output\n";
      return shopctl::kExitUsage;
    }
    return shopctl::kExitOk;
  }
  // Output that did not arrive (a full disk, a closed pipe, stdout closed) is an error: exit 0
  // told `shopctl reference > docs/cli.md` on a full disk that a cut file was complete. A
  // command that failed keeps its own code; the message is printed either way.
  int code = shopctl::cli::exit_code();
  std::cout.flush();
  const bool written =
      static_cast<bool>(std::cout) && std::fflush(stdout) == 0 && !std::ferror(stdout);
  if (!written) {
    std::string command = "shopctl";
    for (const CLI::App* sub : app.get_subcommands()) command += " " + sub->get_name();
    std::cerr << command << ": cannot write to standard output\n";
    if (code == shopctl::kExitOk) code = shopctl::kExitUsage;
  }
  return code;
}
