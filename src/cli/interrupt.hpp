#pragma once
// SIGINT, SIGTERM, SIGHUP and SIGQUIT for the commands that start in-process shops in temporary
// folders (`run`, `load`): the process's threads never see them; a watcher thread says so on
// standard error, removes the temporary folders and exits with 128 + the signal (130, 143), as a
// shell does. `serve` and `chaos` have their own handling: they stop a shop that keeps its data.

#include <array>
#include <csignal>
#include <functional>
#include <string>

namespace shopctl::cli {

// The signals that stop a command as Ctrl-C does, each with exit 128 + its number: SIGINT,
// SIGTERM, SIGHUP (the terminal or session closed) and SIGQUIT (Ctrl-\, which dumped core
// and left the temporary folders and an --ephemeral shop's folder behind; an outside probe).
// nginx stops gracefully on SIGQUIT too.
inline constexpr std::array<int, 4> kStopSignals = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};

// "SIGINT", as `kill -l` and the docs spell it.
std::string signal_name(int number);

// A stop signal (kStopSignals) blocked and waiting to be taken, or 0 (`serve` and the launcher
// block them, and look while they start).
int pending_stop_signal();
// The same, taken (no longer pending); 0 when none was.
int take_pending_stop_signal();

// Call before any other thread starts (every thread inherits the blocked signals). `command`
// names the command in the message ("shopctl run"); `what_is_lost` says what an interrupted
// run does not produce ("no report was written").
void exit_cleanly_on_interrupt(const char* command, const char* what_is_lost);

// Work the watcher does after a signal, before the process exits (`run --target` restores the
// running shop's baseline); returns a sentence for the message ("the target's baseline was
// restored"), or "" for nothing to say. Replaces an earlier one; thread-safe.
void set_interrupt_cleanup(std::function<std::string()> cleanup);

// Asked after the cleanup: true when the command's reports were all written before the signal
// (a complete set, kept), and the message says so instead of `what_is_lost` ("no report was
// written" beside this run's complete reports; an outside probe). Thread-safe.
void set_interrupt_reports(std::function<bool()> written);

}  // namespace shopctl::cli
