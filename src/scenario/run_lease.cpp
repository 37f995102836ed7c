#include "scenario/run_lease.hpp"

#include <unistd.h>

#include <cstdint>
#include <iostream>

#include "platform/security/random.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::scenario {

RunLease::RunLease(std::string target, std::string token, std::string who, const std::string& what)
    : target_(std::move(target)),
      token_(std::move(token)),
      who_(std::move(who)),
      holder_(platform::security::random_hex(12)) {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  about_ = what + ", pid " + std::to_string(::getpid()) + (host[0] ? " on " : "") + host;
}

RunLease::~RunLease() {
  stop_renewing();
}

std::string RunLease::acquire(std::chrono::nanoseconds wait) {
  const auto give_up = std::chrono::steady_clock::now() + wait;
  bool said = false;
  attempted_ = true;  // from here on a release is sent, whoever ends the run
  for (;;) {
    platform::AdminAnswer answer;
    try {
      answer = take();
    } catch (const std::exception& e) {
      return std::string("the run lease could not be taken (") + e.what() + ")";
    }
    if (answer.status == 404) return "";  // a shop without leases: nothing to coordinate
    if (answer.ok()) break;
    if (answer.status != 409) {
      return "the run lease could not be taken (POST /_admin/lease answered " +
             std::to_string(answer.status) + " " + answer.error_message() + ")";
    }
    // Read with care: a proxy in front of the shop may answer 409 with a body of its own.
    std::string who;
    std::int64_t held_s = 0, expires_s = -1;
    if (const auto* error = answer.body.is_object() && answer.body.contains("error")
                                ? &answer.body["error"]
                                : nullptr;
        error && error->is_object() && error->contains("details") &&
        (*error)["details"].is_object()) {
      const auto& details = (*error)["details"];
      if (details.contains("about") && details["about"].is_string())
        who = details["about"].get<std::string>().substr(0, 200);
      if (details.contains("held_for_ms") && details["held_for_ms"].is_number_integer())
        held_s = details["held_for_ms"].get<std::int64_t>() / 1000;
      if (details.contains("expires_in_ms") && details["expires_in_ms"].is_number_integer())
        expires_s = (details["expires_in_ms"].get<std::int64_t>() + 999) / 1000;
    }
    who = platform::terminal_text(who, true);
    if (std::chrono::steady_clock::now() >= give_up) {
      in_use_ = true;
      return "another run uses it" + (who.empty() ? std::string() : " (" + who + ")") + ", for " +
             std::to_string(held_s) + " s now" +
             (expires_s >= 0 ? "; its lease runs out in " + std::to_string(expires_s) +
                                   " s unless that run renews it (it does every 10 s)"
                             : std::string());
    }
    if (!said) {
      std::cerr << who_ << ": waiting for another run on " << target_
                << (who.empty() ? std::string() : " (" + who + ")") << " to finish\n";
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  std::lock_guard lock(mu_);
  if (stopped_) return "";  // a signal came meanwhile: its release covers this lease too
  held_ = true;
  renewer_ = std::thread([this] { renew(); });
  return "";
}

bool RunLease::held() {
  std::lock_guard lock(mu_);
  return held_;
}

void RunLease::release() {
  release(std::chrono::seconds(5));
}

void RunLease::release(std::chrono::milliseconds limit) {
  stop_renewing();
  if (!attempted_ || released_.exchange(true)) return;  // sent once
  if (limit.count() <= 0) return;                       // it runs out by itself within 30 s
  try {
    platform::AdminClient admin(target_, token_, limit);
    admin.send("POST", "/_admin/lease/release", nlohmann::json{{"holder", holder_}});
  } catch (const std::exception&) {
    // It runs out by itself within 30 s.
  }
}

platform::AdminAnswer RunLease::take() {
  return send("/_admin/lease", {{"holder", holder_}, {"ttl_ms", 30'000}, {"about", about_}});
}

platform::AdminAnswer RunLease::send(const std::string& path, const nlohmann::json& body) {
  platform::AdminClient admin(target_, token_, std::chrono::seconds(5));
  return admin.send("POST", path, body);
}

void RunLease::stop_renewing() {
  std::thread renewer;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    held_ = false;
    renewer = std::move(renewer_);
  }
  cv_.notify_all();
  if (renewer.joinable() && renewer.get_id() != std::this_thread::get_id()) renewer.join();
}

void RunLease::renew() {
  std::unique_lock lock(mu_);
  while (held_) {
    if (cv_.wait_for(lock, std::chrono::seconds(10), [this] { return !held_; })) return;
    lock.unlock();
    try {
      auto answer = take();
      if (answer.status == 409 && !warned_) {
        warned_ = true;
        std::cerr << who_ << ": warning: another run took " << target_
                  << " (this run's lease ran out): the shop refuses this run's requests now, "
                     "and its scenarios end as errors\n";
      } else if (answer.ok() && answer.body.is_object() && answer.body.contains("renewed") &&
                 answer.body["renewed"] == false && !warned_) {
        // Taken afresh: the shop had lost it (its gateway's process restarted, say), and
        // another run could have reset the shop meanwhile.
        warned_ = true;
        std::cerr << who_ << ": warning: " << target_
                  << " had lost this run's lease (it ran out while this run did not renew it, "
                     "or the gateway restarted); another run may have reset the shop meanwhile\n";
      }
    } catch (const std::exception&) {
      // The shop did not answer this time; the next renewal tries again.
    }
    lock.lock();
  }
}

}  // namespace shopctl::scenario
