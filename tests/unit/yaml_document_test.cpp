// Unit tests of src/platform/yaml_document: loading one YAML document a user wrote, with the
// documents counted first so that input yaml-cpp's parser cannot move past is an error.
#include <doctest/doctest.h>

#include <string>

#include <yaml-cpp/yaml.h>

#include "platform/yaml_document.hpp"

namespace platform = shopctl::platform;

TEST_CASE("one document is loaded with its marks; none is a null node") {
  const auto documents = platform::load_yaml_documents("a: 1\nb: [2, 3]\n");
  CHECK(documents.count == 1);
  REQUIRE(documents.first.IsMap());
  CHECK(documents.first["b"][1].as<int>() == 3);
  CHECK(documents.first["b"].Mark().line == 1);

  const auto empty = platform::load_yaml_documents("# only a comment\n");
  CHECK(empty.count == 0);
  CHECK((!empty.first.IsDefined() || empty.first.IsNull()));
  CHECK(platform::load_yaml_document("").IsNull());
}

TEST_CASE("more documents are counted; load_yaml_document refuses them at the second") {
  const auto documents = platform::load_yaml_documents("a: 1\n---\nb: 2\n---\nc: 3\n");
  CHECK(documents.count == 3);
  CHECK(documents.second_mark.line == 1);
  CHECK(documents.first["a"].as<int>() == 1);
  try {
    (void)platform::load_yaml_document("a: 1\n---\nb: 2\n");
    FAIL("two documents were accepted");
  } catch (const YAML::ParserException& e) {
    CHECK(e.mark.line == 1);
    CHECK(e.msg.find("holds 2 YAML documents") != std::string::npos);
  }
  // A leading `---` and a closing `...` still make one document.
  CHECK(platform::load_yaml_document("---\na: 1\n...\n")["a"].as<int>() == 1);
}

TEST_CASE("input the parser cannot move past is a ParserException at that place") {
  for (const std::string text :
       {"a #x\n,b\n", "- 1 #x\n,b\n,c\n", "[1] #x\n,b\n", "\"q\" #x\n,\n"}) {
    CAPTURE(text);
    try {
      (void)platform::load_yaml_documents(text);
      FAIL("accepted");
    } catch (const YAML::ParserException& e) {
      CHECK(e.mark.line == 1);
      CHECK(e.mark.column == 0);
      CHECK(e.msg.find("unexpected ','") != std::string::npos);
    }
  }
  // YAML::Load alone returned the first value and dropped the rest without a word.
  CHECK(YAML::Load("a #x\n,b\n").as<std::string>() == "a");
}

TEST_CASE("plain YAML errors still come from yaml-cpp with its message") {
  CHECK_THROWS_AS((void)platform::load_yaml_document("a: [1, 2\n"), YAML::ParserException);
  CHECK_THROWS_AS((void)platform::load_yaml_document("port: 1 #x\n,b: 2\n"), YAML::ParserException);
}

TEST_CASE("nesting past yaml-cpp's depth guard is named, not called a bad file") {
  try {
    (void)platform::load_yaml_document("a: " + std::string(5000, '['));
    FAIL("accepted");
  } catch (const YAML::ParserException& e) {
    CHECK(e.msg.find("nested too deeply") != std::string::npos);
  }
}

TEST_CASE("a NUL byte is refused at its line and column; UTF-16 with a byte order mark is not") {
  try {
    platform::load_yaml_documents(std::string("a: 1\nname: x\0y\n", 15));
    FAIL("no error");
  } catch (const YAML::ParserException& e) {
    CHECK(e.mark.line == 1);
    CHECK(e.mark.column == 7);
    CHECK(e.msg.find("a NUL byte") == 0);
  }
  const std::string wide(
      "\xFF\xFE"
      "a\0:\0 \0"
      "1\0\n\0",
      12);
  const auto documents = platform::load_yaml_documents(wide);
  CHECK(documents.count == 1);
  CHECK(documents.first["a"].as<int>() == 1);
}

