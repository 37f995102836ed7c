// shopctl graph: the allowed architecture, or the observed call graph of a running shop or
// of a scenario run, as Mermaid or Graphviz DOT.
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "observe_tools/call_graph.hpp"
#include "platform/admin_client.hpp"
#include "platform/http/message.hpp"
#include "platform/input_file.hpp"
#include "platform/json_text.hpp"
#include "platform/output_file.hpp"

namespace shopctl::cli {

namespace {

// A run's report or a call log may be far larger than a hand-written file, but not without
// end: 1 GiB let `--from /dev/zero` take 8 s and 1.06 GB before it was refused (an outside
// probe). 256 MiB is about a million call records.
constexpr std::size_t kMaxRecordBytes = std::size_t{256} << 20;

struct GraphOptions {
  std::string format = "mermaid";
  std::string target;
  std::string admin_token;
  std::string from;
  std::string output;
};

// Reads the observed graph of a running shop. Returns an exit code other than kExitOk on
// failure (after saying why on stderr).
int observe_target(const GraphOptions& o, observe_tools::ObservedGraph& graph) {
  try {
    platform::AdminClient admin(o.target, o.admin_token);
    auto edges = admin.send("GET", "/_admin/edges");
    if (edges.status == 401) {
      std::cerr << "shopctl graph: " << o.target << " refused the admin token ("
                << edges.error_message() << ")\n";
      return kExitUsage;
    }
    if (!edges.ok() || edges.body.is_discarded()) {
      std::cerr << "shopctl graph: GET " << o.target << "/_admin/edges answered " << edges.status
                << " (is this a shopctl shop?): " << edges.error_message() << "\n";
      return kExitShop;
    }
    try {
      graph = observe_tools::graph_from_admin_edges(edges.body);
    } catch (const std::invalid_argument& e) {
      std::cerr << "shopctl graph: " << o.target
                << "/_admin/edges is not a shopctl answer: " << e.what() << "\n";
      return kExitShop;
    }
    // The recent call records name why calls were refused; the counts come from the edges,
    // so the graph is drawn without the reasons when the records cannot be read.
    try {
      auto calls = admin.send("GET", "/_admin/calls?since=0");
      if (calls.ok() && calls.body.is_object() && calls.body.contains("records")) {
        observe_tools::add_violation_reasons(graph, calls.body.at("records"));
      }
    } catch (const http::TransportError& e) {
      std::cerr << "shopctl graph: GET /_admin/calls failed (" << e.what()
                << "); drawing without the reasons of refused calls\n";
    }
    return kExitOk;
  } catch (const http::TransportError& e) {
    std::cerr << "shopctl graph: cannot reach " << o.target << ": " << e.what() << "\n";
    return kExitShop;
  } catch (const std::invalid_argument& e) {
    std::cerr << "shopctl graph: " << e.what() << "\n";
    return kExitUsage;
  }
}

int observe_file(const GraphOptions& o, observe_tools::ObservedGraph& graph) {
  std::string text;
  try {
    text = platform::read_input_file(o.from, kMaxRecordBytes);
  } catch (const platform::InputFileError& e) {
    std::cerr << "shopctl graph: cannot read " << o.from << ": " << e.what() << "\n";
    return kExitInvalid;
  }
  auto document = platform::parse_json_or_discarded(text);
  if (document.is_discarded()) {
    std::cerr << "shopctl graph: " << o.from << " is not JSON\n";
    return kExitInvalid;
  }
  try {
    graph = observe_tools::graph_from_document(document);
  } catch (const std::exception& e) {
    std::cerr << "shopctl graph: " << o.from << ": " << e.what() << "\n";
    return kExitInvalid;
  }
  // An /_admin/calls answer whose ring had dropped records holds the last ones only: its
  // counts were drawn as if they were all the calls, without a word (an outside probe).
  if (document.is_object() && document.contains("records") && document.value("dropped", false)) {
    std::cerr << "shopctl graph: note: " << o.from
              << " says \"dropped\": true: the shop had dropped older call records, so the "
                 "counts are of the "
              << document["records"].size()
              << " records it holds, not of every call (graph --target counts every call)\n";
  }
  return kExitOk;
}

int run_graph(const GraphOptions& given) {
  GraphOptions o = given;
  if (int rc = resolve_target("shopctl graph", o.target, o.admin_token); rc != kExitOk) return rc;
  if (!o.target.empty() && o.admin_token.empty()) {
    std::cerr << "shopctl graph: --target needs --admin-token (printed by shopctl serve)\n";
    return kExitUsage;
  }
  if (auto conflict = platform::output_conflict({{"--from", o.from}}, {{"-o", o.output}})) {
    std::cerr << "shopctl graph: " << *conflict << "\n";
    return kExitUsage;
  }
  auto format =
      o.format == "dot" ? observe_tools::GraphFormat::dot : observe_tools::GraphFormat::mermaid;
  std::string text;
  if (o.target.empty() && o.from.empty()) {
    text = observe_tools::render_graph(format);
  } else {
    observe_tools::ObservedGraph graph;
    int code = o.target.empty() ? observe_file(o, graph) : observe_target(o, graph);
    if (code != kExitOk) return code;
    text = observe_tools::render_graph(format, &graph);
  }
  if (o.output.empty()) {
    std::cout << text;  // main() says so, and exits 1, when it did not arrive
    return kExitOk;
  }
  if (auto why = platform::output_problem(o.output); !why.empty()) {  // makes missing folders
    std::cerr << "shopctl graph: cannot write " << o.output << " (" << why << ")\n";
    return kExitUsage;
  }
  // A full disk shows at the write or the close; a named pipe nobody reads, after 10 s.
  if (auto why = platform::write_in_place(o.output, text); !why.empty()) {
    std::cerr << "shopctl graph: cannot write " << o.output << " (" << why << ")\n";
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

void register_graph(CLI::App& app) {
  auto o = std::make_shared<GraphOptions>();
  auto* cmd = app.add_subcommand(
      "graph", "Draw the allowed architecture, or the observed call graph (Mermaid or DOT)");
  cmd->footer(
      "Without --target or --from: the allowed architecture (who may call whom).\n"
      "With either: the observed edges over it, labelled \"N calls, E% errors, p99 X ms\";\n"
      "allowed edges without calls dashed; edges that are not allowed and calls the callee\n"
      "refused (architecture violations) in red.\n\n"
      "Exit codes: 0 drawn, 1 bad command line (or the admin token was refused, or the\n"
      "            graph cannot be written, or -o is the --from file),\n"
      "            2 the --from file is not a report (or a --target deployment file is missing\n"
      "            or invalid), 3 the --target shop is unreachable.\n\n"
      "Examples:\n"
      "  shopctl graph                                   # allowed graph, Mermaid\n"
      "  shopctl graph --format dot | dot -Tsvg > arch.svg\n"
      "  shopctl graph --target http://127.0.0.1:8080 --admin-token adm_...\n"
      "  shopctl run scenarios/ --json run.json && shopctl graph --from run.json -o "
      "observed.mmd\n");
  cmd->add_option("--format", o->format, "mermaid (flowchart LR) or dot (Graphviz)")
      ->capture_default_str()
      ->check(CLI::IsMember({"mermaid", "dot"}));
  auto* target = cmd->add_option(
      "--target", o->target,
      "A running shop (any service URL, usually the gateway's): draw what it recorded");
  cmd->add_option("--admin-token", o->admin_token, "The running shop's admin token (with --target)")
      ->envname("SHOPCTL_ADMIN_TOKEN");
  auto* from =
      cmd->add_option(
             "--from", o->from,
             "A `shopctl run --json` report (or a saved /_admin/calls answer): draw its calls")
          ->check(CLI::ExistingFile);
  target->excludes(from);
  cmd->add_option("-o,--output", o->output, "Write to this file instead of standard output");
  cmd->callback([o] { set_exit_code(run_graph(*o)); });
}

}  // namespace shopctl::cli
