// shopctl fault add|list|clear: the fault table of a running shop, from the command line.
#include <charconv>
#include <cstdint>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.hpp"
#include "observe_tools/fault_spec.hpp"
#include "platform/admin_client.hpp"
#include "platform/admin_fanout.hpp"
#include "platform/fault/fault_table.hpp"
#include "platform/http/message.hpp"
#include "platform/json_text.hpp"
#include "platform/text_rules.hpp"

namespace shopctl::cli {

namespace {

// A count for --first, --every or --after: a whole number from `least` up, in the words of the
// wire format's check. CLI11 read 99999999999999999999 as 9223372036854775807 without a word.
CLI::Validator count_check(std::int64_t least) {
  return CLI::Validator(
      [least](std::string& text) -> std::string {
        std::int64_t value = 0;
        const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (error != std::errc() || end != text.data() + text.size() || value < least)
          return "must be a whole number from " + std::to_string(least) +
                 " to 9223372036854775807, not '" + platform::terminal_text(text, true) + "'";
        return {};
      },
      "N");
}

}  // namespace

namespace {

struct ShopAddress {
  std::string target;
  std::string admin_token;
};

struct FaultAddOptions {
  ShopAddress shop;
  observe_tools::FaultFlags flags;
  std::string json;
};

struct FaultListOptions {
  ShopAddress shop;
  bool json = false;
};

struct FaultClearOptions {
  ShopAddress shop;
  std::string id;
};

void add_shop_options(CLI::App* cmd, ShopAddress& shop) {
  cmd->add_option("--target", shop.target,
                  "The running shop: any service URL (usually the gateway's), or a deployment file")
      ->envname("SHOPCTL_TARGET")
      ->required();
  cmd->add_option(
         "--admin-token", shop.admin_token,
         "The shop's admin token (printed by shopctl serve; a deployment file may hold it)")
      ->envname("SHOPCTL_ADMIN_TOKEN");
}

// Sends one admin request; on failure says why and returns the exit code (else kExitOk).
int admin_call(const char* what, const ShopAddress& given, const std::string& method,
               const std::string& path, const std::optional<nlohmann::json>& body,
               platform::AdminAnswer& answer) {
  ShopAddress shop = given;
  std::string command = std::string("shopctl fault ") + what;
  if (int rc = resolve_target(command.c_str(), shop.target, shop.admin_token); rc != kExitOk)
    return rc;
  if (shop.admin_token.empty()) {
    std::cerr << command << ": --admin-token is required (or a deployment file with admin_token)\n";
    return kExitUsage;
  }
  try {
    // Longer than the gateway waits for one process of a split shop: with one process hung,
    // the gateway's 503 naming it arrives, where this gave up first and blamed the gateway
    // ("cannot reach http://gateway: no answer within the deadline"; an outside probe).
    platform::AdminClient admin(shop.target, shop.admin_token,
                                platform::kProcessAnswerWait * 2 + std::chrono::seconds(2));
    answer = admin.send(method, path, body);
  } catch (const http::TransportError& e) {
    std::cerr << "shopctl fault " << what << ": cannot reach " << shop.target << ": " << e.what()
              << "\n";
    return kExitShop;
  } catch (const std::invalid_argument& e) {
    std::cerr << "shopctl fault " << what << ": " << e.what() << "\n";
    return kExitUsage;
  }
  if (answer.ok()) return kExitOk;
  const bool shop_error = answer.body.is_object() && answer.body.contains("error");
  std::cerr << "shopctl fault " << what << ": " << method << " " << path << " answered "
            << answer.status << (shop_error ? "" : " (is this a shopctl shop?)") << ": "
            << platform::terminal_text(answer.error_message(), true) << "\n";
  // A refused token, a refused fault or an unknown id is the caller's to fix; anything else
  // means the shop could not do it (or is not a shop).
  return shop_error && answer.status >= 400 && answer.status < 500 ? kExitUsage : kExitShop;
}

int run_add(const FaultAddOptions& o) {
  nlohmann::json fault;
  try {
    fault = o.json.empty() ? observe_tools::fault_json_from_flags(o.flags)
                           : observe_tools::fault_json_from_text(o.json);
  } catch (const std::invalid_argument& e) {
    std::cerr << "shopctl fault add: " << e.what() << "\n";
    return kExitUsage;
  }
  platform::AdminAnswer answer;
  if (int code = admin_call("add", o.shop, "POST", "/_admin/faults", fault, answer);
      code != kExitOk)
    return code;
  std::string id =
      answer.body.is_object() ? answer.body.value("id", std::string("?")) : std::string("?");
  std::cout << "added fault " << id << ": " << fault.dump() << "\n";
  return kExitOk;
}

int run_list(const FaultListOptions& o) {
  platform::AdminAnswer answer;
  if (int code = admin_call("list", o.shop, "GET", "/_admin/faults", std::nullopt, answer);
      code != kExitOk)
    return code;
  if (o.json) {
    std::cout << platform::json_text(answer.body, 2) << "\n";
    return kExitOk;
  }
  try {
    // Bidirectional controls too: a right-to-left override in an abort's body drew the rest of
    // the row, its counts included, reversed (an outside probe).
    std::cout << platform::visible_text(observe_tools::fault_table(answer.body), false);
  } catch (const std::invalid_argument& e) {
    std::cerr << "shopctl fault list: unexpected answer: " << e.what() << "\n";
    return kExitShop;
  }
  return kExitOk;
}

int run_clear(const FaultClearOptions& o) {
  std::string path =
      o.id.empty() ? "/_admin/faults" : "/_admin/faults/" + http::percent_encode(o.id);
  platform::AdminAnswer answer;
  if (int code = admin_call("clear", o.shop, "DELETE", path, std::nullopt, answer); code != kExitOk)
    return code;
  std::cout << (o.id.empty() ? "cleared every fault" : "cleared fault " + o.id) << "\n";
  return kExitOk;
}

}  // namespace

void register_fault(CLI::App& app) {
  auto* cmd = app.add_subcommand("fault", "Add, list and clear injected faults of a running shop");
  cmd->require_subcommand(1);
  cmd->footer(
      "The fault table is shop-wide: any service's admin plane (usually the gateway's) takes it.\n"
      "--target and --admin-token may also come from SHOPCTL_TARGET and SHOPCTL_ADMIN_TOKEN.\n\n"
      "Exit codes: 0 done, 1 bad command line, a refused fault, token or id,\n"
      "            2 a --target deployment file that is missing or invalid,\n"
      "            3 the shop is unreachable, failed, or is not a shopctl shop.\n\n"
      "Examples:\n"
      "  export SHOPCTL_TARGET=http://127.0.0.1:8080 SHOPCTL_ADMIN_TOKEN=adm_...\n"
      "  shopctl fault add --target-service catalog --type delay --delay 2s --from order\n"
      "  shopctl fault add --target-service catalog --type abort --status 503 --path '/products/*' "
      "--every 2\n"
      "  shopctl fault add --json "
      "'{\"target\":\"payment\",\"type\":\"reset\",\"select\":{\"first\":3}}'\n"
      "  shopctl fault list\n"
      "  shopctl fault clear catalog-slow\n"
      "  shopctl fault clear\n");

  auto add_o = std::make_shared<FaultAddOptions>();
  auto* add = cmd->add_subcommand("add", "Add (or replace, by --id) one fault");
  add->footer(
      "Examples:\n"
      "  shopctl fault add --target-service catalog --type delay --delay 2s --jitter 200ms --from "
      "order\n"
      "  shopctl fault add --target-service catalog --type delay --delay 2s --path '/products/*' "
      "\\\n"
      "                    --method GET --probability 0.5 --id catalog-slow\n"
      "  shopctl fault add --target-service payment --type abort --status 503 --first 2\n"
      "  shopctl fault add --target-service order --type slow_body --bytes-per-second 200\n"
      "  shopctl fault add --json "
      "'{\"target\":\"catalog\",\"type\":\"hang\",\"from\":\"order\"}'\n");
  add_shop_options(add, add_o->shop);
  auto& f = add_o->flags;
  std::vector<CLI::Option*> flag_options = {
      add->add_option("--target-service", f.target_service,
                      "The service that misbehaves (catalog, order, ...)"),
      add->add_option("--type", f.type, "delay, hang, abort, reset, close, garbage or slow_body"),
      add->add_option("--id", f.id,
                      "A name for the fault (default: generated); an existing id is replaced"),
      add->add_option("--from", f.from,
                      "Only calls from this caller (gateway, order, ...; client = outsiders)"),
      add->add_option("--method", f.method, "Only requests with this method"),
      add->add_option("--path", f.path,
                      "Only paths matching this glob (* within a segment, ** across)"),
      add->add_option("--delay", f.delay, "delay / slow_body: wait this long first (250ms, 2s)"),
      add->add_option("--jitter", f.jitter,
                      "delay / slow_body: vary the delay by up to this much either way"),
      add->add_option("--status", f.status,
                      "abort: answer this status, 200-599 but not 204, 205 or 304 (default 503)")
          ->check(CLI::Validator(
              [](std::string& text) -> std::string {
                // Digits only (std::stoll took " 502" and "+502").
                long long value = 0;
                const auto [end, error] =
                    std::from_chars(text.data(), text.data() + text.size(), value);
                if (error != std::errc() || end != text.data() + text.size())
                  return "status must be a whole number";
                return platform::abort_status_problem(value).value_or("");
              },
              "STATUS")),
      add->add_option("--body", f.body,
                      "abort: answer this body (default: the contract's error shape)"),
      add->add_option("--bytes-per-second", f.bytes_per_second,
                      "slow_body: trickle the answer at this rate"),
      add->add_option("--probability", f.probability,
                      "Apply to this share of matching requests (0..1)"),
      add->add_option("--first", f.first, "Apply to the first N matching requests only")
          ->check(count_check(1)),
      add->add_option("--every", f.every, "Apply to every Nth matching request")
          ->check(count_check(1)),
      add->add_option("--after", f.after, "Apply to every matching request after the first N")
          ->check(count_check(0)),
  };
  auto* json_option = add->add_option("--json", add_o->json,
                                      "The whole fault in the wire format of POST /_admin/faults");
  for (auto* option : flag_options) json_option->excludes(option);
  add->callback([add_o] { set_exit_code(run_add(*add_o)); });

  auto list_o = std::make_shared<FaultListOptions>();
  auto* list =
      cmd->add_subcommand("list", "Print the faults with how often each matched and applied");
  add_shop_options(list, list_o->shop);
  list->add_flag("--json", list_o->json, "Print the admin plane's JSON instead of a table");
  list->callback([list_o] { set_exit_code(run_list(*list_o)); });

  auto clear_o = std::make_shared<FaultClearOptions>();
  auto* clear = cmd->add_subcommand("clear", "Remove one fault by id, or every fault");
  add_shop_options(clear, clear_o->shop);
  clear->add_option("id", clear_o->id, "The fault to remove (default: all)");
  clear->callback([clear_o] { set_exit_code(run_clear(*clear_o)); });
}

}  // namespace shopctl::cli
