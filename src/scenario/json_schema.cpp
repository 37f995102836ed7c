#include "scenario/json_schema.hpp"

#include <cctype>
#include <cmath>
#include <map>
#include <memory>

#include "scenario/interpolate.hpp"
#include "scenario/regex.hpp"

namespace shopctl::scenario {

using nlohmann::json;

namespace {

std::string shorten(std::string text, std::size_t max = 80) {
  if (text.size() > max) text = text.substr(0, max - 3) + "...";
  return text;
}

std::string describe(const json& v) {
  if (v.is_object()) return v.empty() ? "{}" : "an object " + shorten(v.dump(), 60);
  if (v.is_array()) return v.empty() ? "[]" : "an array " + shorten(v.dump(), 60);
  return shorten(v.dump());
}

std::string child(const std::string& path, const std::string& name) {
  if (is_identifier(name)) return path + "." + name;
  return path + "['" + name + "']";
}

std::string child(const std::string& path, std::size_t index) {
  return path + "[" + std::to_string(index) + "]";
}

bool has_type(const json& v, const std::string& type) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") {
    if (v.is_number_integer()) return true;
    if (!v.is_number_float()) return false;
    const double d = v.get<double>();
    return std::isfinite(d) && d == std::floor(d);
  }
  return false;
}

std::size_t code_points(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

// A compiled pattern, or why RE2 refused it.
struct CompiledPattern {
  std::shared_ptr<const re2::RE2> re;
  std::string error;
};

// Patterns come from one description and repeat for every value: each is compiled once per
// thread (the runner checks scenarios on several threads), with the limits of `matches:`.
const CompiledPattern& compiled(const std::string& pattern) {
  thread_local std::map<std::string, CompiledPattern> cache;
  auto it = cache.find(pattern);
  if (it == cache.end()) {
    CompiledPattern entry;
    try {
      entry.re = compile_regex(pattern);
    } catch (const RegexError& e) {
      entry.error = e.what();
    }
    it = cache.emplace(pattern, std::move(entry)).first;
  }
  return it->second;
}

class Validator {
 public:
  Validator(const json& document, std::size_t max) : document_(document), max_(max) {}

  void check(const json& v, const json& schema, const std::string& path, int depth = 0) {
    if (full()) return;
    if (schema.is_boolean()) {
      if (!schema.get<bool>()) add(path, "nothing (the schema is false)", describe(v));
      return;
    }
    if (!schema.is_object()) return;
    if (depth > 64) {
      add(path, "a schema that ends ($ref loop?)", describe(v));
      return;
    }
    if (auto ref = schema.find("$ref"); ref != schema.end() && ref->is_string()) {
      const json* target = resolve(ref->get<std::string>());
      if (!target) {
        add(path, "a schema at " + ref->get<std::string>() + " (the $ref leads nowhere)",
            describe(v));
        return;
      }
      check(v, *target, path, depth + 1);
    }
    if (!check_type(v, schema, path)) return;  // the other keywords assume the right type
    if (auto e = schema.find("enum"); e != schema.end() && e->is_array()) {
      bool found = false;
      for (const auto& option : *e) found = found || option == v;
      if (!found) add(path, "one of " + shorten(e->dump()), describe(v));
    }
    if (auto c = schema.find("const"); c != schema.end() && *c != v) {
      add(path, "the constant " + shorten(c->dump()), describe(v));
    }
    if (v.is_string()) check_string(v.get_ref<const std::string&>(), schema, path);
    if (v.is_number()) check_number(v, schema, path);
    if (v.is_object()) check_object(v, schema, path, depth);
    if (v.is_array()) check_array(v, schema, path, depth);
    check_combinations(v, schema, path, depth);
  }

  std::vector<SchemaMismatch> take() { return std::move(out_); }

 private:
  bool full() const { return out_.size() >= max_; }
  void add(const std::string& path, std::string wanted, std::string got) {
    if (!full()) out_.push_back({path, std::move(wanted), std::move(got)});
  }

  const json* resolve(const std::string& ref) const {
    if (ref.empty() || ref[0] != '#') return nullptr;
    try {
      const json::json_pointer pointer(ref.substr(1));
      return document_.contains(pointer) ? &document_.at(pointer) : nullptr;
    } catch (const json::exception&) {
      return nullptr;
    }
  }

  bool check_type(const json& v, const json& schema, const std::string& path) {
    auto t = schema.find("type");
    if (t == schema.end()) return true;
    std::vector<std::string> types;
    if (t->is_string()) types.push_back(t->get<std::string>());
    if (t->is_array())
      for (const auto& name : *t)
        if (name.is_string()) types.push_back(name.get<std::string>());
    for (const auto& type : types)
      if (has_type(v, type)) return true;
    std::string wanted = "type ";
    for (std::size_t i = 0; i < types.size(); ++i) wanted += (i ? " or " : "") + types[i];
    add(path, wanted, describe(v));
    return false;
  }

  void check_string(const std::string& s, const json& schema, const std::string& path) {
    const auto length = code_points(s);
    if (auto m = schema.find("minLength");
        m != schema.end() && m->is_number() && length < m->get<std::size_t>()) {
      add(path, "at least " + m->dump() + " characters",
          describe(json(s)) + " (" + std::to_string(length) + ")");
    }
    if (auto m = schema.find("maxLength");
        m != schema.end() && m->is_number() && length > m->get<std::size_t>()) {
      add(path, "at most " + m->dump() + " characters",
          describe(json(s)) + " (" + std::to_string(length) + ")");
    }
    if (auto p = schema.find("pattern"); p != schema.end() && p->is_string()) {
      const CompiledPattern& pattern = compiled(p->get<std::string>());
      if (!pattern.re) {
        add(path, "the pattern " + p->dump() + " (which RE2 cannot compile: " + pattern.error + ")",
            describe(json(s)));
      } else if (!regex_search(s, *pattern.re)) {
        add(path, "a string matching " + p->dump(), describe(json(s)));
      }
    }
  }

  void check_number(const json& v, const json& schema, const std::string& path) {
    const double d = v.get<double>();
    auto bound = [&](const char* key, auto fails, const char* wanted) {
      if (auto b = schema.find(key);
          b != schema.end() && b->is_number() && fails(d, b->get<double>()))
        add(path, std::string(wanted) + " " + b->dump(), describe(v));
    };
    bound(
        "minimum", [](double x, double b) { return x < b; }, "minimum");
    bound(
        "maximum", [](double x, double b) { return x > b; }, "maximum");
    bound(
        "exclusiveMinimum", [](double x, double b) { return x <= b; }, "more than");
    bound(
        "exclusiveMaximum", [](double x, double b) { return x >= b; }, "less than");
  }

  void check_object(const json& v, const json& schema, const std::string& path, int depth) {
    if (auto r = schema.find("required"); r != schema.end() && r->is_array()) {
      for (const auto& name : *r) {
        if (name.is_string() && !v.contains(name.get<std::string>()))
          add(child(path, name.get<std::string>()), "a required property", "nothing (missing)");
      }
    }
    const json* properties = nullptr;
    if (auto p = schema.find("properties"); p != schema.end() && p->is_object()) properties = &*p;
    auto additional = schema.find("additionalProperties");
    for (const auto& [name, value] : v.items()) {
      if (properties && properties->contains(name)) {
        check(value, properties->at(name), child(path, name), depth + 1);
      } else if (additional != schema.end()) {
        if (additional->is_boolean() && !additional->get<bool>()) {
          add(child(path, name), "no such property (additionalProperties: false)", describe(value));
        } else {
          check(value, *additional, child(path, name), depth + 1);
        }
      }
    }
  }

  void check_array(const json& v, const json& schema, const std::string& path, int depth) {
    if (auto m = schema.find("minItems");
        m != schema.end() && m->is_number() && v.size() < m->get<std::size_t>())
      add(path, "at least " + m->dump() + " items", std::to_string(v.size()) + " items");
    if (auto m = schema.find("maxItems");
        m != schema.end() && m->is_number() && v.size() > m->get<std::size_t>())
      add(path, "at most " + m->dump() + " items", std::to_string(v.size()) + " items");
    if (auto items = schema.find("items"); items != schema.end()) {
      for (std::size_t i = 0; i < v.size() && !full(); ++i)
        check(v[i], *items, child(path, i), depth + 1);
    }
  }

  // How many alternatives `v` fits, and the first mismatch of each that it does not.
  std::pair<std::size_t, std::string> fits(const json& v, const json& alternatives,
                                           const std::string& path, int depth) {
    std::size_t n = 0;
    std::string why;
    std::size_t index = 0;
    for (const auto& alternative : alternatives) {
      Validator inner(document_, 1);
      inner.check(v, alternative, path, depth + 1);
      auto found = inner.take();
      if (found.empty()) {
        ++n;
      } else {
        why += (why.empty() ? "" : "; ") + std::string("#") + std::to_string(index) + ": " +
               to_string(found[0]);
      }
      ++index;
    }
    return {n, why};
  }

  void check_combinations(const json& v, const json& schema, const std::string& path, int depth) {
    if (auto all = schema.find("allOf"); all != schema.end() && all->is_array()) {
      for (const auto& part : *all) check(v, part, path, depth + 1);
    }
    if (auto any = schema.find("anyOf"); any != schema.end() && any->is_array()) {
      auto [n, why] = fits(v, *any, path, depth);
      if (n == 0)
        add(path, "any of " + std::to_string(any->size()) + " schemas (" + shorten(why, 300) + ")",
            describe(v));
    }
    if (auto one = schema.find("oneOf"); one != schema.end() && one->is_array()) {
      auto [n, why] = fits(v, *one, path, depth);
      if (n == 0)
        add(path, "one of " + std::to_string(one->size()) + " schemas (" + shorten(why, 300) + ")",
            describe(v));
      if (n > 1)
        add(path, "exactly one of " + std::to_string(one->size()) + " schemas",
            describe(v) + ", which fits " + std::to_string(n));
    }
  }

  const json& document_;
  std::size_t max_;
  std::vector<SchemaMismatch> out_;
};

std::vector<std::string> segments(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= path.size()) {
    auto end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (end > start) out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_parameter(const std::string& segment) {
  return segment.size() >= 2 && segment.front() == '{' && segment.back() == '}';
}

const json* follow_ref(const json& description, const json& node) {
  auto ref = node.find("$ref");
  if (ref == node.end() || !ref->is_string()) return &node;
  const auto& text = ref->get_ref<const std::string&>();
  if (text.empty() || text[0] != '#') return nullptr;
  try {
    const json::json_pointer pointer(text.substr(1));
    return description.contains(pointer) ? &description.at(pointer) : nullptr;
  } catch (const json::exception&) {
    return nullptr;
  }
}

const json* error_schema(const json& description) {
  static const json::json_pointer pointer("/components/schemas/Error");
  return description.contains(pointer) ? &description.at(pointer) : nullptr;
}

}  // namespace

std::string to_string(const SchemaMismatch& m) {
  return m.path + ": wanted " + m.wanted + ", got " + m.got;
}

std::vector<SchemaMismatch> validate_json_schema(const json& value, const json& schema,
                                                 const json& document, std::size_t max_mismatches) {
  Validator validator(document, max_mismatches);
  validator.check(value, schema, "$");
  return validator.take();
}

ResponseSchema find_response_schema(const json& description, std::string_view method,
                                    std::string_view path, int status) {
  ResponseSchema out;
  path = path.substr(0, path.find_first_of("?#"));
  const auto wanted = segments(path);
  std::string lower(method);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));

  // The path template with the most literal segments.
  const json* item = nullptr;
  std::string template_path;
  int best = -1;
  if (auto paths = description.find("paths"); paths != description.end() && paths->is_object()) {
    for (const auto& [candidate, candidate_item] : paths->items()) {
      const auto have = segments(candidate);
      if (have.size() != wanted.size()) continue;
      int literal = 0;
      bool match = true;
      for (std::size_t i = 0; i < have.size() && match; ++i) {
        if (is_parameter(have[i])) continue;
        match = have[i] == wanted[i];
        ++literal;
      }
      if (match && literal > best) {
        best = literal;
        item = &candidate_item;
        template_path = candidate;
      }
    }
  }
  // HEAD is answered wherever GET is (docs/api.md): its statuses are the GET's, and it has no
  // body to check.
  const bool head = lower == "head";
  const std::string operation_key = head && item && !item->contains("head") ? "get" : lower;
  const json* operation =
      item && item->contains(operation_key) ? &item->at(operation_key) : nullptr;
  if (!operation) {
    if (status == 404 || status == 405) {
      out.operation = "an undescribed route";
      out.schema = error_schema(description);
      return out;
    }
    out.problem =
        item ? "docs/openapi.yaml describes no " + std::string(method) + " for " + template_path
             : "no path of docs/openapi.yaml matches " + std::string(path);
    return out;
  }
  std::string upper(method);
  for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out.operation = upper + " " + template_path;

  const json* responses = operation->contains("responses") ? &operation->at("responses") : nullptr;
  const json* response = nullptr;
  if (responses && responses->is_object()) {
    const std::string code = std::to_string(status);
    const std::string range = code.substr(0, 1) + "XX";
    for (const auto& key : {code, range, std::string("default")}) {
      if (responses->contains(key)) {
        response = &responses->at(key);
        break;
      }
    }
  }
  if (!response) {
    std::string described;
    if (responses)
      for (const auto& [key, ignored] : responses->items())
        described += (described.empty() ? "" : ", ") + key;
    out.problem = "status " + std::to_string(status) + " is not described for " + out.operation +
                  " (described: " + described + ")";
    return out;
  }
  response = follow_ref(description, *response);
  if (!response) {
    out.problem = "the response of " + out.operation + " is a $ref that leads nowhere";
    return out;
  }
  if (head) return out;  // the statuses are checked; a HEAD answer has no body
  if (auto content = response->find("content");
      content != response->end() && content->is_object()) {
    for (const auto& [media_type, entry] : content->items()) {
      if (media_type.starts_with("application/json") || media_type.ends_with("+json")) {
        if (entry.contains("schema")) out.schema = &entry.at("schema");
        break;
      }
    }
  }
  return out;
}

}  // namespace shopctl::scenario
