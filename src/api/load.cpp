// shopctl::run_load (include/shopctl/load.hpp): the public face of src/load/.
#include "shopctl/load.hpp"

#include <nlohmann/json.hpp>

#include "api/convert.hpp"
#include "load/engine.hpp"
#include "load/plan.hpp"
#include "load/report.hpp"
#include "observe_tools/fault_spec.hpp"
#include "platform/json_text.hpp"
#include "platform/output_file.hpp"
#include "shopctl/shop.hpp"
#include "shopctl/version.hpp"

namespace shopctl {

namespace {

struct Prepared {
  load::LoadOptions options;
  std::vector<load::Threshold> thresholds;
};

// The engine's options and thresholds for `plan`; throws std::invalid_argument.
Prepared prepare(const LoadPlan& plan) {
  Prepared p;
  auto& o = p.options;
  // The gateway's base URL, as AdminClient takes one: "http://127.0.0.1:99999" passed here
  // and run_load refused it naming an internal route (an outside probe).
  try {
    AdminClient check(plan.gateway_url, "unused");
  } catch (const std::invalid_argument& e) {
    throw std::invalid_argument(std::string("gateway_url: ") + e.what());
  }
  o.mix = load::parse_mix(plan.mix);
  for (const auto& t : plan.thresholds) p.thresholds.push_back(load::parse_threshold(t));
  // The limits of `shopctl load`'s flags (load/engine.hpp): rate = INFINITY spun for ever,
  // NaN ran a closed loop, users = 0 or threads = 0 ran nothing.
  if (plan.duration.count() <= 0) throw std::invalid_argument("duration must be above 0");
  if (plan.duration > load::kMaxDuration)
    throw std::invalid_argument("duration: at most 24h, got " +
                                std::to_string(plan.duration.count()) + " ms");
  if (plan.timeout.count() <= 0) throw std::invalid_argument("timeout must be above 0");
  if (plan.think.count() < 0 || plan.fault_at.count() < 0 || plan.fault_for.count() < 0)
    throw std::invalid_argument("think, fault_at and fault_for cannot be negative");
  // Each becomes nanoseconds in the engine: milliseconds::max() overflowed to a negative pause.
  for (const auto& [name, value] :
       {std::pair{"timeout", plan.timeout}, std::pair{"think", plan.think},
        std::pair{"fault_at", plan.fault_at}, std::pair{"fault_for", plan.fault_for}}) {
    if (value > load::kMaxDuration)
      throw std::invalid_argument(std::string(name) + ": at most 24h, got " +
                                  std::to_string(value.count()) + " ms");
  }
  if (plan.fault_at.count() > 0 && plan.fault_at >= plan.duration)
    throw std::invalid_argument(
        "fault_at is not before the end of the run (duration): the faults would never switch on");
  if (plan.rate != 0 && !(plan.rate >= load::kMinRate && plan.rate <= load::kMaxRate))
    throw std::invalid_argument(
        "rate: 0 for a closed loop, or journeys per second from 0.001 to 1000000");
  load::check_thresholds_fit(p.thresholds, plan.rate > 0);
  if (plan.users < 1 || plan.users > load::kMaxUsers)
    throw std::invalid_argument("users: from 1 to 100000, got " + std::to_string(plan.users));
  if (plan.threads < 1 || plan.threads > load::kMaxThreads)
    throw std::invalid_argument("threads: from 1 to 64, got " + std::to_string(plan.threads));
  for (const auto& [name, share] : {std::pair{"abandon_share", plan.abandon_share},
                                    std::pair{"decline_share", plan.decline_share},
                                    std::pair{"double_submit_share", plan.double_submit_share}}) {
    if (!(share >= 0 && share <= 1))
      throw std::invalid_argument(std::string(name) + " is a probability from 0 to 1");
  }
  for (const auto& f : plan.faults)
    o.faults.push_back(observe_tools::fault_json_from_flags(api::to_flags(f)));
  for (const auto& f : plan.fault_json) o.faults.push_back(observe_tools::fault_json_from_text(f));
  if (!o.faults.empty() && plan.admin_token.empty())
    throw std::invalid_argument("faults need the shop's admin token");
  o.gateway_url = plan.gateway_url;
  while (!o.gateway_url.empty() && o.gateway_url.back() == '/') o.gateway_url.pop_back();
  if (o.gateway_url.rfind("http://", 0) != 0)
    throw std::invalid_argument(
        "gateway_url must be an http:// URL like http://127.0.0.1:8080, got '" + plan.gateway_url +
        "'");
  o.admin_token = plan.admin_token;
  o.users = plan.users;
  o.rate = plan.rate;
  o.duration = plan.duration;
  o.think = plan.think;
  o.timeout = plan.timeout;
  o.seed = plan.seed;
  o.threads = plan.threads;
  // As `shopctl load` refuses them: an empty card (every checkout failed, and the run said
  // only that a threshold was breached) and a closed loop's pause in an open loop.
  if (plan.card.empty())
    throw std::invalid_argument("card: empty; a card number like 4242424242424242");
  load::check_card(plan.card);
  if (plan.rate > 0 && plan.think.count() > 0)
    throw std::invalid_argument(
        "think is a closed loop's pause between a user's journeys; with rate (an open loop) "
        "journeys start on a schedule: give one or the other");
  o.card = plan.card;
  o.fault_at = plan.fault_at;
  o.fault_for = plan.fault_for;
  o.abandon_share = plan.abandon_share;
  o.decline_share = plan.decline_share;
  o.double_submit_share = plan.double_submit_share;
  if (plan.on_progress) {
    o.on_progress = [callback = plan.on_progress](const load::Progress& in) {
      callback(LoadProgress{in.elapsed_s, in.requests_per_second, in.requests, in.errors, in.p99_ms,
                            in.journeys_per_second, in.orders_paid, in.note, in.has_latency});
    };
  }
  return p;
}

}  // namespace

void check_plan(const LoadPlan& plan) {
  LoadPlan copy = plan;
  if (copy.gateway_url.empty()) copy.gateway_url = "http://127.0.0.1";  // filled in later
  prepare(copy);
}

struct LoadReport::Impl {
  bool ran = false;  // filled by run_load: a report constructed empty passed (an outside probe)
  load::LoadResult result;
  std::vector<load::Verdict> internal_verdicts;
  LoadFigures figures;
  std::vector<ThresholdVerdict> verdicts;
};

LoadReport::LoadReport() : impl_(std::make_shared<const Impl>()) {}
LoadReport::~LoadReport() = default;
LoadReport::LoadReport(const LoadReport&) = default;
LoadReport& LoadReport::operator=(const LoadReport&) = default;
LoadReport::LoadReport(LoadReport&&) noexcept = default;
LoadReport& LoadReport::operator=(LoadReport&&) noexcept = default;

const LoadFigures& LoadReport::figures() const {
  return api::live(impl_, "LoadReport").figures;
}
const std::vector<ThresholdVerdict>& LoadReport::verdicts() const {
  return api::live(impl_, "LoadReport").verdicts;
}

bool LoadReport::passed() const {
  const auto& self = api::live(impl_, "LoadReport");
  if (!self.ran) return false;
  for (const auto& v : self.verdicts)
    if (!v.passed) return false;
  return true;
}

int LoadReport::exit_code() const {
  if (!api::live(impl_, "LoadReport").ran) return kExitInvalid;
  return passed() ? kExitOk : kExitExpectation;
}
std::string LoadReport::text() const {
  const auto& self = api::live(impl_, "LoadReport");
  return load::text_report(self.result, self.internal_verdicts);
}

std::string LoadReport::json() const {
  const auto& self = api::live(impl_, "LoadReport");
  return platform::json_text(load::json_report(self.result, self.internal_verdicts), 2) + "\n";
}

void LoadReport::write_json(const std::string& path) const {
  if (auto why = platform::write_in_place(path, json()); !why.empty())
    throw std::runtime_error("cannot write " + path + " (" + why + ")");
}

LoadReport run_load(const LoadPlan& plan) {
  auto prepared = prepare(plan);
  auto impl = std::make_shared<LoadReport::Impl>();
  impl->ran = true;
  try {
    impl->result = load::run_load(prepared.options);
  } catch (const load::SetupError& e) {
    throw LoadSetupError(e.what());
  }
  impl->internal_verdicts = load::check_thresholds(impl->result, prepared.thresholds);
  const auto f = impl->result.figures();
  const auto& r = impl->result;
  impl->figures =
      LoadFigures{f.seconds,        f.requests,
                  f.request_errors, f.seconds > 0 ? static_cast<double>(f.requests) / f.seconds : 0,
                  f.p50_ms,         f.p90_ms,
                  f.p99_ms,         f.max_ms,
                  f.journeys,       f.journey_errors,
                  r.orders_created, r.orders_paid,
                  r.orders_failed,  r.dropped};
  for (const auto& v : impl->internal_verdicts) {
    impl->verdicts.push_back({v.threshold.text, v.outcome.no_samples ? 0 : v.outcome.actual,
                              v.threshold.unit(), v.outcome.passed, v.outcome.no_samples});
  }
  LoadReport report;
  report.impl_ = std::move(impl);
  return report;
}

LoadReport run_load(const Shop& shop, LoadPlan plan) {
  plan.gateway_url = shop.gateway_url();
  plan.admin_token = shop.admin_token();
  auto report = run_load(plan);
  // The shop runs in this process (it said "the shop runs elsewhere"): its CPU time is the
  // process's minus the load generator's, as `shopctl load` without --target reports it.
  auto impl = std::make_shared<LoadReport::Impl>(*report.impl_);
  impl->result.shop_in_process = true;
  report.impl_ = std::move(impl);
  return report;
}

}  // namespace shopctl
