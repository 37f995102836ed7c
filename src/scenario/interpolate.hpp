#pragma once
// `${name}` templates in scenario values.
//
// Syntax: `${NAME}` reads a variable (NAME is [A-Za-z_][A-Za-z0-9_]*), `${env.NAME}` reads the
// environment. `$$` is a literal `$` (so `$${x}` is the literal text `${x}`); any other `$`
// is literal. Expansion is not recursive: a value that contains `${...}` is not expanded again.
// A string that is exactly one `${name}` becomes the value itself with its JSON type; inside a
// longer string the value is spliced in as text (strings as they are, other values as JSON).
#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace shopctl::scenario {

// Built-in variable names. `run_id` and `token` are set by the runner (`token` after a login);
// `uuid` is a fresh random UUID (version 4) at every use; `provider_api_key` is the shop's key
// at the payment provider (read from the shop's admin plane), for calls to its /v1/* routes.
inline constexpr std::string_view kRunIdVariable = "run_id";
inline constexpr std::string_view kUuidVariable = "uuid";
inline constexpr std::string_view kTokenVariable = "token";
inline constexpr std::string_view kProviderApiKeyVariable = "provider_api_key";
inline constexpr std::string_view kEnvPrefix = "env.";

// A --vars-file that cannot be read or is not a map of names to scalars (an invalid file:
// exit 2, where a bad --var is a bad command line: exit 1).
class VarsFileError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

// Variables from the command line (`--var NAME=VALUE`, repeatable, and `--vars-file FILE`, a
// YAML map of names to scalars; a --var overrides the file), by name. A --var is text; a
// file's value has its YAML type, as under a scenario's `vars:` (`qty: 2` is the number 2,
// `card: "4242..."` text). Names are identifiers and not a built-in. Throws
// std::invalid_argument saying what is wrong (VarsFileError for the file).
using CommandLineVars = std::map<std::string, nlohmann::json>;
CommandLineVars command_line_vars(const std::vector<std::string>& pairs,
                                  const std::string& vars_file);

// Thrown at run time for an undefined name (or a malformed template that escaped validation).
class InterpolationError : public std::runtime_error {
 public:
  InterpolationError(std::string name, const std::string& message)
      : std::runtime_error(message), name_(std::move(name)) {}
  // The name as written inside ${...}, for example "order_id" or "env.HOME".
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

// One piece of a scanned template: literal text (with `$$` already reduced to `$`) or a
// variable reference.
struct TemplatePart {
  enum class Kind { text, variable };
  Kind kind = Kind::text;
  std::string value;       // the text, or the variable name ("order_id", "env.HOME")
  std::size_t offset = 0;  // byte offset in the template of the text or of the `${`
};

struct ScannedTemplate {
  std::vector<TemplatePart> parts;
  std::optional<std::string> error;  // set when a `${` is malformed
  std::size_t error_offset = 0;      // byte offset of the malformed `${`
};

// Splits `text` into literal text and variable references. Never throws.
ScannedTemplate scan_template(std::string_view text);

// True when `text` needs expansion (contains `${` or `$$`).
bool has_template(std::string_view text);
// True when any string (or object key) inside `value` needs expansion.
bool has_template_anywhere(const nlohmann::json& value);

// The longest text an expansion may make: 16 MiB, the size of the largest input file. Variables
// that hold other variables ten times over grow tenfold per level (a scenario of 1 KB made a
// text of 10 GB and ended in std::bad_alloc), and so do lists of lists; past this,
// expand_text() and expand() throw InterpolationError, and the parser refuses vars whose
// literal parts alone pass it.
inline constexpr std::size_t kMaxExpandedText = 16 * 1024 * 1024;

// Returns a fresh random UUID, version 4, lower-case hex.
std::string new_uuid();

// The names a template can read at run time: vars, captures and the built-ins, plus the
// environment. Not thread-safe for writing; one Variables per running scenario.
class Variables {
 public:
  using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

  // Reads the process environment through std::getenv.
  Variables();

  // Sets (or replaces) a variable, a capture, `run_id` or `token`.
  void set(const std::string& name, nlohmann::json value);
  // Expands each template in order with the variables known so far and sets it; later vars
  // can use earlier ones. Throws InterpolationError.
  void define(const std::vector<std::pair<std::string, nlohmann::json>>& vars);
  // Replaces how `${env.NAME}` is read (tests use this).
  void set_env_lookup(EnvLookup lookup) { env_lookup_ = std::move(lookup); }

  // Returns the value of `name`: a variable or capture, `uuid` (fresh each call) or
  // `env.NAME` (a string); nullopt when undefined.
  std::optional<nlohmann::json> lookup(std::string_view name) const;
  bool contains(std::string_view name) const { return lookup(name).has_value(); }
  const std::map<std::string, nlohmann::json, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, nlohmann::json, std::less<>> values_;
  EnvLookup env_lookup_;
};

// Returns `template_value` with every string (and object key) expanded. Throws
// InterpolationError naming the first undefined variable.
nlohmann::json expand(const nlohmann::json& template_value, const Variables& variables);

// Returns `text` expanded as text: every value is spliced in (strings as they are, numbers,
// booleans, null, arrays and objects as compact JSON). Throws InterpolationError.
std::string expand_text(std::string_view text, const Variables& variables);

// Returns how `value` reads when spliced into text: a string as it is, anything else as
// compact JSON.
std::string splice_text(const nlohmann::json& value);

// Whether `name` is an identifier: an ASCII letter or `_`, then letters, digits and `_`. A
// variable's name is one; the recorder and the JSON Schema writer ask it of keys too.
bool is_identifier(std::string_view name);

}  // namespace shopctl::scenario
