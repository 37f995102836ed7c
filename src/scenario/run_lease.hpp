#pragma once
// The run lease on a running shop (docs/scenarios.md, "Two runs on one shop"): a second run
// against the same shop would reset it under the first (its faults cleared, its prices put
// back). `shopctl run --target` and the public ScenarioRunner with a target both hold it: taken
// before the run changes anything, renewed every 10 s while the run goes on (it runs out 30 s
// after the last renewal, so a run killed with SIGKILL frees the shop within 30 s) and released
// at the end.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "platform/admin_client.hpp"

namespace shopctl::scenario {

class RunLease {
 public:
  // `who` prefixes what the lease says on stderr ("shopctl run: waiting for another run ...");
  // `what` names the run to the others ("shopctl run", then ", pid N on HOST" is added).
  RunLease(std::string target, std::string token, std::string who, const std::string& what);
  ~RunLease();  // stops renewing; released explicitly (release()), or running out
  RunLease(const RunLease&) = delete;
  RunLease& operator=(const RunLease&) = delete;

  // Takes the lease, waiting up to `wait` for another run's (saying once on stderr that it
  // waits); "" once held (or when the shop has no lease route, an older shopctl), else why not
  // ("another run uses it (shopctl run, pid 4242 on ci-7), for 12 s now; ...").
  std::string acquire(std::chrono::nanoseconds wait);
  // Whether acquire() failed because another run holds the lease (not because the shop could
  // not be reached or refused the token).
  bool in_use() const { return in_use_; }

  // The id this run holds the lease by (sent with its admin requests: kLeaseHolderHeader).
  const std::string& holder() const { return holder_; }

  // Whether the run still holds the lease (an interrupt cleanup resets the shop only then:
  // once released, the shop may be another run's).
  bool held();

  // Stops renewing and releases the lease on the shop; sent once, whoever calls it first (the
  // end of the run or a signal watcher): a lease taken while the watcher ran is released too
  // (the shop takes a release from the holder only, and one with nothing to release changes
  // nothing). Throws nothing: a lease that cannot be released runs out by itself within 30 s.
  void release();
  // The same, waiting at most `limit` for the shop's answer (an interrupted run's stop, after a
  // reset the shop did not answer: it waited 5 s more; an outside probe).
  void release(std::chrono::milliseconds limit);

 private:
  // Takes or renews the lease, for 30 s (renewed every 10 s: two renewals may fail).
  platform::AdminAnswer take();
  platform::AdminAnswer send(const std::string& path, const nlohmann::json& body);
  void stop_renewing();
  void renew();

  std::string target_, token_, who_, holder_, about_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;     // guarded by mu_
  bool stopped_ = false;  // guarded by mu_: released; acquire() takes nothing after it
  bool warned_ = false;   // the renewer's only
  bool in_use_ = false;   // acquire()'s
  std::atomic<bool> attempted_{false}, released_{false};
  std::thread renewer_;  // guarded by mu_
};

}  // namespace shopctl::scenario
