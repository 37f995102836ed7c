#pragma once
// A checker of the Prometheus text exposition format (version 0.0.4), for tests: it reads the
// text the way a scraper does and names every rule a line breaks ("line N: ..."). Rules:
// https://prometheus.io/docs/instrumenting/exposition_formats/
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace shopctl_test {

using Labels = std::vector<std::pair<std::string, std::string>>;

struct Sample {
  std::string name;
  Labels labels;  // as written, unescaped
  double value = 0;
  int line = 0;
};

struct Family {
  std::string name;
  std::string type = "untyped";
  std::optional<std::string> help;  // unescaped
  std::vector<Sample> samples;
};

struct Exposition {
  std::vector<Family> families;  // in order of appearance
  std::vector<std::string> errors;

  const Family* family(const std::string& name) const {
    for (const auto& f : families) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }
  // The value of the one sample called `name` whose labels include `match`.
  std::optional<double> value(const std::string& name, const Labels& match) const {
    std::optional<double> found;
    for (const auto& f : families) {
      for (const auto& s : f.samples) {
        if (s.name != name) continue;
        bool all = std::all_of(match.begin(), match.end(), [&](const auto& m) {
          return std::find(s.labels.begin(), s.labels.end(), m) != s.labels.end();
        });
        if (all) found = s.value;
      }
    }
    return found;
  }
  std::string error_text() const {
    std::string out;
    for (const auto& e : errors) out += e + "\n";
    return out;
  }
};

inline bool is_metric_name(const std::string& s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!(letter || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

inline bool is_label_name(const std::string& s) {
  if (s.empty() || s.starts_with("__")) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!(letter || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// A float as Go's strconv.ParseFloat takes it (what the Prometheus parser uses).
inline std::optional<double> parse_float(const std::string& s) {
  std::string lower;
  for (char c : s) lower.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  if (lower == "+inf" || lower == "inf") return INFINITY;
  if (lower == "-inf") return -INFINITY;
  if (lower == "nan") return NAN;
  std::size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  std::size_t digits = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++digits;
  }
  if (digits == 0) return std::nullopt;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    std::size_t exp = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, ++exp;
    if (exp == 0) return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  return std::strtod(s.c_str(), nullptr);
}

// The family a sample name belongs to, given the declared types.
inline std::string family_of(const std::string& sample,
                             const std::map<std::string, std::string>& types) {
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    std::string s(suffix);
    if (sample.size() > s.size() && sample.ends_with(s)) {
      std::string base = sample.substr(0, sample.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() &&
          (it->second == "histogram" || (it->second == "summary" && s != "_bucket"))) {
        return base;
      }
    }
  }
  return sample;
}

// Reads the exposition and records every broken rule as "line N: ...".
inline Exposition check_exposition(const std::string& text) {
  Exposition x;
  auto error = [&](int line, const std::string& what) {
    x.errors.push_back("line " + std::to_string(line) + ": " + what);
  };
  if (!text.empty() && text.back() != '\n') error(0, "the text must end with a line feed");

  std::map<std::string, std::string> types;  // declared TYPE per family
  std::set<std::string> helped;              // families with a HELP line
  std::set<std::string> finished;            // families whose group of samples has ended
  std::set<std::string> series;              // name + labels, for duplicates
  std::string current;                       // family of the previous line
  auto family_index = [&](const std::string& name) -> Family& {
    for (auto& f : x.families) {
      if (f.name == name) return f;
    }
    x.families.push_back(Family{name});
    return x.families.back();
  };
  auto enter = [&](int n, const std::string& name) {
    if (name != current) {
      if (!current.empty()) finished.insert(current);
      if (finished.count(name)) error(n, "lines of family " + name + " are not one group");
      current = name;
    }
  };

  std::istringstream in(text);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream words(line.substr(1));
      std::string keyword, name;
      words >> keyword >> name;
      if (keyword != "HELP" && keyword != "TYPE") continue;  // any other comment is allowed
      if (line.rfind("# " + keyword + " ", 0) != 0)
        error(n, keyword + " must be written '# " + keyword + " '");
      if (!is_metric_name(name)) error(n, "bad metric name in " + keyword + ": '" + name + "'");
      enter(n, name);
      auto& family = family_index(name);
      std::string rest = line.size() > 7 + name.size() ? line.substr(7 + name.size() + 1) : "";
      if (keyword == "HELP") {
        if (!helped.insert(name).second) error(n, "second HELP for " + name);
        if (!family.samples.empty()) error(n, "HELP for " + name + " after its samples");
        std::string help;
        for (std::size_t i = 0; i < rest.size(); ++i) {
          if (rest[i] != '\\') {
            help.push_back(rest[i]);
            continue;
          }
          if (i + 1 < rest.size() && rest[i + 1] == '\\')
            help.push_back('\\');
          else if (i + 1 < rest.size() && rest[i + 1] == 'n')
            help.push_back('\n');
          else
            error(n, "bad escape in HELP of " + name);
          ++i;
        }
        family.help = help;
      } else {
        static const std::set<std::string> known = {"counter", "gauge", "histogram", "summary",
                                                    "untyped"};
        if (!known.count(rest)) error(n, "unknown TYPE '" + rest + "'");
        if (types.count(name)) error(n, "second TYPE for " + name);
        if (!family.samples.empty()) error(n, "TYPE for " + name + " after its samples");
        types[name] = rest;
        family.type = rest;
      }
      continue;
    }

    // A sample: name [{labels}] value [timestamp]
    Sample s;
    s.line = n;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!is_metric_name(s.name)) error(n, "bad metric name '" + s.name + "'");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        std::size_t eq = line.find('=', i);
        if (eq == std::string::npos) {
          error(n, "label without '='");
          break;
        }
        std::string label = line.substr(i, eq - i);
        if (!is_label_name(label)) error(n, "bad label name '" + label + "'");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') {
          error(n, "label value of " + label + " is not quoted");
          break;
        }
        ++i;
        std::string value;
        bool closed = false;
        while (i < line.size()) {
          char c = line[i++];
          if (c == '"') {
            closed = true;
            break;
          }
          if (c != '\\') {
            value.push_back(c);
            continue;
          }
          if (i >= line.size()) break;
          char e = line[i++];
          if (e == '\\')
            value.push_back('\\');
          else if (e == '"')
            value.push_back('"');
          else if (e == 'n')
            value.push_back('\n');
          else
            error(n, std::string("bad escape '\\") + e + "' in label " + label);
        }
        if (!closed) {
          error(n, "label value of " + label + " is not closed");
          break;
        }
        for (const auto& [existing, ignored] : s.labels) {
          if (existing == label) error(n, "label " + label + " twice");
        }
        s.labels.emplace_back(label, value);
        if (i < line.size() && line[i] == ',')
          ++i;
        else if (i < line.size() && line[i] != '}')
          error(n, "labels must be separated by ','");
      }
      if (i >= line.size() || line[i] != '}') {
        error(n, "labels are not closed");
        continue;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      error(n, "no value after " + s.name);
      continue;
    }
    std::istringstream rest(line.substr(i));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    auto v = parse_float(value);
    if (!v) error(n, "bad value '" + value + "'");
    s.value = v.value_or(0);
    if (!timestamp.empty() && timestamp.find_first_not_of("-0123456789") != std::string::npos) {
      error(n, "bad timestamp '" + timestamp + "'");
    }
    if (!extra.empty()) error(n, "trailing text after the value");

    auto name = family_of(s.name, types);
    if (!types.count(name)) error(n, "sample " + s.name + " has no TYPE line before it");
    enter(n, name);
    auto type = types.count(name) ? types[name] : "untyped";
    if ((type == "counter" || type == "gauge") && s.name != name)
      error(n, s.name + " in " + type + " " + name);
    if (type == "counter" && (s.value < 0 || std::isnan(s.value)))
      error(n, "negative counter " + s.name);
    bool has_le = std::any_of(s.labels.begin(), s.labels.end(),
                              [](const auto& l) { return l.first == "le"; });
    if (type == "histogram" && s.name.ends_with("_bucket") && !has_le)
      error(n, "bucket without le");
    if (has_le && !(type == "histogram" && s.name.ends_with("_bucket")))
      error(n, "le outside a histogram bucket");
    auto sorted = s.labels;
    std::sort(sorted.begin(), sorted.end());
    std::string key = s.name;
    for (const auto& [k, val] : sorted) key += "\x1f" + k + "=" + val;
    if (!series.insert(key).second) error(n, "duplicate series " + s.name);
    family_index(name).samples.push_back(std::move(s));
  }

  // Histograms: per label set, buckets in increasing le, cumulative, ending with +Inf equal to
  // _count, plus _sum.
  for (const auto& f : x.families) {
    if (f.type != "histogram") continue;
    struct Series {
      std::vector<std::pair<double, double>> buckets;  // le, count
      std::optional<double> sum, count;
      int line = 0;
    };
    std::map<Labels, Series> by_labels;
    for (const auto& s : f.samples) {
      Labels rest;
      std::optional<double> le;
      for (const auto& l : s.labels) {
        if (l.first == "le")
          le = parse_float(l.second);
        else
          rest.push_back(l);
      }
      std::sort(rest.begin(), rest.end());
      auto& series_of = by_labels[rest];
      series_of.line = s.line;
      if (s.name == f.name + "_bucket") {
        if (!le) error(s.line, "bad le in " + s.name);
        series_of.buckets.emplace_back(le.value_or(NAN), s.value);
      } else if (s.name == f.name + "_sum") {
        series_of.sum = s.value;
      } else if (s.name == f.name + "_count") {
        series_of.count = s.value;
      } else {
        error(s.line, s.name + " in histogram " + f.name);
      }
    }
    for (const auto& [labels, h] : by_labels) {
      if (h.buckets.empty()) error(h.line, f.name + ": a series without buckets");
      for (std::size_t i = 1; i < h.buckets.size(); ++i) {
        if (!(h.buckets[i].first > h.buckets[i - 1].first))
          error(h.line, f.name + ": le not increasing");
        if (h.buckets[i].second < h.buckets[i - 1].second)
          error(h.line, f.name + ": buckets not cumulative");
      }
      if (!h.buckets.empty() && !std::isinf(h.buckets.back().first))
        error(h.line, f.name + ": last bucket is not le=\"+Inf\"");
      if (!h.count) error(h.line, f.name + ": no _count");
      if (!h.sum) error(h.line, f.name + ": no _sum");
      if (h.count && !h.buckets.empty() && h.buckets.back().second != *h.count) {
        error(h.line, f.name + ": the +Inf bucket differs from _count");
      }
    }
  }
  return x;
}

}  // namespace shopctl_test
