#include "platform/json_body.hpp"

#include "platform/error.hpp"
#include "platform/text_rules.hpp"

#include <algorithm>
#include <string>
#include <unordered_set>
#include <vector>

namespace shopctl::platform {

namespace {

// The parser's words without its library's tag ("[json.exception.parse_error.101] parse
// error at line 1, ..." -> "parse error at line 1, ..."): what went wrong and where, for the
// client, not which C++ library the shop uses. At most 200 characters.
std::string library_reason(std::string_view what) {
  if (what.starts_with("[json.exception.")) {
    const auto end = what.find("] ");
    if (end != std::string_view::npos) what.remove_prefix(end + 2);
  }
  // nlohmann ends a syntax error with "; last read: '...'", the body's text up to the error:
  // a login's answer quoted part of the password back (an outside probe). `byte` says where.
  if (const auto quoted = what.find("; last read: "); quoted != std::string_view::npos)
    what = what.substr(0, quoted);
  return std::string(what.substr(0, 200));
}
struct LimitExceeded {
  std::string code;
  std::string message;
};
// The keys seen in one JSON object. A request body's object has a handful of keys: they are
// searched in a small vector, with no allocation beyond it; past 16 they move into a hash set,
// so that a 1 MiB body of a hundred thousand keys costs linear time, not quadratic.
class ObjectKeys {
 public:
  // False when `key` was already there.
  bool insert(const std::string& key) {
    if (set_.empty()) {
      if (std::find(few_.begin(), few_.end(), key) != few_.end()) return false;
      if (few_.size() < kFew) {
        few_.push_back(key);
        return true;
      }
      set_.insert(few_.begin(), few_.end());
      few_.clear();
    }
    return set_.insert(key).second;
  }

 private:
  static constexpr std::size_t kFew = 16;
  std::vector<std::string> few_;
  std::unordered_set<std::string> set_;
};

// The body's rules, checked as the parser reads, with the document built alongside (through
// nlohmann's public SAX interface; its own DOM builder is an internal class whose shape changed
// in 3.12). Not nlohmann's callback parser: that one walks the whole enclosing container each
// time an object ends, looking for values the callback discarded, so a body of n small objects
// cost n^2 (60,000 `{}` in an array, 180 KB, held a thread for 6 s; a probe found it).
class LimitedDom {
 public:
  using json = nlohmann::json;
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  explicit LimitedDom(json& result) : result_(result) {}

  bool null() { return place(nullptr) != nullptr; }
  bool boolean(bool v) { return place(v) != nullptr; }
  bool number_integer(number_integer_t v) { return place(v) != nullptr; }
  bool number_unsigned(number_unsigned_t v) { return place(v) != nullptr; }
  bool number_float(number_float_t v, const string_t&) { return place(v) != nullptr; }
  bool string(string_t& v) {
    check_length(v);
    return place(std::move(v)) != nullptr;
  }
  bool binary(binary_t&) { return false; }  // JSON text has none
  bool start_object(std::size_t) {
    open();
    open_keys_.emplace_back();
    open_.push_back(place(json::value_t::object));
    return true;
  }
  // A key belongs to the innermost open object. A key given twice in one object is refused,
  // as a header given twice is: nlohmann keeps the last, and a proxy or a log that reads the
  // first would see another request than the shop ({"quantity":1,"quantity":50}).
  bool key(string_t& k) {
    count();
    check_length(k);
    if (!open_keys_.back().insert(k)) {
      throw LimitExceeded{"duplicate_json_key",
                          "the key \"" + k.substr(0, 100) + "\" appears twice in one JSON object"};
    }
    member_ = &open_.back()->get_ref<json::object_t&>()[std::move(k)];
    return true;
  }
  bool end_object() {
    open_keys_.pop_back();
    open_.pop_back();
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    open();
    open_.push_back(place(json::value_t::array));
    return true;
  }
  bool end_array() {
    open_.pop_back();
    --depth_;
    return true;
  }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;  // json::parse_error or json::out_of_range, as json::parse throws them
  }

 private:
  // Puts a value where the text has it: the document, the end of the innermost array, or the
  // member whose key came last. Pointers stay valid: a container grows only while it is the
  // innermost one, and object members are map nodes.
  template <class Value>
  json* place(Value&& v) {
    count();
    if (open_.empty()) {
      result_ = json(std::forward<Value>(v));
      return &result_;
    }
    json& container = *open_.back();
    if (container.is_array()) {
      auto& items = container.get_ref<json::array_t&>();
      items.emplace_back(std::forward<Value>(v));
      return &items.back();
    }
    *member_ = json(std::forward<Value>(v));
    return member_;
  }
  // Stops the parse at the value (or key) past kMaxJsonValues, before it is built.
  void count() {
    if (++values_ > kMaxJsonValues) {
      throw LimitExceeded{
          "json_too_many_values",
          "the JSON body holds more than " + std::to_string(kMaxJsonValues) + " values and keys"};
    }
  }
  // 64 levels pass, the 65th is refused.
  void open() {
    if (++depth_ > kMaxJsonDepth) {
      throw LimitExceeded{"json_too_deep",
                          "JSON nesting exceeds " + std::to_string(kMaxJsonDepth) + " levels"};
    }
  }
  // Characters, as the limit says (a byte count refused 5,001 accented letters).
  static void check_length(const string_t& text) {
    if (text.size() > kMaxJsonString && utf8_length(text) > kMaxJsonString) {
      throw LimitExceeded{"string_too_long", "a JSON string exceeds " +
                                                 std::to_string(kMaxJsonString) + " characters"};
    }
  }

