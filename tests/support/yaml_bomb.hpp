#pragma once
// A "billion laughs" list for the YAML tests: nine lines of ten aliases of the line above, a
// few hundred bytes that expand to 10^9 values. Each line is indented by `indent` spaces.
#include <string>

namespace shopctl::test {

inline std::string nested_alias_lines(const std::string& indent) {
  std::string out = indent + "- &a [x,x,x,x,x,x,x,x,x,x]\n";
  std::string previous = "a";
  for (const char* name : {"b", "c", "d", "e", "f", "g", "h", "i"}) {
    out += indent + "- &" + name + " [";
    for (int i = 0; i < 10; ++i) out += (i ? ",*" : "*") + previous;
    out += "]\n";
    previous = name;
  }
  return out;
}

}  // namespace shopctl::test
