// Structured logs: one line per event, as JSON (one object per line) or as readable text
// whose fields split back apart, whatever the values hold.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "platform/observe/log.hpp"

namespace {

using shopctl::platform::LogFormat;
using shopctl::platform::Logger;
using shopctl::platform::LogLevel;

// Everything `write` logs, line by line.
template <typename Write>
std::vector<std::string> lines_of(LogLevel level, LogFormat format, Write write) {
  std::FILE* file = std::tmpfile();
  REQUIRE(file);
  {
    Logger log(level, format, file);
    write(log);
  }
  std::rewind(file);
  std::vector<std::string> lines;
  std::string line;
  for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file)) {
    if (c == '\n') {
      lines.push_back(line);
      line.clear();
    } else {
      line.push_back(static_cast<char>(c));
    }
  }
  std::fclose(file);
  CHECK(line.empty());  // every event ends with a line feed
  return lines;
}

}  // namespace

TEST_CASE("a JSON log event is one line holding one object with ts, level, msg and the fields") {
  auto lines = lines_of(LogLevel::info, LogFormat::json, [](Logger& log) {
    log.info("request", {{"service", "catalog"},
                         {"route", "/products/{id}"},
                         {"status", 404},
                         {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"},
                         {"duration_ms", 0.25}});
    log.warn("call failed",
             {{"error", "line one\nline \"two\""}, {"bytes", std::string("\xff\xfe")}});
  });
  REQUIRE(lines.size() == 2);
  auto first = nlohmann::json::parse(lines[0]);
  CHECK(first["level"] == "info");
  CHECK(first["msg"] == "request");
  CHECK(first["status"] == 404);
  CHECK(first["route"] == "/products/{id}");
  CHECK(first["duration_ms"] == 0.25);
  const auto ts = first["ts"].get<std::string>();
  CHECK(ts.size() == 24);  // 2026-01-31T12:34:56.789Z
  CHECK(ts.back() == 'Z');
  auto second = nlohmann::json::parse(lines[1]);  // invalid UTF-8 is replaced, never thrown
  CHECK(second["error"] == "line one\nline \"two\"");
  CHECK(second["level"] == "warn");
}

TEST_CASE("a JSON log event's keys come in the documented order: ts, level, msg, the fields") {
  auto lines = lines_of(LogLevel::info, LogFormat::json, [](Logger& log) {
    log.info("request", {{"service", "catalog"},
                         {"trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"},
                         {"caller", "gateway"},
                         {"status", 200},
                         {"msg", "a field that has the name of the message"}});
  });
  REQUIRE(lines.size() == 1);
  // Keys in the order the line holds them (nlohmann::json would sort them).
  const auto event_in_order = nlohmann::ordered_json::parse(lines[0]);
  std::vector<std::string> keys;
  for (const auto& [key, value] : event_in_order.items()) keys.push_back(key);
  CHECK(keys == std::vector<std::string>{"ts", "level", "msg", "caller", "field_msg", "service",
                                         "status", "trace_id"});
  CHECK(lines[0].starts_with("{\"ts\":\""));
  auto event = nlohmann::json::parse(lines[0]);
  CHECK(event["msg"] == "request");
  CHECK(event["field_msg"] == "a field that has the name of the message");
}

TEST_CASE("a text log event stays on one line and quotes values that would split it") {
  auto lines = lines_of(LogLevel::debug, LogFormat::text, [](Logger& log) {
    log.error("unhandled\nerror", {{"service", "order"},
                                   {"error", "no such table: carts\nat line 2"},
                                   {"route", "/cart"},
                                   {"status", 500},
                                   {"empty", ""},
                                   {"pair", "a=b"}});
  });
  REQUIRE(lines.size() == 1);
  const auto& line = lines[0];
  CHECK(line.find(" error unhandled\\nerror ") != std::string::npos);
  CHECK(line.find(" service=order ") != std::string::npos);
  CHECK(line.find(" error=\"no such table: carts\\nat line 2\" ") != std::string::npos);
  CHECK(line.find(" route=/cart ") != std::string::npos);
  CHECK(line.find(" status=500") != std::string::npos);
  CHECK(line.find(" empty=\"\"") != std::string::npos);
  CHECK(line.find(" pair=\"a=b\"") != std::string::npos);
}

TEST_CASE("events below the level are not written, and the level names parse") {
  auto lines = lines_of(LogLevel::warn, LogFormat::json, [](Logger& log) {
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
  });
  REQUIRE(lines.size() == 2);
  CHECK(nlohmann::json::parse(lines[0])["msg"] == "w");
  CHECK(lines_of(LogLevel::off, LogFormat::text, [](Logger& log) { log.error("e"); }).empty());
  CHECK(shopctl::platform::parse_log_level("info") == LogLevel::info);
  CHECK(shopctl::platform::parse_log_level("warning") == LogLevel::warn);
  CHECK_FALSE(shopctl::platform::parse_log_level("loud").has_value());
}

// A request's path goes into the log as sent: bytes that are not UTF-8 and C1 control
// characters (U+009B is a terminal's CSI) reached stderr raw in the text format, and U+009B
// raw in the JSON one (docs/security.md: what the shop prints carries no control character).
TEST_CASE(
    "a field's C1 control characters, DEL and bytes that are not UTF-8 never reach the log raw") {
  const std::string path =
      "/x\xc2\x9b"
      "2J\xff\x7f";
  for (auto format : {LogFormat::text, LogFormat::json}) {
    CAPTURE(static_cast<int>(format));
    auto lines = lines_of(LogLevel::info, format, [&](Logger& log) {
      log.warn("architecture violation", {{"route", path}, {"caller", "client"}});
    });
    REQUIRE(lines.size() == 1);
    const auto& line = lines[0];
    CAPTURE(line);
    CHECK(line.find("\xc2\x9b") == std::string::npos);
    CHECK(line.find('\xff') == std::string::npos);
    CHECK(line.find('\x7f') == std::string::npos);
    CHECK(line.find("\\u009b") != std::string::npos);
    const bool caller_kept = line.find("caller=client") != std::string::npos ||
                             line.find("\"caller\":\"client\"") != std::string::npos;
    CHECK(caller_kept);
    if (format == LogFormat::json) {
      const auto j = nlohmann::json::parse(line);
      CHECK(j["route"] ==
            "/x\xc2\x9b"
            "2J\xef\xbf\xbd\x7f");  // read back: the escapes decode
    }
  }
}

TEST_CASE("a line budget logs so many lines a second and counts the rest, said once") {
  shopctl::platform::LineBudget budget(2);
  CHECK(budget.take(10).log);
  CHECK(budget.take(10).log);
  const auto third = budget.take(10);
  CHECK_FALSE(third.log);
  CHECK(third.unlogged == 0);
  CHECK_FALSE(budget.take(10).log);
  // The next second: logged again, and the two lines the last one left out are said once.
  const auto next = budget.take(11);
  CHECK(next.log);
  CHECK(next.unlogged == 2);
  CHECK(budget.take(11).unlogged == 0);
  // A second with nothing left out says nothing.
  CHECK(budget.take(15).unlogged == 0);
}