  json& result_;
  std::vector<json*> open_;            // the arrays and objects still open, innermost last
  json* member_ = nullptr;             // where the value of the last key goes
  std::vector<ObjectKeys> open_keys_;  // the keys of each object still open, innermost last
  std::size_t depth_ = 0;
  std::size_t values_ = 0;
};

}  // namespace

nlohmann::json parse_json_limited(std::string_view text) {
  using nlohmann::json;
  // nlohmann's lexer ends its input at a NUL byte: "{...}\0garbage" was read as "{...}"
  // (parse_json_or_discarded in platform/json_text.hpp says more). JSON text holds none.
  if (const auto nul = text.find('\0'); nul != std::string_view::npos) {
    throw ApiError(400, "invalid_json", "the body is not valid JSON",
                   {{"byte", nul + 1},
                    {"reason", "a NUL byte; JSON text holds none (inside a string, \\u0000)"}});
  }
  // nlohmann skips a leading byte order mark; RFC 8259 8.1 lets a parser do so but forbids
  // sending one, and a proxy or firewall that refuses it saw another request than the shop
  // (an outside probe). Refused, as the other bytes parsers read differently are.
  if (text.starts_with("\xEF\xBB\xBF")) {
    throw ApiError(
        400, "invalid_json", "the body is not valid JSON",
        {{"byte", 1}, {"reason", "a byte order mark (U+FEFF) before the JSON text; send none"}});
  }
  try {
    json result;
    LimitedDom handler(result);
    json::sax_parse(text.begin(), text.end(), &handler, json::input_format_t::json, true, false);
    return result;
  } catch (const LimitExceeded& e) {
    throw ApiError(400, e.code, e.message);
  } catch (const json::parse_error& e) {
    throw ApiError(400, "invalid_json", "the body is not valid JSON",
                   {{"byte", e.byte}, {"reason", library_reason(e.what())}});
  } catch (const json::out_of_range& e) {
    // A number beyond a double's range (1e400, a 400-digit integer): valid JSON text, but no
    // value this shop could hold, so nlohmann refuses it with out_of_range (406).
    throw ApiError(400, "invalid_json", "the body holds a number too large to represent",
                   {{"reason", library_reason(e.what())}});
  }
}