TEST_CASE("a quoted value that is never closed is refused where it starts") {
  // yaml-cpp 0.7 took the rest of the file as the value: the name became "oops tags: [smoke] ".
  const std::string cases[][2] = {
      {"version: 1\nname: \"oops\ntags: [smoke]\n", "\""},
      {"version: 1\nname: 'oops\ntags: [smoke]\n", "'"},
      {"version: 1\nname: \"a\\\"b\nx: 1\n", "\""},
      {"version: 1\nname: 'it''s\nx: 1\n", "'"},
      {"version: 1\nname: !!str \"oops\nx: 1\n", "\""},
      {"version: 1\nname: &n \"oops\nx: 1\n", "\""},
      {"\xEF\xBB\xBFversion: 1\nname: \"oops\n", "\""},
      {"version: 1\nname: \"oops", "\""},  // no line break at the end
      {"version: 1\nname: 'oops\nx: 1", "'"},
  };
  for (const auto& one_case : cases) {
    const std::string& text = one_case[0];
    const std::string& quote = one_case[1];
    CAPTURE(text);
    try {
      (void)platform::load_yaml_document(text);
      FAIL("accepted");
    } catch (const YAML::ParserException& e) {
      CHECK(e.mark.line == 1);
      CHECK(e.mark.column == (text.find("!!str") != std::string::npos ? 12
                              : text.find("&n") != std::string::npos  ? 9
                                                                      : 6));
      CHECK(e.msg == "a quoted value that is never closed (no closing " + quote +
                         " before the end of the file)");
    }
  }
  // A quoted key that is never closed, the first line of a file.
  try {
    (void)platform::load_yaml_document("\"name: 1\nb: 2\n");
    FAIL("accepted");
  } catch (const YAML::ParserException& e) {
    CHECK(e.mark.line == 0);
    CHECK(e.mark.column == 0);
  }
}

TEST_CASE("closed quotes, quotes inside plain values, comments and block scalars still load") {
  const auto node = platform::load_yaml_document(
      "a: \"two\n  lines\"\n"
      "b: 'it''s'\n"
      "c: \"a\\\"b\"\n"
      "d: it's # don't \"\n"
      "e: |\n  say \"hi\n  it's\n"
      "f: >\n  \"open\n"
      "g: 'x \\'\n"
      "h: [\"p\", 'q']\n"
      "i: \"\"\n"
      "j: !!str \"k\"\n"
      "l: plain \"end\n");
  CHECK(node["a"].as<std::string>() == "two lines");
  CHECK(node["b"].as<std::string>() == "it's");
  CHECK(node["c"].as<std::string>() == "a\"b");
  CHECK(node["d"].as<std::string>() == "it's");
  CHECK(node["e"].as<std::string>() == "say \"hi\nit's\n");
  CHECK(node["f"].as<std::string>() == "\"open\n");
  CHECK(node["g"].as<std::string>() == "x \\");
  CHECK(node["h"][1].as<std::string>() == "q");
  CHECK(node["i"].as<std::string>().empty());
  CHECK(node["j"].as<std::string>() == "k");
  CHECK(node["l"].as<std::string>() == "plain \"end");
  // The last value of the file a block scalar holding a quote.
  CHECK(platform::load_yaml_document("a: |\n  \"x\n")["a"].as<std::string>() == "\"x\n");
  CHECK(platform::load_yaml_document("a: 'x'\n")["a"].as<std::string>() == "x");
}

// yaml-cpp 0.7 made \N and \_ the single bytes 0x85 and 0xA0: a catalog name "a\_b" was refused
// as not UTF-8, a scenario's name was reported with U+FFFD in their place (an outside probe).
TEST_CASE("the escapes \\N and \\_ of a double-quoted value are the characters they name") {
  const auto doc = platform::load_yaml_document(
      "name: \"a\\_b\\Nc\"\n"
      "tagged: !!str &x \"\\_\"\n"
      "\"key\\_k\": [\"\\\\N stays\", 'single \\_ stays', plain \\_ stays, \"\\x41\\u00e9\\L\"]\n");
  CHECK(doc["name"].as<std::string>() == "a\u00A0b\u0085c");
  CHECK(doc["tagged"].as<std::string>() == "\u00A0");
  REQUIRE(doc["key\u00A0k"].IsSequence());
  CHECK(doc["key\u00A0k"][0].as<std::string>() == "\\N stays");
  CHECK(doc["key\u00A0k"][1].as<std::string>() == "single \\_ stays");
  CHECK(doc["key\u00A0k"][2].as<std::string>() == "plain \\_ stays");
  CHECK(doc["key\u00A0k"][3].as<std::string>() == "A\u00e9\u2028");
  // Marks before the rewritten scalars stay where they were.
  CHECK(doc["tagged"].Mark().line == 1);
  // Latin-1 text (not UTF-8) is left as it is, for its reader to refuse with its line.
  CHECK(platform::load_yaml_document("name: \"caf\xe9\"\n")["name"].as<std::string>() == "caf\xe9");
}
