#include "load/plan.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "platform/duration.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::load {

std::string_view to_string(Journey j) {
  switch (j) {
    case Journey::browse:
      return "browse";
    case Journey::product:
      return "product";
    case Journey::cart:
      return "cart";
    case Journey::checkout:
      return "checkout";
  }
  return "?";
}

std::optional<Journey> parse_journey(std::string_view name) {
  for (auto j : kJourneys)
    if (to_string(j) == name) return j;
  return std::nullopt;
}

namespace {

// A plain decimal (digits, an optional fraction), as every duration is written: `rps>1e3` was
// taken where `p99<5e1ms` was refused (an outside probe).
std::optional<double> parse_number(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

std::string journey_names() {
  std::string out;
  for (auto j : kJourneys) out += (out.empty() ? "" : ", ") + std::string(to_string(j));
  return out;
}

}  // namespace

Journey Mix::pick(double u) const {
  double total = 0;
  for (const auto& [j, w] : weights) total += w;
  double at = u * total;
  for (const auto& [j, w] : weights) {
    if (at < w) return j;
    at -= w;
  }
  return weights.back().first;
}

std::string Mix::describe() const {
  std::string out;
  for (const auto& [j, w] : weights) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", w);
    out += (out.empty() ? "" : ",") + std::string(to_string(j)) + "=" + buf;
  }
  return out;
}

Mix parse_mix(std::string_view text) {
  Mix mix;
  std::string_view rest = text;
  // One item per comma-separated piece, the last one too: "checkout=1," has an empty item, as
  // ",checkout=1" has (the trailing one was taken, the leading one refused).
  bool more = !platform::trim_ows(text).empty();
  while (more) {
    auto comma = rest.find(',');
    auto item = platform::trim_ows(rest.substr(0, comma));
    more = comma != std::string_view::npos;
    rest = more ? rest.substr(comma + 1) : std::string_view{};
    if (item.empty())
      throw std::invalid_argument("--mix: an empty item in '" + std::string(text) + "'");
    auto eq = item.find('=');
    auto name = platform::trim_ows(item.substr(0, eq));
    auto journey = parse_journey(name);
    if (!journey)
      throw std::invalid_argument("--mix: unknown journey '" + std::string(name) +
                                  "' (journeys: " + journey_names() + ")");
    double weight = 1;
    if (eq != std::string_view::npos) {
      auto w = parse_number(platform::trim_ows(item.substr(eq + 1)));
      // At most a million: weights are shares, and their sum must stay a finite number.
      if (!w || *w < 0 || *w > 1e6)
        throw std::invalid_argument("--mix: the weight of " + std::string(name) +
                                    " must be a number from 0 to 1000000, got '" +
                                    std::string(platform::trim_ows(item.substr(eq + 1))) + "'");
      weight = *w;
    }
    for (const auto& [j, w] : mix.weights)
      if (j == *journey)
        throw std::invalid_argument("--mix: " + std::string(name) + " is given twice");
    if (weight > 0) mix.weights.emplace_back(*journey, weight);
  }
  if (mix.weights.empty())
    throw std::invalid_argument("--mix: at least one journey needs a weight above 0");
  return mix;
}

void LatencyStats::add(std::chrono::nanoseconds d) {
  auto us = std::max<std::int64_t>(0, d.count() / 1000);
  samples_.push_back(static_cast<std::uint32_t>(
      std::min<std::int64_t>(us, std::numeric_limits<std::uint32_t>::max())));
  sorted_ = false;
}

void LatencyStats::merge(const LatencyStats& other) {
  samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
  sorted_ = samples_.empty();
}

double LatencyStats::quantile_ms(double q) const {
  if (samples_.empty()) return 0;
  if (!sorted_) {
    std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
  }
  q = std::clamp(q, 0.0, 1.0);
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples_.size())));
  rank = std::clamp<std::size_t>(rank, 1, samples_.size());
  return samples_[rank - 1] / 1000.0;
}

double LatencyStats::max_ms() const {
  if (samples_.empty()) return 0;
  return *std::max_element(samples_.begin(), samples_.end()) / 1000.0;
}

