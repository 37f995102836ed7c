#include "cli/commands.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <set>
#include <stdexcept>
#include <string>

#include "platform/admin_fanout.hpp"
#include "platform/duration.hpp"
#include "platform/http/client.hpp"
#include "platform/observe/log.hpp"
#include "platform/output_file.hpp"
#include "platform/text_rules.hpp"
#include "scenario/diagnostics.hpp"
#include "shop/config.hpp"

namespace shopctl::cli {

namespace {
int g_exit_code = kExitOk;
}

int exit_code() {
  return g_exit_code;
}
void set_exit_code(int code) {
  g_exit_code = code;
}

std::string seed_problem(const std::string& text) {
  const std::string problem =
      "takes a whole number from 0 to 18446744073709551615, not '" + text.substr(0, 40) + "'";
  std::uint64_t value = 0;
  const char* end = text.data() + text.size();
  const auto [stop, error] = std::from_chars(text.data(), end, value);  // digits only, no sign
  return text.empty() || error != std::errc() || stop != end ? problem : std::string();
}

std::string format_config_error(const shop::ConfigFileError& error) {
  std::string out;
  for (const auto& issue : error.issues())
    out += scenario::format_diagnostic({error.file(), issue.line, issue.column, issue.message},
                                       error.text());
  return out;
}

std::chrono::nanoseconds duration_option(const std::string& name, const std::string& text,
                                         const std::string& longest) {
  auto d = platform::parse_duration(text);
  if (!d && platform::duration_overflows(text))
    throw std::invalid_argument(name + ": " +
                                (longest.empty() ? "too long" : "at most " + longest) + ", got '" +
                                text + "'");
  if (!d)
    throw std::invalid_argument(name +
                                ": expected a duration like 500ms, 10s or 1m (units ms, s, m and "
                                "h), got '" +
                                text + "'");
  // The bound itself: --think and --timeout took 2000000h, each checked by its command apart.
  if (!longest.empty() && *d > platform::parse_duration(longest).value())
    throw std::invalid_argument(name + ": at most " + longest + ", got '" + text + "'");
  return *d;
}

namespace {
// Which of standard output (1) and standard error (2) `path` is the file of, or 0. /dev/null
// is nobody's: both going there lose nothing.
int console_stream_of(const std::string& path) {
  struct stat file {};
  if (path.empty() || ::stat(path.c_str(), &file) != 0) return 0;
  if (S_ISCHR(file.st_mode) && file.st_rdev == makedev(1, 3)) return 0;
  for (const int fd : {1, 2}) {
    struct stat stream {};
    if (::fstat(fd, &stream) == 0 && stream.st_dev == file.st_dev && stream.st_ino == file.st_ino)
      return fd;
  }
  return 0;
}
}  // namespace

bool refuse_report_to_stdout(const char* command, std::initializer_list<ReportFile> reports) {
  for (const ReportFile& report : reports) {
    if (report.path == "-") {
      std::cerr << command << ": " << report.option
                << " -: a report is written to a file, not to standard output (which has the "
                   "console's progress and summary): name a file, such as "
                << report.option << " " << report.example << ": nothing ran (exit 1)\n";
      return true;
    }
    if (const int fd = console_stream_of(report.path)) {
      std::cerr << command << ": " << report.option << " "
                << platform::terminal_text(report.path, true) << ": that is where standard "
                << (fd == 1 ? "output" : "error")
                << " goes (the console's lines and the report would overwrite each other): name "
                   "another file, such as "
                << report.option << " " << report.example << ": nothing ran (exit 1)\n";
      return true;
    }
  }
  return false;
}

int resolve_target(const char* command, std::string& target, std::string& admin_token) {
  if (target.empty()) return kExitOk;
  if (target.rfind("http://", 0) == 0) {
    // The gateway's base URL: a trailing slash is dropped (it made every admin path
    // "//_admin/...", a 404 that read as a wrong token); a path, query or fragment is refused.
    const auto authority_end = target.find_first_of("/?#", 7);
    if (authority_end != std::string::npos &&
        target.find_first_not_of('/', authority_end) != std::string::npos) {
      std::cerr << command << ": --target " << target
                << ": give the gateway's base URL, like http://127.0.0.1:8080, without a path, "
                   "query or fragment\n";
      return kExitUsage;
    }
    if (authority_end != std::string::npos) target.erase(authority_end);
    if (target.size() == 7) {
      std::cerr << command << ": --target " << target << ": no host\n";
      return kExitUsage;
    }
    // A port, when given, is 1 to 65535: 99999 failed later as "cannot reach".
    const auto colon = target.rfind(':');
    if (colon > 6 && target.find(']', colon) == std::string::npos &&
        !http::valid_port(std::string_view(target).substr(colon + 1))) {
      std::cerr << command << ": --target " << target
                << ": the port must be a number from 1 to 65535\n";
      return kExitUsage;
    }
    return kExitOk;
  }
  // A URL of another scheme is a bad command line (exit 1); a path that is not a deployment
  // file (missing, or not one) is an invalid file (exit 2), as for any other input file.
  if (target.find("://") != std::string::npos) {
    std::cerr << command << ": --target " << target
              << ": neither an http:// URL nor a deployment file (the shop speaks plain HTTP;"
                 " it serves no https://)\n";
    return kExitUsage;
  }
  // host:port without a scheme (127.0.0.1:8080, localhost:8080/) is no file name anyone
  // meant: it was exit 2 "deployment file: no such file", where a scheme was missing.
  {
    std::error_code ec;
    const auto colon = target.rfind(':');
    const bool port_after_colon =
        colon != std::string::npos && colon + 1 < target.size() &&
        std::all_of(target.begin() + static_cast<std::ptrdiff_t>(colon) + 1,
                    target.begin() + static_cast<std::ptrdiff_t>(
                                         std::min(target.size(), target.find('/', colon))),
                    [](char c) { return c >= '0' && c <= '9'; });
    if (port_after_colon && target.find('/') >= colon && !std::filesystem::exists(target, ec)) {
      std::cerr << command << ": --target " << target
                << ": a URL needs its scheme: --target http://" << target << "\n";
      return kExitUsage;
    }
  }
  try {
    auto file = platform::load_deployment_file(target);
    platform::remember_deployment(file.gateway_url, file.deployment);
    target = file.gateway_url;
    if (admin_token.empty()) admin_token = file.admin_token;
    return kExitOk;
  } catch (const std::invalid_argument& e) {
    // A file that is there is a deployment file with a mistake, not "neither" (a newcomer).
    std::error_code ec;
    std::cerr << command
              << (std::filesystem::is_regular_file(target, ec)
                      ? ": --target names an invalid deployment file: "
                      : ": --target is neither an http:// URL nor a deployment file: ")
              << e.what() << "\n";
    return kExitInvalid;
  }
}

void register_serve(CLI::App& app);
void register_version(CLI::App& app);
void register_run(CLI::App& app);
void register_graph(CLI::App& app);
void register_fault(CLI::App& app);
void register_load(CLI::App& app);
void register_chaos(CLI::App& app);
void register_reference(CLI::App& app);
void register_completion(CLI::App& app);

void refuse_empty_values(CLI::App& app) {
  static const std::set<std::string, std::less<>> may_be_empty = {"--body"};
  const CLI::Validator non_empty(
      [](std::string& value) {
        return value.empty() ? std::string("an empty value; leave the option out instead")
                             : std::string();
      },
      "");
  for (CLI::Option* option : app.get_options()) {
    if (option->get_type_size_max() == 0) continue;  // a flag
    const std::string name = option->get_name(false, true);
    bool exempt = false;
    for (const auto& each : option->get_lnames())
      exempt = exempt || may_be_empty.count("--" + each);
    if (!exempt && name != "--help" && name != "--version") option->check(non_empty);
  }
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    refuse_empty_values(*sub);
  }
}

