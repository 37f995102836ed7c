# Turns a text file into a C++ source that defines `std::string_view SYMBOL` in NAMESPACE.
file(READ ${INPUT} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${content}")
file(WRITE ${OUTPUT}
  "#include <string_view>\nnamespace ${NAMESPACE} {\nnamespace {\nconstexpr char kData[] = {${bytes} 0};\n}\n"
  "extern const std::string_view ${SYMBOL}(kData, sizeof(kData) - 1);\n}\n")