double LatencyStats::mean_ms() const {
  if (samples_.empty()) return 0;
  double sum = std::accumulate(samples_.begin(), samples_.end(), 0.0);
  return sum / static_cast<double>(samples_.size()) / 1000.0;
}

void Tally::merge(const Tally& other) {
  count += other.count;
  errors += other.errors;
  latency.merge(other.latency);
}

namespace {
Threshold parse_threshold_text(std::string_view text);
}  // namespace

// A threshold no run can meet is refused: 'errors<0%' failed every run (exit 4) with
// "actual 0.000%" (an outside probe), since no figure is below 0 or a share above 100 %.
Threshold parse_threshold(std::string_view text) {
  Threshold t = parse_threshold_text(text);
  const bool below_zero = t.op == "<" && t.value <= 0;
  const bool above_all = t.percent && t.op == ">" && t.value >= 100;
  if (below_zero || above_all) {
    throw std::invalid_argument("--threshold '" + t.text + "': no run can meet it (" +
                                (below_zero ? "no figure is below 0; for none at all, write '" +
                                                  t.metric + "<=0" +
                                                  (t.percent          ? "%"
                                                   : t.unit() == "ms" ? "ms"
                                                                      : "") +
                                                  "'"
                                            : std::string("no share of requests is above 100%")) +
                                ")");
  }
  // Nor one that every run meets: 'p99>=0ms' or 'errors<=100%' passed whatever the run did,
  // as a closed loop's 'dropped<1%' would (refused below; an outside probe).
  const bool from_zero = t.op == ">=" && t.value <= 0;
  const bool to_all = t.percent && t.op == "<=" && t.value >= 100;
  if (from_zero || to_all) {
    throw std::invalid_argument("--threshold '" + t.text +
                                "': every run meets it, so it would pass whatever the run did (" +
                                (from_zero ? std::string("no figure is below 0")
                                           : std::string("no share of requests is above 100%")) +
                                ")");
  }
  return t;
}

void check_thresholds_fit(const std::vector<Threshold>& thresholds, bool open_loop) {
  for (const auto& t : thresholds) {
    if (t.metric == "dropped" && !open_loop)
      throw std::invalid_argument(
          "--threshold '" + t.text +
          "': a closed loop drops no start (dropped counts the starts of an open loop, --rate, "
          "that no idle user took), so it would pass whatever the run did");
  }
}

namespace {
Threshold parse_threshold_text(std::string_view text) {
  Threshold t;
  t.text = std::string(platform::trim_ows(text));
  std::string_view s = t.text;
  auto fail = [&](const std::string& why) {
    return std::invalid_argument(
        "--threshold '" + t.text + "': " + why +
        " (examples: 'p99<50ms', 'checkout.p99<20ms', 'errors<0.1%', 'rps>1000', "
        "'orders_per_second>=100', 'dropped<1%')");
  };
  auto op_at = s.find_first_of("<>");
  if (op_at == std::string_view::npos) throw fail("no comparison (< <= > >=)");
  t.op = std::string(1, s[op_at]);
  std::size_t value_at = op_at + 1;
  if (value_at < s.size() && s[value_at] == '=') {
    t.op += '=';
    ++value_at;
  }
  auto name = platform::trim_ows(s.substr(0, op_at));
  auto value = platform::trim_ows(s.substr(value_at));
  if (auto dot = name.find('.'); dot != std::string_view::npos) {
    auto journey = name.substr(0, dot);
    if (!parse_journey(journey))
      throw fail("unknown journey '" + std::string(journey) + "' (journeys: " + journey_names() +
                 ")");
    t.journey = std::string(journey);
    name = name.substr(dot + 1);
  }
  t.metric = std::string(name);
  static const std::vector<std::string> latencies = {"p50", "p90", "p99", "max"};
  bool latency = std::find(latencies.begin(), latencies.end(), t.metric) != latencies.end();
  if (latency) {
    // A latency: a duration with its unit; "us" is accepted too.
    std::optional<double> ms;
    if (value.size() > 2 && value.substr(value.size() - 2) == "us") {
      if (auto v = parse_number(value.substr(0, value.size() - 2)); v && *v >= 0) ms = *v / 1000;
    } else if (auto d = platform::parse_duration(value)) {
      ms = static_cast<double>(d->count()) / 1e6;
    }
    if (!ms)
      throw fail("a latency needs a duration like 50ms, 1.5s or 800us, got '" + std::string(value) +
                 "'");
    t.value = *ms;
    return t;
  }
  if (t.metric == "errors" || t.metric == "dropped") {
    if (t.metric == "dropped" && !t.journey.empty())
      throw fail("dropped is not per journey (a dropped start had no journey yet)");
    if (!value.empty() && value.back() == '%') {
      auto v = parse_number(platform::trim_ows(value.substr(0, value.size() - 1)));
      if (!v || *v < 0 || *v > 100) throw fail("a percentage must be between 0% and 100%");
      t.value = *v;
      t.percent = true;
    } else {
      auto v = parse_number(value);
      if (!v || *v < 0) throw fail(t.metric + " need a count or a percentage like 0.1%");
      t.value = *v;
    }
    return t;
  }
  if (t.metric == "rps" || t.metric == "orders_per_second") {
    if (!t.journey.empty()) throw fail(t.metric + " is not per journey");
    auto v = parse_number(value);
    if (!v || *v < 0) throw fail("needs a plain number >= 0, like 1000 or 2.5");
    t.value = *v;
    return t;
  }
  throw fail("unknown figure '" + t.metric +
             "' (p50, p90, p99, max, errors, rps, orders_per_second, dropped)");
}
}  // namespace