void register_commands(CLI::App& app) {
  register_serve(app);
  register_run(app);
  register_graph(app);
  register_fault(app);
  register_load(app);
  register_chaos(app);
  register_version(app);
  register_completion(app);
  register_reference(app);
}

StaleReports::StaleReports(std::vector<std::string> reports, std::vector<std::string> inputs)
    : reports_(std::move(reports)), inputs_(std::move(inputs)) {}

void StaleReports::add_inputs(const std::vector<std::string>& more) {
  std::lock_guard lock(mu_);
  inputs_.insert(inputs_.end(), more.begin(), more.end());
}

void say_serve_failure(const char* command, bool json, const std::string& what,
                       const std::string& why) {
  if (!json) {
    std::cerr << command << ": " << what << (why.empty() ? "" : ": " + why) << "\n";
    return;
  }
  std::cerr.flush();
  platform::Logger(platform::LogLevel::error, platform::LogFormat::json)
      .error(what, {{"command", command}, {"error", why}});
}

class JsonStderrLines::Buffer : public std::streambuf {
 public:
  explicit Buffer(std::string command) : command_(std::move(command)) {}
  ~Buffer() override {
    if (!line_.empty()) emit();
  }

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    std::lock_guard lock(mu_);
    put(traits_type::to_char_type(c));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    std::lock_guard lock(mu_);
    for (std::streamsize i = 0; i < n; ++i) put(s[i]);
    return n;
  }

 private:
  void put(char c) {
    if (c != '\n') {
      line_.push_back(c);
      return;
    }
    emit();
  }
  void emit() {
    std::string_view msg = line_;
    for (const std::string_view prefix : {std::string_view(command_), std::string_view(": ")})
      if (msg.starts_with(prefix)) msg.remove_prefix(prefix.size());
    if (msg.starts_with("shopctl: ")) msg.remove_prefix(9);
    const bool warning = msg.starts_with("warning: ");
    if (warning) msg.remove_prefix(9);
    if (!msg.empty()) {
      platform::Logger(platform::LogLevel::debug, platform::LogFormat::json)
          .log(warning ? platform::LogLevel::warn : platform::LogLevel::error, msg,
               {{"command", command_}});
    }
    line_.clear();
  }
  std::string command_;
  std::string line_;
  std::mutex mu_;
};

