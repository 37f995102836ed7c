#pragma once
// The framing of a chunked request body that the parser has left unparsed while it waits for
// more bytes: whether any bytes still to come can make it valid (RFC 9112 7.1).
#include <string>
#include <string_view>

namespace shopctl::http {

// What is wrong with `left`, the bytes of a chunked body the parser left while it waits for
// more: the start of a chunk line (after the CR LF that ends the chunk before it, when
// `after_chunk`), or the last chunk's line and its trailer section. "" when bytes still to come
// can make them valid. Beast reads a chunk extension's quoted string past the line's end and
// checks the CR LF after a chunk's data only once 4 bytes are there: such a body waited for
// bytes that could never mend it, and its client waited out the body timeout (30 s) for no
// answer (an outside probe). A LF without its CR is not looked at here (the server's own check).
std::string chunked_leftover_problem(std::string_view left, bool after_chunk);

}  // namespace shopctl::http