std::string Threshold::unit() const {
  if (metric == "p50" || metric == "p90" || metric == "p99" || metric == "max") return "ms";
  if (metric == "errors" || metric == "dropped") return percent ? "%" : "";
  return "/s";
}

Threshold::Outcome Threshold::check(const Figures& f) const {
  Outcome o;
  double p50 = f.p50_ms, p90 = f.p90_ms, p99 = f.p99_ms, max = f.max_ms;
  std::uint64_t count = f.requests, errors = f.request_errors;
  if (!journey.empty()) {
    auto it = f.per_journey.find(journey);
    Figures::JourneyFigures j = it == f.per_journey.end() ? Figures::JourneyFigures{} : it->second;
    p50 = j.p50_ms, p90 = j.p90_ms, p99 = j.p99_ms, max = j.max_ms;
    count = j.count, errors = j.errors;
  }
  if (metric == "p50")
    o.actual = p50;
  else if (metric == "p90")
    o.actual = p90;
  else if (metric == "p99")
    o.actual = p99;
  else if (metric == "max")
    o.actual = max;
  else if (metric == "errors")
    o.actual =
        percent
            ? (count == 0 ? 0 : 100.0 * static_cast<double>(errors) / static_cast<double>(count))
            : static_cast<double>(errors);
  else if (metric == "rps")
    o.actual = f.seconds > 0 ? static_cast<double>(f.requests) / f.seconds : 0;
  else if (metric == "orders_per_second")
    o.actual = f.seconds > 0 ? static_cast<double>(f.orders_paid) / f.seconds : 0;
  else if (metric == "dropped") {
    const std::uint64_t scheduled = f.journeys + f.dropped;
    o.actual = percent
                   ? (scheduled == 0
                          ? 0
                          : 100.0 * static_cast<double>(f.dropped) / static_cast<double>(scheduled))
                   : static_cast<double>(f.dropped);
  }
  if (op == "<")
    o.passed = o.actual < value;
  else if (op == "<=")
    o.passed = o.actual <= value;
  else if (op == ">")
    o.passed = o.actual > value;
  else
    o.passed = o.actual >= value;
  // A latency or error threshold over a journey that never ran is not met: nothing was shown
  // (`checkout.errors<1%` passed at 0 % when a typo in --mix left checkout out).
  if ((metric[0] == 'p' || metric == "max" || metric == "errors") && count == 0) {
    o.passed = false;
    o.no_samples = true;
  }
  return o;
}

}  // namespace shopctl::load
