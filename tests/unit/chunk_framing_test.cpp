#include "platform/http/chunk_framing.hpp"

#include <doctest/doctest.h>

#include <string>

using shopctl::http::chunked_leftover_problem;

TEST_CASE("chunked framing that bytes still to come can make valid is waited for") {
  for (const std::string left : {"",
                                 "2",
                                 "2\r",
                                 "A",
                                 "2;",
                                 "2;a",
                                 "2;a=",
                                 "2;a=b",
                                 "2;a=\"b",
                                 "2;a=\"b\\",
                                 "2;a=\"b\\\"c\"",
                                 "2 ",
                                 "2 ;",
                                 "2;a ",
                                 "2;a =",
                                 "2;a= \"x\" ;b",
                                 "0",
                                 "0\r\n",
                                 "0\r\nX",
                                 "0\r\nX-T",
                                 "0\r\nX-T: 1",
                                 "0\r\nX-T: 1\r\n",
                                 "0\r\nX-T: 1\r\n\r",
                                 "000;a=b\r\nX-T:\r\n"}) {
    CAPTURE(left);
    CHECK(chunked_leftover_problem(left, false).empty());
  }
  for (const std::string left : {"", "\r", "\r\n", "\r\n5", "\r\n5;x=\"y", "\r\n0\r\nX-T: 1"}) {
    CAPTURE(left);
    CHECK(chunked_leftover_problem(left, true).empty());
  }
}

TEST_CASE("chunked framing that no bytes still to come can mend is named") {
  // The CR LF after a chunk's data: anything else (more data than the size said).
  for (const std::string left : {"X", "XY", "\rX", "{}\r\n0\r\n\r\n"}) {
    CAPTURE(left);
    CHECK(chunked_leftover_problem(left, true).find("followed by CR LF") != std::string::npos);
  }
  // A quoted string in an extension that runs past its line's end: Beast reads on through
  // the next lines for its closing quote, and waited for ever.
  CHECK(chunked_leftover_problem("2;a=\"b\r\n{}\r\n0\r\n\r\n", false).find("quoted string") !=
        std::string::npos);
  CHECK(chunked_leftover_problem("0;a=\"x\r\n\r\n", false).find("quoted string") !=
        std::string::npos);
  CHECK(chunked_leftover_problem("\r\n2;a=\"\r\n{}\r\n", true).find("quoted string") !=
        std::string::npos);
  // Sizes and extensions that are already wrong, their line not ended yet.
  for (const std::string left :
       {"zz", "2g", "g", " 2", ";a", "2 x", "2;=", "2;a b", "2;a=\"x\"y", "2;a=,", "\r\n"}) {
    CAPTURE(left);
    CHECK_FALSE(chunked_leftover_problem(left, false).empty());
  }
  // Trailer field lines without a name and a colon.
  for (const std::string left : {"0\r\nfoo\r\n", "0\r\n: x\r\n", "0\r\nfo o: 1", "0\r\n:"}) {
    CAPTURE(left);
    CHECK(chunked_leftover_problem(left, false).find("trailer field") != std::string::npos);
  }
}
