#pragma once
// `shopctl serve --record FILE`: the gateway's public traffic of a session, written as a
// scenario that `shopctl run FILE` replays against a fresh shop (docs/scenarios.md,
// "Recorded sessions"). Pure bookkeeping: it is told of each exchange and renders YAML.
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/observe/public_traffic.hpp"

namespace shopctl::scenario {

struct RecorderOptions {
  std::string name = "recorded session";
  // The demo user: a login as this user is replayed with `replay_demo_password` (the password
  // a fresh scenario shop gives it, public in docs), never with the password typed.
  std::string demo_email = "demo@shop.test";
  std::string replay_demo_password = "demo-password-1";
  // Bounds (docs/security.md): exchanges past `max_steps` are counted, and one whose request
  // body is over `max_body` bytes is left out; the file says both where they happened.
  std::size_t max_steps = 10'000;
  std::size_t max_body = 64 * 1024;
};

// Turns exchanges into scenario steps:
//  - register and login become `register:` / `login:` steps; an email registered in the
//    session becomes "local-${run_id}@domain" (a var), its password a var with a made-up
//    value; a successful login, or a registration refused as a duplicate, of an account the
//    session did not register (and not the demo user) gets a `register:` step of its own
//    first, so a fresh shop knows the account (a failed login needs none: the shop refuses a
//    wrong password and an unknown email alike); only a body of the shape the runner sends,
//    answered as the runner's would be, becomes such a step;
//  - every other /api/ request becomes a `request:` step with its body, `auth: none` when it
//    carried no token. The runner sends the token of the last `login:` step, so that token is
//    not written; a request made with the token of an earlier login (another user's) says
//    `auth: "${token_N}"`, captured from that login's answer; one whose token no login of the
//    session issued sends none (or one that is not a token, where the shop refused it);
//    passwords in a body are masked whatever its shape (same lengths, so the same answer);
//  - each step expects the status the session got;
//  - an id-like string of an answer (`id`, `*_id`, `pay_url`) that a later request uses in its
//    path, query or JSON body is captured from the latest answer that held it and written
//    as ${name} where it is used;
//  - a provider webhook (the shopper paid on the provider's page, outside the gateway) becomes
//    a `pay:` step for the order with a test card of the same outcome.
class SessionRecorder {
 public:
  explicit SessionRecorder(RecorderOptions options = {});

  // Takes one exchange; thread-safe.
  void record(const platform::PublicExchange& exchange);
  // The number of steps so far.
  std::size_t steps() const;
  // The scenario so far, a complete file (empty steps: no file can be made yet, "").
  std::string yaml() const;
  // Writes yaml() to `file` through a temporary file and a rename, so that the file on disk is
  // always complete. Returns false when there is nothing to write or it could not be written.
  bool write(const std::filesystem::path& file) const;

 private:
  struct Step {
    std::vector<std::string> comments;
    std::string name;
    std::string action;  // "request: {...}", without the leading "- "
    int status = 0;
    std::map<std::string, std::string> captures;  // name -> JSONPath
  };
  struct Candidate {
    std::size_t step = 0;
    std::string path;  // JSONPath into that step's answer
    std::string key;   // the name it is captured as when used
  };

  void record_locked(const platform::PublicExchange& e);
  // Appends `step`, with the comments of the requests left out since the last one before it.
  void add_step(Step step);
  std::string use(const std::string& value);  // "${name}", capturing it; "" if not an id seen
  std::string literal(const std::string& text) const;  // $ doubled
  std::string rewrite_target(const std::string& target);
  nlohmann::json rewrite_body(const nlohmann::json& body);
  void remember_answer(std::size_t step, const nlohmann::json& body, const std::string& path);
  std::string account_var(const std::string& email, bool create);
  void register_first(const std::string& email, const std::string& why);
  std::string auth_of(const platform::PublicExchange& e, const nlohmann::json& answer,
                      std::vector<std::string>& comments);
  std::string new_var(const std::string& base);

  RecorderOptions options_;
  mutable std::mutex mu_;
  std::vector<Step> steps_;
  std::vector<std::string> pending_comments_;  // of requests left out, for the next step
  std::size_t past_max_steps_ = 0;             // exchanges not recorded for max_steps
  std::vector<std::pair<std::string, std::string>> vars_;  // in order
  std::map<std::string, std::string> accounts_;            // email -> email var suffix
  std::map<std::string, Candidate> candidates_;            // value -> where it was last seen
  std::map<std::string, std::string> captured_;            // value -> the name it is captured as
  std::map<std::string, std::string> idempotency_keys_;    // as sent -> as written
  std::map<std::string, std::string> order_of_payment_;    // payment id -> order id
  std::vector<std::string> paid_events_;
  std::map<std::string, int> names_;
  std::set<std::string> registered_;  // the emails the replay registers
  // A token a login of the session was answered with: the step that answers it on replay, the
  // account's var suffix ("demo" for the demo user) and the name it is captured as once used.
  struct IssuedToken {
    std::size_t step = 0;
    std::string account;
    std::string captured;
  };
  std::map<std::string, IssuedToken> tokens_;  // token -> where it was issued
  std::string replay_token_;  // the session's token that the runner's current one stands for
};

}  // namespace shopctl::scenario
