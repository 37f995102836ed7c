#pragma once
// What the command line writes to stderr shows control characters as escapes, never sends them
// (docs/security.md, "What the console prints"). Error messages quote what they were given (a
// --duration, a fault's target, a config key, a --var): `load --duration $'\e[2J'` cleared the
// screen. Every message goes to std::cerr, and stderr carries plain text only (colours are on
// stdout), so one filter in front of it covers every message, CLI11's own included, however it
// was written.
//
// Line feeds and tabs pass; every other C0 control character and DEL becomes `\xNN`, and C1
// (U+0080..U+009F, bytes C2 80..C2 9F) becomes `\u00NN`, as platform::terminal_text writes
// them.
#include <streambuf>
#include <string>

namespace shopctl::cli {

class EscapingStreambuf final : public std::streambuf {
 public:
  explicit EscapingStreambuf(std::streambuf* target) : target_(target) {}

 protected:
  int_type overflow(int_type c) override {
    if (traits_type::eq_int_type(c, traits_type::eof())) return traits_type::not_eof(c);
    put(static_cast<unsigned char>(traits_type::to_char_type(c)));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) put(static_cast<unsigned char>(s[i]));
    return n;
  }
  int sync() override {
    flush_pending();
    return target_->pubsync();
  }

 private:
  void put(unsigned char b) {
    constexpr char hex[] = "0123456789abcdef";
    if (pending_c2_) {
      pending_c2_ = false;
      if (b >= 0x80 && b <= 0x9F) {
        const char escape[] = {'\\', 'u', '0', '0', hex[b >> 4], hex[b & 0xF]};
        target_->sputn(escape, sizeof escape);
        return;
      }
      target_->sputc(static_cast<char>(0xC2));
    }
    if (b == 0xC2) {
      pending_c2_ = true;
    } else if ((b < 0x20 && b != '\n' && b != '\t') || b == 0x7F) {
      const char escape[] = {'\\', 'x', hex[b >> 4], hex[b & 0xF]};
      target_->sputn(escape, sizeof escape);
    } else {
      target_->sputc(static_cast<char>(b));
    }
  }
  void flush_pending() {
    if (pending_c2_) target_->sputc(static_cast<char>(0xC2));
    pending_c2_ = false;
  }

  std::streambuf* target_;
  bool pending_c2_ = false;
};

}  // namespace shopctl::cli