JsonStderrLines::JsonStderrLines(std::string command)
    : buffer_(std::make_unique<Buffer>(std::move(command))) {
  std::cerr.flush();
  previous_ = std::cerr.rdbuf(buffer_.get());
}

JsonStderrLines::~JsonStderrLines() {
  std::cerr.flush();
  std::cerr.rdbuf(previous_);
}

void StaleReports::keep() {
  std::lock_guard lock(mu_);
  kept_ = true;
}

namespace {
// Where a report path leads: a symbolic link's target (a run writes through it), else the path.
std::filesystem::path report_target(const std::string& report) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_symlink(fs::symlink_status(report, ec))) return report;
  auto target = fs::weakly_canonical(fs::absolute(report, ec), ec);
  return ec ? fs::path(report) : target;
}
}  // namespace

std::string StaleReports::remove() {
  namespace fs = std::filesystem;
  std::lock_guard lock(mu_);
  removed_ = true;
  for (const auto& temporary : temporaries_) ::unlink(temporary.c_str());
  temporaries_.clear();
  if (kept_) return {};
  kept_ = true;
  std::vector<std::string> removed;
  for (const auto& report : reports_) {
    std::error_code ec;
    // "-" is refused as a report (standard output is the console's): a file by that name is
    // not this run's to remove. Through a symbolic link, the file it leads to: a run writes
    // there, and the link to an earlier green report was left as it was.
    if (report.empty() || report == "-") continue;
    const fs::path path = report_target(report);
    if (!fs::is_regular_file(fs::symlink_status(path, ec))) continue;
    const bool scenario_like =
        [](const fs::path& p) {
          const auto ext = p.extension().string();
          return ext == ".yaml" || ext == ".yml";
        }(path) ||
        fs::path(report).extension() == ".yaml" || fs::path(report).extension() == ".yml";
    if (scenario_like) continue;
    const bool read = std::any_of(inputs_.begin(), inputs_.end(), [&](const auto& input) {
      std::error_code same;
      return !input.empty() && fs::equivalent(path, input, same);
    });
    if (!read && fs::remove(path, ec)) removed.push_back(report);
  }
  if (removed.empty()) return {};
  std::string said = "removed the report" + std::string(removed.size() > 1 ? "s" : "") +
                     " an earlier run left at ";
  for (std::size_t i = 0; i < removed.size(); ++i)
    said += (i ? ", " : "") + platform::terminal_text(removed[i], true);
  return said + " (this run wrote none)";
}