namespace {

// The values of the `charset` parameters in a Content-Type's parameters (after the first ';'),
// without quotes, in order.
std::vector<std::string_view> content_type_charsets(std::string_view params) {
  std::vector<std::string_view> found;
  any_list_element(params, ';', [&](std::string_view param) {
    const auto eq = param.find('=');
    if (eq != std::string_view::npos && http::iequals(trim_ows(param.substr(0, eq)), "charset")) {
      auto value = trim_ows(param.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
      found.push_back(value);
    }
    return false;
  });
  return found;
}

}  // namespace

void refuse_unknown_keys(const nlohmann::json& obj, std::initializer_list<std::string_view> known,
                         std::string_view shape) {
  if (!obj.is_object()) return;
  for (const auto& [key, ignored] : obj.items()) {
    if (std::find(known.begin(), known.end(), key) != known.end()) continue;
    throw ApiError(
        400, "invalid_body",
        "unknown key '" + key.substr(0, 100) + "' (the body is " + std::string(shape) + ")",
        {{"field", key.substr(0, 100)}});
  }
}

nlohmann::json json_object_body(const http::Request& req) {
  if (req.body.empty()) return nlohmann::json::object();
  // A body without a Content-Type is refused like one of another type. Read as JSON, it let a
  // page on any other origin send one: a browser sends a body with no type (a Blob) or with
  // text/plain cross-origin without asking first (a CORS "simple" request), and with this
  // rule only application/json is read, which a browser sends cross-origin only after a
  // preflight the shop never grants (docs/security.md, "Requests from other origins").
  auto type = req.headers.get("Content-Type");
  if (!type) {
    throw ApiError(415, "unsupported_media_type",
                   "request bodies must be application/json: the Content-Type field is missing",
                   {{"content_type", nullptr}});
  }
  {
    auto t = *type;
    auto semi = t.find(';');
    auto base = t.substr(0, semi);
    while (!base.empty() && (base.back() == ' ' || base.back() == '\t')) base.remove_suffix(1);
    while (!base.empty() && (base.front() == ' ' || base.front() == '\t')) base.remove_prefix(1);
    if (!http::iequals(base, "application/json")) {
      throw ApiError(415, "unsupported_media_type", "request bodies must be application/json",
                     {{"content_type", std::string(t.substr(0, 100))}});
    }
    // JSON is UTF-8 (RFC 8259): a body labelled latin1 or utf-16 was read as UTF-8 all the same.
    if (semi != std::string_view::npos) {
      const auto charsets = content_type_charsets(t.substr(semi + 1));
      // Named twice, it is read two ways (the first was taken: utf-8 then latin1 passed).
      if (charsets.size() > 1) {
        throw ApiError(415, "unsupported_media_type",
                       "request bodies must be JSON in UTF-8: the Content-Type names its charset "
                       "more than once",
                       {{"content_type", std::string(t.substr(0, 100))}});
      }
      const auto charset =
          charsets.empty() ? std::nullopt : std::optional<std::string_view>(charsets.front());
      if (charset && !http::iequals(*charset, "utf-8") && !http::iequals(*charset, "utf8")) {
        throw ApiError(415, "unsupported_media_type",
                       "request bodies must be JSON in UTF-8, not charset " +
                           std::string(charset->substr(0, 40)),
                       {{"content_type", std::string(t.substr(0, 100))}});
      }
    }
  }
  // The shop decodes no content coding: a gzip body was read as JSON text as it came, and a
  // plain body labelled `br, gzip` was taken (RFC 9110, 8.4: 415 for a coding not supported).
  if (auto coding = req.headers.get("Content-Encoding");
      coding && !http::iequals(trim_ows(*coding), "identity")) {
    throw ApiError(415, "unsupported_media_type",
                   "request bodies must not be encoded: send the JSON as it is, without "
                   "Content-Encoding",
                   {{"content_encoding", std::string(coding->substr(0, 100))}});
  }
  auto body = parse_json_limited(req.body);
  if (!body.is_object()) {
    throw ApiError(400, "invalid_body", "the body must be a JSON object");
  }
  return body;
}

std::string required_string(const nlohmann::json& obj, std::string_view field,
                            std::size_t max_length) {
  auto value = optional_string(obj, field, max_length);
  if (!value) {
    throw ApiError(400, "missing_field", std::string(field) + " is required", {{"field", field}});
  }
  return *value;
}

std::optional<std::string> optional_string(const nlohmann::json& obj, std::string_view field,
                                           std::size_t max_length) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) {
    throw ApiError(400, "invalid_field", std::string(field) + " must be a string",
                   {{"field", field}, {"expected", "string"}});
  }
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max_length && utf8_length(s) > max_length) {
    throw ApiError(
        400, "invalid_field",
        std::string(field) + " is longer than " + std::to_string(max_length) + " characters",
        {{"field", field}, {"max_length", max_length}});
  }
  return s;
}

std::int64_t required_integer(const nlohmann::json& obj, std::string_view field, std::int64_t min,
                              std::int64_t max) {
  // Not an integer, or one out of range, is told the range the field takes: 1.5 as a price
  // was told "an integer from -2^63 to 2^63 - 1", then -1 "from 0 to 1000000000000".
  const auto refused = [&] {
    return ApiError(400, "invalid_field",
                    std::string(field) + " must be an integer from " + std::to_string(min) +
                        " to " + std::to_string(max),
                    {{"field", field}, {"expected", "integer"}, {"min", min}, {"max", max}});
  };
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    throw ApiError(400, "missing_field", std::string(field) + " is required", {{"field", field}});
  }
  if (!it->is_number_integer()) throw refused();
  if (it->is_number_unsigned()) {
    if (it->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) throw refused();
    return static_cast<std::int64_t>(it->get<std::uint64_t>());
  }
  const auto value = it->get<std::int64_t>();
  if (value < min || value > max) throw refused();
  return value;
}

std::int64_t required_integer(const nlohmann::json& obj, std::string_view field) {
  auto it = obj.find(field);
  if (it == obj.end() || it->is_null()) {
    throw ApiError(400, "missing_field", std::string(field) + " is required", {{"field", field}});
  }
  // An integer past 2^63 - 1 is unsigned to nlohmann, and read as a signed one it came out
  // negative: "amount_cents: 9223372036854775808" was refused as "must not be negative".
  if (!it->is_number_integer() ||
      (it->is_number_unsigned() &&
       it->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))) {
    throw ApiError(400, "invalid_field",
                   std::string(field) + " must be an integer from -2^63 to 2^63 - 1",
                   {{"field", field}, {"expected", "integer"}});
  }
  return it->get<std::int64_t>();
}

}  // namespace shopctl::platform
