#pragma once
#include <csignal>
// The subcommands of shopctl. The exit codes (kExitOk, kExitUsage, kExitInvalid, kExitShop,
// kExitExpectation) are the public ones of <shopctl/version.hpp>; each subcommand's --help
// says which it uses. docs/cli.md is `shopctl reference`: every command's --help.
#include <chrono>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <streambuf>
#include <string>
#include <vector>

#include <shopctl/version.hpp>

namespace CLI {
class App;
}
namespace shopctl::shop {
class ConfigFileError;
}

namespace shopctl::cli {

void register_commands(CLI::App& app);

// The signals `serve` takes itself (the stop signals, SIGUSR1, SIGUSR2), blocked in the calling
// thread and every thread it starts after. main() calls it first thing for `serve`: a SIGTERM
// while serve read its settings (2-9 ms after exec, or a --config FIFO not yet written) killed
// it by the signal (exit 143), where a stop at any time is a clean stop (exit 0; an outside
// probe).
void block_serve_signals(sigset_t& signals);

// Whether `fd` is a terminal that takes colours: not when NO_COLOR is set to anything
// (no-color.org) or TERM is dumb (an outside probe: a CI runner's pseudo-terminal got escapes
// with NO_COLOR=1).
bool color_terminal(int fd);
// Whether `fd` is a terminal a progress line may be redrawn on (`\r`, erase to the end of the
// line): not when TERM is dumb.
bool redrawable_terminal(int fd);
// Every option and argument that takes a value refuses an empty one (exit 1), but the few
// where empty means something (`fault add --body ''`: an empty body). An empty value was
// taken as no option at all: `chaos --check ""` started a chaos run, `run --target ""` ran
// on an in-process shop, `--junit ""` wrote no report, `fault clear ""` cleared every fault.
void refuse_empty_values(CLI::App& app);
// The exit code chosen by the subcommand that ran.
int exit_code();
void set_exit_code(int code);

// `--target` takes a URL or a deployment file (docs/deploy.md): a file gives the gateway's
// URL, the admin token when `admin_token` is empty, and where every process's admin plane is
// (remembered for the admin clients of this process). Prints what is wrong, prefixed with
// `command`, and returns its exit code (kExitInvalid for a bad file); kExitOk otherwise.
int resolve_target(const char* command, std::string& target, std::string& admin_token);

// Empty when `text` is a whole number from 0 to 18446744073709551615 in digits only; else what
// is wrong. For seeds: CLI11 reads "-1" into an unsigned option as 2^64-1 and saturates
// larger numbers, so two different command lines would silently give the same run.
std::string seed_problem(const std::string& text);

// The duration an option gives (platform::parse_duration), or std::invalid_argument naming
// `name` and what is wrong. `longest`, when given, is what the option allows at most ("24h"):
// a longer value, or one too long even to represent (9000000000000h was "expected a duration
// like 500ms"), is "NAME: at most LONGEST, got 'TEXT'".
// The problems of a --config file as `shopctl validate` shows a scenario's: each as
// "file:line:col: error: message", the line it is on and a caret under the column, in the
// order of the file.
std::string format_config_error(const shop::ConfigFileError& error);

std::chrono::nanoseconds duration_option(const std::string& name, const std::string& text,
                                         const std::string& longest = "");

// A report option and what it was given ("--json", o.json, "reports/run.json" as an example).
struct ReportFile {
  const char* option;
  const std::string& path;
  const char* example;
};
// "-" is no file name a user means: `--junit -` (and load's `--json -`) wrote a file named
// "-", silently. Standard output is the console's, so no report goes there either, nor under
// another name (`--junit /dev/stdout`, or the file `> log.txt` sends standard output or error
// to: the console's lines and the report overwrote each other, exit 0). Says so, prefixed with
// `command`, for the first such report and returns true; false when none is. /dev/null is
// anybody's.
bool refuse_report_to_stdout(const char* command, std::initializer_list<ReportFile> reports);

// After a command line CLI11 refused (an unknown option, `--users 0`, no scenario path), the
// reports that run, load or chaos were given are removed as any run that writes none removes
// them (docs/ci.md): an earlier run's green JUnit stayed beside exit 1. Only a report option's
// own value counts, and only as stale reports are removed: never "-", where standard output or
// error goes, a `.yaml`/`.yml`, or a file another argument names (it may be an input).
void remove_reports_after_parse_error(const CLI::App& app, int argc, const char* const* argv);

// Why `serve` ends before the shop is up, on standard error: "COMMAND: WHAT: WHY" as text, or,
// with `--log-format json`, one JSON log line (`ts`, `level` error, `msg` WHAT, `command`,
// `error` WHY), so that a log shipper reading the stream sees JSON lines only, the reason of
// a crash loop too (it got plain text). `why` may span lines (a config file's diagnostics).
void say_serve_failure(const char* command, bool json, const std::string& what,
                       const std::string& why);

// While it lives, every line written to std::cerr is one JSON log line on standard error
// instead (`level` warn for a line that says "warning:", else error; `msg` the line without
// its "shopctl serve: " and "warning: "; `command`): `serve --log-format json` warned in plain
// text before its JSON lines (other users may read the folder, a money database missing, a
// low open-file limit). Restores std::cerr's own buffer when it ends.
class JsonStderrLines {
 public:
  explicit JsonStderrLines(std::string command);
  ~JsonStderrLines();
  JsonStderrLines(const JsonStderrLines&) = delete;
  JsonStderrLines& operator=(const JsonStderrLines&) = delete;