std::vector<std::string> StaleReports::write(
    const std::vector<std::pair<std::string, std::string>>& reports) {
  namespace fs = std::filesystem;
  std::vector<std::string> failed;
  auto say = [&failed](const std::string& path, const std::string& why) {
    failed.push_back("cannot write " + platform::terminal_text(path, true) +
                     (why.empty() ? std::string() : " (" + why + ")"));
  };
  auto error_text = [](int error) { return error ? std::string(std::strerror(error)) : ""; };
  // The mode a file made by open(2) gets: 0666 less the umask (mkstemp makes 0600).
  const mode_t mask = ::umask(0);
  ::umask(mask);
  struct Pending {
    std::string report;
    fs::path target, temporary;
  };
  std::vector<Pending> pending;
  // Written in place (no file beside it, no rename; a named pipe's reader waited for at most
  // 10 s).
  auto write_in_place = [&](const std::string& report, const fs::path& target,
                            const std::string& text) {
    if (auto why = platform::write_in_place(target, text); !why.empty())
      failed.push_back("cannot write " + platform::terminal_text(report, true) + " (" + why + ")");
  };
  for (const auto& [report, text] : reports) {
    if (report.empty()) continue;
    const fs::path target = report_target(report);
    std::error_code ec;
    const auto status = fs::status(target, ec);
    if (fs::exists(status) && !fs::is_regular_file(status)) {
      // A FIFO, a device: written in place, outside the lock (a FIFO with no reader waits).
      write_in_place(report, target, text);
      continue;
    }
    std::string name =
        (target.parent_path() / ("." + target.filename().string() + ".XXXXXX")).string();
    // Made and listed under the lock that remove() takes: a file made after an interrupt's
    // remove() had run was never removed, and stayed beside the reports, half written (an
    // outside probe: 8 SIGTERMs in 8 during the writes). After it, nothing more is made.
    int fd = -1;
    int why = 0;
    {
      std::lock_guard lock(mu_);
      if (removed_) break;
      fd = ::mkstemp(name.data());
      why = errno;
      if (fd >= 0) temporaries_.push_back(name);
    }
    if (fd < 0) {
      if (fs::is_regular_file(status)) {
        // A folder where no new file can be made (not writable), with a report file that can
        // be written: written in place, as before.
        write_in_place(report, target, text);
      } else {
        say(report, error_text(why));
      }
      continue;
    }
    std::string error = platform::write_all(fd, text);
    if (error.empty() && ::fchmod(fd, 0666 & ~mask) != 0) error = error_text(errno);
    if (::close(fd) != 0 && error.empty()) error = error_text(errno);
    if (!error.empty()) {
      say(report, error);
      ::unlink(name.c_str());
      std::lock_guard lock(mu_);
      std::erase(temporaries_, name);
      // The earlier run's report at that path is not this run's: removed.
      fs::remove(target, ec);
      continue;
    }
    pending.push_back({report, target, name});
  }
  std::lock_guard lock(mu_);
  if (removed_) {  // interrupted meanwhile: remove() took the lot
    for (const auto& p : pending) ::unlink(p.temporary.c_str());
    return failed;
  }
  for (const auto& p : pending) {
    if (::rename(p.temporary.c_str(), p.target.c_str()) != 0) {
      say(p.report, error_text(errno));
      ::unlink(p.temporary.c_str());
    }
    std::erase(temporaries_, p.temporary.string());
  }
  kept_ = true;
  written_ = !pending.empty();
  return failed;
}

bool StaleReports::written() {
  std::lock_guard lock(mu_);
  return written_;
}

void remove_reports_after_parse_error(const CLI::App& app, int argc, const char* const* argv) {
  static const std::vector<std::pair<std::string_view, std::vector<std::string>>> kReports = {
      {"run", {"--junit", "--json", "--html"}},
      {"load", {"--json", "--html"}},
      {"chaos", {"--json"}}};
  for (const CLI::App* sub : app.get_subcommands()) {
    const auto entry = std::find_if(kReports.begin(), kReports.end(),
                                    [&](const auto& e) { return e.first == sub->get_name(); });
    if (entry == kReports.end()) continue;
    std::vector<std::string> reports;
    for (const auto& name : entry->second) {
      const CLI::Option* option = sub->get_option_no_throw(name);
      if (option == nullptr || option->results().empty()) continue;
      const std::string& path = option->results().back();
      if (path.empty() || path == "-" || console_stream_of(path) != 0) continue;
      reports.push_back(path);
    }
    if (reports.empty()) continue;
    // Every other argument may name a file the command would have read: each is kept. A
    // report's own argument is set aside once (`--junit r.xml` and `--junit=r.xml` alike).
    std::vector<std::string> others;
    for (int i = 1; i < argc; ++i) {
      std::string_view argument = argv[i];
      if (const auto eq = argument.find('='); argument.starts_with("--") && eq != argument.npos)
        argument.remove_prefix(eq + 1);
      others.emplace_back(argument);
    }
    for (const auto& report : reports) {
      if (const auto it = std::find(others.begin(), others.end(), report); it != others.end())
        others.erase(it);
    }
    const std::string command = "shopctl " + sub->get_name();
    const StaleReports::RemoveAtExit remove{std::make_shared<StaleReports>(reports, others),
                                            command.c_str()};
  }
}

StaleReports::RemoveAtExit::~RemoveAtExit() {
  const std::string removed = stale->remove();
  if (!removed.empty()) std::cerr << command << ": note: " << removed << "\n";
}

bool redrawable_terminal(int fd) {
  if (isatty(fd) == 0) return false;
  const char* term = std::getenv("TERM");
  return term == nullptr || std::string_view(term) != "dumb";
}

bool color_terminal(int fd) {
  const char* no_color = std::getenv("NO_COLOR");
  if (no_color != nullptr && *no_color != '\0') return false;
  return redrawable_terminal(fd);
}

}  // namespace shopctl::cli
