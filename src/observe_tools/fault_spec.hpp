#pragma once
// `shopctl fault`: the command-line flags of one fault, turned into the fault table's wire
// shape (what POST /_admin/faults takes, see platform::Fault::from_json), and the table that
// `shopctl fault list` prints. Pure functions, so the CLI stays thin and this is tested.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace shopctl::observe_tools {

// The flags of `shopctl fault add`, as typed (durations as text: "2s", "250ms").
struct FaultFlags {
  std::string target_service;  // required: the service that misbehaves
  std::string type;            // required: delay, hang, abort, reset, close, garbage, slow_body
  std::string id;
  std::string from;  // only calls from this caller ("client" for outsiders)
  std::string method;
  std::string path;                        // glob: `*` within one segment, `**` across
  std::string delay;                       // duration
  std::string jitter;                      // duration
  std::optional<int> status;               // abort
  std::optional<std::string> body;         // abort: the answer's body; "" is an empty one
  std::optional<double> bytes_per_second;  // slow_body
  std::optional<double> probability;       // at most one of these four selects
  std::optional<std::int64_t> first;
  std::optional<std::int64_t> every;
  std::optional<std::int64_t> after;
};

// Returns the wire JSON of the fault `flags` describe, already checked the way the shop
// checks it (Fault::from_json). Throws std::invalid_argument with a message for a person.
nlohmann::json fault_json_from_flags(const FaultFlags& flags);

// Parses and checks `--json` text the same way. Throws std::invalid_argument.
nlohmann::json fault_json_from_text(const std::string& text, const std::string& option = "--json");
// One fault (a JSON object) or a JSON array of them, each checked as above.
std::vector<nlohmann::json> faults_json_from_text(const std::string& text,
                                                  const std::string& option);

// The faults of GET /_admin/faults ({"items": [...]}) as an aligned text table with a header
// row (ID, TARGET, TYPE, FROM, MATCH, EFFECT, SELECT, MATCHED, APPLIED); "no faults" when
// there are none.
std::string fault_table(const nlohmann::json& faults_answer);

}  // namespace shopctl::observe_tools
