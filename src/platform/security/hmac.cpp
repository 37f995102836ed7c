#include "platform/security/hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <cstdint>
#include <stdexcept>

namespace shopctl::platform::security {
namespace {

// The HMAC implementation, fetched once per process (fetching costs a provider lookup).
EVP_MAC* hmac_algorithm() noexcept {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  return mac;
}

// A few keyed contexts per thread: a service typically uses one or two keys (the user JWT
// secret, the service key, a webhook secret). Re-initialising a keyed context with a null
// key only restores the precomputed inner/outer pads.
class KeyedMacCache {
 public:
  KeyedMacCache() = default;
  KeyedMacCache(const KeyedMacCache&) = delete;
  KeyedMacCache& operator=(const KeyedMacCache&) = delete;
  ~KeyedMacCache() {
    for (Slot& slot : slots_) {
      EVP_MAC_CTX_free(slot.context);
      if (!slot.key.empty()) OPENSSL_cleanse(slot.key.data(), slot.key.size());
    }
  }

  // Returns a context ready for EVP_MAC_update with `key`, or nullptr if OpenSSL fails.
  EVP_MAC_CTX* ready_for(std::string_view key) {
    for (Slot& slot : slots_) {
      if (slot.context != nullptr && slot.key == key) {
        return EVP_MAC_init(slot.context, nullptr, 0, nullptr) == 1 ? slot.context : nullptr;
      }
    }
    Slot& slot = slots_[next_victim_];
    next_victim_ = (next_victim_ + 1) % kSlots;
    if (slot.context == nullptr) {
      EVP_MAC* mac = hmac_algorithm();
      if (mac == nullptr) return nullptr;
      slot.context = EVP_MAC_CTX_new(mac);
      if (slot.context == nullptr) return nullptr;
    }
    if (!slot.key.empty()) OPENSSL_cleanse(slot.key.data(), slot.key.size());
    slot.key.assign(key);
    char digest_name[] = "SHA256";
    const OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
        OSSL_PARAM_construct_end()};
    // A non-null pointer even for an empty key: a null key means "reuse the previous key".
    static const unsigned char kNoKey = 0;
    const auto* key_bytes =
        key.empty() ? &kNoKey : reinterpret_cast<const unsigned char*>(key.data());
    if (EVP_MAC_init(slot.context, key_bytes, key.size(), params) != 1) {
      slot.key.clear();
      EVP_MAC_CTX_free(slot.context);
      slot.context = nullptr;
      return nullptr;
    }
    return slot.context;
  }