 private:
  class Buffer;
  std::unique_ptr<Buffer> buffer_;
  std::streambuf* previous_ = nullptr;
};

// What an earlier run left at a command's report paths, removed when this run ends without
// writing its own (nothing ran, or it was interrupted): a CI step that publishes the report
// whatever happened (`if: always()`) showed the earlier run's green tests for a run that never
// started (an outside probe). Only a regular file, never one with a scenario's extension
// (.yaml, .yml), a file the run reads or one it was given as a path. Thread-safe: the
// interrupt watcher calls remove() too.
class StaleReports {
 public:
  StaleReports(std::vector<std::string> reports, std::vector<std::string> inputs);
  StaleReports(const StaleReports&) = delete;
  StaleReports& operator=(const StaleReports&) = delete;
  void add_inputs(const std::vector<std::string>& more);
  // This run's reports are being written: nothing is stale any more.
  void keep();
  // Writes this run's reports (a path and its text; an empty path is skipped). Each goes to a
  // new file beside it first, and then all are renamed into place at once, under the lock that
  // remove() takes: an interrupt meanwhile leaves an earlier run's reports removed or this
  // run's complete set, never a mix of the two or a half-written file (an outside probe's
  // SIGTERM while a run wrote them: this run's JUnit beside the earlier green JSON and HTML, or
  // an empty file). A path that is a symbolic link is written where it points. A path that is
  // no regular file (a FIFO, /dev/null, a terminal) is written in place. Marks the reports as
  // kept. Returns "cannot write PATH (why)" for each that failed (an earlier report at that
  // path is removed then).
  std::vector<std::string> write(const std::vector<std::pair<std::string, std::string>>& reports);
  // Removes them (once); says what it removed, or "". Reports write() has renamed into place
  // are this run's, complete: kept.
  std::string remove();
  // Whether write() put every report in place (before any remove()).
  bool written();
  // Removes them when the command returns, with a note on standard error naming `command`.
  struct RemoveAtExit {
    RemoveAtExit(std::shared_ptr<StaleReports> reports, const char* name)
        : stale(std::move(reports)), command(name) {}
    std::shared_ptr<StaleReports> stale;
    const char* command;
    RemoveAtExit(const RemoveAtExit&) = delete;
    RemoveAtExit& operator=(const RemoveAtExit&) = delete;
    ~RemoveAtExit();
  };

 private:
  std::mutex mu_;
  std::vector<std::string> reports_;
  std::vector<std::string> inputs_;
  std::vector<std::string> temporaries_;  // write()'s files not yet renamed into place
  bool kept_ = false;
  bool removed_ = false;  // remove() ran: write() renames nothing then
  bool written_ = false;  // write() renamed this run's reports into place
};

}  // namespace shopctl::cli
