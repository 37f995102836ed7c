// platform::visible_text: a name quoted in an error shows the characters that draw nothing as
// escapes. A byte order mark in the middle of a file (`cat a.yaml b.yaml`) gave "unknown key
// 'name' in the scenario; did you mean 'name'?" (an outside probe).
#include <doctest/doctest.h>

#include <string>

#include "platform/text_rules.hpp"

using shopctl::platform::visible_text;

TEST_CASE("visible_text writes the characters that show nothing as escapes") {
  CHECK(visible_text("\xef\xbb\xbfname") == "\\ufeffname");
  CHECK(visible_text("w\xe2\x80\x8b"
                     "ait") == "w\\u200bait");
  CHECK(visible_text("a\xe2\x80\xae"
                     "b") == "a\\u202eb");
  CHECK(visible_text("a\xe2\x81\xa0z") == "a\\u2060z");
  CHECK(visible_text("soft\xc2\xadhyphen") == "soft\\u00adhyphen");
  // Control characters as terminal_text writes them; visible letters stay as they are.
  CHECK(visible_text("a\x1b[2Jb") == "a\\x1b[2Jb");
  CHECK(visible_text("caf\xc3\xa9 \xe2\x82\xac \xef\xbc\xa1") ==
        "caf\xc3\xa9 \xe2\x82\xac \xef\xbc\xa1");
  CHECK(visible_text("") == "");
  // Lines stay lines when asked (a table).
  CHECK(visible_text("a\nb\xe2\x80\xae"
                     "c",
                     false) == "a\nb\\u202ec");
}