 private:
  static constexpr std::size_t kSlots = 4;
  struct Slot {
    EVP_MAC_CTX* context = nullptr;
    std::string key;
  };
  Slot slots_[kSlots];
  std::size_t next_victim_ = 0;
};

constexpr char kBase64UrlAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr std::int8_t kInvalid = -1;

constexpr std::array<std::int8_t, 256> make_base64url_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (int i = 0; i < 64; ++i) {
    table[static_cast<unsigned char>(kBase64UrlAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}
constexpr std::array<std::int8_t, 256> kBase64UrlValue = make_base64url_table();

constexpr std::array<std::int8_t, 256> make_hex_table() {
  std::array<std::int8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (int i = 0; i < 10; ++i) table['0' + i] = static_cast<std::int8_t>(i);
  for (int i = 0; i < 6; ++i) {
    table['a' + i] = static_cast<std::int8_t>(10 + i);
    table['A' + i] = static_cast<std::int8_t>(10 + i);
  }
  return table;
}
constexpr std::array<std::int8_t, 256> kHexValue = make_hex_table();

// Decoded size of `length` unpadded base64url characters, or -1 if no byte string encodes
// to that length.
long decoded_size(std::size_t length) noexcept {
  if (length % 4 == 1) return -1;
  return static_cast<long>(length / 4 * 3 + (length % 4 == 0 ? 0 : length % 4 - 1));
}

// Decodes `text` into `out`, which must hold decoded_size(text.size()) bytes.
bool decode_into(std::string_view text, unsigned char* out) noexcept {
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t remaining = text.size();
  while (remaining >= 4) {
    const int a = kBase64UrlValue[in[0]], b = kBase64UrlValue[in[1]];
    const int c = kBase64UrlValue[in[2]], d = kBase64UrlValue[in[3]];
    if ((a | b | c | d) < 0) return false;
    const std::uint32_t word = (static_cast<std::uint32_t>(a) << 18) |
                               (static_cast<std::uint32_t>(b) << 12) |
                               (static_cast<std::uint32_t>(c) << 6) | static_cast<std::uint32_t>(d);
    out[0] = static_cast<unsigned char>(word >> 16);
    out[1] = static_cast<unsigned char>(word >> 8);
    out[2] = static_cast<unsigned char>(word);
    in += 4;
    out += 3;
    remaining -= 4;
  }
  if (remaining == 2) {
    const int a = kBase64UrlValue[in[0]], b = kBase64UrlValue[in[1]];
    if ((a | b) < 0 || (b & 0x0F) != 0) return false;
    out[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
  } else if (remaining == 3) {
    const int a = kBase64UrlValue[in[0]], b = kBase64UrlValue[in[1]], c = kBase64UrlValue[in[2]];
    if ((a | b | c) < 0 || (c & 0x03) != 0) return false;
    out[0] = static_cast<unsigned char>((a << 2) | (b >> 4));
    out[1] = static_cast<unsigned char>(((b & 0x0F) << 4) | (c >> 2));
  }
  return true;
}

}  // namespace

bool try_hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts,
                     Sha256Digest& out) noexcept {
  try {
    thread_local KeyedMacCache cache;
    EVP_MAC_CTX* context = cache.ready_for(key);
    if (context == nullptr) return false;
    for (std::string_view part : parts) {
      if (EVP_MAC_update(context, reinterpret_cast<const unsigned char*>(part.data()),
                         part.size()) != 1) {
        return false;
      }
    }
    std::size_t written = 0;
    return EVP_MAC_final(context, out.data(), &written, out.size()) == 1 && written == out.size();
  } catch (...) {  // std::bad_alloc while caching the key
    return false;
  }
}

Sha256Digest hmac_sha256(std::string_view key, std::initializer_list<std::string_view> parts) {
  Sha256Digest digest{};
  if (!try_hmac_sha256(key, parts, digest)) {
    throw std::runtime_error("HMAC-SHA256 failed inside OpenSSL");
  }
  return digest;
}

bool digests_equal(const Sha256Digest& a, const Sha256Digest& b) noexcept {
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string base64url_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() * 4 + 2) / 3);
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t remaining = bytes.size();
  while (remaining >= 3) {
    const std::uint32_t word = (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8) | in[2];
    text += kBase64UrlAlphabet[(word >> 18) & 0x3F];
    text += kBase64UrlAlphabet[(word >> 12) & 0x3F];
    text += kBase64UrlAlphabet[(word >> 6) & 0x3F];
    text += kBase64UrlAlphabet[word & 0x3F];
    in += 3;
    remaining -= 3;
  }
  if (remaining == 1) {
    text += kBase64UrlAlphabet[in[0] >> 2];
    text += kBase64UrlAlphabet[(in[0] & 0x03) << 4];
  } else if (remaining == 2) {
    text += kBase64UrlAlphabet[in[0] >> 2];
    text += kBase64UrlAlphabet[((in[0] & 0x03) << 4) | (in[1] >> 4)];
    text += kBase64UrlAlphabet[(in[1] & 0x0F) << 2];
  }
  return text;
}

bool base64url_decode(std::string_view text, std::string& out) {
  const long size = decoded_size(text.size());
  if (size < 0) return false;
  out.resize(static_cast<std::size_t>(size));
  return decode_into(text, reinterpret_cast<unsigned char*>(out.data()));
}

bool base64url_decode_exact(std::string_view text, unsigned char* out, std::size_t size) noexcept {
  const long expected = decoded_size(text.size());
  if (expected < 0 || static_cast<std::size_t>(expected) != size) return false;
  return decode_into(text, out);
}

bool hex_decode_exact(std::string_view text, unsigned char* out, std::size_t size) noexcept {
  if (text.size() != size * 2) return false;
  for (std::size_t i = 0; i < size; ++i) {
    const int high = kHexValue[static_cast<unsigned char>(text[2 * i])];
    const int low = kHexValue[static_cast<unsigned char>(text[2 * i + 1])];
    if ((high | low) < 0) return false;
    out[i] = static_cast<unsigned char>((high << 4) | low);
  }
  return true;
}

}  // namespace shopctl::platform::security
